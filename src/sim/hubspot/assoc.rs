//! Associations between HubSpot records (v4 API, and the v3 `associations` read option).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::errors::HsError;
use super::schema::ObjectType;
use super::{HsJson, HubspotWorld, batch_response};
use crate::sim::SimState;
use crate::sim::clock::hubspot_iso;
use crate::sim::http::Params;

/// HubSpot-defined association type ids, one per direction.
const TYPES: &[(ObjectType, ObjectType, u32)] = &[
    (ObjectType::Contacts, ObjectType::Companies, 279),
    (ObjectType::Companies, ObjectType::Contacts, 280),
    (ObjectType::Deals, ObjectType::Companies, 341),
    (ObjectType::Companies, ObjectType::Deals, 342),
    (ObjectType::Deals, ObjectType::Contacts, 3),
    (ObjectType::Contacts, ObjectType::Deals, 4),
    (ObjectType::Tasks, ObjectType::Contacts, 204),
    (ObjectType::Contacts, ObjectType::Tasks, 203),
    (ObjectType::Tasks, ObjectType::Companies, 192),
    (ObjectType::Companies, ObjectType::Tasks, 191),
    (ObjectType::Tasks, ObjectType::Deals, 216),
    (ObjectType::Deals, ObjectType::Tasks, 215),
    (ObjectType::Tickets, ObjectType::Contacts, 16),
    (ObjectType::Contacts, ObjectType::Tickets, 15),
    (ObjectType::Tickets, ObjectType::Companies, 339),
    (ObjectType::Companies, ObjectType::Tickets, 340),
    (ObjectType::Tickets, ObjectType::Deals, 28),
    (ObjectType::Deals, ObjectType::Tickets, 27),
];

pub fn type_id(from: ObjectType, to: ObjectType) -> Option<u32> {
    match (from, to) {
        (ObjectType::Custom(c), other) => custom_type_id(c.number, other, true),
        (other, ObjectType::Custom(c)) => custom_type_id(c.number, other, false),
        _ => TYPES
            .iter()
            .find(|(f, t, _)| *f == from && *t == to)
            .map(|(_, _, id)| *id),
    }
}

/// A custom object's association type ids with a standard object, one per direction (a
/// portal's own, so numbered from its type id, far above HubSpot-defined ones).
fn custom_type_id(number: u32, other: ObjectType, from_custom: bool) -> Option<u32> {
    let index = ObjectType::ALL.iter().position(|t| *t == other)? as u32;
    Some(100_000 + (number % 100_000) * 20 + index * 2 + u32::from(!from_custom))
}

