//! Portal metadata: property schemas, owners and deal pipelines.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::HsJson;
use super::errors::HsError;
use super::objects::object_type;
use super::schema::{ObjectType, PropKind, PropertyDef};
use crate::sim::SimState;
use crate::sim::clock::hubspot_iso;
use crate::sim::http::Params;

#[derive(Debug, Clone)]
pub struct Owner {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub user_id: u64,
    pub created: DateTime<Utc>,
}

impl Owner {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id, "email": self.email, "type": "PERSON",
            "firstName": self.first_name, "lastName": self.last_name,
            "userId": self.user_id, "userIdIncludingInactive": self.user_id,
            "createdAt": hubspot_iso(self.created), "updatedAt": hubspot_iso(self.created),
            "archived": false, "teams": [],
        })
    }
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub id: String,
    pub label: String,
    pub probability: f64,
    pub closed: bool,
}

/// A pipeline: deals have one ("default"), tickets two here.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub id: String,
    pub label: String,
    pub stages: Vec<Stage>,
}

/// Ticket pipelines: the default support pipeline a portal has (id "0", stages "1"–"4"),
/// and a second one, as a Service Hub portal with a billing desk sets up.
pub fn ticket_pipelines() -> Vec<Pipeline> {
    let s = |id: &str, label: &str, closed: bool| Stage {
        id: id.into(),
        label: label.into(),
        probability: 0.0,
        closed,
    };
    vec![
        Pipeline {
            id: "0".into(),
            label: "Support Pipeline".into(),
            stages: vec![
                s("1", "New", false),
                s("2", "Waiting on contact", false),
                s("3", "Waiting on us", false),
                s("4", "Closed", true),
            ],
        },
        Pipeline {
            id: "billing".into(),
            label: "Billing Pipeline".into(),
            stages: vec![
                s("billing_new", "New", false),
                s("billing_review", "In review", false),
                s("billing_closed", "Closed", true),
            ],
        },
    ]
}

/// The default sales pipeline's stages, as a new portal has them.
pub fn default_stages() -> Vec<Stage> {
    let s = |id: &str, label: &str, p: f64| Stage {
        id: id.into(),
        label: label.into(),
        probability: p,
        closed: p == 0.0 || p == 1.0,
    };
    vec![
        s("appointmentscheduled", "Appointment Scheduled", 0.2),
        s("qualifiedtobuy", "Qualified To Buy", 0.4),
        s("presentationscheduled", "Presentation Scheduled", 0.6),
        s("decisionmakerboughtin", "Decision Maker Bought-In", 0.8),
        s("contractsent", "Contract Sent", 0.9),
        s("closedwon", "Closed Won", 1.0),
        s("closedlost", "Closed Lost", 0.0),
    ]
}

/// `GET /crm/v3/properties/{objectType}`
pub async fn properties(
    State(sim): State<Arc<SimState>>,
    Path(t): Path<String>,
) -> Result<Response, HsError> {
    let t = object_type(&sim, &t)?;
    let hs = sim.hubspot();
    let results: Vec<Value> = hs.store.schemas[&t]
        .iter()
        .enumerate()
        .map(|(i, p)| p.to_json(i))
        .collect();
    Ok(axum::Json(json!({"results": results})).into_response())
}

/// `GET /crm/v3/properties/{objectType}/{propertyName}`
pub async fn property(
    State(sim): State<Arc<SimState>>,
    Path((t, name)): Path<(String, String)>,
) -> Result<Response, HsError> {
    let t = object_type(&sim, &t)?;
    let hs = sim.hubspot();
    let (i, p) = hs.store.schemas[&t]
        .iter()
        .enumerate()
        .find(|(_, p)| p.name == name)
        .ok_or_else(|| {
            HsError::not_found(format!(
                "Unable to find property {name} for object type {}",
                t.name()
            ))
        })?;
    Ok(axum::Json(p.to_json(i)).into_response())
}

/// `POST /crm/v3/properties/{objectType}`: a custom property → 201
pub async fn create_property(
    State(sim): State<Arc<SimState>>,
    Path(t): Path<String>,
    HsJson(body): HsJson<Value>,
) -> Result<Response, HsError> {
    let t = object_type(&sim, &t)?;
    let name = body["name"].as_str().unwrap_or_default();
    let valid_name = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_name {
        return Err(HsError::validation(format!(
            "Property name \"{name}\" is invalid: use lower-case letters, digits and underscores, starting with a letter"
        )));
    }
    let kind = body["type"]
        .as_str()
        .and_then(PropKind::parse)
        .ok_or_else(|| {
            HsError::validation(
                "type must be one of string, number, date, datetime, enumeration, bool",
            )
        })?;
    let field_type = body["fieldType"]
        .as_str()
        .ok_or_else(|| HsError::validation("fieldType is required"))?;
    let options = super::schema::options_of(&body["options"]);
    if kind == PropKind::Enumeration && options.is_empty() {
        return Err(HsError::validation("An enumeration property needs options"));
    }
    let def = PropertyDef {
        name: name.into(),
        label: body["label"].as_str().unwrap_or(name).into(),
        kind,
        field_type: field_type.into(),
        group: body["groupName"]
            .as_str()
            .unwrap_or("contactinformation")
            .into(),
        options,
        read_only: false,
        unique: body["hasUniqueValue"].as_bool().unwrap_or(false),
        required: false,
        custom: true,
    };
    let mut hs = sim.hubspot();
    if hs.store.property(t, name).is_some() {
        return Err(HsError::new(
            StatusCode::CONFLICT,
            "OBJECT_ALREADY_EXISTS",
            format!("Property named {name} already exists"),
        ));
    }
    let schema = hs.store.schemas.entry(t).or_default();
    schema.push(def.clone());
    let i = schema.len() - 1;
    Ok((StatusCode::CREATED, axum::Json(def.to_json(i))).into_response())
}

