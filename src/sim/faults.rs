//! Fault injection: what `POST /faults` installs and what each request draws.
//!
//! The table only decides; each provider renders a fault in its own wire format
//! (HubSpot JSON bodies with `category`, Salesforce JSON arrays with `errorCode`).

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Hubspot,
    Salesforce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// HubSpot 429 (ten-secondly, or secondly on search); Salesforce 403
    /// `REQUEST_LIMIT_EXCEEDED` ConcurrentPerOrgLongTxn.
    RateLimit,
    /// HubSpot 429 DAILY; Salesforce 403 `TotalRequests Limit exceeded.`
    DailyLimit,
    /// A JSON 5xx in the provider's format (`status` picks the code).
    ServerError,
    /// An HTML error page from the edge (502 by default), as Cloudflare or a maintenance
    /// page sends it.
    HtmlError,
    /// Hold the request for `latency_ms` (default 30 s), then answer 504.
    Timeout,
    /// Drop the connection without a complete response.
    Reset,
    /// Salesforce `UNABLE_TO_LOCK_ROW`: whole request for single-record calls, per record
    /// in sObject Collections; HubSpot 423 Locked.
    Lock,
    /// Batch endpoints fail a `fraction` of their inputs (207 on HubSpot, per-record
    /// errors on Salesforce Collections).
    PartialBatch,
    /// Add `latency_ms` before handling; the request then proceeds normally.
    Latency,
    /// Something in between answers for the API: `status` (200) with `body` (empty) as
    /// JSON, as a misbehaving proxy or a cut-off answer does.
    Garbage,
    /// `status` (302) to `location`: an API base that moved (http for https, a retired
    /// instance).
    Redirect,
    /// A 200 whose body streams on for `size_mb` MiB (default 3,000).
    Huge,
}

/// One installed fault, as posted (JSON) to the control API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub provider: Provider,
    pub kind: FaultKind,
    /// Substring of the request path this fault applies to (all routes when absent).
    #[serde(default)]
    pub route: Option<String>,
    /// HTTP method this fault applies to (all when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Chance per matching request (1.0 when absent).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Fire at most this many times, then remove itself.
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    #[serde(default)]
    pub status: Option<u16>,
    /// Share of batch inputs that fail, for `partial_batch` and per-record `lock`.
    #[serde(default)]
    pub fraction: Option<f64>,
    /// Error code for failed batch inputs (`partial_batch`), e.g. `UNABLE_TO_LOCK_ROW`.
    #[serde(default)]
    pub code: Option<String>,
    /// The body of a `garbage` answer.
    #[serde(default)]
    pub body: Option<String>,
    /// Where a `redirect` points.
    #[serde(default)]
    pub location: Option<String>,
    /// How long a `huge` body is.
    #[serde(default)]
    pub size_mb: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstalledFault {
    pub id: u64,
    #[serde(flatten)]
    pub spec: FaultSpec,
    pub fired: u64,
}

/// What one request drew: extra latency and at most one fault to act out.
#[derive(Debug, Default, Clone)]
pub struct FaultDraw {
    pub latency: Option<Duration>,
    pub fault: Option<FaultSpec>,
}

/// Marker put into request extensions for batch handlers to fail part of their inputs.
#[derive(Debug, Clone)]
pub struct PartialFailure {
    pub fraction: f64,
    pub code: Option<String>,
    /// Seed for choosing which inputs fail, so a run is reproducible.
    pub seed: u64,
}

impl PartialFailure {
    /// Whether input `index` of a batch fails.
    pub fn fails(&self, index: usize) -> bool {
        let mut rng = fastrand::Rng::with_seed(self.seed ^ (index as u64).wrapping_mul(0x9E37));
        rng.f64() < self.fraction
    }
}

pub struct FaultTable {
    inner: Mutex<Table>,
}

struct Table {
    next_id: u64,
    faults: Vec<InstalledFault>,
    rng: fastrand::Rng,
}

