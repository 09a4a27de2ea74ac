//! The Salesforce side: a login host (OAuth, identity) and an instance (REST data API).

mod bulk;
mod collections;
mod errors;
mod ids;
mod oauth;
mod query;
mod schema;
mod seed;
mod sobjects;
mod soql;

pub(crate) fn parse_soql(query: &str) -> Result<(), &'static str> {
    soql::parse(query).map(|_| ()).map_err(|e| e.code)
}
mod store;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::config::{SalesforceSettings, SimConfig};
use super::faults::{FaultKind, PartialFailure, Provider, edge};
use super::http::bearer;
use super::{SimState, Urls};
pub use errors::SfError;
use store::Store;

/// All of one org's state.
pub struct SalesforceWorld {
    pub settings: SalesforceSettings,
    /// 18-character org id.
    pub org_id: String,
    pub store: Store,
    pub oauth: oauth::OAuthState,
    pub usage: ApiUsage,
    pub cursors: query::Cursors,
    pub bulk: bulk::BulkJobs,
    inflight: BTreeMap<u64, Instant>,
    next_request: u64,
}

/// The org's rolling 24-hour API request count.
#[derive(Debug)]
pub struct ApiUsage {
    pub used: u64,
    window_start: Instant,
}

impl ApiUsage {
    fn roll(&mut self) {
        if self.window_start.elapsed() >= Duration::from_secs(86_400) {
            self.used = 0;
            self.window_start = Instant::now();
        }
    }
}

impl SalesforceWorld {
    pub fn seeded(config: &SimConfig, urls: &Urls) -> SalesforceWorld {
        seed::seed(config, urls)
    }

    pub fn record_counts(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for o in self.store.objects.iter() {
            m.insert(o.name.into(), self.store.count(o.name).into());
        }
        serde_json::Value::Object(m)
    }

    pub fn api_usage(&self) -> serde_json::Value {
        json!({"used": self.usage.used, "max": self.settings.daily_allocation()})
    }

    pub fn expire_sessions(&mut self) {
        self.oauth.expire_all();
    }

    pub fn revoke_all_refresh(&mut self) {
        self.oauth.revoke_all_refresh();
    }

    pub fn apply_toggles(
        &mut self,
        deny: Option<bool>,
        rotate: Option<bool>,
        duplicate_rule: Option<bool>,
        processing_ms: Option<u64>,
    ) {
        if let Some(v) = deny {
            self.oauth.deny_consent = v;
        }
        if let Some(v) = rotate {
            self.settings.rotate_refresh_tokens = v;
        }
        if let Some(v) = duplicate_rule {
            self.store.duplicate_rule = v;
        }
        if let Some(v) = processing_ms {
            self.settings.refresh_processing_ms = v;
        }
    }

    fn limit_info(&self) -> String {
        format!(
            "api-usage={}/{}",
            self.usage.used,
            self.settings.daily_allocation()
        )
    }
}

/// OAuth and identity on the login host (login.salesforce.com / test.salesforce.com).
pub fn login_router(sim: Arc<SimState>) -> Router {
    Router::new()
        .route("/services/oauth2/authorize", get(oauth::authorize))
        .route("/services/oauth2/token", post(oauth::token))
        .route(
            "/services/oauth2/revoke",
            post(oauth::revoke).get(oauth::revoke_get),
        )
        .route("/services/oauth2/introspect", post(oauth::introspect))
        .route("/services/oauth2/userinfo", get(oauth::userinfo))
        .route("/id/{org}/{user}", get(oauth::identity))
        .fallback(|| async { SfError::not_found() })
        .layer(middleware::from_fn_with_state(
            sim.clone(),
            faults_and_stats,
        ))
        .with_state(sim)
}

/// The REST data routes without the gate: composite requests dispatch into these.
pub(crate) fn data_routes(sim: Arc<SimState>) -> Router {
    Router::new()
        .route("/services/data/{version}", get(sobjects::resources))
        .route("/services/data/{version}/", get(sobjects::resources))
        .route("/services/data/{version}/limits", get(sobjects::limits))
        .route("/services/data/{version}/limits/", get(sobjects::limits))
        .route(
            "/services/data/{version}/sobjects",
            get(sobjects::global_describe),
        )
        .route(
            "/services/data/{version}/sobjects/",
            get(sobjects::global_describe),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}",
            get(sobjects::basic_info).post(sobjects::create),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/",
            get(sobjects::basic_info).post(sobjects::create),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/describe",
            get(sobjects::describe),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/describe/",
            get(sobjects::describe),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/updated",
            get(sobjects::updated),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/updated/",
            get(sobjects::updated),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/deleted",
            get(sobjects::deleted),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/deleted/",
            get(sobjects::deleted),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/{id}",
            get(sobjects::read)
                .patch(sobjects::update)
                .delete(sobjects::delete)
                .post(sobjects::post_override),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/{field}/{value}",
            patch(sobjects::upsert).get(sobjects::read_by_external_id),
        )
        .route("/services/data/{version}/query", get(query::query))
        .route("/services/data/{version}/query/", get(query::query))
        .route("/services/data/{version}/query/{locator}", get(query::more))
        .route("/services/data/{version}/queryAll", get(query::query_all))
        .route("/services/data/{version}/queryAll/", get(query::query_all))
        .route(
            "/services/data/{version}/queryAll/{locator}",
            get(query::more),
        )
        .route(
            "/services/data/{version}/composite/sobjects",
            post(collections::create)
                .patch(collections::update)
                .delete(collections::delete),
        )
        .route(
            "/services/data/{version}/composite/sobjects/{sobject}",
            get(collections::retrieve),
        )
        .route(
            "/services/data/{version}/composite/sobjects/{sobject}/{field}",
            patch(collections::upsert),
        )
        .route(
            "/services/data/{version}/composite",
            post(collections::composite),
        )
        .merge(bulk_routes())
        .route("/services/oauth2/userinfo", get(oauth::userinfo))
        .fallback(|| async { SfError::not_found() })
        .with_state(sim)
}

