//! REST resources: versions, describe, single-record CRUD, upsert by external id,
//! getUpdated/getDeleted and limits.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Timelike, Utc};
use serde_json::{Map, Value, json};

use super::errors::{Issue, SfError};
use super::schema::ObjectDef;
use super::{SfJson, write_options};
use crate::sim::SimState;
use crate::sim::clock::{parse_datetime, salesforce_datetime};
use crate::sim::http::Params;

pub const OLDEST_VERSION: u32 = 20;
pub const NEWEST_VERSION: u32 = 66;

/// "v62.0" → "62.0", for versions the org serves.
pub fn version(v: &str) -> Result<String, SfError> {
    let n = v
        .strip_prefix('v')
        .and_then(|n| n.strip_suffix(".0"))
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (OLDEST_VERSION..=NEWEST_VERSION).contains(n))
        .ok_or_else(SfError::not_found)?;
    Ok(format!("{n}.0"))
}

fn version_major(v: &str) -> u32 {
    v.split('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(NEWEST_VERSION)
}

/// Salesforce names each release after a season: 62.0 is Winter '25.
fn release_label(n: u32) -> String {
    let offset = n as i64 - 62;
    let season = ["Winter", "Spring", "Summer"][offset.rem_euclid(3) as usize];
    let year = 25 + offset.div_euclid(3);
    format!("{season} '{year:02}")
}

/// `GET /services/data/`: no authentication, not counted.
pub async fn versions() -> Response {
    let list: Vec<Value> = (OLDEST_VERSION..=NEWEST_VERSION)
        .map(|n| json!({"label": release_label(n), "url": format!("/services/data/v{n}.0"), "version": format!("{n}.0")}))
        .collect();
    axum::Json(list).into_response()
}

/// `GET /services/data/vNN.0/`
pub async fn resources(Path(v): Path<String>) -> Result<Response, SfError> {
    let v = version(&v)?;
    let base = format!("/services/data/v{v}");
    let mut m = Map::new();
    for r in [
        "sobjects",
        "query",
        "queryAll",
        "composite",
        "limits",
        "search",
        "tooling",
        "recent",
    ] {
        m.insert(r.into(), json!(format!("{base}/{r}")));
    }
    Ok(axum::Json(Value::Object(m)).into_response())
}

/// `GET /limits`
pub async fn limits(
    State(sim): State<Arc<SimState>>,
    Path(v): Path<String>,
) -> Result<Response, SfError> {
    version(&v)?;
    let sf = sim.salesforce();
    let max = sf.settings.daily_allocation();
    let left = max.saturating_sub(sf.usage.used);
    let pair = |m: u64, r: u64| json!({"Max": m, "Remaining": r});
    Ok(axum::Json(json!({
        "DailyApiRequests": pair(max, left),
        "ConcurrentAsyncGetReportInstances": pair(200, 200),
        "ConcurrentSyncReportRuns": pair(20, 20),
        "DailyAsyncApexExecutions": pair(250_000, 250_000),
        "DailyBulkApiBatches": pair(15_000, 15_000),
        "DailyBulkV2QueryJobs": pair(10_000, 10_000),
        "DataStorageMB": pair(1024, 1000),
        "FileStorageMB": pair(1024, 1020),
        "SingleEmail": pair(5000, 5000),
    }))
    .into_response())
}

fn object<'a>(sim: &'a super::SalesforceWorld, name: &str) -> Result<&'a ObjectDef, SfError> {
    sim.store.object(name).ok_or_else(SfError::not_found)
}

/// `GET /sobjects/`
pub async fn global_describe(
    State(sim): State<Arc<SimState>>,
    Path(v): Path<String>,
) -> Result<Response, SfError> {
    let v = version(&v)?;
    let sf = sim.salesforce();
    let list: Vec<Value> = sf.store.objects.iter().map(|o| o.summary(&v)).collect();
    Ok(
        axum::Json(json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list}))
            .into_response(),
    )
}

/// `GET /sobjects/{Type}/`
pub async fn basic_info(
    State(sim): State<Arc<SimState>>,
    Path((v, t)): Path<(String, String)>,
) -> Result<Response, SfError> {
    let v = version(&v)?;
    let sf = sim.salesforce();
    let def = object(&sf, &t)?;
    Ok(axum::Json(json!({"objectDescribe": def.summary(&v), "recentItems": []})).into_response())
}

