//! CRM v3 objects: list, get, create, update, archive, and the batch endpoints.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::errors::HsError;
use super::schema::ObjectType;
use super::store::{PropSelection, Record};
use super::{HsJson, HubspotWorld, assoc, batch_response};
use crate::sim::SimState;
use crate::sim::faults::PartialFailure;
use crate::sim::http::Params;

const MAX_BATCH: usize = 100;
const MAX_BATCH_WITH_HISTORY: usize = 50;

pub fn object_type(sim: &SimState, s: &str) -> Result<ObjectType, HsError> {
    sim.hubspot().resolve(s)
}

/// Read options shared by list, get and batch read.
struct ReadOptions {
    props: PropSelection,
    history: Vec<String>,
    associations: Vec<ObjectType>,
}

impl ReadOptions {
    fn from_params(p: &Params) -> ReadOptions {
        ReadOptions {
            props: PropSelection::from_names(p.list("properties")),
            history: p.list("propertiesWithHistory"),
            associations: p
                .list("associations")
                .iter()
                .filter_map(|a| ObjectType::parse(a))
                .collect(),
        }
    }

    fn render(&self, hs: &HubspotWorld, t: ObjectType, rec: &Record) -> Value {
        let mut v = hs.store.render(t, rec, &self.props);
        if !self.history.is_empty() {
            v["propertiesWithHistory"] = hs.store.history(rec, &self.history);
        }
        if !self.associations.is_empty() {
            let a = hs.assoc.render_v3(t, rec.id, &self.associations);
            if a.as_object().is_some_and(|m| !m.is_empty()) {
                v["associations"] = a;
            }
        }
        v
    }
}

