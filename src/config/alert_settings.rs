//! `[profiles.NAME.alerts]`: where a watch that needs a person says so — a webhook (Slack's
//! incoming webhooks, or any endpoint taking JSON) and email over SMTP — and when record
//! errors are too many. The webhook's URL is a secret (a Slack webhook URL is a credential),
//! so it is a reference like every secret; so is the SMTP password.

use serde::Deserialize;

use super::{SecretRef, loopback_host};

/// The body a webhook is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// `{"text": "…", "blocks": […]}`, as Slack's incoming webhooks (and Mattermost,
    /// Rocket.Chat, Teams' Slack-compatible connectors) take it.
    #[default]
    Slack,
    /// The alert as a JSON object (`event`, `key`, `profile`, `title`, `detail`, …).
    Json,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only to a relay on a loopback address (a local MTA, a test sink).
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    pub smtp_host: String,
    /// 587 for STARTTLS, 465 for TLS unless given.
    #[serde(default)]
    pub smtp_port: Option<u16>,
    #[serde(default)]
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<SecretRef>,
    pub from: String,
    pub to: Vec<String>,
}

impl EmailSettings {
    pub fn port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.security {
            SmtpSecurity::Tls => 465,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::None => 25,
        })
    }
}

/// Record errors in one pass from which an alert is raised, unless the profile says.
pub const DEFAULT_RECORD_ERRORS: u64 = 25;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    #[serde(default)]
    pub webhook: Option<SecretRef>,
    #[serde(default)]
    pub webhook_format: WebhookFormat,
    #[serde(default)]
    pub email: Option<EmailSettings>,
    /// Record errors in one pass that raise an alert (cleared by a pass with fewer).
    #[serde(default = "default_record_errors")]
    pub record_errors: u64,
}

fn default_record_errors() -> u64 {
    DEFAULT_RECORD_ERRORS
}

impl AlertSettings {
    /// What can be judged without the secrets: somewhere to send, addresses that parse,
    /// plain SMTP only to loopback.
    pub fn validate(&self) -> Result<(), String> {
        if self.webhook.is_none() && self.email.is_none() {
            return Err(
                "alerts: give a `webhook` (a secret reference to its URL) or an `email` table, or remove [alerts]"
                    .into(),
            );
        }
        if self.record_errors == 0 {
            return Err("alerts: record_errors must be at least 1".into());
        }
        if let Some(e) = &self.email {
            if e.to.is_empty() {
                return Err("alerts.email: `to` lists no address".into());
            }
            for a in std::iter::once(&e.from).chain(&e.to) {
                a.parse::<lettre::message::Mailbox>()
                    .map_err(|err| format!("alerts.email: `{a}` is not an email address: {err}"))?;
            }
            if e.security == SmtpSecurity::None && !loopback_host(&e.smtp_host) {
                return Err(format!(
                    "alerts.email: security = \"none\" sends the password and the alerts in the clear; it is only for a relay on this machine (127.0.0.1), not {}. Use \"starttls\" or \"tls\"",
                    e.smtp_host
                ));
            }
            if e.username.is_some() != e.password.is_some() {
                return Err("alerts.email: give both `username` and `password`, or neither".into());
            }
        }
        Ok(())
    }
}
