//! Lists v3: MANUAL lists with writable memberships and DYNAMIC lists whose members follow
//! their `filterBranch` (the incumbent's inclusion lists are such lists).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::HsJson;
use super::errors::HsError;
use super::schema::ObjectType;
use super::store::{Record, Store};
use crate::sim::SimState;
use crate::sim::clock::hubspot_iso;
use crate::sim::http::Params;

#[derive(Debug, Clone)]
pub struct List {
    pub id: u64,
    pub name: String,
    pub object_type: ObjectType,
    /// MANUAL, DYNAMIC or SNAPSHOT
    pub processing: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub version: u64,
    pub members: BTreeMap<u64, DateTime<Utc>>,
    pub filter: Option<Value>,
}

#[derive(Debug, Default)]
pub struct Lists {
    next_id: u64,
    lists: BTreeMap<u64, List>,
}

/// Does a record pass one `filterBranch` (OR of AND branches of PROPERTY filters)?
fn branch_matches(branch: &Value, rec: &Record) -> bool {
    let filters_ok = branch["filters"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|f| filter_matches(f, rec));
    let subs: Vec<&Value> = branch["filterBranches"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let subs_ok = match branch["filterBranchType"].as_str() {
        Some("OR") => subs.is_empty() || subs.iter().any(|b| branch_matches(b, rec)),
        _ => subs.iter().all(|b| branch_matches(b, rec)),
    };
    filters_ok && subs_ok
}

fn filter_matches(f: &Value, rec: &Record) -> bool {
    let prop = f["property"].as_str().unwrap_or_default();
    let value = rec.props.get(prop).filter(|v| !v.is_empty());
    let op = &f["operation"];
    let one = op["value"].as_str().map(str::to_lowercase);
    let many: Vec<String> = op["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_lowercase))
        .collect();
    let v = value.map(|s| s.to_lowercase());
    match op["operator"].as_str().unwrap_or_default() {
        "IS_KNOWN" => value.is_some(),
        "IS_UNKNOWN" => value.is_none(),
        "IS_EQUAL_TO" => v.is_some() && v == one,
        "IS_NOT_EQUAL_TO" => v != one,
        "IS_ANY_OF" => v.is_some_and(|v| v.split(';').any(|p| many.iter().any(|m| m == p))),
        "IS_NONE_OF" => !v.is_some_and(|v| v.split(';').any(|p| many.iter().any(|m| m == p))),
        "CONTAINS" => v.zip(one).is_some_and(|(v, o)| v.contains(&o)),
        _ => false,
    }
}

impl Lists {
    pub fn count(&self) -> usize {
        self.lists.len()
    }

    pub fn create(
        &mut self,
        name: &str,
        t: ObjectType,
        processing: &str,
        filter: Option<Value>,
        at: DateTime<Utc>,
    ) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.lists.insert(
            id,
            List {
                id,
                name: name.into(),
                object_type: t,
                processing: processing.into(),
                created: at,
                updated: at,
                version: 1,
                members: BTreeMap::new(),
                filter,
            },
        );
        id
    }

    pub fn add_member(&mut self, list: u64, record: u64, at: DateTime<Utc>) {
        if let Some(l) = self.lists.get_mut(&list) {
            l.members.entry(record).or_insert(at);
        }
    }

    pub fn forget_record(&mut self, t: ObjectType, record: u64) {
        for l in self.lists.values_mut().filter(|l| l.object_type == t) {
            l.members.remove(&record);
        }
    }

    /// Members (record id → when added), computing DYNAMIC lists from their filters.
    fn members(&self, l: &List, store: &Store) -> BTreeMap<u64, DateTime<Utc>> {
        match (&l.processing[..], &l.filter) {
            ("DYNAMIC", Some(f)) => store.records[&l.object_type]
                .values()
                .filter(|r| r.archived_at.is_none() && branch_matches(f, r))
                .map(|r| (r.id, r.created.max(l.created)))
                .collect(),
            _ => l.members.clone(),
        }
    }

    fn render(&self, l: &List, store: &Store) -> Value {
        let mut v = json!({
            "listId": l.id.to_string(),
            "listVersion": l.version,
            "name": l.name,
            "objectTypeId": l.object_type.type_id(),
            "processingType": l.processing,
            "processingStatus": "COMPLETE",
            "createdAt": hubspot_iso(l.created),
            "updatedAt": hubspot_iso(l.updated),
            "size": self.members(l, store).len(),
        });
        if let Some(f) = &l.filter {
            v["filterBranch"] = f.clone();
        }
        v
    }
}

fn list_id(s: &str) -> Result<u64, HsError> {
    s.parse()
        .map_err(|_| HsError::not_found(format!("List {s} does not exist")))
}

fn record_ids(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| match x {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

/// `POST /crm/v3/lists`
pub async fn create(
    State(sim): State<Arc<SimState>>,
    HsJson(body): HsJson<Value>,
) -> Result<Response, HsError> {
    let name = body["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| HsError::validation("name is required"))?;
    let t = body["objectTypeId"]
        .as_str()
        .and_then(ObjectType::parse)
        .ok_or_else(|| HsError::validation("objectTypeId is required (e.g. 0-1 for contacts)"))?;
    let processing = body["processingType"].as_str().unwrap_or_default();
    if !matches!(processing, "MANUAL" | "DYNAMIC" | "SNAPSHOT") {
        return Err(HsError::validation(
            "processingType must be MANUAL, DYNAMIC or SNAPSHOT",
        ));
    }
    let filter = body.get("filterBranch").cloned().filter(|f| !f.is_null());
    if processing == "DYNAMIC" && filter.is_none() {
        return Err(HsError::validation("A DYNAMIC list needs a filterBranch"));
    }
    let mut hs = sim.hubspot();
    if hs
        .lists
        .lists
        .values()
        .any(|l| l.name.eq_ignore_ascii_case(name))
    {
        return Err(HsError::validation(format!(
            "A list named \"{name}\" already exists"
        )));
    }
    let now = hs.store.clock.next();
    let id = hs.lists.create(name, t, processing, filter, now);
    let l = &hs.lists.lists[&id];
    Ok(axum::Json(json!({"list": hs.lists.render(l, &hs.store)})).into_response())
}

/// `GET /crm/v3/lists/{listId}`
pub async fn get_one(
    State(sim): State<Arc<SimState>>,
    Path(id): Path<String>,
) -> Result<Response, HsError> {
    let id = list_id(&id)?;
    let hs = sim.hubspot();
    let l = hs
        .lists
        .lists
        .get(&id)
        .ok_or_else(|| HsError::not_found(format!("List {id} does not exist")))?;
    Ok(axum::Json(json!({"list": hs.lists.render(l, &hs.store)})).into_response())
}

/// `DELETE /crm/v3/lists/{listId}`
pub async fn remove(
    State(sim): State<Arc<SimState>>,
    Path(id): Path<String>,
) -> Result<Response, HsError> {
    let id = list_id(&id)?;
    match sim.hubspot().lists.lists.remove(&id) {
        Some(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        None => Err(HsError::not_found(format!("List {id} does not exist"))),
    }
}

/// `GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}` (case-insensitive)
pub async fn by_name(
    State(sim): State<Arc<SimState>>,
    Path((type_id, name)): Path<(String, String)>,
) -> Result<Response, HsError> {
    let t = ObjectType::parse(&type_id)
        .ok_or_else(|| HsError::validation(format!("Unknown objectTypeId {type_id}")))?;
    let hs = sim.hubspot();
    let l = hs
        .lists
        .lists
        .values()
        .find(|l| l.object_type == t && l.name.eq_ignore_ascii_case(&name))
        .ok_or_else(|| HsError::not_found(format!("No list named {name}")))?;
    Ok(axum::Json(json!({"list": hs.lists.render(l, &hs.store)})).into_response())
}

/// `POST /crm/v3/lists/search`
pub async fn search(
    State(sim): State<Arc<SimState>>,
    HsJson(body): HsJson<Value>,
) -> Result<Response, HsError> {
    let query = body["query"].as_str().unwrap_or_default().to_lowercase();
    let offset = body["offset"].as_u64().unwrap_or(0) as usize;
    let count = (body["count"].as_u64().unwrap_or(20) as usize).clamp(1, 500);
    let types: Vec<String> = record_ids(&body["processingTypes"]);
    let hs = sim.hubspot();
    let found: Vec<&List> = hs
        .lists
        .lists
        .values()
        .filter(|l| l.name.to_lowercase().contains(&query))
        .filter(|l| types.is_empty() || types.contains(&l.processing))
        .collect();
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(count)
        .map(|l| hs.lists.render(l, &hs.store))
        .collect();
    Ok(axum::Json(json!({
        "lists": page, "total": found.len(), "offset": offset + page.len(),
        "hasMore": offset + count < found.len(),
    }))
    .into_response())
}

/// `GET /crm/v3/lists/{listId}/memberships`: sorted by record id, at most 250 a page.
pub async fn memberships(
    State(sim): State<Arc<SimState>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, HsError> {
    let id = list_id(&id)?;
    let p = Params::parse(q.as_deref());
    let limit = p
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100usize)
        .clamp(1, 250);
    let after: u64 = p.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let hs = sim.hubspot();
    let l = hs
        .lists
        .lists
        .get(&id)
        .ok_or_else(|| HsError::not_found(format!("List {id} does not exist")))?;
    let members = hs.lists.members(l, &hs.store);
    let mut it = members.range(after..);
    let results: Vec<Value> = it
        .by_ref()
        .take(limit)
        .map(|(r, at)| json!({"recordId": r.to_string(), "membershipTimestamp": hubspot_iso(*at)}))
        .collect();
    let mut body = json!({"results": results, "total": members.len()});
    if let Some((next, _)) = it.next() {
        body["paging"] = json!({"next": {"after": next.to_string()}});
    }
    Ok(axum::Json(body).into_response())
}

/// `PUT /crm/v3/lists/{listId}/memberships/{add|remove|add-and-remove}`
pub async fn change_memberships(
    State(sim): State<Arc<SimState>>,
    Path((id, op)): Path<(String, String)>,
    HsJson(body): HsJson<Value>,
) -> Result<Response, HsError> {
    let id = list_id(&id)?;
    let (to_add, to_remove) = match op.as_str() {
        "add" => (record_ids(&body), Vec::new()),
        "remove" => (Vec::new(), record_ids(&body)),
        "add-and-remove" => (
            record_ids(&body["recordIdsToAdd"]),
            record_ids(&body["recordIdsToRemove"]),
        ),
        other => {
            return Err(HsError::not_found(format!(
                "resource not found: memberships/{other}"
            )));
        }
    };
    let mut hs = sim.hubspot();
    let now = hs.store.clock.next();
    let hs = &mut *hs;
    let l = hs
        .lists
        .lists
        .get_mut(&id)
        .ok_or_else(|| HsError::not_found(format!("List {id} does not exist")))?;
    if l.processing == "DYNAMIC" {
        return Err(HsError::validation(format!(
            "List {id} is a DYNAMIC list; its memberships follow its filters and can't be changed directly"
        )));
    }
    let (mut added, mut removed, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    for r in to_add {
        match r
            .parse::<u64>()
            .ok()
            .filter(|rid| hs.store.live(l.object_type, *rid).is_some())
        {
            Some(rid) => {
                if l.members.insert(rid, now).is_none() {
                    added.push(r);
                }
            }
            None => missing.push(r),
        }
    }
    for r in to_remove {
        match r.parse::<u64>().ok().and_then(|rid| l.members.remove(&rid)) {
            Some(_) => removed.push(r),
            None => missing.push(r),
        }
    }
    if !added.is_empty() || !removed.is_empty() {
        l.updated = now;
        l.version += 1;
    }
    // The spec spells the first key `recordsIdsAdded`; clients depend on it.
    Ok(axum::Json(
        json!({"recordsIdsAdded": added, "recordIdsRemoved": removed, "recordIdsMissing": missing}),
    )
    .into_response())
}

/// `DELETE /crm/v3/lists/{listId}/memberships`
pub async fn clear_memberships(
    State(sim): State<Arc<SimState>>,
    Path(id): Path<String>,
) -> Result<Response, HsError> {
    let id = list_id(&id)?;
    let mut hs = sim.hubspot();
    let l = hs
        .lists
        .lists
        .get_mut(&id)
        .ok_or_else(|| HsError::not_found(format!("List {id} does not exist")))?;
    if l.processing == "DYNAMIC" {
        return Err(HsError::validation(format!(
            "List {id} is a DYNAMIC list; its memberships can't be changed directly"
        )));
    }
    l.members.clear();
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /crm/v3/lists/records/{objectTypeId}/{recordId}/memberships`
pub async fn record_memberships(
    State(sim): State<Arc<SimState>>,
    Path((type_id, record_id)): Path<(String, String)>,
) -> Result<Response, HsError> {
    let t = ObjectType::parse(&type_id)
        .ok_or_else(|| HsError::validation(format!("Unknown objectTypeId {type_id}")))?;
    let rid: u64 = record_id
        .parse()
        .map_err(|_| HsError::not_found("resource not found"))?;
    let hs = sim.hubspot();
    let results: Vec<Value> = hs
        .lists
        .lists
        .values()
        .filter(|l| l.object_type == t)
        .filter_map(|l| {
            hs.lists.members(l, &hs.store).get(&rid).map(|at| {
                json!({"listId": l.id.to_string(), "listVersion": l.version,
                       "firstAddedTimestamp": hubspot_iso(*at), "lastAddedTimestamp": hubspot_iso(*at)})
            })
        })
        .collect();
    Ok(axum::Json(json!({"total": results.len(), "results": results})).into_response())
}