/// `GET /crm/v3/owners` (paged by `after`, optional `email` filter)
pub async fn owners(
    State(sim): State<Arc<SimState>>,
    RawQuery(q): RawQuery,
) -> Result<Response, HsError> {
    let p = Params::parse(q.as_deref());
    let limit = p
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100usize)
        .clamp(1, 500);
    let after: usize = p.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let email = p.get("email").map(str::to_lowercase);
    let hs = sim.hubspot();
    let matching: Vec<&Owner> = hs
        .owners
        .iter()
        .filter(|o| email.as_ref().is_none_or(|e| o.email == *e))
        .collect();
    let results: Vec<Value> = matching
        .iter()
        .skip(after)
        .take(limit)
        .map(|o| o.to_json())
        .collect();
    let mut body = json!({"results": results});
    if after + limit < matching.len() {
        body["paging"] = json!({"next": {"after": (after + limit).to_string()}});
    }
    Ok(axum::Json(body).into_response())
}

/// `GET /crm/v3/owners/{ownerId}`
pub async fn owner(
    State(sim): State<Arc<SimState>>,
    Path(id): Path<String>,
) -> Result<Response, HsError> {
    let hs = sim.hubspot();
    let o = hs
        .owners
        .iter()
        .find(|o| o.id == id)
        .ok_or_else(|| HsError::not_found(format!("Owner {id} does not exist")))?;
    Ok(axum::Json(o.to_json()).into_response())
}

fn pipeline_json(p: &Pipeline, order: usize) -> Value {
    let st: Vec<Value> = p
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let metadata = if s.probability > 0.0 || p.id == "default" {
                json!({"probability": s.probability.to_string(), "isClosed": s.closed.to_string()})
            } else {
                json!({"ticketState": if s.closed { "CLOSED" } else { "OPEN" }, "isClosed": s.closed.to_string()})
            };
            json!({
                "id": s.id, "label": s.label, "displayOrder": i, "archived": false,
                "metadata": metadata,
                "createdAt": "2020-01-01T00:00:00.000Z", "updatedAt": "2020-01-01T00:00:00.000Z",
            })
        })
        .collect();
    json!({
        "id": p.id, "label": p.label, "displayOrder": order, "archived": false, "stages": st,
        "createdAt": "2020-01-01T00:00:00.000Z", "updatedAt": "2020-01-01T00:00:00.000Z",
    })
}

/// The pipelines of an object type that has them (deals, tickets).
fn pipelines_of(sim: &SimState, t: &str) -> Result<Vec<Pipeline>, HsError> {
    match ObjectType::parse(t) {
        Some(ObjectType::Deals) => Ok(vec![Pipeline {
            id: "default".into(),
            label: "Sales Pipeline".into(),
            stages: sim.hubspot().stages.clone(),
        }]),
        Some(ObjectType::Tickets) => Ok(ticket_pipelines()),
        _ => Err(HsError::not_found(format!(
            "No pipelines for object type {t}"
        ))),
    }
}

fn one_pipeline(sim: &SimState, t: &str, id: &str) -> Result<Value, HsError> {
    pipelines_of(sim, t)?
        .iter()
        .enumerate()
        .find(|(_, p)| p.id == id)
        .map(|(i, p)| pipeline_json(p, i))
        .ok_or_else(|| HsError::not_found(format!("Pipeline {id} does not exist")))
}

/// `GET /crm/v3/pipelines/{objectType}`
pub async fn pipelines(
    State(sim): State<Arc<SimState>>,
    Path(t): Path<String>,
) -> Result<Response, HsError> {
    let all: Vec<Value> = pipelines_of(&sim, &t)?
        .iter()
        .enumerate()
        .map(|(i, p)| pipeline_json(p, i))
        .collect();
    Ok(axum::Json(json!({"results": all})).into_response())
}

/// `GET /crm/v3/pipelines/{objectType}/{pipelineId}`
pub async fn pipeline(
    State(sim): State<Arc<SimState>>,
    Path((t, id)): Path<(String, String)>,
) -> Result<Response, HsError> {
    Ok(axum::Json(one_pipeline(&sim, &t, &id)?).into_response())
}

/// `GET /crm/v3/pipelines/{objectType}/{pipelineId}/stages`
pub async fn stages(
    State(sim): State<Arc<SimState>>,
    Path((t, id)): Path<(String, String)>,
) -> Result<Response, HsError> {
    let p = one_pipeline(&sim, &t, &id)?;
    Ok(axum::Json(json!({"results": p["stages"]})).into_response())
}