/// Bulk API 2.0 (each path also with a trailing slash, as Salesforce answers both).
fn bulk_routes() -> Router<Arc<SimState>> {
    let mut r = Router::new();
    for slash in ["", "/"] {
        let at = |p: &str| format!("/services/data/{{version}}/jobs/{p}{slash}");
        r = r
            .route(&at("ingest"), post(bulk::create_ingest))
            .route(
                &at("ingest/{id}"),
                get(bulk::info)
                    .patch(bulk::change_ingest)
                    .delete(bulk::delete),
            )
            // Past axum's 2 MB default: a job's data may be as large as Salesforce takes,
            // and a larger upload meets Salesforce's own refusal.
            .route(
                &at("ingest/{id}/batches"),
                put(bulk::upload).layer(axum::extract::DefaultBodyLimit::max(
                    bulk::MAX_UPLOAD + 1024 * 1024,
                )),
            )
            .route(&at("ingest/{id}/successfulResults"), get(bulk::successful))
            .route(&at("ingest/{id}/failedResults"), get(bulk::failed))
            .route(
                &at("ingest/{id}/unprocessedrecords"),
                get(bulk::unprocessed),
            )
            .route(&at("query"), post(bulk::create_query))
            .route(
                &at("query/{id}"),
                get(bulk::info)
                    .patch(bulk::change_query)
                    .delete(bulk::delete),
            )
            .route(&at("query/{id}/results"), get(bulk::query_results));
    }
    r
}

/// The instance host (`instance_url`): versions without auth, everything else behind the gate.
pub fn instance_router(sim: Arc<SimState>) -> Router {
    let gated =
        data_routes(sim.clone()).layer(middleware::from_fn_with_state(sim.clone(), api_gate));
    Router::new()
        .route("/services/data", get(sobjects::versions))
        .route("/services/data/", get(sobjects::versions))
        .merge(gated)
        .layer(middleware::from_fn_with_state(sim, faults_and_stats))
}

