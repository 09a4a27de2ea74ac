//! Custom objects: the schemas API (`/crm/v3/schemas`), which defines a portal's own object
//! types (`2-…`, `p{portalId}_{name}`) with their properties, required and unique ones, and
//! the standard objects they associate with; records then live under `/crm/v3/objects/`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::errors::HsError;
use super::schema::{CustomType, ObjectType, PropKind, PropertyDef};
use super::{HsJson, HubspotWorld};
use crate::sim::SimState;
use crate::sim::clock::hubspot_iso;

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// A property of a schema definition (`{name, label, type, fieldType, options?,
/// hasUniqueValue?}`).
/// Its group is the object's own `{name}_information`, as HubSpot's create-schema answer shows
/// (developers.hubspot.com, "Create a new custom object schema": `"groupName": "my_object_information"`).
fn property(p: &Value, object: &str, required: &[&str]) -> Result<PropertyDef, HsError> {
    let name = p["name"]
        .as_str()
        .ok_or_else(|| HsError::validation("every property needs a name"))?;
    let t = p["type"].as_str().unwrap_or("string");
    let kind = PropKind::parse(t).ok_or_else(|| {
        HsError::validation(format!("Property {name}: type {t} is not one of string, number, date, datetime, enumeration, bool"))
    })?;
    let mut d = PropertyDef::new(
        name,
        p["label"].as_str().unwrap_or(name),
        kind,
        p["fieldType"].as_str().unwrap_or("text"),
        &format!("{object}_information"),
    );
    d.options = super::schema::options_of(&p["options"]);
    if kind == PropKind::Enumeration && d.options.is_empty() {
        return Err(HsError::validation(format!(
            "Property {name}: an enumeration needs options"
        )));
    }
    d.unique = p["hasUniqueValue"].as_bool().unwrap_or(false);
    d.required = required.contains(&name);
    d.custom = true;
    Ok(d)
}

/// A number for the type id, stable for a portal and name.
fn type_number(portal: u64, name: &str) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for b in portal.to_string().bytes().chain(name.bytes()) {
        h = (h ^ u32::from(b)).wrapping_mul(16_777_619);
    }
    1_000_000 + h % 8_000_000
}

/// Define a custom object in the portal; answers the schema as HubSpot does.
pub fn define(hs: &mut HubspotWorld, body: &Value) -> Result<Value, HsError> {
    let name = body["name"]
        .as_str()
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .ok_or_else(|| HsError::validation("name is required: letters, digits and underscores"))?
        .to_ascii_lowercase();
    if ObjectType::parse(&name).is_some() || hs.customs.iter().any(|c| c.name == name) {
        return Err(HsError::new(
            StatusCode::CONFLICT,
            "OBJECT_ALREADY_EXISTS",
            format!("Object type already exists with name {name}"),
        ));
    }
    let singular = body["labels"]["singular"]
        .as_str()
        .unwrap_or(&name)
        .to_string();
    let primary = body["primaryDisplayProperty"]
        .as_str()
        .ok_or_else(|| HsError::validation("primaryDisplayProperty is required"))?;
    let required: Vec<&str> = body["requiredProperties"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let props = body["properties"]
        .as_array()
        .ok_or_else(|| HsError::validation("properties is required"))?
        .iter()
        .map(|p| property(p, &name, &required))
        .collect::<Result<Vec<_>, _>>()?;
    for needed in required.iter().chain(std::iter::once(&primary)) {
        if !props.iter().any(|p| p.name == *needed) {
            return Err(HsError::validation(format!(
                "Property {needed} is named but not defined in properties"
            )));
        }
    }
    let associated: Vec<ObjectType> = body["associatedObjects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|a| {
            ObjectType::parse(&a.to_ascii_lowercase()).ok_or_else(|| {
                HsError::validation(format!("associatedObjects: unknown object type {a}"))
            })
        })
        .collect::<Result<_, _>>()?;
    let portal = hs.settings.portal_id;
    let number = type_number(portal, &name);
    let searchable: Vec<&'static str> = body["searchableProperties"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .chain(std::iter::once(primary))
        .map(leak)
        .collect();
    let mut defaults: Vec<&'static str> = vec![
        "hs_createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
        leak(primary),
    ];
    defaults.sort();
    let custom: &'static CustomType = Box::leak(Box::new(CustomType {
        type_id: format!("2-{number}"),
        fqn: format!("p{portal}_{name}"),
        name: name.clone(),
        singular,
        number,
        defaults,
        searchable,
    }));
    let t = ObjectType::Custom(custom);
    let mut all_props = super::schema::standard_properties(t, &[], &[]);
    all_props.extend(props);
    all_props.sort_by(|a, b| a.name.cmp(&b.name));
    hs.store.add_type(t, all_props);
    hs.customs.push(custom);
    hs.custom_associations.push((t, associated.clone()));
    let now = hubspot_iso(Utc::now());
    let schema = json!({
        "id": number.to_string(),
        "objectTypeId": custom.type_id,
        "fullyQualifiedName": custom.fqn,
        "name": name,
        "labels": body["labels"],
        "primaryDisplayProperty": primary,
        "requiredProperties": required,
        "searchableProperties": body["searchableProperties"].as_array().cloned().unwrap_or_default(),
        "secondaryDisplayProperties": body["secondaryDisplayProperties"].as_array().cloned().unwrap_or_default(),
        "properties": hs.store.schemas.get(&t).map(|ps| ps.iter().enumerate().map(|(i, p)| p.to_json(i)).collect::<Vec<_>>()).unwrap_or_default(),
        "associations": associated.iter().map(|a| json!({
            "id": super::assoc::type_id(t, *a).unwrap_or_default().to_string(),
            "fromObjectTypeId": custom.type_id,
            "toObjectTypeId": a.type_id(),
            "name": format!("{}_to_{}", name, a.singular()),
        })).collect::<Vec<_>>(),
        "metaType": "PORTAL_SPECIFIC",
        "archived": false,
        "createdAt": now,
        "updatedAt": now,
    });
    hs.custom_schemas.push(schema.clone());
    Ok(schema)
}

/// `POST /crm/v3/schemas`
pub async fn create(
    State(sim): State<Arc<SimState>>,
    HsJson(body): HsJson<Value>,
) -> Result<Response, HsError> {
    let schema = define(&mut sim.hubspot(), &body)?;
    Ok((StatusCode::CREATED, axum::Json(schema)).into_response())
}

/// `GET /crm/v3/schemas`
pub async fn list(State(sim): State<Arc<SimState>>) -> Result<Response, HsError> {
    let hs = sim.hubspot();
    Ok(axum::Json(json!({"results": hs.custom_schemas})).into_response())
}

/// `GET /crm/v3/schemas/{objectType}` (type id or fully qualified name)
pub async fn get_one(
    State(sim): State<Arc<SimState>>,
    Path(object_type): Path<String>,
) -> Result<Response, HsError> {
    let hs = sim.hubspot();
    hs.custom_schemas
        .iter()
        .find(|s| {
            s["objectTypeId"] == object_type.as_str()
                || s["fullyQualifiedName"]
                    .as_str()
                    .is_some_and(|f| f.eq_ignore_ascii_case(&object_type))
        })
        .map(|s| axum::Json(s.clone()).into_response())
        .ok_or_else(|| HsError::not_found(format!("Unable to find object type {object_type}")))
}
