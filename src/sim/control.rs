//! The control API (its own loopback port; never part of a provider surface): statistics,
//! fault injection, token expiry and revocation, runtime toggles, re-seeding.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::SimState;
use super::faults::FaultSpec;

pub fn router(sim: Arc<SimState>) -> Router {
    Router::new()
        .route("/stats", get(stats))
        .route(
            "/faults",
            post(install_faults).get(list_faults).delete(clear_faults),
        )
        .route("/expire-tokens", post(expire_tokens))
        .route("/revoke-refresh-tokens", post(revoke_refresh_tokens))
        .route("/settings", post(settings))
        .route("/activity", post(activity))
        .route("/convert-lead", post(convert_lead))
        .route("/merge", post(merge))
        .route("/reset", post(reset))
        .with_state(sim)
}

fn bad_request(msg: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": msg.into()})),
    )
        .into_response()
}

async fn stats(State(sim): State<Arc<SimState>>) -> Response {
    let mut v = sim.stats.to_json();
    v["records"] = json!({
        "hubspot": sim.hubspot().record_counts(),
        "salesforce": sim.salesforce().record_counts(),
    });
    v["api_usage"] = json!({
        "hubspot_daily_used": sim.hubspot().limits.daily_used,
        "salesforce": sim.salesforce().api_usage(),
    });
    axum::Json(v).into_response()
}

/// Body: one fault spec or an array of them. Answers `{"ids": [...]}`.
async fn install_faults(State(sim): State<Arc<SimState>>, body: axum::body::Bytes) -> Response {
    let specs: Vec<FaultSpec> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(a)) => match a.into_iter().map(serde_json::from_value).collect() {
            Ok(s) => s,
            Err(e) => return bad_request(format!("bad fault spec: {e}")),
        },
        Ok(v) => match serde_json::from_value(v) {
            Ok(s) => vec![s],
            Err(e) => return bad_request(format!("bad fault spec: {e}")),
        },
        Err(e) => return bad_request(format!("body is not JSON: {e}")),
    };
    let mut ids = Vec::new();
    for s in specs {
        match sim.faults.install(s) {
            Ok(id) => ids.push(id),
            Err(e) => return bad_request(e),
        }
    }
    axum::Json(json!({"ids": ids})).into_response()
}

async fn list_faults(State(sim): State<Arc<SimState>>) -> Response {
    axum::Json(json!({"faults": sim.faults.list()})).into_response()
}