/// The object type an association type id from `from` leads to (`customs`: the portal's).
pub fn target_of(
    from: ObjectType,
    type_id: u32,
    customs: &[&'static super::schema::CustomType],
) -> Option<ObjectType> {
    let targets = ObjectType::ALL
        .into_iter()
        .chain(customs.iter().map(|c| ObjectType::Custom(c)));
    targets
        .into_iter()
        .find(|to| self::type_id(from, *to) == Some(type_id))
}

fn label(from: ObjectType, to: ObjectType) -> String {
    format!("{}_to_{}", from.singular(), to.singular())
}

fn type_json(from: ObjectType, to: ObjectType) -> Value {
    json!([{"category": "HUBSPOT_DEFINED", "typeId": type_id(from, to), "label": null}])
}

/// Undirected edges, stored once per direction so lookups are range scans.
#[derive(Debug, Default)]
pub struct Associations {
    edges: BTreeSet<(ObjectType, u64, ObjectType, u64)>,
}

impl Associations {
    pub fn add(&mut self, a: ObjectType, a_id: u64, b: ObjectType, b_id: u64) {
        self.edges.insert((a, a_id, b, b_id));
        self.edges.insert((b, b_id, a, a_id));
    }

    pub fn remove(&mut self, a: ObjectType, a_id: u64, b: ObjectType, b_id: u64) {
        self.edges.remove(&(a, a_id, b, b_id));
        self.edges.remove(&(b, b_id, a, a_id));
    }

    pub fn of(&self, from: ObjectType, id: u64, to: ObjectType) -> Vec<u64> {
        self.edges
            .range((from, id, to, 0)..=(from, id, to, u64::MAX))
            .map(|e| e.3)
            .collect()
    }

    pub fn remove_all(&mut self, t: ObjectType, id: u64) {
        let others: Vec<ObjectType> = self
            .edges
            .range((t, id, ObjectType::Contacts, 0)..)
            .take_while(|e| e.0 == t && e.1 == id)
            .map(|e| e.2)
            .collect();
        for other in others {
            for o in self.of(t, id, other) {
                self.remove(t, id, other, o);
            }
        }
    }

    /// The v3 record read option `?associations=companies,deals`.
    pub fn render_v3(&self, from: ObjectType, id: u64, to: &[ObjectType]) -> Value {
        let mut m = serde_json::Map::new();
        for t in to {
            let ids = self.of(from, id, *t);
            if ids.is_empty() {
                continue;
            }
            let results: Vec<Value> = ids
                .iter()
                .map(|i| json!({"id": i.to_string(), "type": label(from, *t)}))
                .collect();
            m.insert(t.name().into(), json!({"results": results}));
        }
        Value::Object(m)
    }
}

fn object_type(sim: &SimState, s: &str) -> Result<ObjectType, HsError> {
    sim.hubspot().resolve(s)
}

fn parse_id(s: &str) -> Result<u64, HsError> {
    s.parse()
        .map_err(|_| HsError::validation(format!("{s} is not a valid object id")))
}

fn require(hs: &HubspotWorld, t: ObjectType, id: u64) -> Result<(), HsError> {
    hs.store
        .live(t, id)
        .map(|_| ())
        .ok_or_else(|| HsError::not_found(format!("No {} with id {id} exists", t.singular())))
}

fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// `GET /crm/v4/objects/{from}/{id}/associations/{to}`
pub async fn list(
    State(sim): State<Arc<SimState>>,
    Path((from, id, to)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, HsError> {
    let (from, to, id) = (
        object_type(&sim, &from)?,
        object_type(&sim, &to)?,
        parse_id(&id)?,
    );
    let p = Params::parse(q.as_deref());
    let limit = p
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(500usize)
        .clamp(1, 500);
    let after: u64 = p.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let hs = sim.hubspot();
    require(&hs, from, id)?;
    let ids: Vec<u64> = hs
        .assoc
        .of(from, id, to)
        .into_iter()
        .filter(|i| *i >= after)
        .collect();
    let page: Vec<Value> = ids
        .iter()
        .take(limit)
        .map(|i| json!({"toObjectId": i, "associationTypes": type_json(from, to)}))
        .collect();
    let mut body = json!({"results": page});
    if let Some(next) = ids.get(limit) {
        let link = format!(
            "{}/crm/v4/objects/{}/{id}/associations/{}?limit={limit}&after={next}",
            sim.urls.hubspot.trim_end_matches('/'),
            from.name(),
            to.name()
        );
        body["paging"] = json!({"next": {"after": next.to_string(), "link": link}});
    }
    Ok(axum::Json(body).into_response())
}

/// `PUT /crm/v4/objects/{from}/{id}/associations/default/{to}/{to_id}`
pub async fn put_default(
    State(sim): State<Arc<SimState>>,
    Path((from, id, to, to_id)): Path<(String, String, String, String)>,
) -> Result<Response, HsError> {
    let (from, to) = (object_type(&sim, &from)?, object_type(&sim, &to)?);
    let (id, to_id) = (parse_id(&id)?, parse_id(&to_id)?);
    let mut hs = sim.hubspot();
    require(&hs, from, id)?;
    require(&hs, to, to_id)?;
    let tid = type_id(from, to).ok_or_else(|| {
        HsError::validation(format!(
            "{} can't be associated with {}",
            from.name(),
            to.name()
        ))
    })?;
    hs.assoc.add(from, id, to, to_id);
    let now = hubspot_iso(Utc::now());
    Ok(axum::Json(json!({
        "status": "COMPLETE",
        "results": [{"from": {"id": id.to_string()}, "to": {"id": to_id.to_string()},
                     "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": tid}}],
        "startedAt": now, "completedAt": now,
    }))
    .into_response())
}

/// `PUT /crm/v4/objects/{from}/{id}/associations/{to}/{to_id}` with `[{associationCategory, associationTypeId}]`
pub async fn put_labeled(
    State(sim): State<Arc<SimState>>,
    Path((from, id, to, to_id)): Path<(String, String, String, String)>,
    HsJson(specs): HsJson<Vec<Value>>,
) -> Result<Response, HsError> {
    let (from, to) = (object_type(&sim, &from)?, object_type(&sim, &to)?);
    let (id, to_id) = (parse_id(&id)?, parse_id(&to_id)?);
    for s in &specs {
        let tid = s["associationTypeId"].as_u64().unwrap_or(0) as u32;
        if target_of(from, tid, &sim.hubspot().customs) != Some(to) {
            return Err(HsError::validation(format!(
                "associationTypeId {tid} is not a valid association type from {} to {}",
                from.name(),
                to.name()
            )));
        }
    }
    let mut hs = sim.hubspot();
    require(&hs, from, id)?;
    require(&hs, to, to_id)?;
    hs.assoc.add(from, id, to, to_id);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "fromObjectTypeId": from.type_id(), "fromObjectId": id,
            "toObjectTypeId": to.type_id(), "toObjectId": to_id, "labels": [],
        })),
    )
        .into_response())
}

