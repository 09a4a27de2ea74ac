//! The HubSpot side: OAuth and the CRM v3/v4 APIs on one host, like api.hubapi.com.

mod assoc;
mod custom;
mod errors;
mod imports;
mod lists;
mod meta;
mod oauth;
mod objects;
mod ratelimit;
mod schema;
mod search;
mod seed;
mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::Utc;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::SimState;
use super::config::{HubspotSettings, SimConfig};
use super::faults::{FaultKind, PartialFailure, Provider, edge};
use super::http::bearer;
pub use errors::HsError;
pub use schema::ObjectType;
use store::Store;

/// All of one portal's state.
pub struct HubspotWorld {
    pub settings: HubspotSettings,
    pub store: Store,
    pub assoc: assoc::Associations,
    pub lists: lists::Lists,
    pub owners: Vec<meta::Owner>,
    pub stages: Vec<meta::Stage>,
    pub oauth: oauth::OAuthState,
    pub limits: ratelimit::RateState,
    /// Custom object types this portal defined, their schemas as answered, and the
    /// standard objects each associates with.
    pub customs: Vec<&'static schema::CustomType>,
    pub custom_schemas: Vec<Value>,
    pub custom_associations: Vec<(ObjectType, Vec<ObjectType>)>,
    /// CRM imports started through the imports API.
    pub imports: imports::Imports,
}

impl HubspotWorld {
    /// An object type as a path names it: a standard one, or one of this portal's custom
    /// objects by type id or fully qualified name.
    pub fn resolve(&self, s: &str) -> Result<ObjectType, HsError> {
        ObjectType::resolve(s, &self.customs)
            .ok_or_else(|| HsError::validation(format!("Unable to infer object type from: {s}")))
    }

    /// Every object type of the portal, standard then custom.
    pub fn object_types(&self) -> Vec<ObjectType> {
        ObjectType::ALL
            .into_iter()
            .chain(self.customs.iter().map(|c| ObjectType::Custom(c)))
            .collect()
    }

    pub fn seeded(config: &SimConfig) -> HubspotWorld {
        seed::seed(config)
    }

    /// Record counts per object type, for the control API.
    pub fn record_counts(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for t in self.object_types() {
            m.insert(t.name().into(), self.store.count(t).into());
        }
        m.insert("lists".into(), self.lists.count().into());
        serde_json::Value::Object(m)
    }

    /// A form submission or marketing-email open, written the way HubSpot records them (into
    /// calculated properties the API cannot write). Returns false for an unknown contact.
    pub fn record_activity(&mut self, contact: u64, kind: &str, name: &str) -> bool {
        let now = super::clock::hubspot_iso(Utc::now());
        let values: Vec<(&str, String)> = match kind {
            "email_open" => vec![
                ("hs_email_last_open_date", now),
                ("hs_email_last_email_name", name.to_string()),
            ],
            _ => vec![
                ("recent_conversion_event_name", name.to_string()),
                ("recent_conversion_date", now),
            ],
        };
        self.store
            .set_system(ObjectType::Contacts, contact, &values)
    }
}

