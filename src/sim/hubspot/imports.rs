//! The CRM imports API (`/crm/v3/imports`): a multipart upload of an `importRequest` JSON and
//! a CSV file, mapped to one object's properties by `columnMappings`, run as an import that
//! answers `STARTED` at creation, `PROCESSING` to the first look and `DONE` after; rows it
//! could not import are listed under `/errors` with their `errorType` and line number.
//!
//! What the simulator does as HubSpot does (the imports guide and the OpenAPI spec's
//! `PublicImportResponse` / `PublicImportError`): `importOperations` per object type id
//! (`CREATE`, `UPDATE`, `UPSERT`, the default); a column of type `HUBSPOT_OBJECT_ID` names
//! the record to update; an empty cell leaves a property as it is; an update of a record
//! that does not exist is a row error (`INVALID_OBJECT_ID`, of the spec's error types; the
//! docs do not say which one HubSpot gives); a bad value is the row's error, not the
//! import's. Each request is one API call.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::HsError;
use super::schema::ObjectType;
use crate::sim::SimState;

/// Where an import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImportState {
    Started,
    Processing,
    Done,
}

/// One import: its request as sent, its counters and its row errors.
#[derive(Debug)]
pub struct Import {
    id: u64,
    state: ImportState,
    request: Value,
    object_type_id: String,
    created: DateTime<Utc>,
    counters: Map<String, Value>,
    errors: Vec<Value>,
}

#[derive(Debug, Default)]
pub struct Imports {
    all: Vec<Import>,
    next: u64,
}

impl Import {
    fn render(&self) -> Value {
        let state = match self.state {
            ImportState::Started => "STARTED",
            ImportState::Processing => "PROCESSING",
            ImportState::Done => "DONE",
        };
        let stamp = crate::sim::clock::hubspot_iso(self.created);
        json!({
            "id": self.id.to_string(),
            "state": state,
            "createdAt": stamp,
            "updatedAt": stamp,
            "metadata": {"counters": self.counters, "fileIds": [format!("{}", 90_000 + self.id)], "objectLists": []},
            "importRequestJson": self.request,
            "importSource": "API",
            "importName": self.request["name"],
            "optOutImport": false,
            "mappedObjectTypeIds": [self.object_type_id],
        })
    }
}

/// The two parts of a multipart/form-data body, by name.
fn form_parts(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, Vec<u8>)>, HsError> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_string())
        .ok_or_else(|| {
            HsError::validation("Content-Type must be multipart/form-data with a boundary")
        })?;
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&rest[..head_end]).to_string();
        let content = &rest[head_end + 4..];
        let end = find(content, format!("\r\n{delimiter}").as_bytes()).unwrap_or(content.len());
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or_default();
        let name = disposition
            .split(';')
            .find_map(|p| p.trim().strip_prefix("name="))
            .map(|n| n.trim_matches('"').to_string())
            .unwrap_or_default();
        parts.push((name, content[..end].to_vec()));
        rest = &content[end..];
    }
    Ok(parts)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The object type an import's `columnObjectTypeId` names.
fn object_of(type_id: &str) -> Option<ObjectType> {
    match type_id {
        "0-1" => Some(ObjectType::Contacts),
        "0-2" => Some(ObjectType::Companies),
        "0-3" => Some(ObjectType::Deals),
        _ => None,
    }
}

/// A row error as `/errors` lists it.
fn row_error(
    (id, object): (usize, ObjectType),
    error_type: &str,
    line: usize,
    row: &[String],
    message: &str,
) -> Value {
    json!({
        "id": id.to_string(),
        "createdAt": Utc::now().timestamp_millis(),
        "errorType": error_type,
        "errorMessage": message,
        "sourceData": {"lineNumber": line, "rowData": row, "containsEncryptedProperties": false},
        "objectType": object.singular().to_uppercase(),
    })
}

