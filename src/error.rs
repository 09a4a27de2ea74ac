//! The error taxonomy shared by both providers: every API failure becomes an [`ApiError`]
//! with a class (what kind of failure), whether retrying can help, the provider's own code,
//! and a hint that says what a person should do.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Hubspot,
    Salesforce,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Hubspot => "hubspot",
            Provider::Salesforce => "salesforce",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Provider::Hubspot => "HubSpot",
            Provider::Salesforce => "Salesforce",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of failure; see the taxonomy table in design.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub enum ErrorClass {
    /// Token past its life: refresh once and replay.
    #[serde(rename = "auth.expired")]
    AuthExpired,
    /// The grant is gone (revoked, app uninstalled): reconnect.
    #[serde(rename = "auth.revoked")]
    AuthRevoked,
    /// The app's configuration is wrong (client id/secret, redirect URI, consent).
    #[serde(rename = "auth.client")]
    AuthClient,
    /// The token lacks a scope the call needs.
    #[serde(rename = "auth.scope")]
    AuthScope,
    /// The connected user may not do this (object/field access, API disabled).
    #[serde(rename = "permission")]
    Permission,
    /// A short-window rate limit: wait as told and retry.
    #[serde(rename = "rate.burst")]
    RateBurst,
    /// A daily quota is spent: pause until it resets.
    #[serde(rename = "rate.daily")]
    RateDaily,
    /// 5xx, timeouts, resets, lock contention, HTML outage pages: back off and retry.
    #[serde(rename = "transient")]
    Transient,
    /// The data was refused (required field, bad value, bad query).
    #[serde(rename = "validation")]
    Validation,
    /// The record exists already / matches several.
    #[serde(rename = "duplicate")]
    Duplicate,
    /// The record or resource does not exist (any more).
    #[serde(rename = "not_found")]
    NotFound,
    /// A plugin failed (Lua error, time or memory limit).
    #[serde(rename = "plugin")]
    Plugin,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 12] = [
        Self::AuthExpired,
        Self::AuthRevoked,
        Self::AuthClient,
        Self::AuthScope,
        Self::Permission,
        Self::RateBurst,
        Self::RateDaily,
        Self::Transient,
        Self::Validation,
        Self::Duplicate,
        Self::NotFound,
        Self::Plugin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthExpired => "auth.expired",
            Self::AuthRevoked => "auth.revoked",
            Self::AuthClient => "auth.client",
            Self::AuthScope => "auth.scope",
            Self::Permission => "permission",
            Self::RateBurst => "rate.burst",
            Self::RateDaily => "rate.daily",
            Self::Transient => "transient",
            Self::Validation => "validation",
            Self::Duplicate => "duplicate",
            Self::NotFound => "not_found",
            Self::Plugin => "plugin",
        }
    }

    pub fn parse(s: &str) -> Option<ErrorClass> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Can the same request succeed later without anyone changing anything?
    pub fn retryable(self) -> bool {
        matches!(
            self,
            Self::AuthExpired | Self::RateBurst | Self::RateDaily | Self::Transient
        )
    }

    /// Process exit code for `hubforce api` and friends: one per class family.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::AuthExpired | Self::AuthRevoked | Self::AuthClient | Self::AuthScope => 3,
            Self::Permission => 4,
            Self::RateBurst | Self::RateDaily => 5,
            Self::Transient => 6,
            Self::Validation | Self::Duplicate | Self::NotFound => 7,
            Self::Plugin => 8,
        }
    }

    /// What to do, when nothing more specific is known.
    pub fn generic_hint(self, provider: Provider) -> String {
        let p = provider.as_str();
        match self {
            Self::AuthExpired => "the access token expired; hubforce refreshes it by itself".into(),
            Self::AuthRevoked => format!(
                "the {} grant is no longer valid: run `hubforce connect {p}` again",
                provider.label()
            ),
            Self::AuthClient => format!(
                "check the {} app's client id, client secret and redirect URI in hubforce.toml against the app's settings",
                provider.label()
            ),
            Self::AuthScope => format!(
                "add the missing scope to the app and to hubforce.toml, then run `hubforce connect {p}` again"
            ),
            Self::Permission => format!(
                "give the connected {} user access to this object or field",
                provider.label()
            ),
            Self::RateBurst => "a short-term rate limit was hit; hubforce waits and retries".into(),
            Self::RateDaily => "the daily API quota is spent; work resumes when it resets".into(),
            Self::Transient => format!(
                "{} had a temporary problem; hubforce retries with backoff",
                provider.label()
            ),
            Self::Validation => "fix the value or query named in the message".into(),
            Self::Duplicate => {
                "a matching record exists already; link to it or change the match rule".into()
            }
            Self::NotFound => {
                "the record does not exist (any more); it may have been deleted or merged".into()
            }
            Self::Plugin => "fix the plugin at the file and line shown".into(),
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One classified API failure.
#[derive(Debug, Clone, Serialize)]
pub struct ApiError {
    pub provider: Provider,
    pub class: ErrorClass,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// The provider's own code (`errorCode`, `category`, `policyName`, OAuth `error`…).
    pub code: Option<String>,
    pub message: String,
    pub correlation_id: Option<String>,
    pub hint: String,
    /// How long the provider asked us to wait, when it said.
    #[serde(skip)]
    pub retry_after: Option<Duration>,
    /// `METHOD /path` of the request (never the query string, which may hold secrets).
    pub request: Option<String>,
    /// What the answer names as the cause, when it does: a property or field, the scopes
    /// that would do, the existing record(s).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

impl ApiError {
    pub fn new(provider: Provider, class: ErrorClass, message: impl Into<String>) -> ApiError {
        ApiError {
            provider,
            class,
            status: None,
            code: None,
            message: message.into(),
            correlation_id: None,
            hint: class.generic_hint(provider),
            retry_after: None,
            request: None,
            names: Vec::new(),
        }
    }

    pub fn retryable(&self) -> bool {
        self.class.retryable()
    }

    pub fn with_code(mut self, code: impl Into<String>) -> ApiError {
        self.code = Some(code.into());
        self
    }

    pub fn with_status(mut self, status: u16) -> ApiError {
        self.status = Some(status);
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> ApiError {
        self.hint = hint.into();
        self
    }
}

impl fmt::Display for ApiError {
    /// One line: `salesforce 400 REQUIRED_FIELD_MISSING (validation): Required fields are missing: [Company] — fix …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.provider)?;
        if let Some(s) = self.status {
            write!(f, " {s}")?;
        }
        if let Some(c) = &self.code {
            // A provider's code is data: a newline in it must not break the one line (found
            // by `cargo fuzz run classify`).
            write!(f, " {}", c.split_whitespace().collect::<Vec<_>>().join(" "))?;
        }
        write!(f, " ({})", self.class)?;
        if let Some(r) = &self.request {
            write!(f, " on {r}")?;
        }
        // Multi-line provider messages (SOQL errors) fold into the one line.
        write!(
            f,
            ": {}",
            self.message
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        )?;
        if !self.hint.is_empty() {
            write!(f, " — {}", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_trip_their_names_and_know_retryability() {
        for c in ErrorClass::ALL {
            assert_eq!(ErrorClass::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert!(ErrorClass::Transient.retryable() && ErrorClass::RateDaily.retryable());
        assert!(!ErrorClass::Validation.retryable() && !ErrorClass::AuthRevoked.retryable());
    }

    #[test]
    fn an_error_prints_as_one_line_with_class_and_hint() {
        let e = ApiError::new(
            Provider::Salesforce,
            ErrorClass::Validation,
            "Required fields are missing: [Company]\n",
        )
        .with_status(400)
        .with_code("REQUIRED_FIELD_MISSING");
        let s = e.to_string();
        assert_eq!(s.lines().count(), 1);
        assert!(s.starts_with("salesforce 400 REQUIRED_FIELD_MISSING (validation): Required fields are missing: [Company] — "));
        // A garbage code from a provider stays on the line (found by the classify fuzzer).
        let e =
            ApiError::new(Provider::Salesforce, ErrorClass::Validation, "x").with_code("\\\nvalid");
        assert_eq!(e.to_string().lines().count(), 1, "{e}");
    }
}