async fn faults_and_stats(
    State(sim): State<Arc<SimState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let route = format!(
        "{} {}",
        req.method(),
        req.extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| req.uri().path().to_string())
    );
    let draw = sim.faults.draw(
        Provider::Salesforce,
        req.method().as_str(),
        req.uri().path(),
    );
    if let Some(d) = draw.latency {
        if gated(req.uri().path()) {
            // Server time: the gate sleeps after registering the request, so injected
            // latency counts toward the concurrent long-running request limit.
            req.extensions_mut().insert(InjectedLatency(d));
        } else {
            tokio::time::sleep(d).await;
        }
    }
    let collections = req.uri().path().contains("/composite/sobjects");
    let resp = match draw.fault {
        Some(f) if f.kind == FaultKind::PartialBatch || (f.kind == FaultKind::Lock && collections) => {
            req.extensions_mut().insert(PartialFailure {
                fraction: f.fraction.unwrap_or(0.5),
                code: f.code.or_else(|| Some("UNABLE_TO_LOCK_ROW".into())),
                seed: sim.faults.partial_seed(),
            });
            next.run(req).await
        }
        Some(f) => match f.kind {
            // Salesforce's limit answers carry the usage header like every API answer.
            FaultKind::RateLimit => with_limit_info(&sim.salesforce().limit_info(), SfError::new(StatusCode::FORBIDDEN, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.").into_response()),
            FaultKind::DailyLimit => with_limit_info(&sim.salesforce().limit_info(), SfError::new(StatusCode::FORBIDDEN, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.").into_response()),
            FaultKind::ServerError => match f.status.unwrap_or(503) {
                503 => SfError::new(StatusCode::SERVICE_UNAVAILABLE, "SERVER_UNAVAILABLE", "Server Unavailable").into_response(),
                s => SfError::new(
                    StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    "UNKNOWN_EXCEPTION",
                    "An unexpected error occurred. Please include this ErrorId if you contact support: 1930357415-51880 (-1104153218)",
                )
                .into_response(),
            },
            FaultKind::HtmlError => edge::html_page(f.status.unwrap_or(502)),
            FaultKind::Timeout => {
                tokio::time::sleep(Duration::from_millis(f.latency_ms.unwrap_or(30_000))).await;
                edge::html_page(504)
            }
            FaultKind::Reset => edge::connection_reset(),
            FaultKind::Lock => SfError::bad_request(
                "UNABLE_TO_LOCK_ROW",
                "unable to obtain exclusive access to this record or 1 records: record locked by another transaction",
            )
            .into_response(),
            FaultKind::PartialBatch | FaultKind::Latency => next.run(req).await,
            FaultKind::Garbage | FaultKind::Redirect | FaultKind::Huge => {
                edge::render(&f).unwrap_or_else(|| edge::html_page(502))
            }
        },
        None => next.run(req).await,
    };
    sim.stats
        .record_request("salesforce", route, resp.status().as_u16());
    resp
}

/// The usage header every API answer carries, limit refusals too.
fn with_limit_info(info: &str, mut r: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(info) {
        r.headers_mut().insert("Sforce-Limit-Info", v);
    }
    r
}

/// Session check, the daily allocation and the concurrent long-request limit, then the
/// `Sforce-Limit-Info` header on the answer.
async fn api_gate(State(sim): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    let request_id = {
        let mut sf = sim.salesforce();
        let ttl = Duration::from_secs(sf.settings.session_ttl_secs);
        if !sf.settings.rest_api_enabled {
            // What an org answers a token without the `api` scope or a user without
            // "API Enabled" (Salesforce knowledge article 005226515).
            return SfError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_SESSION_ID",
                "This session is not valid for use with the REST API",
            )
            .into_response();
        }
        if bearer(req.headers())
            .and_then(|t| sf.oauth.touch_session(t, ttl))
            .is_none()
        {
            return SfError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_SESSION_ID",
                "Session expired or invalid",
            )
            .into_response();
        }
        if sim.config.limits {
            sf.usage.roll();
            if sf.usage.used >= sf.settings.daily_allocation() {
                let refused = SfError::new(
                    StatusCode::FORBIDDEN,
                    "REQUEST_LIMIT_EXCEEDED",
                    "TotalRequests Limit exceeded.",
                );
                return with_limit_info(&sf.limit_info(), refused.into_response());
            }
            let long = Duration::from_secs(sf.settings.long_request_secs);
            let running_long = sf.inflight.values().filter(|t| t.elapsed() >= long).count();
            if running_long >= sf.settings.max_long_requests {
                let refused = SfError::new(
                    StatusCode::FORBIDDEN,
                    "REQUEST_LIMIT_EXCEEDED",
                    "ConcurrentPerOrgLongTxn Limit exceeded.",
                );
                return with_limit_info(&sf.limit_info(), refused.into_response());
            }
            sf.usage.used += 1;
        }
        sf.next_request += 1;
        let id = sf.next_request;
        sf.inflight.insert(id, Instant::now());
        id
    };
    // Dropping the guard also ends a request the client abandoned mid-way.
    let _inflight = InflightGuard {
        sim: sim.clone(),
        id: request_id,
    };
    if let Some(InjectedLatency(d)) = req.extensions().get::<InjectedLatency>().cloned() {
        tokio::time::sleep(d).await;
    }
    let resp = next.run(req).await;
    let info = sim.salesforce().limit_info();
    with_limit_info(&info, resp)
}

/// Latency drawn from the fault table, served inside the gate.
#[derive(Clone)]
struct InjectedLatency(Duration);

/// Paths behind the API gate (everything on the instance but the versions list).
fn gated(path: &str) -> bool {
    path.starts_with("/services/data/") && path.trim_end_matches('/') != "/services/data"
}

struct InflightGuard {
    sim: Arc<SimState>,
    id: u64,
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.sim.salesforce().inflight.remove(&self.id);
    }
}

/// A JSON body whose rejections answer in Salesforce's error format.
pub struct SfJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for SfJson<T> {
    type Rejection = SfError;
    async fn from_request(req: Request, state: &S) -> Result<Self, SfError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| SfError::json_parse(e.body_text()))?;
        serde_json::from_slice(&bytes)
            .map(SfJson)
            .map_err(SfError::json_parse)
    }
}

/// `Sforce-Duplicate-Rule-Header: allowSave=true` lets a save through the duplicate rule.
pub fn write_options(headers: &axum::http::HeaderMap) -> store::WriteOptions {
    let allow = headers
        .get("Sforce-Duplicate-Rule-Header")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.replace(' ', "")
                .to_ascii_lowercase()
                .contains("allowsave=true")
        });
    store::WriteOptions {
        allow_duplicates: allow,
    }
}