pub fn router(sim: Arc<SimState>) -> Router {
    let oauth_routes = Router::new()
        .route("/oauth/authorize", get(oauth::authorize))
        .route("/oauth/{portal}/authorize", get(oauth::authorize))
        .route("/oauth/v1/token", post(oauth::token))
        .route("/oauth/v3/token", post(oauth::token))
        .route("/oauth/2026-03/token", post(oauth::token))
        .route(
            "/oauth/v1/access-tokens/{token}",
            get(oauth::access_token_info),
        )
        .route(
            "/oauth/v1/refresh-tokens/{token}",
            get(oauth::refresh_token_info).delete(oauth::delete_refresh_token),
        );
    let crm = Router::new()
        .route(
            "/crm/v3/objects/{object_type}",
            get(objects::list).post(objects::create),
        )
        .route("/crm/v3/objects/{object_type}/search", post(search::search))
        .route("/crm/v3/objects/{object_type}/merge", post(objects::merge))
        .route(
            "/crm/v3/objects/{object_type}/batch/{op}",
            post(objects::batch),
        )
        .route(
            "/crm/v3/objects/{object_type}/{id}",
            get(objects::get_one)
                .patch(objects::update)
                .delete(objects::archive),
        )
        .route(
            "/crm/v4/objects/{from}/{id}/associations/{to}",
            get(assoc::list),
        )
        .route(
            "/crm/v4/objects/{from}/{id}/associations/default/{to}/{to_id}",
            put(assoc::put_default),
        )
        .route(
            "/crm/v4/objects/{from}/{id}/associations/{to}/{to_id}",
            put(assoc::put_labeled).delete(assoc::remove),
        )
        .route(
            "/crm/v4/associations/{from}/{to}/batch/{op}",
            post(assoc::batch),
        )
        .route(
            "/crm/v4/associations/{from}/{to}/batch/associate/default",
            post(assoc::batch_default),
        )
        .route(
            "/crm/v3/properties/{object_type}",
            get(meta::properties).post(meta::create_property),
        )
        .route(
            "/crm/v3/properties/{object_type}/{name}",
            get(meta::property),
        )
        // An import's file may be far past axum's 2 MB default (HubSpot takes 512 MB).
        .route(
            "/crm/v3/imports",
            post(imports::create).layer(axum::extract::DefaultBodyLimit::max(512 * 1024 * 1024)),
        )
        .route("/crm/v3/imports/{import_id}", get(imports::get_one))
        .route("/crm/v3/imports/{import_id}/errors", get(imports::errors))
        .route("/crm/v3/schemas", get(custom::list).post(custom::create))
        .route("/crm/v3/schemas/{object_type}", get(custom::get_one))
        .route("/crm/v3/owners", get(meta::owners))
        .route("/crm/v3/owners/{id}", get(meta::owner))
        .route("/crm/v3/pipelines/{object_type}", get(meta::pipelines))
        .route(
            "/crm/v3/pipelines/{object_type}/{pipeline}",
            get(meta::pipeline),
        )
        .route(
            "/crm/v3/pipelines/{object_type}/{pipeline}/stages",
            get(meta::stages),
        )
        .route("/crm/v3/lists", post(lists::create))
        .route("/crm/v3/lists/search", post(lists::search))
        .route(
            "/crm/v3/lists/{list_id}",
            get(lists::get_one).delete(lists::remove),
        )
        .route(
            "/crm/v3/lists/object-type-id/{type_id}/name/{name}",
            get(lists::by_name),
        )
        .route(
            "/crm/v3/lists/{list_id}/memberships",
            get(lists::memberships).delete(lists::clear_memberships),
        )
        .route(
            "/crm/v3/lists/{list_id}/memberships/{op}",
            put(lists::change_memberships),
        )
        .route(
            "/crm/v3/lists/records/{type_id}/{record_id}/memberships",
            get(lists::record_memberships),
        )
        .route_layer(middleware::from_fn_with_state(sim.clone(), api_gate));
    Router::new()
        .merge(oauth_routes)
        .merge(crm)
        .fallback(|| async { HsError::not_found("resource not found") })
        .layer(middleware::from_fn_with_state(
            sim.clone(),
            faults_and_stats,
        ))
        .with_state(sim)
}

/// Outermost layer on every HubSpot route: injected faults, the correlation id header (the
/// same id as the body's `correlationId`), and request counting.
async fn faults_and_stats(State(sim): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    let id = super::clock::new_correlation_id();
    let mut resp =
        super::clock::with_correlation(id.clone(), answer_with_faults(sim, req, next)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("X-HubSpot-Correlation-Id", v);
    }
    resp
}