/// `GET /sobjects/{Type}/describe/`
pub async fn describe(
    State(sim): State<Arc<SimState>>,
    Path((v, t)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, SfError> {
    let v = version(&v)?;
    let sf = sim.salesforce();
    let def = object(&sf, &t)?;
    if let Some(since) = headers
        .get("If-Modified-Since")
        .and_then(|h| h.to_str().ok())
        && chrono::DateTime::parse_from_rfc2822(since)
            .is_ok_and(|t| t.timestamp() >= sf.store.schema_changed)
    {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    Ok(axum::Json(def.describe(&v)).into_response())
}

/// HTTP status for a record-level issue on a single-record call.
pub fn status_of(issue: &Issue) -> StatusCode {
    match issue.code.as_str() {
        "NOT_FOUND" | "ENTITY_IS_DELETED" => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn issue_error(mut issue: Issue) -> SfError {
    // A 404 is about the resource named, not a record's save: no `fields`.
    issue.request_level |= issue.code == "NOT_FOUND";
    SfError::from_issue(status_of(&issue), issue)
}

fn body_object(body: Value) -> Result<Map<String, Value>, SfError> {
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(SfError::json_parse(
            "the body must be a JSON object of field names to values",
        )),
    }
}

/// `POST /sobjects/{Type}/` → 201 `{"id", "success", "errors"}`
pub async fn create(
    State(sim): State<Arc<SimState>>,
    Path((v, t)): Path<(String, String)>,
    headers: HeaderMap,
    SfJson(body): SfJson<Value>,
) -> Result<Response, SfError> {
    version(&v)?;
    let body = body_object(body)?;
    let mut sf = sim.salesforce();
    let name = object(&sf, &t)?.name;
    let id = sf
        .store
        .create(name, &body, write_options(&headers))
        .map_err(issue_error)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"id": id, "success": true, "errors": []})),
    )
        .into_response())
}