/// `DELETE /crm/v4/objects/{from}/{id}/associations/{to}/{to_id}`
pub async fn remove(
    State(sim): State<Arc<SimState>>,
    Path((from, id, to, to_id)): Path<(String, String, String, String)>,
) -> Result<Response, HsError> {
    let (from, to) = (object_type(&sim, &from)?, object_type(&sim, &to)?);
    let (id, to_id) = (parse_id(&id)?, parse_id(&to_id)?);
    sim.hubspot().assoc.remove(from, id, to, to_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn inputs(body: &Value) -> Result<&Vec<Value>, HsError> {
    let inputs = body["inputs"]
        .as_array()
        .ok_or_else(|| HsError::validation("inputs is required"))?;
    if inputs.len() > 100 {
        return Err(HsError::validation(
            "The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again",
        ));
    }
    Ok(inputs)
}

fn not_found_error(t: ObjectType, ids: Vec<String>, sub: &str) -> Value {
    json!({
        "status": "error", "category": "OBJECT_NOT_FOUND", "subCategory": sub,
        "message": format!("Could not find some {} records; check that the ids are valid.", t.singular()),
        "context": {"ids": ids},
    })
}

/// `POST /crm/v4/associations/{from}/{to}/batch/{read|create|archive}`
pub async fn batch(
    State(sim): State<Arc<SimState>>,
    Path((from, to, op)): Path<(String, String, String)>,
    HsJson(body): HsJson<Value>,
) -> Result<Response, HsError> {
    let (from, to) = (object_type(&sim, &from)?, object_type(&sim, &to)?);
    let inputs = inputs(&body)?;
    let mut hs = sim.hubspot();
    let (mut results, mut errors) = (Vec::new(), Vec::new());
    match op.as_str() {
        "read" => {
            for input in inputs {
                let Some(id) = id_of(&input["id"]) else {
                    return Err(HsError::validation("every input needs an id"));
                };
                let to_ids = hs.assoc.of(from, id, to);
                if to_ids.is_empty() {
                    errors.push(not_found_error(
                        from,
                        vec![id.to_string()],
                        "crm.associations.NO_ASSOCIATIONS_FOUND",
                    ));
                    continue;
                }
                let to_json: Vec<Value> = to_ids
                    .iter()
                    .map(|t| json!({"toObjectId": t, "associationTypes": type_json(from, to)}))
                    .collect();
                results.push(json!({"from": {"id": id.to_string()}, "to": to_json}));
            }
            Ok(batch_response(results, errors, StatusCode::OK))
        }
        "create" => {
            for input in inputs {
                let (Some(a), Some(b)) = (id_of(&input["from"]["id"]), id_of(&input["to"]["id"]))
                else {
                    return Err(HsError::validation("every input needs from.id and to.id"));
                };
                if hs.store.live(from, a).is_none() || hs.store.live(to, b).is_none() {
                    errors.push(not_found_error(
                        from,
                        vec![a.to_string(), b.to_string()],
                        "crm.associations.INVALID_OBJECT_IDS",
                    ));
                    continue;
                }
                hs.assoc.add(from, a, to, b);
                results.push(json!({"fromObjectTypeId": from.type_id(), "fromObjectId": a,
                                     "toObjectTypeId": to.type_id(), "toObjectId": b, "labels": []}));
            }
            Ok(batch_response(results, errors, StatusCode::CREATED))
        }
        "archive" => {
            for input in inputs {
                let Some(a) = id_of(&input["from"]["id"]) else {
                    return Err(HsError::validation("every input needs from.id"));
                };
                for t in input["to"].as_array().into_iter().flatten() {
                    if let Some(b) = id_of(&t["id"]) {
                        hs.assoc.remove(from, a, to, b);
                    }
                }
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        other => Err(HsError::not_found(format!(
            "unknown batch operation {other}"
        ))),
    }
}

/// `POST /crm/v4/associations/{from}/{to}/batch/associate/default`
pub async fn batch_default(
    State(sim): State<Arc<SimState>>,
    Path((from, to)): Path<(String, String)>,
    HsJson(body): HsJson<Value>,
) -> Result<Response, HsError> {
    let (from, to) = (object_type(&sim, &from)?, object_type(&sim, &to)?);
    let tid = type_id(from, to).ok_or_else(|| {
        HsError::validation(format!(
            "{} can't be associated with {}",
            from.name(),
            to.name()
        ))
    })?;
    let inputs = inputs(&body)?;
    let mut hs = sim.hubspot();
    let (mut results, mut errors) = (Vec::new(), Vec::new());
    for input in inputs {
        let (Some(a), Some(b)) = (id_of(&input["from"]["id"]), id_of(&input["to"]["id"])) else {
            return Err(HsError::validation("every input needs from.id and to.id"));
        };
        if hs.store.live(from, a).is_none() || hs.store.live(to, b).is_none() {
            errors.push(not_found_error(
                from,
                vec![a.to_string(), b.to_string()],
                "crm.associations.INVALID_OBJECT_IDS",
            ));
            continue;
        }
        hs.assoc.add(from, a, to, b);
        results.push(json!({"from": {"id": a.to_string()}, "to": {"id": b.to_string()},
                            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": tid}}));
    }
    Ok(batch_response(results, errors, StatusCode::OK))
}
