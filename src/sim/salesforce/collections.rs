//! sObject Collections (≤ 200 records, per-record results, `allOrNone`) and Composite
//! (≤ 25 subrequests with `@{ref.field}` references), each one API call.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, Request, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use super::errors::{Issue, SfError};
use super::sobjects::version;
use super::store::WriteOptions;
use super::{SfJson, data_routes, write_options};
use crate::sim::SimState;
use crate::sim::faults::PartialFailure;
use crate::sim::http::Params;

const MAX_RECORDS: usize = 200;
const MAX_SUBREQUESTS: usize = 25;
const MAX_QUERIES: usize = 5;

type Outcome = Result<(Option<String>, Option<bool>), (Option<String>, Issue)>;

fn too_many(n: usize) -> SfError {
    SfError::bad_request(
        "EXCEEDED_ID_LIMIT",
        format!(
            "record limit reached. cannot submit more than {MAX_RECORDS} records into this call (got {n})"
        ),
    )
}

fn parse_body(body: Value) -> Result<(bool, Vec<Map<String, Value>>), SfError> {
    let all_or_none = body["allOrNone"].as_bool().unwrap_or(false);
    let records = body["records"]
        .as_array()
        .ok_or_else(|| SfError::json_parse("records is required"))?
        .iter()
        .map(|r| {
            r.as_object()
                .cloned()
                .ok_or_else(|| SfError::json_parse("each record must be an object"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if records.len() > MAX_RECORDS {
        return Err(too_many(records.len()));
    }
    Ok((all_or_none, records))
}

fn rolled_back() -> Issue {
    Issue::new(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
    )
}

fn injected(pf: &PartialFailure) -> Issue {
    let code = pf
        .code
        .clone()
        .unwrap_or_else(|| "UNABLE_TO_LOCK_ROW".into());
    Issue::new(
        &code,
        "unable to obtain exclusive access to this record or 1 records",
    )
}

/// Run `op` per record, rolling everything back when `allOrNone` and one failed.
fn apply(
    sim: &SimState,
    all_or_none: bool,
    count: usize,
    partial: Option<&PartialFailure>,
    mut op: impl FnMut(&mut super::SalesforceWorld, usize) -> Outcome,
) -> Vec<Outcome> {
    let mut sf = sim.salesforce();
    let snapshot = all_or_none.then(|| sf.store.clone());
    let mut out: Vec<Outcome> = (0..count)
        .map(|i| match partial.filter(|p| p.fails(i)) {
            Some(p) => Err((None, injected(p))),
            None => op(&mut sf, i),
        })
        .collect();
    if let Some(mut snapshot) = snapshot
        && out.iter().any(Result::is_err)
    {
        snapshot.keep_ids_spent_by(&sf.store);
        sf.store = snapshot;
        // A record created and rolled back has no id in the answer; an updated one keeps its.
        let store = &sf.store;
        out = out
            .into_iter()
            .map(|o| match o {
                Ok((id, _)) => Err((id.filter(|i| store.get(i).is_some()), rolled_back())),
                err => err,
            })
            .collect();
    }
    out
}

fn render(outcomes: Vec<Outcome>, with_created: bool) -> Response {
    let items: Vec<Value> = outcomes
        .into_iter()
        .map(|o| {
            let mut v = match o {
                Ok((id, created)) => {
                    let mut v = json!({"id": id, "success": true, "errors": []});
                    if with_created {
                        v["created"] = json!(created.unwrap_or(false));
                    }
                    v
                }
                Err((id, issue)) => {
                    json!({"id": id, "success": false, "errors": [issue.collection()]})
                }
            };
            if !with_created && let Some(m) = v.as_object_mut() {
                m.remove("created");
            }
            v
        })
        .collect();
    axum::Json(items).into_response()
}

fn record_type(rec: &Map<String, Value>) -> Option<String> {
    rec.get("attributes")?
        .get("type")?
        .as_str()
        .map(String::from)
}

/// `POST /composite/sobjects`: create up to 200 records (mixed types allowed).
pub async fn create(
    State(sim): State<Arc<SimState>>,
    Path(v): Path<String>,
    headers: HeaderMap,
    partial: Option<Extension<PartialFailure>>,
    SfJson(body): SfJson<Value>,
) -> Result<Response, SfError> {
    version(&v)?;
    let (all_or_none, records) = parse_body(body)?;
    let opts = write_options(&headers);
    let outcomes = apply(
        &sim,
        all_or_none,
        records.len(),
        partial.as_deref(),
        |sf, i| {
            let rec = &records[i];
            if rec.keys().any(|k| k.eq_ignore_ascii_case("id")) {
                return Err((
                    None,
                    Issue::new(
                        "INVALID_FIELD",
                        "The Id field should not be specified in the sobject data.",
                    ),
                ));
            }
            let t = record_type(rec).ok_or_else(|| {
                (
                    None,
                    Issue::new("INVALID_TYPE", "Must send a concrete entity type."),
                )
            })?;
            sf.store
                .create(&t, rec, opts)
                .map(|id| (Some(id), None))
                .map_err(|e| (None, e))
        },
    );
    Ok(render(outcomes, false))
}

fn record_id(rec: &Map<String, Value>) -> Option<String> {
    rec.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
        .and_then(|(_, v)| v.as_str().map(String::from))
}

/// `PATCH /composite/sobjects`: update up to 200 records by id.
pub async fn update(
    State(sim): State<Arc<SimState>>,
    Path(v): Path<String>,
    headers: HeaderMap,
    partial: Option<Extension<PartialFailure>>,
    SfJson(body): SfJson<Value>,
) -> Result<Response, SfError> {
    version(&v)?;
    let (all_or_none, records) = parse_body(body)?;
    let opts = write_options(&headers);
    let outcomes = apply(
        &sim,
        all_or_none,
        records.len(),
        partial.as_deref(),
        |sf, i| {
            let rec = &records[i];
            let id = record_id(rec).ok_or_else(|| {
                (
                    None,
                    Issue::new("MISSING_ARGUMENT", "Id not specified in an update call"),
                )
            })?;
            if super::ids::normalize(&id).is_none() {
                let issue = Issue::new(
                    "MALFORMED_ID",
                    format!("Record ID: id value of incorrect type: {id}"),
                );
                return Err((Some(id), issue));
            }
            let t = record_type(rec);
            sf.store
                .update(t.as_deref(), &id, rec, opts)
                .map(|id| (Some(id), None))
                .map_err(|e| (Some(id.clone()), e))
        },
    );
    Ok(render(outcomes, false))
}

/// `DELETE /composite/sobjects?ids=…&allOrNone=`
pub async fn delete(
    State(sim): State<Arc<SimState>>,
    Path(v): Path<String>,
    RawQuery(q): RawQuery,
    partial: Option<Extension<PartialFailure>>,
) -> Result<Response, SfError> {
    version(&v)?;
    let p = Params::parse(q.as_deref());
    let ids = p.list("ids");
    if ids.is_empty() {
        return Err(SfError::bad_request("MISSING_ARGUMENT", "ids is required"));
    }
    if ids.len() > MAX_RECORDS {
        return Err(too_many(ids.len()));
    }
    let outcomes = apply(
        &sim,
        p.flag("allOrNone"),
        ids.len(),
        partial.as_deref(),
        |sf, i| {
            sf.store
                .delete(None, &ids[i])
                .map(|id| (Some(id), None))
                .map_err(|e| (Some(ids[i].clone()), e))
        },
    );
    Ok(render(outcomes, false))
}

/// `GET /composite/sobjects/{Type}?ids=…&fields=…`: records in order, null where missing.
pub async fn retrieve(
    State(sim): State<Arc<SimState>>,
    Path((v, t)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, SfError> {
    let v = version(&v)?;
    let p = Params::parse(q.as_deref());
    let (ids, fields) = (p.list("ids"), p.list("fields"));
    if ids.len() > 2000 {
        return Err(too_many(ids.len()));
    }
    let sf = sim.salesforce();
    let def = sf.store.object(&t).ok_or_else(SfError::not_found)?;
    if let Some(bad) = fields.iter().find(|f| def.field(f).is_none()) {
        return Err(SfError::bad_request(
            "INVALID_FIELD",
            format!("No such column '{bad}' on sobject of type {}", def.name),
        ));
    }
    let only = (!fields.is_empty()).then_some(fields.as_slice());
    let out: Vec<Value> = ids
        .iter()
        .map(|id| {
            sf.store
                .live(Some(def.name), id)
                .map(|r| sf.store.render(r, &v, only))
                .unwrap_or(Value::Null)
        })
        .collect();
    Ok(axum::Json(out).into_response())
}

/// `PATCH /composite/sobjects/{Type}/{ExternalIdField}`: upsert up to 200 records of one type.
pub async fn upsert(
    State(sim): State<Arc<SimState>>,
    Path((v, t, field)): Path<(String, String, String)>,
    headers: HeaderMap,
    partial: Option<Extension<PartialFailure>>,
    SfJson(body): SfJson<Value>,
) -> Result<Response, SfError> {
    version(&v)?;
    let (all_or_none, records) = parse_body(body)?;
    let def = {
        let sf = sim.salesforce();
        let def = sf.store.object(&t).ok_or_else(SfError::not_found)?.clone();
        if !def.field(&field).is_some_and(|f| f.external_id) {
            return Err(SfError::bad_request(
                "INVALID_FIELD",
                format!("Field {field} is not an external id field on {}", def.name),
            ));
        }
        def
    };
    let opts: WriteOptions = write_options(&headers);
    let outcomes = apply(
        &sim,
        all_or_none,
        records.len(),
        partial.as_deref(),
        |sf, i| {
            let mut rec = records[i].clone();
            if record_type(&rec).is_some_and(|rt| !rt.eq_ignore_ascii_case(def.name)) {
                return Err((
                    None,
                    Issue::new(
                        "INVALID_TYPE",
                        format!("All records must be of type {}", def.name),
                    ),
                ));
            }
            let key = rec.keys().find(|k| k.eq_ignore_ascii_case(&field)).cloned();
            let value = key
                .as_ref()
                .and_then(|k| rec.get(k))
                .and_then(|v| {
                    v.as_str()
                        .map(String::from)
                        .or_else(|| v.as_f64().map(|n| n.to_string()))
                })
                .ok_or_else(|| {
                    (
                        None,
                        Issue::new("MISSING_ARGUMENT", format!("{field} not specified")),
                    )
                })?;
            let matches = sf
                .store
                .upsert_matches(&def, &field, &value)
                .map_err(|e| (None, e))?;
            match matches.as_slice() {
                [] => sf
                    .store
                    .create(def.name, &rec, opts)
                    .map(|id| (Some(id), Some(true)))
                    .map_err(|e| (None, e)),
                [one] => {
                    if let Some(k) = key {
                        rec.remove(&k);
                    }
                    sf.store
                        .update(Some(def.name), one, &rec, opts)
                        .map(|id| (Some(id), Some(false)))
                        .map_err(|e| (Some(one.clone()), e))
                }
                many => Err((
                    None,
                    Issue::new(
                        "DUPLICATE_EXTERNAL_ID",
                        format!(
                            "{field}: more than one record found for external id field: {}",
                            many.join(", ")
                        ),
                    ),
                )),
            }
        },
    );
    Ok(render(outcomes, true))
}

/// Replace `@{ref.path}` in a string with values from earlier subresponses.
fn substitute(s: &str, done: &[(String, Value)]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| format!("unterminated reference in {s}"))?
            + start;
        let expr = &rest[start + 2..end];
        let (reference, path) = expr.split_once('.').unwrap_or((expr, ""));
        let body = done
            .iter()
            .find(|(r, _)| r == reference)
            .map(|(_, b)| b)
            .ok_or_else(|| {
                format!("Invalid reference specified. No value for {expr} found in {reference}.")
            })?;
        let mut v = body;
        for seg in path.split('.').filter(|p| !p.is_empty()) {
            let (name, index) = match seg.split_once('[') {
                Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
                None => (seg, None),
            };
            v = &v[name];
            if let Some(i) = index {
                v = &v[i];
            }
        }
        match v {
            Value::String(x) => out.push_str(x),
            Value::Null => {
                return Err(format!(
                    "Invalid reference specified. No value for {expr} found in {reference}."
                ));
            }
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn substitute_json(v: &Value, done: &[(String, Value)]) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::String(substitute(s, done)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute_json(x, done))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), substitute_json(x, done)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// `POST /composite`: subrequests run in order through the same handlers.
pub async fn composite(
    State(sim): State<Arc<SimState>>,
    Path(v): Path<String>,
    SfJson(body): SfJson<Value>,
) -> Result<Response, SfError> {
    version(&v)?;
    let subs = body["compositeRequest"]
        .as_array()
        .cloned()
        .ok_or_else(|| SfError::json_parse("compositeRequest is required"))?;
    if subs.len() > MAX_SUBREQUESTS {
        return Err(SfError::bad_request(
            "INVALID_BATCH_REQUEST",
            format!(
                "Limit of {MAX_SUBREQUESTS} subrequests exceeded ({} given)",
                subs.len()
            ),
        ));
    }
    let queries = subs
        .iter()
        .filter(|s| s["url"].as_str().is_some_and(|u| u.contains("/query")))
        .count();
    if queries > MAX_QUERIES {
        return Err(SfError::bad_request(
            "INVALID_BATCH_REQUEST",
            format!("Limit of {MAX_QUERIES} query subrequests exceeded"),
        ));
    }
    let all_or_none = body["allOrNone"].as_bool().unwrap_or(false);
    let snapshot = all_or_none.then(|| sim.salesforce().store.clone());
    let router = data_routes(sim.clone());
    let mut done: Vec<(String, Value)> = Vec::new();
    let mut responses: Vec<Value> = Vec::new();
    let mut failed = false;
    for sub in &subs {
        let reference = sub["referenceId"].as_str().unwrap_or_default().to_string();
        if failed && all_or_none {
            responses.push(json!({
                "body": [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}],
                "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference,
            }));
            continue;
        }
        let prepared = (|| -> Result<Request<Body>, String> {
            let url = substitute(sub["url"].as_str().ok_or("url is required")?, &done)?;
            let method = Method::from_bytes(sub["method"].as_str().unwrap_or("GET").as_bytes())
                .map_err(|e| e.to_string())?;
            // A long query string travels beside the URI (see `SubrequestQuery`); the
            // query resources read it from there.
            let (path, query) = match url.split_once('?') {
                Some((p, q)) if url.len() > 8_000 => (p.to_string(), Some(q.to_string())),
                _ => (url, None),
            };
            let mut b = Request::builder()
                .method(method)
                .uri(path)
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(q) = query {
                b = b.extension(super::query::SubrequestQuery(q));
            }
            for (k, hv) in sub["httpHeaders"].as_object().into_iter().flatten() {
                if let Some(s) = hv.as_str() {
                    b = b.header(k.as_str(), s);
                }
            }
            let payload = match sub.get("body") {
                Some(v) if !v.is_null() => {
                    serde_json::to_vec(&substitute_json(v, &done)?).map_err(|e| e.to_string())?
                }
                _ => Vec::new(),
            };
            b.body(Body::from(payload)).map_err(|e| e.to_string())
        })();
        let (status, headers, body) = match prepared {
            Err(message) => (
                400,
                json!({}),
                json!([{"errorCode": "PROCESSING_HALTED", "message": message}]),
            ),
            Ok(req) => {
                let resp = router
                    .clone()
                    .oneshot(req)
                    .await
                    .unwrap_or_else(|never| match never {});
                let status = resp.status().as_u16();
                let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                    .await
                    .unwrap_or_default();
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let mut headers = json!({});
                if status == 201
                    && let Some(id) = body["id"].as_str()
                    && let Some(u) = sub["url"].as_str()
                {
                    headers["Location"] = json!(format!("{}/{id}", u.trim_end_matches('/')));
                }
                (status, headers, body)
            }
        };
        if status >= 400 {
            failed = true;
        }
        done.push((reference.clone(), body.clone()));
        responses.push(json!({"body": body, "httpHeaders": headers, "httpStatusCode": status, "referenceId": reference}));
    }
    if failed && let Some(snapshot) = snapshot {
        sim.salesforce().store = snapshot;
        for r in responses
            .iter_mut()
            .filter(|r| r["httpStatusCode"].as_u64().is_some_and(|s| s < 400))
        {
            r["httpStatusCode"] = json!(400);
            r["body"] = json!([{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}]);
        }
    }
    Ok(axum::Json(json!({"compositeResponse": responses})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_into_earlier_bodies() {
        let done = vec![
            ("acct".to_string(), json!({"id": "001A"})),
            ("q".to_string(), json!({"records": [{"Id": "003B"}]})),
        ];
        assert_eq!(
            substitute("/sobjects/Account/@{acct.id}", &done).unwrap(),
            "/sobjects/Account/001A"
        );
        assert_eq!(substitute("@{q.records[0].Id}", &done).unwrap(), "003B");
        assert!(substitute("@{nope.id}", &done).is_err());
    }
}
