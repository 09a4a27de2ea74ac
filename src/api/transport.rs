//! The one transport for both providers. Every call goes through here: budget and pacing,
//! the current token, the HTTP exchange, classification of any failure, one refresh and
//! replay on an expired token, and bounded retries with full-jitter backoff for retryable
//! classes (waiting exactly as long as a 429 asks).

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::shape::Shape;
use crate::auth::{HubspotAuth, SalesforceAuth};
use crate::budget::{Budget, CallKind};
use crate::classify::{classify, classify_network};
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

    /// For a rate limit that did not say how long: "equal jitter" from one second, so the
    /// waits before giving up add up to well past a 10-second window (1 + 2 + 4 + 8 s at
    /// least over five attempts) while callers still spread out.
    fn rate_backoff(&self, attempt: u32) -> Duration {
        let ceiling = Duration::from_secs(2)
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.cap);
        ceiling / 2 + (ceiling / 2).mul_f64(fastrand::f64())
    }
}

/// A URL as it may be shown: scheme, host, port and path, never the query.
fn origin_and_path(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
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
    /// A body that is not JSON (a Bulk API CSV upload): its content type and bytes.
    pub raw_body: Option<(String, bytes::Bytes)>,
    pub headers: Vec<(String, String)>,
    pub kind: CallKind,
    /// Who made the call: `host`, `plugin:<name>`, `plugin:<name>/<rule>`, `repl`…
    pub caller: String,
    /// What a successful answer must look like (see [`super::shape`]); checked before the
    /// call counts as a success, so a garbage 200 is retried like a 5xx.
    pub expect: Option<Shape>,
}

impl ApiRequest {
    pub fn new(method: Method, path: impl Into<String>) -> ApiRequest {
        ApiRequest {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            raw_body: None,
            headers: Vec::new(),
            kind: CallKind::Normal,
            caller: "host".into(),
            expect: None,
        }
    }

    pub fn expect(mut self, shape: Shape) -> ApiRequest {
        self.expect = Some(shape);
        self
    }

    pub fn query(mut self, k: &str, v: impl Into<String>) -> ApiRequest {
        self.query.push((k.into(), v.into()));
        self
    }

    pub fn json(mut self, body: Value) -> ApiRequest {
        self.body = Some(body);
        self
    }

    /// A body of `content_type` as it is (CSV for the Bulk API).
    pub fn raw(mut self, content_type: &str, bytes: Vec<u8>) -> ApiRequest {
        self.raw_body = Some((content_type.to_string(), bytes.into()));
        self
    }

    pub fn header(mut self, k: &str, v: impl Into<String>) -> ApiRequest {
        self.headers.push((k.into(), v.into()));
        self
    }

    /// Whether the request asks "only if changed" (`If-Modified-Since`): a 304 answers it.
    pub fn is_conditional(&self) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("if-modified-since"))
    }

    pub fn kind(mut self, kind: CallKind) -> ApiRequest {
        self.kind = kind;
        self
    }

    pub fn caller(mut self, caller: impl Into<String>) -> ApiRequest {
        self.caller = caller.into();
        self
    }

    /// `METHOD /path` for errors and logs: no query string (it may carry data), and a
    /// path cut short when it is absurdly long.
    fn label(&self) -> String {
        let path = self.path.split('?').next().unwrap_or_default();
        match path.char_indices().nth(120) {
            Some((cut, _)) => format!("{} {}…", self.method, &path[..cut]),
            None => format!("{} {path}", self.method),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The body as JSON, when the request expected a shape (checked).
    pub parsed: Option<Value>,
}

/// Far above any page either API serves (a Salesforce query page of 2,000 wide records is a
/// few MB); a body past it is refused as it streams in, before it can exhaust memory.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;
/// Both APIs refuse longer URLs (Salesforce documents 16,384 characters for REST); one this
/// long is a mistake in the request, not a network problem to retry.
pub const MAX_URL_BYTES: usize = 16 * 1024;

impl ApiResponse {
    /// The body as JSON (empty bodies are `null`); a garbage body is a classified error.
    pub fn json(&self, provider: Provider) -> Result<Value, ApiError> {
        if let Some(v) = &self.parsed {
            return Ok(v.clone());
        }
        parse_json(provider, self.status, &self.body)
    }
}

fn parse_json(provider: Provider, status: StatusCode, body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|e| garbage(provider, status, format!("is not valid JSON ({e})")))
}