/// `GET /sobjects/{Type}/{id}` (optional `fields=`)
pub async fn read(
    State(sim): State<Arc<SimState>>,
    Path((v, t, id)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, SfError> {
    let v = version(&v)?;
    let fields = Params::parse(q.as_deref()).list("fields");
    let sf = sim.salesforce();
    let def = object(&sf, &t)?;
    for f in &fields {
        if def.field(f).is_none() {
            return Err(SfError::bad_request(
                "INVALID_FIELD",
                format!("No such column '{f}' on sobject of type {}", def.name),
            ));
        }
    }
    let rec = sf.store.live(Some(def.name), &id).map_err(issue_error)?;
    let only = (!fields.is_empty()).then_some(fields.as_slice());
    Ok(axum::Json(sf.store.render(rec, &v, only)).into_response())
}

/// `PATCH /sobjects/{Type}/{id}` → 204
pub async fn update(
    State(sim): State<Arc<SimState>>,
    Path((v, t, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    SfJson(body): SfJson<Value>,
) -> Result<Response, SfError> {
    version(&v)?;
    let body = body_object(body)?;
    let mut sf = sim.salesforce();
    let name = object(&sf, &t)?.name;
    sf.store
        .update(Some(name), &id, &body, write_options(&headers))
        .map_err(issue_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /sobjects/{Type}/{id}?_HttpMethod=PATCH`, for clients without PATCH.
pub async fn post_override(
    state: State<Arc<SimState>>,
    path: Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: SfJson<Value>,
) -> Result<Response, SfError> {
    if Params::parse(q.as_deref())
        .get("_HttpMethod")
        .is_some_and(|m| m.eq_ignore_ascii_case("PATCH"))
    {
        return update(state, path, headers, body).await;
    }
    Err(SfError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "HTTP Method 'POST' not allowed. Allowed are GET,PATCH,DELETE",
    ))
}

/// `DELETE /sobjects/{Type}/{id}` → 204
pub async fn delete(
    State(sim): State<Arc<SimState>>,
    Path((v, t, id)): Path<(String, String, String)>,
) -> Result<Response, SfError> {
    version(&v)?;
    let mut sf = sim.salesforce();
    let name = object(&sf, &t)?.name;
    sf.store.delete(Some(name), &id).map_err(issue_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn multiple_choices(v: &str, t: &str, ids: &[String]) -> Response {
    let urls: Vec<String> = ids
        .iter()
        .map(|id| format!("/services/data/v{v}/sobjects/{t}/{id}"))
        .collect();
    (StatusCode::MULTIPLE_CHOICES, axum::Json(urls)).into_response()
}

/// `PATCH /sobjects/{Type}/{ExternalIdField}/{value}`: 201 created, 200 `created:false`
/// (204 before API 46.0), 300 when several records match.
pub async fn upsert(
    State(sim): State<Arc<SimState>>,
    Path((v, t, field, value)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    SfJson(body): SfJson<Value>,
) -> Result<Response, SfError> {
    let v = version(&v)?;
    let mut body = body_object(body)?;
    let mut sf = sim.salesforce();
    let def = object(&sf, &t)?.clone();
    let matches = sf
        .store
        .upsert_matches(&def, &field, &value)
        .map_err(issue_error)?;
    let opts = write_options(&headers);
    if let Some((k, existing)) = body.iter().find(|(k, _)| k.eq_ignore_ascii_case(&field)) {
        if existing.as_str() != Some(value.as_str()) {
            return Err(SfError::bad_request(
                "INVALID_FIELD",
                format!(
                    "The value of {k} in the body does not match the external id value in the URL: {value}"
                ),
            ));
        }
        let k = k.clone();
        body.remove(&k);
    }
    match matches.as_slice() {
        [] => {
            if field.eq_ignore_ascii_case("Id") {
                return Err(SfError::not_found());
            }
            let canonical = def
                .field(&field)
                .map(|f| f.name.clone())
                .unwrap_or(field.clone());
            body.insert(canonical, json!(value));
            let id = sf
                .store
                .create(def.name, &body, opts)
                .map_err(issue_error)?;
            Ok((
                StatusCode::CREATED,
                axum::Json(json!({"id": id, "success": true, "errors": [], "created": true})),
            )
                .into_response())
        }
        [one] => {
            let id = sf
                .store
                .update(Some(def.name), one, &body, opts)
                .map_err(issue_error)?;
            if version_major(&v) <= 45 {
                return Ok(StatusCode::NO_CONTENT.into_response());
            }
            Ok(
                axum::Json(json!({"id": id, "success": true, "errors": [], "created": false}))
                    .into_response(),
            )
        }
        many => Ok(multiple_choices(&v, def.name, many)),
    }
}

/// `GET /sobjects/{Type}/{ExternalIdField}/{value}`
pub async fn read_by_external_id(
    State(sim): State<Arc<SimState>>,
    Path((v, t, field, value)): Path<(String, String, String, String)>,
) -> Result<Response, SfError> {
    let v = version(&v)?;
    let sf = sim.salesforce();
    let def = object(&sf, &t)?;
    let matches = sf
        .store
        .upsert_matches(def, &field, &value)
        .map_err(issue_error)?;
    match matches.as_slice() {
        [] => Err(SfError::not_found()),
        [one] => {
            let rec = sf.store.live(Some(def.name), one).map_err(issue_error)?;
            Ok(axum::Json(sf.store.render(rec, &v, None)).into_response())
        }
        many => Ok(multiple_choices(&v, def.name, many)),
    }
}

fn window(
    q: Option<&str>,
    max_days: i64,
) -> Result<(chrono::DateTime<Utc>, chrono::DateTime<Utc>), SfError> {
    let p = Params::parse(q);
    let parse = |k: &str| {
        p.get(k).and_then(parse_datetime).ok_or_else(|| {
            SfError::bad_request(
                "INVALID_REPLICATION_DATE",
                format!("{k} is missing or is not a valid dateTime"),
            )
        })
    };
    let (start, end) = (parse("start")?, parse("end")?);
    if start > end {
        return Err(SfError::bad_request(
            "INVALID_REPLICATION_DATE",
            "start must be before end",
        ));
    }
    if start < Utc::now() - Duration::days(max_days) {
        return Err(SfError::bad_request(
            "INVALID_REPLICATION_DATE",
            format!("startDate cannot be more than {max_days} days ago"),
        ));
    }
    Ok((start, end))
}

fn floor_minute(t: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    t.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
}

/// `GET /sobjects/{Type}/updated/?start=&end=` (by SystemModstamp, 30 days back at most)
pub async fn updated(
    State(sim): State<Arc<SimState>>,
    Path((v, t)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, SfError> {
    version(&v)?;
    let (start, end) = window(q.as_deref(), 30)?;
    let sf = sim.salesforce();
    let def = object(&sf, &t)?;
    let ids: Vec<&str> = sf.store.records[def.name]
        .values()
        .filter(|r| r.deleted_at.is_none())
        .filter(|r| {
            r.get("SystemModstamp")
                .as_str()
                .and_then(parse_datetime)
                .is_some_and(|m| m >= start && m <= end)
        })
        .map(|r| r.id.as_str())
        .collect();
    if ids.len() > 600_000 {
        return Err(SfError::bad_request(
            "EXCEEDED_ID_LIMIT",
            "too many ids; narrow the window",
        ));
    }
    Ok(
        axum::Json(
            json!({"ids": ids, "latestDateCovered": salesforce_datetime(floor_minute(end))}),
        )
        .into_response(),
    )
}

/// `GET /sobjects/{Type}/deleted/?start=&end=` (15 days back at most)
pub async fn deleted(
    State(sim): State<Arc<SimState>>,
    Path((v, t)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, SfError> {
    version(&v)?;
    let (start, end) = window(q.as_deref(), 15)?;
    let sf = sim.salesforce();
    let def = object(&sf, &t)?;
    let list: Vec<Value> = sf.store.records[def.name]
        .values()
        .filter_map(|r| {
            r.deleted_at
                .filter(|d| *d >= start && *d <= end)
                .map(|d| json!({"id": r.id, "deletedDate": salesforce_datetime(d)}))
        })
        .collect();
    Ok(axum::Json(json!({
        "deletedRecords": list,
        "earliestDateAvailable": salesforce_datetime(floor_minute(Utc::now() - Duration::days(15))),
        "latestDateCovered": salesforce_datetime(floor_minute(end)),
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_are_named_like_salesforce_names_them() {
        assert_eq!(release_label(62), "Winter '25");
        assert_eq!(release_label(66), "Spring '26");
        assert_eq!(release_label(59), "Winter '24");
        assert_eq!(release_label(20), "Winter '11");
    }

    #[test]
    fn versions_outside_the_served_range_are_not_found() {
        assert_eq!(version("v62.0").unwrap(), "62.0");
        assert!(version("v99.0").is_err());
        assert!(version("62.0").is_err());
    }
}
