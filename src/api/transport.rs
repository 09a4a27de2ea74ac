//! The one transport for both providers. Every call goes through here: budget and pacing,
//! the current token, the HTTP exchange, classification of any failure, one refresh and
//! replay on an expired token, and bounded retries with full-jitter backoff for retryable
//! classes (waiting exactly as long as a 429 asks).

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::classify::{classify, classify_network};
use crate::auth::{HubspotAuth, SalesforceAuth};
use crate::budget::{Budget, CallKind};
use crate::error::{ApiError, ErrorClass, Provider};
use crate::secret::Secret;
use crate::store::RequestLog;

/// Whose token a transport sends.
#[derive(Clone)]
pub enum Credentials {
    Hubspot {
        auth: Arc<HubspotAuth>,
        api_base: String,
    },
    Salesforce(Arc<SalesforceAuth>),
}

impl Credentials {
    fn provider(&self) -> Provider {
        match self {
            Credentials::Hubspot { .. } => Provider::Hubspot,
            Credentials::Salesforce(_) => Provider::Salesforce,
        }
    }

    async fn current(&self) -> Result<(Secret, String), ApiError> {
        match self {
            Credentials::Hubspot { auth, api_base } => {
                Ok((auth.access_token().await?, api_base.clone()))
            }
            Credentials::Salesforce(a) => a.session().await,
        }
    }

    async fn rejected(&self, used: &Secret) -> Result<(), ApiError> {
        match self {
            Credentials::Hubspot { auth, .. } => auth.rejected(used).await.map(|_| ()),
            Credentials::Salesforce(a) => a.rejected(used).await.map(|_| ()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub max_total: Duration,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            max_total: Duration::from_secs(90),
            base: Duration::from_millis(250),
            cap: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a random wait between zero and the exponential ceiling.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.cap);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// One API call, independent of the provider.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    /// Path below the API base (HubSpot) or the instance URL (Salesforce), or an absolute
    /// path such as a `nextRecordsUrl`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
    pub kind: CallKind,
    /// Who made the call: `host`, `plugin:<name>`, `plugin:<name>/<rule>`, `repl`…
    pub caller: String,
}

impl ApiRequest {
    pub fn new(method: Method, path: impl Into<String>) -> ApiRequest {
        ApiRequest {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            headers: Vec::new(),
            kind: CallKind::Normal,
            caller: "host".into(),
        }
    }

    pub fn query(mut self, k: &str, v: impl Into<String>) -> ApiRequest {
        self.query.push((k.into(), v.into()));
        self
    }

    pub fn json(mut self, body: Value) -> ApiRequest {
        self.body = Some(body);
        self
    }

    pub fn header(mut self, k: &str, v: impl Into<String>) -> ApiRequest {
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn kind(mut self, kind: CallKind) -> ApiRequest {
        self.kind = kind;
        self
    }

    pub fn caller(mut self, caller: impl Into<String>) -> ApiRequest {
        self.caller = caller.into();
        self
    }

    fn label(&self) -> String {
        format!(
            "{} {}",
            self.method,
            self.path.split('?').next().unwrap_or_default()
        )
    }
}

#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// The body as JSON (empty bodies are `null`); a garbage body is a classified error.
    pub fn json(&self, provider: Provider) -> Result<Value, ApiError> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            ApiError::new(
                provider,
                ErrorClass::Transient,
                format!(
                    "the answer (HTTP {}) is not valid JSON: {e}",
                    self.status.as_u16()
                ),
            )
            .with_status(self.status.as_u16())
        })
    }
}

pub struct Transport {
    http: reqwest::Client,
    creds: Credentials,
    pub budget: Arc<Budget>,
    pub retry: RetryPolicy,
    log: Option<Arc<RequestLog>>,
}

impl Transport {
    pub fn new(
        http: reqwest::Client,
        creds: Credentials,
        budget: Arc<Budget>,
        log: Option<Arc<RequestLog>>,
    ) -> Transport {
        Transport {
            http,
            creds,
            budget,
            retry: RetryPolicy::default(),
            log,
        }
    }

    pub fn provider(&self) -> Provider {
        self.creds.provider()
    }