/// A success status whose body is not what the API promises: transient, since the same call
/// usually answers properly again (a proxy's page, a cut-off body, a provider's bad minute).
fn garbage(provider: Provider, status: StatusCode, what: String) -> ApiError {
    ApiError::new(
        provider,
        ErrorClass::Transient,
        format!("the answer (HTTP {}) {what}", status.as_u16()),
    )
    .with_status(status.as_u16())
    .with_code("GARBAGE_ANSWER")
    .with_hint(format!(
        "hubforce retried it; if it goes on, something between this machine and {} (a proxy, a captive portal) or the API itself is answering wrongly",
        provider.label()
    ))
}

/// Read a body, refusing it past [`MAX_ANSWER_BYTES`].
async fn read_capped(provider: Provider, mut resp: reqwest::Response) -> Result<Vec<u8>, ApiError> {
    let too_big = || {
        ApiError::new(
            provider,
            ErrorClass::Validation,
            format!(
                "the answer is larger than {} MiB; hubforce stopped reading it",
                MAX_ANSWER_BYTES / (1024 * 1024)
            ),
        )
        .with_code("ANSWER_TOO_LARGE")
        .with_hint("ask for less in one call: fewer fields, a smaller page or LIMIT")
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(too_big());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(classify_network(provider, &e)),
        }
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

    /// The URL a request goes to: a path below the provider's base, or an absolute URL on
    /// exactly the base's origin (a `nextRecordsUrl`, HubSpot's `paging.next.link`). The
    /// token travels with every call, so anything else — another host, port or scheme, the
    /// simulator's control API, a plugin's own server — is refused before a connection opens.
    pub fn target_url(base: &str, path: &str) -> Result<url::Url, String> {
        let base_url =
            url::Url::parse(base).map_err(|e| format!("the API base {base} is not a URL: {e}"))?;
        let joined = if path.contains("://") {
            path.to_string()
        } else {
            format!(
                "{}/{}",
                base.trim_end_matches('/'),
                path.trim_start_matches('/')
            )
        };
        let url = url::Url::parse(&joined).map_err(|e| format!("{joined} is not a URL: {e}"))?;
        if url.origin() != base_url.origin() {
            let shown = url.origin().ascii_serialization();
            return Err(format!(
                "{shown} is not the provider's API ({}); hubforce sends requests, and the token, only there",
                base_url.origin().ascii_serialization()
            ));
        }
        Ok(url)
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

    /// A success whose body passes the expected shape; anything else is garbage.
    fn accept(
        provider: Provider,
        status: StatusCode,
        headers: HeaderMap,
        body: Vec<u8>,
        expect: Option<Shape>,
    ) -> Result<ApiResponse, ApiError> {
        let parsed = match expect {
            None => None,
            Some(shape) => {
                let v = parse_json(provider, status, &body)?;
                shape(&v).map_err(|what| {
                    garbage(
                        provider,
                        status,
                        format!("is not what the API promises: {what}"),
                    )
                })?;
                Some(v)
            }
        };
        Ok(ApiResponse {
            status,
            headers,
            body,
            parsed,
        })
    }

    pub async fn send(&self, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
        self.send_expecting(req, req.expect).await
    }

    async fn send_expecting(
        &self,
        req: &ApiRequest,
        expect: Option<Shape>,
    ) -> Result<ApiResponse, ApiError> {
        let provider = self.provider();
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            attempt += 1;
            // A place among the calls in flight first, so that a queued call holds no slot
            // of the provider's window while it waits.
            let in_flight = self.budget.in_flight().await;
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
                    self.budget.cancel(ticket, &req.caller);
                    self.pause_or_fail(req, started, attempt, e).await?;
                    continue;
                }
            };
            let url = match Self::target_url(&base, &req.path) {
                Ok(u) => u,
                Err(m) => {
                    self.budget.cancel(ticket, &req.caller);
                    return Err(self.finish(
                        req,
                        started,
                        ApiError::new(provider, ErrorClass::Permission, m)
                            .with_code("FOREIGN_URL")
                            .with_hint("give a path below the API base, like /crm/v3/objects/contacts or /services/data/v62.0/query"),
                    ));
                }
            };
            if url.as_str().len() > MAX_URL_BYTES {
                self.budget.cancel(ticket, &req.caller);
                return Err(self.finish(
                    req,
                    started,
                    ApiError::new(
                        provider,
                        ErrorClass::Validation,
                        format!(
                            "the request's URL is {} KB long; the APIs refuse URLs over {} KB",
                            url.as_str().len() / 1024,
                            MAX_URL_BYTES / 1024
                        ),
                    )
                    .with_code("URL_TOO_LONG")
                    .with_hint("shorten the id or query string (long SOQL or many ids belong in a POST body or several calls)"),
                ));
            }
            let mut b = self
                .http
                .request(req.method.clone(), url)
                .bearer_auth(token.expose())
                .query(&req.query);
            for (k, v) in &req.headers {
                b = b.header(k.as_str(), v.as_str());
            }
            if let Some(body) = &req.body {
                b = b.json(body);
            } else if let Some((content_type, bytes)) = &req.raw_body {
                b = b
                    .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                    .body(bytes.clone());
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
                    // Which URL answered, kept only for a failure that names it.
                    let answered = (!status.is_success()).then(|| resp.url().clone());
                    match read_capped(provider, resp).await {
                        Err(e) => e,
                        // A conditional request's "unchanged" is an answer, not a failure.
                        Ok(body) if status == StatusCode::NOT_MODIFIED && req.is_conditional() => {
                            self.record(req, Some(status.as_u16()), None, t0.elapsed());
                            return Ok(ApiResponse {
                                status,
                                headers,
                                body,
                                parsed: None,
                            });
                        }
                        Ok(body) if status.is_success() => {
                            match Self::accept(provider, status, headers, body, expect) {
                                Ok(answer) => {
                                    self.record(req, Some(status.as_u16()), None, t0.elapsed());
                                    return Ok(answer);
                                }
                                Err(e) => e,
                            }
                        }
                        Ok(body) => {
                            let mut e = classify(provider, status.as_u16(), &headers, &body);
                            if e.code.as_deref() == Some("HTML_PAGE")
                                && let Some(url) = &answered
                            {
                                e.message = format!("{} from {}", e.message, origin_and_path(url));
                            }
                            e
                        }
                    }
                }
            };
            self.record(req, err.status, Some(err.class), t0.elapsed());
            drop(in_flight); // not held while a retry waits
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
                    let wait = err.retry_after.unwrap_or_else(|| match err.class {
                        // No Retry-After: wait out HubSpot's 10-second window before giving up.
                        ErrorClass::RateBurst => self.retry.rate_backoff(attempt),
                        _ => self.retry.backoff(attempt),
                    });
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

    /// Send and parse the JSON answer (of the request's shape, or any JSON or none).
    pub async fn json(&self, req: &ApiRequest) -> Result<Value, ApiError> {
        let expect = req.expect.unwrap_or(super::shape::any);
        let answer = self.send_expecting(req, Some(expect)).await?;
        Ok(answer.parsed.unwrap_or(Value::Null))
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
            let place = crate::budget::CallPlace::here(&req.caller);
            log.record(
                self.provider(),
                req.method.as_ref(),
                &req.path,
                status,
                class,
                took,
                (&req.caller, place.pair.as_deref(), place.stage.as_str()),
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
    fn a_rate_limit_without_retry_after_is_waited_out_past_a_ten_second_window() {
        let p = RetryPolicy::default();
        for _ in 0..50 {
            let waited: Duration = (1..p.max_attempts).map(|a| p.rate_backoff(a)).sum();
            assert!(waited > Duration::from_secs(10), "{waited:?}");
            assert!(waited < p.max_total, "{waited:?}");
        }
    }

    #[test]
    fn requests_go_only_to_the_providers_origin() {
        let base = "http://127.0.0.1:4000";
        let ok = |p: &str| Transport::target_url(base, p).map(|u| u.to_string());
        assert_eq!(
            ok("/crm/v3/owners").unwrap(),
            "http://127.0.0.1:4000/crm/v3/owners"
        );
        assert_eq!(
            ok("crm/v3/owners").unwrap(),
            "http://127.0.0.1:4000/crm/v3/owners"
        );
        assert_eq!(
            ok("http://127.0.0.1:4000/crm/v3/objects/contacts?after=5").unwrap(),
            "http://127.0.0.1:4000/crm/v3/objects/contacts?after=5",
            "an absolute link on the base's own origin (paging) is fine"
        );
        // Whatever the path says, the host stays the base's.
        for sneaky in [
            "//evil.example/x",
            "@evil.example/x",
            ":9999/x",
            "/\\evil.example/x",
        ] {
            let u = Transport::target_url(base, sneaky).unwrap();
            assert_eq!(u.host_str(), Some("127.0.0.1"), "{sneaky}");
            assert_eq!(u.port(), Some(4000), "{sneaky}");
        }
        for foreign in [
            "http://127.0.0.1:4001/x",
            "http://localhost:4000/x",
            "https://127.0.0.1:4000/x",
            "http://evil.example/x",
            "file:///etc/passwd",
            "http://127.0.0.1:4000@evil.example/x",
        ] {
            let e = Transport::target_url(base, foreign).unwrap_err();
            assert!(e.contains("not the provider's API"), "{foreign}: {e}");
        }
    }

    #[test]
    fn request_labels_never_carry_query_strings() {
        let r = ApiRequest::new(Method::GET, "/services/data/v62.0/query?q=SELECT+Id")
            .query("token", "x");
        assert_eq!(r.label(), "GET /services/data/v62.0/query");
    }
}