impl FaultTable {
    pub fn new(seed: u64) -> FaultTable {
        FaultTable {
            inner: Mutex::new(Table {
                next_id: 1,
                faults: Vec::new(),
                rng: fastrand::Rng::with_seed(seed ^ 0xFA17),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn install(&self, spec: FaultSpec) -> Result<u64, String> {
        if let Some(p) = spec.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(format!("probability must be within 0..1, got {p}"));
        }
        if let Some(f) = spec.fraction
            && !(0.0..=1.0).contains(&f)
        {
            return Err(format!("fraction must be within 0..1, got {f}"));
        }
        if spec.kind == FaultKind::Latency && spec.latency_ms.is_none() {
            return Err("latency needs latency_ms".into());
        }
        let mut t = self.lock();
        let id = t.next_id;
        t.next_id += 1;
        t.faults.push(InstalledFault { id, spec, fired: 0 });
        Ok(id)
    }

    pub fn list(&self) -> Vec<InstalledFault> {
        self.lock().faults.clone()
    }

    pub fn clear(&self) {
        self.lock().faults.clear();
    }

    /// Draw the faults for one request. Latency faults add up; of the others, the first
    /// installed one that fires wins.
    pub fn draw(&self, provider: Provider, method: &str, path: &str) -> FaultDraw {
        let mut t = self.lock();
        if t.faults.is_empty() {
            return FaultDraw::default();
        }
        let mut draw = FaultDraw::default();
        let Table { faults, rng, .. } = &mut *t;
        for f in faults.iter_mut() {
            let s = &f.spec;
            if s.provider != provider
                || s.route.as_deref().is_some_and(|r| !path.contains(r))
                || s.method
                    .as_deref()
                    .is_some_and(|m| !m.eq_ignore_ascii_case(method))
                || (s.kind != FaultKind::Latency && draw.fault.is_some())
            {
                continue;
            }
            if s.probability.is_some_and(|p| rng.f64() >= p) {
                continue;
            }
            f.fired += 1;
            if s.kind == FaultKind::Latency {
                let add = Duration::from_millis(s.latency_ms.unwrap_or(0));
                draw.latency = Some(draw.latency.unwrap_or_default() + add);
            } else {
                draw.fault = Some(s.clone());
            }
        }
        faults.retain(|f| f.spec.count.is_none_or(|c| f.fired < u64::from(c)));
        draw
    }

    /// A fresh seed for a partial-failure marker.
    pub fn partial_seed(&self) -> u64 {
        self.lock().rng.u64(..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: FaultKind) -> FaultSpec {
        FaultSpec {
            provider: Provider::Hubspot,
            kind,
            route: None,
            method: None,
            probability: None,
            count: None,
            latency_ms: None,
            status: None,
            fraction: None,
            code: None,
            body: None,
            location: None,
            size_mb: None,
        }
    }

    #[test]
    fn a_counted_fault_fires_that_many_times_then_goes() {
        let t = FaultTable::new(1);
        let mut s = spec(FaultKind::ServerError);
        s.count = Some(2);
        t.install(s).unwrap();
        let fired: Vec<bool> = (0..4)
            .map(|_| {
                t.draw(Provider::Hubspot, "GET", "/crm/v3/objects/contacts")
                    .fault
                    .is_some()
            })
            .collect();
        assert_eq!(fired, [true, true, false, false]);
        assert!(t.list().is_empty());
    }

    #[test]
    fn route_method_and_provider_filter_the_draw() {
        let t = FaultTable::new(1);
        let mut s = spec(FaultKind::RateLimit);
        s.route = Some("/search".into());
        s.method = Some("post".into());
        t.install(s).unwrap();
        assert!(
            t.draw(Provider::Hubspot, "POST", "/crm/v3/objects/contacts/search")
                .fault
                .is_some()
        );
        assert!(
            t.draw(Provider::Hubspot, "GET", "/crm/v3/objects/contacts/search")
                .fault
                .is_none()
        );
        assert!(
            t.draw(Provider::Hubspot, "POST", "/crm/v3/objects/contacts")
                .fault
                .is_none()
        );
        assert!(
            t.draw(Provider::Salesforce, "POST", "/search")
                .fault
                .is_none()
        );
    }

    #[test]
    fn probability_is_roughly_honoured_and_reproducible() {
        let count = |seed| {
            let t = FaultTable::new(seed);
            let mut s = spec(FaultKind::ServerError);
            s.probability = Some(0.25);
            t.install(s).unwrap();
            (0..4000)
                .filter(|_| t.draw(Provider::Hubspot, "GET", "/x").fault.is_some())
                .count()
        };
        let n = count(7);
        assert!((800..1200).contains(&n), "{n}");
        assert_eq!(n, count(7));
    }

    #[test]
    fn bad_specs_are_refused() {
        let t = FaultTable::new(1);
        let mut s = spec(FaultKind::ServerError);
        s.probability = Some(1.5);
        assert!(t.install(s).is_err());
        assert!(
            t.install(spec(FaultKind::Lock)).is_ok(),
            "HubSpot answers 423"
        );
        assert!(t.install(spec(FaultKind::Latency)).is_err());
    }
}

/// Responses every provider renders the same way: what an edge proxy or a dead connection
/// looks like to a client.
pub mod edge {
    use axum::body::Body;
    use axum::http::{StatusCode, header};
    use axum::response::{IntoResponse, Response};

    /// An HTML error page, as Cloudflare or a maintenance page sends it.
    pub fn html_page(status: u16) -> Response {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        let reason = status.canonical_reason().unwrap_or("Error");
        let body = format!(
            "<!DOCTYPE html>\n<html><head><title>{code} {reason}</title></head>\n<body><center><h1>{code} {reason}</h1></center><hr><center>cloudflare</center></body></html>\n",
            code = status.as_u16()
        );
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            body,
        )
            .into_response()
    }

    /// What a misbehaving proxy, a redirecting edge or an endless body sends, for the
    /// `garbage`, `redirect` and `huge` faults; None for the others.
    pub fn render(f: &super::FaultSpec) -> Option<Response> {
        use super::FaultKind;
        let status = |default: u16| {
            StatusCode::from_u16(f.status.unwrap_or(default)).unwrap_or(StatusCode::OK)
        };
        Some(match f.kind {
            FaultKind::Garbage => (
                status(200),
                [(header::CONTENT_TYPE, "application/json")],
                f.body.clone().unwrap_or_default(),
            )
                .into_response(),
            FaultKind::Redirect => (
                status(302),
                [(
                    header::LOCATION,
                    f.location
                        .clone()
                        .unwrap_or_else(|| "https://login.example.com/".into()),
                )],
            )
                .into_response(),
            FaultKind::Huge => {
                let chunks = f.size_mb.unwrap_or(3_000);
                let chunk = axum::body::Bytes::from(vec![b' '; 1024 * 1024]);
                let stream = futures_util::stream::iter(
                    (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
                );
                let mut r = Response::new(Body::from_stream(stream));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("application/json"),
                );
                r
            }
            _ => return None,
        })
    }

    /// A response whose body fails at once: hyper aborts the connection, so the client sees
    /// a reset / incomplete message rather than an HTTP answer.
    pub fn connection_reset() -> Response {
        let stream = futures_util::stream::once(async {
            Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "simulated connection reset",
            ))
        });
        let mut r = Response::new(Body::from_stream(stream));
        // A declared length the body never delivers makes the truncation unmistakable.
        r.headers_mut().insert(
            header::CONTENT_LENGTH,
            header::HeaderValue::from_static("4096"),
        );
        r
    }
}