    fn url(base: &str, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            return path.to_string();
        }
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }

    /// Send one call with everything the transport owns. Success is any 2xx (and 300 is
    /// left to the caller only as an error: multiple matches).
    /// After a failed token refresh: wait and go on when it may pass, fail otherwise.
    async fn pause_or_fail(
        &self,
        req: &ApiRequest,
        started: Instant,
        attempt: u32,
        e: ApiError,
    ) -> Result<(), ApiError> {
        let passing = matches!(e.class, ErrorClass::RateBurst | ErrorClass::Transient);
        let wait = e.retry_after.unwrap_or_else(|| self.retry.backoff(attempt));
        if !passing
            || attempt >= self.retry.max_attempts
            || started.elapsed() + wait > self.retry.max_total
        {
            return Err(self.finish(req, started, e));
        }
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Refresh the access token now, whatever its age, keeping the new tokens: `hubforce
    /// check` proves the refresh token and the client secret this way. A refusal for a
    /// passing reason (429, 5xx, a timeout) is retried like any call.
    pub async fn refresh_now(&self) -> Result<(), ApiError> {
        let req = ApiRequest::new(Method::POST, "token refresh");
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let refreshed = match self.creds.current().await {
                Ok((token, _)) => self.creds.rejected(&token).await,
                Err(e) => Err(e),
            };
            match refreshed {
                Ok(()) => return Ok(()),
                Err(e) => self.pause_or_fail(&req, started, attempt, e).await?,
            }
        }
    }

    pub async fn send(&self, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        let provider = self.provider();
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let ticket = self
                .budget
                .acquire(req.kind, &req.caller)
                .await
                .map_err(|e| self.finish(req, started, e))?;
            // Getting a token may refresh it: a refresh refused for a passing reason (429,
            // 5xx, a lock) is retried like any call.
            let (token, base) = match self.creds.current().await {
                Ok(t) => t,
                Err(e) => {
                    self.budget.complete(ticket);
                    self.pause_or_fail(req, started, attempt, e).await?;
                    continue;
                }
            };
            let url = Self::url(&base, &req.path);
            // Bases were checked when configured or received; an absolute path is new.
            if req.path.contains("://")
                && let Err(m) = crate::config::token_safe_url(&url)
            {
                return Err(self.finish(
                    req,
                    started,
                    ApiError::new(provider, ErrorClass::AuthClient, m),
                ));
            }
            let mut b = self
                .http
                .request(req.method.clone(), &url)
                .bearer_auth(token.expose())
                .query(&req.query);
            for (k, v) in &req.headers {
                b = b.header(k.as_str(), v.as_str());
            }
            if let Some(body) = &req.body {
                b = b.json(body);
            }
            let t0 = Instant::now();
            let sent = b.send().await;
            self.budget.complete(ticket);
            let err = match sent {
                Err(e) => classify_network(provider, &e),
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    self.budget.observe(&headers);
                    match resp.bytes().await {
                        Err(e) => classify_network(provider, &e),
                        Ok(body) if status.is_success() => {
                            self.record(req, Some(status.as_u16()), None, t0.elapsed());
                            return Ok(ApiResponse {
                                status,
                                headers,
                                body: body.to_vec(),
                            });
                        }
                        Ok(body) => classify(provider, status.as_u16(), &headers, &body),
                    }
                }
            };
            self.record(req, err.status, Some(err.class), t0.elapsed());
            let elapsed = started.elapsed();
            match err.class {
                ErrorClass::AuthExpired if !refreshed => {
                    refreshed = true;
                    if let Err(e) = self.creds.rejected(&token).await {
                        self.pause_or_fail(req, started, attempt, e).await?;
                        refreshed = false;
                    }
                }
                ErrorClass::RateBurst | ErrorClass::Transient
                    if attempt < self.retry.max_attempts =>
                {
                    let wait = err
                        .retry_after
                        .unwrap_or_else(|| self.retry.backoff(attempt));
                    if elapsed + wait > self.retry.max_total {
                        return Err(self.finish(req, started, err));
                    }
                    tracing::debug!(
                        provider = provider.as_str(),
                        class = err.class.as_str(),
                        attempt,
                        ?wait,
                        "retrying {}",
                        req.label()
                    );
                    tokio::time::sleep(wait).await;
                }
                ErrorClass::AuthExpired => {
                    // Refreshed once and still refused: the grant itself is the problem.
                    let mut e = err;
                    e.class = ErrorClass::AuthRevoked;
                    e.hint = ErrorClass::AuthRevoked.generic_hint(provider);
                    return Err(self.finish(req, started, e));
                }
                _ => return Err(self.finish(req, started, err)),
            }
        }
    }

    /// Send and parse the JSON answer.
    pub async fn json(&self, req: &ApiRequest) -> Result<Value, ApiError> {
        self.send(req).await?.json(self.provider())
    }

    fn finish(&self, req: &ApiRequest, _started: Instant, mut e: ApiError) -> ApiError {
        if e.request.is_none() {
            e.request = Some(req.label());
        }
        e
    }

    fn record(
        &self,
        req: &ApiRequest,
        status: Option<u16>,
        class: Option<ErrorClass>,
        took: Duration,
    ) {
        if let Some(log) = &self.log {
            log.record(
                self.provider(),
                req.method.as_ref(),
                &req.path,
                status,
                class,
                took,
                &req.caller,
                self.budget.left_today(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_ceiling_and_grows() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        for attempt in 1..10 {
            let ceiling = Duration::from_millis(100)
                .saturating_mul(1 << attempt)
                .min(Duration::from_secs(1));
            assert!(p.backoff(attempt) <= ceiling);
        }
        let big: Vec<Duration> = (0..200).map(|_| p.backoff(8)).collect();
        assert!(
            big.iter().any(|d| *d > Duration::from_millis(500)),
            "full jitter spreads up to the cap"
        );
    }

    #[test]
    fn request_labels_never_carry_query_strings() {
        let r = ApiRequest::new(Method::GET, "/services/data/v62.0/query?q=SELECT+Id")
            .query("token", "x");
        assert_eq!(r.label(), "GET /services/data/v62.0/query");
    }
}