async fn clear_faults(State(sim): State<Arc<SimState>>) -> Response {
    sim.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ProviderFilter {
    provider: Option<String>,
}

fn parse_filter(body: &[u8]) -> Result<(bool, bool), String> {
    let f: ProviderFilter = if body.is_empty() {
        ProviderFilter::default()
    } else {
        serde_json::from_slice(body).map_err(|e| format!("bad body: {e}"))?
    };
    match f.provider.as_deref() {
        None => Ok((true, true)),
        Some("hubspot") => Ok((true, false)),
        Some("salesforce") => Ok((false, true)),
        Some(other) => Err(format!(
            "unknown provider {other}; use hubspot or salesforce"
        )),
    }
}

/// Every access token (or one provider's) is past its expiry from now on.
async fn expire_tokens(State(sim): State<Arc<SimState>>, body: axum::body::Bytes) -> Response {
    let (hs, sf) = match parse_filter(&body) {
        Ok(p) => p,
        Err(e) => return bad_request(e),
    };
    if hs {
        sim.hubspot().oauth.expire_all();
    }
    if sf {
        sim.salesforce().expire_sessions();
    }
    StatusCode::NO_CONTENT.into_response()
}

/// Every refresh token (or one provider's) is revoked, as an app uninstall does.
async fn revoke_refresh_tokens(
    State(sim): State<Arc<SimState>>,
    body: axum::body::Bytes,
) -> Response {
    let (hs, sf) = match parse_filter(&body) {
        Ok(p) => p,
        Err(e) => return bad_request(e),
    };
    if hs {
        sim.hubspot().oauth.revoke_all_refresh();
    }
    if sf {
        sim.salesforce().revoke_all_refresh();
    }
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HubspotToggles {
    deny_consent: Option<bool>,
    rotate_refresh_tokens: Option<bool>,
    /// Scopes whose calls the portal now refuses with MISSING_SCOPES although tokens still
    /// list them (a scope requirement that changed under an installed app).
    withheld_scopes: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SalesforceToggles {
    deny_consent: Option<bool>,
    rotate_refresh_tokens: Option<bool>,
    duplicate_rule: Option<bool>,
    refresh_processing_ms: Option<u64>,
    /// False: REST calls answer 401 "This session is not valid for use with the REST API".
    rest_api_enabled: Option<bool>,
    /// False: token requests answer "user hasn't approved this consumer".
    consumer_approved: Option<bool>,
    /// `["Lead.Title", …]`: fields the integration user may read but not edit (field-level
    /// security), as describe reports them and writes find them.
    #[serde(default)]
    read_only_fields: Vec<String>,
    /// `["Lead.Title", …]`: fields an admin deletes (describe stops listing them; queries
    /// and writes naming them answer INVALID_FIELD).
    #[serde(default)]
    deleted_fields: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Toggles {
    #[serde(default)]
    hubspot: HubspotToggles,
    #[serde(default)]
    salesforce: SalesforceToggles,
}

/// Runtime toggles: consent denial, refresh-token rotation, the Salesforce duplicate rule.
async fn settings(State(sim): State<Arc<SimState>>, body: axum::body::Bytes) -> Response {
    let t: Toggles = match serde_json::from_slice(&body) {
        Ok(t) => t,
        Err(e) => return bad_request(format!("bad settings: {e}")),
    };
    {
        let mut hs = sim.hubspot();
        if let Some(v) = t.hubspot.deny_consent {
            hs.oauth.deny_consent = v;
        }
        if let Some(v) = t.hubspot.rotate_refresh_tokens {
            hs.oauth.rotate_refresh_tokens = v;
        }
        if let Some(v) = t.hubspot.withheld_scopes.clone() {
            hs.oauth.withheld_scopes = v;
        }
    }
    {
        let mut sf = sim.salesforce();
        let s = &t.salesforce;
        sf.apply_toggles(
            s.deny_consent,
            s.rotate_refresh_tokens,
            s.duplicate_rule,
            s.refresh_processing_ms,
        );
        if let Some(v) = s.rest_api_enabled {
            sf.settings.rest_api_enabled = v;
        }
        if let Some(v) = s.consumer_approved {
            sf.settings.consumer_approved = v;
        }
        for f in &s.read_only_fields {
            let Some((object, field)) = f.split_once('.') else {
                return bad_request(format!("read_only_fields: `{f}` is not Object.Field"));
            };
            if !sf.store.restrict_field(object, field) {
                return bad_request(format!("read_only_fields: no field {f}"));
            }
        }
        for f in &s.deleted_fields {
            let Some((object, field)) = f.split_once('.') else {
                return bad_request(format!("deleted_fields: `{f}` is not Object.Field"));
            };
            if !sf.store.delete_field(object, field) {
                return bad_request(format!("deleted_fields: no field {f}"));
            }
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Activity {
    contact_id: String,
    /// `form_submission` or `email_open`
    kind: String,
    name: String,
}

/// Record a HubSpot form submission or marketing-email open on a contact (they land in
/// calculated properties that no API call can write).
async fn activity(State(sim): State<Arc<SimState>>, body: axum::body::Bytes) -> Response {
    let a: Activity = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => return bad_request(format!("bad activity: {e}")),
    };
    if !matches!(a.kind.as_str(), "form_submission" | "email_open") {
        return bad_request("kind must be form_submission or email_open");
    }
    let Ok(id) = a.contact_id.parse::<u64>() else {
        return bad_request("contact_id must be a HubSpot record id");
    };
    if sim.hubspot().record_activity(id, &a.kind, &a.name) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "no such contact"})),
        )
            .into_response()
    }
}

/// `POST /convert-lead {"id": "00Q…"}`: what a rep's "Convert" button does.
async fn convert_lead(State(sim): State<Arc<SimState>>, body: axum::body::Bytes) -> Response {
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let Some(id) = v["id"].as_str() else {
        return bad_request("give the Lead as {\"id\": \"00Q…\"}");
    };
    match sim.salesforce().store.convert_lead(id) {
        Ok(contact) => axum::Json(json!({"contact_id": contact})).into_response(),
        Err(e) => bad_request(e),
    }
}

/// `POST /merge {"master": "00Q…", "losers": ["00Q…"]}`: what Salesforce's Merge does — the
/// losers deleted with `MasterRecordId` set, their children moved to the master.
async fn merge(State(sim): State<Arc<SimState>>, body: axum::body::Bytes) -> Response {
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let (Some(master), Some(losers)) = (v["master"].as_str(), v["losers"].as_array()) else {
        return bad_request("give {\"master\": \"00Q…\", \"losers\": [\"00Q…\"]}");
    };
    let losers: Vec<String> = losers
        .iter()
        .filter_map(|l| l.as_str().map(String::from))
        .collect();
    match sim.salesforce().store.merge(master, &losers) {
        Ok(merged) => axum::Json(json!({"master": master, "merged": merged})).into_response(),
        Err(e) => bad_request(e),
    }
}

async fn reset(State(sim): State<Arc<SimState>>) -> Response {
    sim.reset();
    StatusCode::NO_CONTENT.into_response()
}