/// `GET /crm/v3/objects/{objectType}`: pages of `limit` (default 10, at most 100) by id.
pub async fn list(
    State(sim): State<Arc<SimState>>,
    Path(object_type_name): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, HsError> {
    let t = object_type(&sim, &object_type_name)?;
    let p = Params::parse(q.as_deref());
    let limit = p
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(10usize)
        .clamp(1, 100);
    let after: u64 = match p.get("after") {
        None | Some("") => 0,
        Some(a) => a
            .parse()
            .map_err(|_| HsError::validation(format!("after {a} is not a valid paging cursor")))?,
    };
    let archived = p.flag("archived");
    let opts = ReadOptions::from_params(&p);
    let hs = sim.hubspot();
    let mut page = hs.store.records[&t]
        .range(after..)
        .map(|(_, r)| r)
        .filter(|r| r.archived_at.is_some() == archived);
    let results: Vec<Value> = page
        .by_ref()
        .take(limit)
        .map(|r| opts.render(&hs, t, r))
        .collect();
    let mut body = json!({ "results": results });
    if let Some(next) = page.next() {
        // HubSpot's `link` is the next page's absolute URL.
        let link = format!(
            "{}/crm/v3/objects/{object_type_name}?limit={limit}&after={}",
            sim.urls.hubspot.trim_end_matches('/'),
            next.id
        );
        body["paging"] = json!({"next": {"after": next.id.to_string(), "link": link}});
    }
    Ok(axum::Json(body).into_response())
}

/// `GET /crm/v3/objects/{objectType}/{id}` (with `idProperty` for unique properties).
pub async fn get_one(
    State(sim): State<Arc<SimState>>,
    Path((object_type_name, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, HsError> {
    let t = object_type(&sim, &object_type_name)?;
    let p = Params::parse(q.as_deref());
    let opts = ReadOptions::from_params(&p);
    let hs = sim.hubspot();
    let rid = hs.store.resolve_id(t, &id, p.get("idProperty"))?;
    let rec = rid
        .and_then(|rid| hs.store.read_through(t, rid, p.flag("archived")))
        .ok_or_else(|| HsError::not_found("resource not found"))?;
    Ok(axum::Json(opts.render(&hs, t, rec)).into_response())
}

fn properties_of(body: &Value) -> Result<Map<String, Value>, HsError> {
    match &body["properties"] {
        Value::Object(m) => Ok(m.clone()),
        Value::Null => Ok(Map::new()),
        _ => Err(HsError::validation(
            "properties must be an object of property names to values",
        )),
    }
}

/// Create-time `associations: [{to: {id}, types: [{associationCategory, associationTypeId}]}]`,
/// checked before anything is written.
fn parse_create_associations(
    hs: &HubspotWorld,
    t: ObjectType,
    body: &Value,
) -> Result<Vec<(ObjectType, u64)>, HsError> {
    let mut out = Vec::new();
    for a in body["associations"].as_array().into_iter().flatten() {
        let to_id: u64 = match &a["to"]["id"] {
            Value::String(s) => s.parse().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
        .ok_or_else(|| HsError::validation("association to.id is required"))?;
        for ty in a["types"].as_array().into_iter().flatten() {
            let tid = ty["associationTypeId"].as_u64().unwrap_or(0) as u32;
            let to = assoc::target_of(t, tid, &hs.customs).ok_or_else(|| {
                HsError::validation(format!(
                    "{tid} is not a valid association type id for {}",
                    t.name()
                ))
            })?;
            if hs.store.live(to, to_id).is_none() {
                return Err(HsError::validation(format!(
                    "{} {to_id} does not exist and can't be associated",
                    to.singular()
                )));
            }
            out.push((to, to_id));
        }
    }
    Ok(out)
}

/// `POST /crm/v3/objects/{objectType}` → 201
pub async fn create(
    State(sim): State<Arc<SimState>>,
    Path(object_type_name): Path<String>,
    HsJson(body): HsJson<Value>,
) -> Result<Response, HsError> {
    let t = object_type(&sim, &object_type_name)?;
    let mut hs = sim.hubspot();
    let values = hs.store.validate(t, &properties_of(&body)?, true)?;
    let links = parse_create_associations(&hs, t, &body)?;
    let id = hs.store.create(t, values)?;
    for (to, to_id) in links {
        hs.assoc.add(t, id, to, to_id);
    }
    let rec = hs
        .store
        .get(t, id)
        .ok_or_else(|| HsError::not_found("resource not found"))?;
    let v = hs.store.render(t, rec, &PropSelection::Default);
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

/// `PATCH /crm/v3/objects/{objectType}/{id}` → 200 with the record
pub async fn update(
    State(sim): State<Arc<SimState>>,
    Path((object_type_name, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    HsJson(body): HsJson<Value>,
) -> Result<Response, HsError> {
    let t = object_type(&sim, &object_type_name)?;
    let p = Params::parse(q.as_deref());
    let mut hs = sim.hubspot();
    let rid = hs
        .store
        .resolve_id(t, &id, p.get("idProperty"))?
        .ok_or_else(|| HsError::not_found("resource not found"))?;
    let props = properties_of(&body)?;
    let values = hs.store.validate(t, &props, false)?;
    hs.store.update(t, rid, values)?;
    let names: Vec<String> = props.keys().cloned().collect();
    let rec = hs
        .store
        .get(t, rid)
        .ok_or_else(|| HsError::not_found("resource not found"))?;
    Ok(axum::Json(hs.store.render(t, rec, &PropSelection::Named(names))).into_response())
}

/// `POST /crm/v3/objects/{objectType}/merge {primaryObjectId, objectIdToMerge}` → the new
/// record both became (HubSpot gives a merge a new id; the old ids read through to it).
pub async fn merge(
    State(sim): State<Arc<SimState>>,
    Path(object_type_name): Path<String>,
    HsJson(body): HsJson<Value>,
) -> Result<Response, HsError> {
    let t = object_type(&sim, &object_type_name)?;
    let id = |key: &str| {
        input_id(&body[key])
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| {
                HsError::validation(format!("{key} is required: the id of a {}", t.singular()))
            })
    };
    let (primary, other) = (id("primaryObjectId")?, id("objectIdToMerge")?);
    let mut hs = sim.hubspot();
    let new_id = hs.store.merge(t, primary, other)?;
    for old in [primary, other] {
        for to in ObjectType::ALL {
            for x in hs.assoc.of(t, old, to) {
                hs.assoc.add(t, new_id, to, x);
            }
        }
        hs.assoc.remove_all(t, old);
        hs.lists.forget_record(t, old);
    }
    let rec = hs
        .store
        .get(t, new_id)
        .ok_or_else(|| HsError::not_found("resource not found"))?;
    Ok(axum::Json(hs.store.render(t, rec, &PropSelection::Default)).into_response())
}

/// `DELETE /crm/v3/objects/{objectType}/{id}` → 204 (moves it to the recycle bin)
pub async fn archive(
    State(sim): State<Arc<SimState>>,
    Path((object_type_name, id)): Path<(String, String)>,
) -> Result<Response, HsError> {
    let t = object_type(&sim, &object_type_name)?;
    let mut hs = sim.hubspot();
    if let Ok(rid) = id.parse::<u64>()
        && hs.store.archive(t, rid)
    {
        hs.assoc.remove_all(t, rid);
        hs.lists.forget_record(t, rid);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn input_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An injected failure of one input, in the shape of a real one.
fn partial_error(pf: &PartialFailure, trace: &Value, id: Option<&str>) -> Value {
    let category = pf.code.clone().unwrap_or_else(|| "INTERNAL_ERROR".into());
    HsError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        &category,
        "An error occurred while processing this input; it was not written. Retry it.",
    )
    .for_input(trace, id)
}

/// Multi-status is on when every input carries a unique `objectWriteTraceId`: a bad input
/// then fails alone (207) instead of the whole batch (400).
fn multi_status(inputs: &[Value]) -> bool {
    let mut seen = std::collections::HashSet::new();
    !inputs.is_empty()
        && inputs.iter().all(|i| {
            i["objectWriteTraceId"]
                .as_str()
                .is_some_and(|t| !t.is_empty() && seen.insert(t.to_string()))
        })
}

/// One input's refusal: its own entry under multi-status, the whole batch's answer otherwise.
fn refuse(
    multi: bool,
    errors: &mut Vec<Value>,
    e: HsError,
    input: &Value,
    id: Option<&str>,
) -> Result<(), HsError> {
    if !multi {
        return Err(e);
    }
    errors.push(e.for_input(&input["objectWriteTraceId"], id));
    Ok(())
}

/// A result echoes the input's trace id.
fn traced(mut v: Value, input: &Value) -> Value {
    if input["objectWriteTraceId"].is_string() {
        v["objectWriteTraceId"] = input["objectWriteTraceId"].clone();
    }
    v
}

/// `POST /crm/v3/objects/{objectType}/batch/{read|create|update|upsert|archive}`
pub async fn batch(
    State(sim): State<Arc<SimState>>,
    Path((object_type_name, op)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    partial: Option<Extension<PartialFailure>>,
    HsJson(body): HsJson<Value>,
) -> Result<Response, HsError> {
    let t = object_type(&sim, &object_type_name)?;
    let inputs = body["inputs"]
        .as_array()
        .ok_or_else(|| HsError::validation("Invalid input JSON: inputs is required"))?;
    let with_history = body["propertiesWithHistory"]
        .as_array()
        .is_some_and(|a| !a.is_empty());
    let max = if with_history {
        MAX_BATCH_WITH_HISTORY
    } else {
        MAX_BATCH
    };
    if inputs.len() > max {
        let msg = if with_history {
            format!(
                "The maximum number of inputs supported in a batch request for property histories is {max}."
            )
        } else {
            format!(
                "The maximum number of inputs supported in a batch is {max}. Please reduce the number of items and try again"
            )
        };
        return Err(HsError::validation(msg));
    }
    let partial = partial.map(|Extension(p)| p);
    let fails = |i: usize| partial.as_ref().is_some_and(|p| p.fails(i));
    let mut hs = sim.hubspot();
    let (mut results, mut errors) = (Vec::new(), Vec::new());
    match op.as_str() {
        "read" => {
            let p = Params::parse(q.as_deref());
            let names: Vec<String> = body["properties"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let opts = ReadOptions {
                props: PropSelection::from_names(names),
                history: body["propertiesWithHistory"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                associations: Vec::new(),
            };
            let id_property = body["idProperty"].as_str();
            let archived = p.flag("archived");
            let mut missing = Vec::new();
            for (i, input) in inputs.iter().enumerate() {
                let id = input_id(&input["id"])
                    .ok_or_else(|| HsError::validation("every input needs an id"))?;
                if let Some(pf) = partial.as_ref().filter(|_| fails(i)) {
                    errors.push(partial_error(pf, &Value::Null, Some(&id)));
                    continue;
                }
                let rec = hs
                    .store
                    .resolve_id(t, &id, id_property)?
                    .and_then(|rid| hs.store.read_through(t, rid, archived));
                match rec {
                    Some(r) => results.push(opts.render(&hs, t, r)),
                    None => missing.push(id),
                }
            }
            if !missing.is_empty() {
                errors.push(json!({
                    "status": "error", "category": "OBJECT_NOT_FOUND",
                    "message": format!("Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.", t.singular().to_uppercase()),
                    "context": {"ids": missing},
                }));
            }
            Ok(batch_response(results, errors, StatusCode::OK))
        }
        "create" => {
            // Validate everything first: without multi-status HubSpot rejects the whole
            // batch on a bad value or an existing unique value (a 409 naming the first).
            let multi = multi_status(inputs);
            let mut planned = Vec::with_capacity(inputs.len());
            let mut seen = std::collections::HashMap::new();
            for (i, input) in inputs.iter().enumerate() {
                let checked = properties_of(input)
                    .and_then(|p| hs.store.validate(t, &p, true))
                    .and_then(|values| {
                        let links = parse_create_associations(&hs, t, input)?;
                        if let Some((prop, existing)) = hs.store.unique_conflict(t, &values, None) {
                            return Err(super::store::Store::conflict_error(t, &prop, existing));
                        }
                        Ok((values, links))
                    })
                    .and_then(|(values, links)| {
                        for (k, v) in values.iter().filter(|(k, v)| {
                            !v.is_empty() && hs.store.property(t, k).is_some_and(|d| d.unique)
                        }) {
                            if seen
                                .insert((k.clone(), v.to_lowercase()), i)
                                .is_some_and(|j| j != i)
                            {
                                return Err(HsError::validation(format!(
                                    "Duplicate {k} {v} in the batch inputs"
                                )));
                            }
                        }
                        Ok((values, links))
                    });
                match checked {
                    Ok((values, links)) => planned.push((i, values, links)),
                    Err(e) => refuse(multi, &mut errors, e, input, None)?,
                }
            }
            for (i, values, links) in planned {
                let input = &inputs[i];
                if let Some(pf) = partial.as_ref().filter(|_| fails(i)) {
                    errors.push(partial_error(pf, &input["objectWriteTraceId"], None));
                    continue;
                }
                let id = hs.store.create(t, values)?;
                for (to, to_id) in links {
                    hs.assoc.add(t, id, to, to_id);
                }
                if let Some(rec) = hs.store.get(t, id) {
                    let v = hs.store.render(t, rec, &PropSelection::Default);
                    results.push(traced(v, input));
                }
            }
            Ok(batch_response(results, errors, StatusCode::CREATED))
        }
        "update" => {
            let multi = multi_status(inputs);
            let mut planned = Vec::with_capacity(inputs.len());
            for (i, input) in inputs.iter().enumerate() {
                let id = input_id(&input["id"])
                    .ok_or_else(|| HsError::validation("every input needs an id"))?;
                let checked = properties_of(input).and_then(|props| {
                    let values = hs.store.validate(t, &props, false)?;
                    Ok((values, props.keys().cloned().collect::<Vec<String>>()))
                });
                match checked {
                    Ok((values, names)) => planned.push((
                        i,
                        id,
                        input["idProperty"].as_str().map(String::from),
                        values,
                        names,
                    )),
                    Err(e) => refuse(multi, &mut errors, e, input, Some(&id))?,
                }
            }
            let mut missing = Vec::new();
            for (i, id, id_prop, values, names) in planned {
                let input = &inputs[i];
                if let Some(pf) = partial.as_ref().filter(|_| fails(i)) {
                    errors.push(partial_error(pf, &input["objectWriteTraceId"], Some(&id)));
                    continue;
                }
                let Some(rid) = hs
                    .store
                    .resolve_id(t, &id, id_prop.as_deref())?
                    .filter(|r| hs.store.live(t, *r).is_some())
                else {
                    missing.push(id);
                    continue;
                };
                match hs.store.update(t, rid, values) {
                    Ok(()) => {
                        if let Some(rec) = hs.store.get(t, rid) {
                            let v = hs.store.render(t, rec, &PropSelection::Named(names));
                            results.push(traced(v, input));
                        }
                    }
                    Err(e) => errors.push(e.for_input(&input["objectWriteTraceId"], Some(&id))),
                }
            }
            if !missing.is_empty() {
                errors.push(json!({
                    "status": "error", "category": "OBJECT_NOT_FOUND",
                    "message": format!("Could not find some {} objects to update; check that ids are valid.", t.singular().to_uppercase()),
                    "context": {"ids": missing},
                }));
            }
            Ok(batch_response(results, errors, StatusCode::OK))
        }
        "upsert" => {
            let multi = multi_status(inputs);
            let mut planned = Vec::with_capacity(inputs.len());
            for (i, input) in inputs.iter().enumerate() {
                let id = input_id(&input["id"])
                    .ok_or_else(|| HsError::validation("every input needs an id"))?;
                let id_prop = input["idProperty"]
                    .as_str()
                    .ok_or_else(|| HsError::validation("every upsert input needs an idProperty"))?
                    .to_string();
                let def = hs.store.property(t, &id_prop).ok_or_else(|| {
                    HsError::validation(format!("Property \"{id_prop}\" does not exist"))
                })?;
                if !def.unique {
                    return Err(HsError::validation(format!(
                        "{id_prop} is not a unique property and can't be used as idProperty"
                    )));
                }
                let checked = properties_of(input).and_then(|props| {
                    let values = hs.store.validate(t, &props, false)?;
                    Ok((values, props.keys().cloned().collect::<Vec<_>>()))
                });
                match checked {
                    Ok((values, names)) => planned.push((i, id, id_prop, values, names)),
                    Err(e) => refuse(multi, &mut errors, e, input, Some(&id))?,
                }
            }
            for (i, id, id_prop, mut values, names) in planned {
                let input = &inputs[i];
                if let Some(pf) = partial.as_ref().filter(|_| fails(i)) {
                    errors.push(partial_error(pf, &input["objectWriteTraceId"], Some(&id)));
                    continue;
                }
                let existing = hs.store.resolve_id(t, &id, Some(&id_prop))?;
                let outcome = match existing {
                    Some(rid) => hs.store.update(t, rid, values).map(|_| (rid, false)),
                    None => {
                        values.retain(|(k, _)| *k != id_prop);
                        values.push((id_prop.clone(), id.clone()));
                        let missing_required = hs.store.validate(
                            t,
                            &values
                                .iter()
                                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                                .collect(),
                            true,
                        );
                        match missing_required {
                            Err(e) => Err(e),
                            Ok(_) => hs.store.create(t, values).map(|rid| (rid, true)),
                        }
                    }
                };
                match outcome {
                    Ok((rid, new)) => {
                        if let Some(rec) = hs.store.get(t, rid) {
                            let mut v = hs.store.render(t, rec, &PropSelection::Named(names));
                            v["new"] = json!(new);
                            results.push(traced(v, input));
                        }
                    }
                    Err(e) => errors.push(e.for_input(&input["objectWriteTraceId"], Some(&id))),
                }
            }
            Ok(batch_response(results, errors, StatusCode::OK))
        }
        "archive" => {
            for input in inputs {
                if let Some(rid) = input_id(&input["id"]).and_then(|s| s.parse::<u64>().ok())
                    && hs.store.archive(t, rid)
                {
                    hs.assoc.remove_all(t, rid);
                    hs.lists.forget_record(t, rid);
                }
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        other => Err(HsError::not_found(format!(
            "resource not found: unknown batch operation {other}"
        ))),
    }
}