async fn answer_with_faults(sim: Arc<SimState>, mut req: Request, next: Next) -> Response {
    let route = format!(
        "{} {}",
        req.method(),
        req.extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "(unmatched)".into())
    );
    let draw = sim
        .faults
        .draw(Provider::Hubspot, req.method().as_str(), req.uri().path());
    if let Some(d) = draw.latency {
        tokio::time::sleep(d).await;
    }
    let resp = match draw.fault {
        Some(f) if f.kind == FaultKind::PartialBatch => {
            req.extensions_mut().insert(PartialFailure {
                fraction: f.fraction.unwrap_or(0.5),
                code: f.code,
                seed: sim.faults.partial_seed(),
            });
            next.run(req).await
        }
        Some(f) => {
            let portal = sim.config.hubspot.portal_id;
            match f.kind {
                FaultKind::RateLimit if req.uri().path().ends_with("/search") => {
                    HsError::rate_limited("SECONDLY", portal).into_response()
                }
                FaultKind::RateLimit => {
                    HsError::rate_limited("TEN_SECONDLY_ROLLING", portal).into_response()
                }
                FaultKind::DailyLimit => HsError::rate_limited("DAILY", portal).into_response(),
                FaultKind::ServerError => {
                    let status = StatusCode::from_u16(f.status.unwrap_or(500))
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    HsError::new(status, "INTERNAL_ERROR", "internal error").into_response()
                }
                FaultKind::HtmlError => edge::html_page(f.status.unwrap_or(502)),
                FaultKind::Timeout => {
                    tokio::time::sleep(Duration::from_millis(f.latency_ms.unwrap_or(30_000))).await;
                    edge::html_page(504)
                }
                FaultKind::Reset => edge::connection_reset(),
                // HubSpot locks records under heavy writes: 423, "a delay of at least 2
                // seconds" (developers.hubspot.com/docs/api-reference/error-handling).
                FaultKind::Lock => HsError::locked().into_response(),
                FaultKind::PartialBatch | FaultKind::Latency => next.run(req).await,
                FaultKind::Garbage | FaultKind::Redirect | FaultKind::Huge => {
                    edge::render(&f).unwrap_or_else(|| edge::html_page(502))
                }
            }
        }
        None => next.run(req).await,
    };
    sim.stats
        .record_request("hubspot", route, resp.status().as_u16());
    resp
}

/// What a CRM route needs: the scopes of which one must be granted.
fn required_scopes(method: &Method, path: &str) -> Vec<String> {
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    let reading = *method == Method::GET
        || (*method == Method::POST
            && (path.ends_with("/search") || path.ends_with("/batch/read")));
    let object_scopes = |t: &str| -> Vec<String> {
        // Tickets have their own scope (developers.hubspot.com: "tickets").
        if ObjectType::parse(t) == Some(ObjectType::Tickets) {
            return vec!["tickets".into()];
        }
        // A custom object (`2-…`, `p…_name`): the custom objects' scopes.
        if ObjectType::parse(t).is_none() && (t.starts_with("2-") || t.starts_with('p')) {
            return if reading {
                vec![
                    "crm.objects.custom.read".into(),
                    "crm.objects.custom.write".into(),
                ]
            } else {
                vec!["crm.objects.custom.write".into()]
            };
        }
        let noun = ObjectType::parse(t)
            .map(|t| t.scope_noun())
            .unwrap_or("contacts");
        if reading {
            vec![
                format!("crm.objects.{noun}.read"),
                format!("crm.objects.{noun}.write"),
            ]
        } else {
            vec![format!("crm.objects.{noun}.write")]
        }
    };
    match seg.as_slice() {
        ["crm", "v3", "objects", t, ..]
        | ["crm", "v4", "objects", t, ..]
        | ["crm", "v4", "associations", t, ..] => object_scopes(t),
        ["crm", "v3", "properties", t, ..] if ObjectType::parse(t) == Some(ObjectType::Tickets) => {
            vec!["tickets".into()]
        }
        ["crm", "v3", "properties", t, ..] => {
            let noun = ObjectType::parse(t)
                .map(|t| t.scope_noun())
                .unwrap_or("contacts");
            let rw = if reading { "read" } else { "write" };
            vec![format!("crm.schemas.{noun}.{rw}")]
        }
        ["crm", "v3", "owners", ..] => vec!["crm.objects.owners.read".into()],
        ["crm", "v3", "imports", ..] => vec!["crm.import".into()],
        ["crm", "v3", "schemas", ..] if reading => vec![
            "crm.schemas.custom.read".into(),
            "crm.schemas.custom.write".into(),
        ],
        ["crm", "v3", "schemas", ..] => vec!["crm.schemas.custom.write".into()],
        ["crm", "v3", "pipelines", t, ..] if ObjectType::parse(t) == Some(ObjectType::Tickets) => {
            vec!["tickets".into()]
        }
        ["crm", "v3", "pipelines", ..] => vec![
            "crm.objects.deals.read".into(),
            "crm.objects.deals.write".into(),
        ],
        ["crm", "v3", "lists", ..] => {
            if reading {
                vec!["crm.lists.read".into(), "crm.lists.write".into()]
            } else {
                vec!["crm.lists.write".into()]
            }
        }
        _ => Vec::new(),
    }
}