/// The `errorType` of a value the property refused (its batch API code, as an import names it).
fn error_type_of(e: &HsError) -> &'static str {
    let code = e.body["errors"][0]["code"].as_str().unwrap_or_default();
    match code {
        "INVALID_OPTION" => "INVALID_ENUMERATION_OPTION",
        "INVALID_EMAIL" => "INVALID_EMAIL",
        "INVALID_INTEGER" | "INVALID_LONG" | "INVALID_DOUBLE" => "COULD_NOT_PARSE_NUMBER",
        "INVALID_DATE" | "INVALID_DATETIME" => "COULD_NOT_PARSE_DATE",
        _ => "INVALID_PROPERTY_VALUE_FORMAT",
    }
}

/// `POST /crm/v3/imports`
pub async fn create(
    State(sim): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HsError> {
    let parts = form_parts(&headers, &body)?;
    let part = |name: &str| parts.iter().find(|(n, _)| n == name).map(|(_, b)| b);
    let request: Value = part("importRequest")
        .ok_or_else(|| HsError::validation("importRequest is required"))
        .and_then(|b| serde_json::from_slice(b).map_err(HsError::bad_json))?;
    let file = part("files").ok_or_else(|| HsError::validation("files is required"))?;
    let page = &request["files"][0]["fileImportPage"];
    let mappings = page["columnMappings"]
        .as_array()
        .filter(|m| !m.is_empty())
        .ok_or_else(|| HsError::validation("files[0].fileImportPage.columnMappings is required"))?;
    let type_id = mappings[0]["columnObjectTypeId"]
        .as_str()
        .unwrap_or("0-1")
        .to_string();
    let t = object_of(&type_id).ok_or_else(|| {
        HsError::validation(format!("Unable to infer object type from: {type_id}"))
    })?;
    let operation = request["importOperations"][&type_id]
        .as_str()
        .unwrap_or("UPSERT")
        .to_string();
    let mut hs = sim.hubspot();
    // Every mapped property must exist: HubSpot refuses the import, not its rows.
    let mut columns: Vec<(String, Option<String>, bool)> = Vec::new();
    for m in mappings {
        let name = m["columnName"].as_str().unwrap_or_default().to_string();
        let is_id = m["columnType"] == "HUBSPOT_OBJECT_ID";
        let property = m["propertyName"].as_str().map(str::to_string);
        if let Some(p) = &property
            && !is_id
            && hs.store.property(t, p).is_none()
        {
            return Err(HsError::validation(format!(
                "Property \"{p}\" does not exist on object type {type_id}"
            )));
        }
        columns.push((name, property, is_id));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(page["hasHeader"].as_bool().unwrap_or(true))
        .from_reader(file.as_slice());
    let header: Vec<String> = reader
        .headers()
        .map(|h| h.iter().map(str::to_string).collect())
        .unwrap_or_default();
    let (mut updated, mut created, mut errors) = (0u64, 0u64, Vec::new());
    for (n, row) in reader.records().enumerate() {
        let line = n + 2; // the header is line 1
        let row: Vec<String> = match row {
            Ok(r) => r.iter().map(str::to_string).collect(),
            Err(e) => {
                errors.push(row_error(
                    (errors.len() + 1, t),
                    "COULD_NOT_PARSE_ROW",
                    line,
                    &[],
                    &e.to_string(),
                ));
                continue;
            }
        };
        let mut id = None;
        let mut props = Map::new();
        for (column, value) in header.iter().zip(&row) {
            let Some((_, property, is_id)) = columns.iter().find(|(c, _, _)| c == column) else {
                continue;
            };
            if *is_id {
                id = Some(value.clone());
            } else if let Some(p) = property
                && !value.is_empty()
            {
                props.insert(p.clone(), json!(value));
            }
        }
        let record = id
            .as_deref()
            .and_then(|i| i.parse::<u64>().ok())
            .filter(|i| hs.store.live(t, *i).is_some());
        let outcome = match (operation.as_str(), record) {
            ("CREATE", Some(_)) => Err(("CREATE_ONLY_IMPORT", "the record exists".to_string())),
            ("UPDATE", None) => Err((
                "INVALID_OBJECT_ID",
                format!(
                    "no {} with id {}",
                    t.singular(),
                    id.clone().unwrap_or_default()
                ),
            )),
            (_, Some(rid)) => hs
                .store
                .validate(t, &props, false)
                .and_then(|values| hs.store.update(t, rid, values))
                .map(|()| false)
                .map_err(|e| {
                    (
                        error_type_of(&e),
                        e.body["message"].as_str().unwrap_or_default().to_string(),
                    )
                }),
            (_, None) => hs
                .store
                .validate(t, &props, true)
                .and_then(|values| hs.store.create(t, values))
                .map(|_| true)
                .map_err(|e| {
                    (
                        error_type_of(&e),
                        e.body["message"].as_str().unwrap_or_default().to_string(),
                    )
                }),
        };
        match outcome {
            Ok(true) => created += 1,
            Ok(false) => updated += 1,
            Err((kind, message)) => {
                errors.push(row_error((errors.len() + 1, t), kind, line, &row, &message));
            }
        }
    }
    let mut counters = Map::new();
    counters.insert(
        "TOTAL_ROWS".into(),
        json!(created + updated + errors.len() as u64),
    );
    counters.insert("CREATED_OBJECTS".into(), json!(created));
    counters.insert("UPDATED_OBJECTS".into(), json!(updated));
    counters.insert("ERRORS".into(), json!(errors.len()));
    let imports = &mut hs.imports;
    imports.next += 1;
    let import = Import {
        id: 40_000 + imports.next,
        state: ImportState::Started,
        request,
        object_type_id: type_id,
        created: Utc::now(),
        counters,
        errors,
    };
    let answer = import.render();
    imports.all.push(import);
    Ok(axum::Json(answer).into_response())
}

fn not_found(id: &str) -> HsError {
    HsError::not_found(format!("Import {id} not found"))
}

/// `GET /crm/v3/imports/{id}`: each look moves a new import on (STARTED → PROCESSING → DONE).
pub async fn get_one(
    State(sim): State<Arc<SimState>>,
    Path(id): Path<String>,
) -> Result<Response, HsError> {
    let mut hs = sim.hubspot();
    let import = hs
        .imports
        .all
        .iter_mut()
        .find(|i| i.id.to_string() == id)
        .ok_or_else(|| not_found(&id))?;
    import.state = match import.state {
        ImportState::Started => ImportState::Processing,
        _ => ImportState::Done,
    };
    Ok(axum::Json(import.render()).into_response())
}

/// `GET /crm/v3/imports/{id}/errors?after=&limit=` (limit up to 500).
pub async fn errors(
    State(sim): State<Arc<SimState>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, HsError> {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let limit = param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 500);
    let after = param("after")
        .and_then(|a| a.parse::<usize>().ok())
        .unwrap_or(0);
    let hs = sim.hubspot();
    let import = hs
        .imports
        .all
        .iter()
        .find(|i| i.id.to_string() == id)
        .ok_or_else(|| not_found(&id))?;
    let with_rows = param("includeRowData").is_some_and(|v| v == "true");
    let page: Vec<Value> = import
        .errors
        .iter()
        .skip(after)
        .take(limit)
        .map(|e| {
            let mut e = e.clone();
            if !with_rows {
                e["sourceData"]["rowData"] = json!([]);
            }
            e
        })
        .collect();
    let mut answer = json!({"results": page});
    if after + limit < import.errors.len() {
        let next = (after + limit).to_string();
        answer["paging"] = json!({"next": {"after": next, "link": format!("/crm/v3/imports/{id}/errors?after={next}")}});
    }
    Ok(axum::Json(answer).into_response())
}