/// The gate in front of every CRM route: bearer token, expiry, scopes, then rate limits.
async fn api_gate(State(sim): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    let search = req.uri().path().ends_with("/search");
    let headers = {
        let mut hs = sim.hubspot();
        let token = bearer(req.headers()).and_then(|t| hs.oauth.access.get(t).cloned());
        let Some(token) = token else {
            return HsError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
            .into_response();
        };
        let now = Utc::now();
        if token.expires <= now {
            let ago = (now - token.expires).num_seconds().max(1);
            return HsError::new(
                StatusCode::UNAUTHORIZED,
                "EXPIRED_AUTHENTICATION",
                format!("The OAuth token used to make this call expired {ago} second(s) ago."),
            )
            .context(
                "expire time",
                vec![super::clock::hubspot_iso(token.expires)],
            )
            .into_response();
        }
        let needed = required_scopes(req.method(), req.uri().path());
        let usable = |s: &String| token.scopes.contains(s) && !hs.oauth.withheld_scopes.contains(s);
        if !needed.is_empty() && !needed.iter().any(usable) {
            // Any one of the alternatives would do; current answers list them all.
            let alternatives: Vec<&str> = needed.iter().map(String::as_str).collect();
            return HsError::missing_scopes(&alternatives).into_response();
        }
        if sim.config.limits {
            let portal = hs.settings.portal_id;
            let settings = hs.settings.clone();
            match hs.limits.admit(&settings, search) {
                Ok(h) => h,
                Err(policy) => return HsError::rate_limited(policy, portal).into_response(),
            }
        } else {
            Vec::new()
        }
    };
    let mut resp = next.run(req).await;
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(name, v);
        }
    }
    resp
}

/// A JSON body whose rejections answer in HubSpot's error format.
pub struct HsJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for HsJson<T> {
    type Rejection = HsError;
    async fn from_request(req: Request, state: &S) -> Result<Self, HsError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(HsJson(v)),
            Err(e) => Err(HsError::bad_json(e.body_text())),
        }
    }
}

/// A batch answer: 200/201 when every input succeeded, else 207 with `numErrors`/`errors`.
pub fn batch_response(results: Vec<Value>, errors: Vec<Value>, ok: StatusCode) -> Response {
    let now = super::clock::hubspot_iso(Utc::now());
    let mut body = serde_json::json!({"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now});
    if errors.is_empty() {
        return (ok, axum::Json(body)).into_response();
    }
    body["numErrors"] = serde_json::json!(errors.len());
    body["errors"] = serde_json::json!(errors);
    (StatusCode::MULTI_STATUS, axum::Json(body)).into_response()
}
