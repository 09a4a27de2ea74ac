//! HubSpot's CRM imports API on the transport: many records updated by one import (a
//! multipart upload of the request JSON and a CSV), waited for, and its row errors read.
//! Every request is one call through the transport, counted and retried like any other.
//!
//! An import cannot empty a property (an empty cell leaves it as it is) and does not answer
//! the ids of records it creates, so hubforce imports only updates whose every value is
//! set, keyed by the record id (`HUBSPOT_OBJECT_ID`). It needs the `crm.import` scope.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};

use super::hubspot::{HubspotApi, ItemResult};
use super::shape;
use crate::error::{ApiError, ErrorClass, Provider};

/// The scope the imports API needs.
pub const IMPORT_SCOPE: &str = "crm.import";

/// The header of the record id column.
const ID_COLUMN: &str = "Record ID";

fn p() -> Provider {
    Provider::Hubspot
}

fn garbage(what: impl Into<String>) -> ApiError {
    ApiError::new(p(), ErrorClass::Transient, what).with_code("GARBAGE_ANSWER")
}

/// The object type id an import names an object by; None for objects hubforce does not
/// import (their writes stay on the batch API).
pub fn import_type_id(object: &str) -> Option<&'static str> {
    match object {
        "contacts" => Some("0-1"),
        "companies" => Some("0-2"),
        "deals" => Some("0-3"),
        _ => None,
    }
}

/// The class of a row's `errorType` (the OpenAPI spec's `PublicImportError` types).
fn row_class(error_type: &str) -> ErrorClass {
    match error_type {
        "INVALID_OBJECT_ID" | "INVALID_RECORD_ID" | "UNKNOWN_ASSOCIATION_RECORD_ID" => {
            ErrorClass::NotFound
        }
        t if t.starts_with("DUPLICATE_") => ErrorClass::Duplicate,
        "UNKNOWN_ERROR" => ErrorClass::Transient,
        _ => ErrorClass::Validation,
    }
}

/// A multipart/form-data body of the import request and its CSV file.
fn form(boundary: &str, request: &Value, csv: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(csv.len() + 1024);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"importRequest\"\r\n\
             Content-Type: application/json\r\n\r\n{request}\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"files\"; filename=\"hubforce.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(csv);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

fn csv_of(properties: &[String], rows: &[(String, Vec<String>)]) -> Result<Vec<u8>, ApiError> {
    let fail = |e: csv::Error| ApiError::new(p(), ErrorClass::Validation, format!("CSV: {e}"));
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let header = std::iter::once(ID_COLUMN).chain(properties.iter().map(String::as_str));
    w.write_record(header).map_err(fail)?;
    for (id, values) in rows {
        w.write_record(std::iter::once(id.as_str()).chain(values.iter().map(String::as_str)))
            .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| ApiError::new(p(), ErrorClass::Validation, format!("CSV: {e}")))
}

impl HubspotApi {
    /// Update records of `object` (`contacts`, …) through one import: each row is a record
    /// id and its values of `properties` (every value set). Each row's outcome comes back
    /// keyed by its record id: written, or its error with its class.
    pub async fn import_updates(
        &self,
        object: &str,
        properties: &[String],
        rows: &[(String, Vec<String>)],
    ) -> Result<HashMap<String, ItemResult>, ApiError> {
        let type_id = import_type_id(object).ok_or_else(|| {
            ApiError::new(
                p(),
                ErrorClass::Validation,
                format!("{object} are not imported"),
            )
        })?;
        let mut mappings = vec![
            json!({"columnObjectTypeId": type_id, "columnName": ID_COLUMN,
            "propertyName": "hs_object_id", "columnType": "HUBSPOT_OBJECT_ID"}),
        ];
        mappings.extend(properties.iter().map(
            |prop| json!({"columnObjectTypeId": type_id, "columnName": prop, "propertyName": prop}),
        ));
        let request = json!({
            "name": format!("hubforce {object} updates ({} rows)", rows.len()),
            "importOperations": {type_id: "UPDATE"},
            "dateFormat": "YEAR_MONTH_DAY",
            "files": [{"fileName": "hubforce.csv", "fileFormat": "CSV",
                "fileImportPage": {"hasHeader": true, "columnMappings": mappings}}],
        });
        let boundary = format!("hubforce-{:016x}", fastrand::u64(..));
        let body = form(&boundary, &request, &csv_of(properties, rows)?);
        let start = self
            .req(Method::POST, "/crm/v3/imports")
            .expect(|v| shape::string_at(v, "id"))
            .raw(&format!("multipart/form-data; boundary={boundary}"), body);
        let started = self.transport.json(&start).await?;
        let id = started["id"]
            .as_str()
            .ok_or_else(|| garbage("a started import has no id"))?
            .to_string();
        self.wait_for_import(&id).await?;
        let mut out: HashMap<String, ItemResult> = rows
            .iter()
            .map(|(rid, _)| (rid.clone(), ItemResult::Ok(json!({"id": rid}))))
            .collect();
        for e in self.import_errors(&id).await? {
            let error_type = e["errorType"].as_str().unwrap_or("UNKNOWN_ERROR");
            let line = e["sourceData"]["lineNumber"].as_u64();
            // The row's record id: its first cell, or the row its line number names.
            let rid = e["sourceData"]["rowData"][0]
                .as_str()
                .map(str::to_string)
                .or_else(|| {
                    let i = usize::try_from(line?.checked_sub(2)?).ok()?;
                    rows.get(i).map(|(rid, _)| rid.clone())
                });
            let Some(rid) = rid.filter(|r| out.contains_key(r)) else {
                continue;
            };
            let message = e["errorMessage"]
                .as_str()
                .or(e["invalidValue"].as_str())
                .unwrap_or(error_type);
            let err = ApiError::new(p(), row_class(error_type), message.to_string())
                .with_code(error_type);
            out.insert(rid, ItemResult::Failed(err));
        }
        Ok(out)
    }

    /// Look at an import until it is done.
    async fn wait_for_import(&self, id: &str) -> Result<(), ApiError> {
        let started = std::time::Instant::now();
        let mut look = 0;
        loop {
            let req = self
                .req(Method::GET, format!("/crm/v3/imports/{id}"))
                .expect(|v| shape::string_at(v, "state"));
            let info = self.transport.json(&req).await?;
            match info["state"].as_str() {
                Some("DONE") => return Ok(()),
                Some(s @ ("FAILED" | "CANCELED" | "REVERTED")) => {
                    return Err(ApiError::new(
                        p(),
                        ErrorClass::Validation,
                        format!("HubSpot import {id} ended {s}"),
                    )
                    .with_code("IMPORT_FAILED"));
                }
                Some(_) if started.elapsed() < super::JOB_MAX_WAIT => {
                    tokio::time::sleep(super::job_pause(look)).await;
                    look += 1;
                }
                _ => {
                    return Err(ApiError::new(
                        p(),
                        ErrorClass::Transient,
                        format!(
                            "HubSpot import {id} is not done after {} minutes",
                            super::JOB_MAX_WAIT.as_secs() / 60
                        ),
                    )
                    .with_code("IMPORT_TIMEOUT"));
                }
            }
        }
    }

    /// Every row error of a finished import, page by page.
    async fn import_errors(&self, id: &str) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut req = self
                .req(Method::GET, format!("/crm/v3/imports/{id}/errors"))
                .query("limit", "500")
                .query("includeErrorMessage", "true")
                .query("includeRowData", "true")
                .expect(super::hubspot::page);
            if let Some(a) = &after {
                req = req.query("after", a.clone());
            }
            let mut page = self.transport.json(&req).await?;
            if let Value::Array(results) = page["results"].take() {
                out.extend(results);
            }
            match page["paging"]["next"]["after"].as_str() {
                Some(a) => after = Some(a.to_string()),
                None => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_error_is_classed_by_its_type() {
        assert_eq!(row_class("INVALID_OBJECT_ID"), ErrorClass::NotFound);
        assert_eq!(
            row_class("DUPLICATE_UNIQUE_PROPERTY_VALUE"),
            ErrorClass::Duplicate
        );
        assert_eq!(
            row_class("INVALID_ENUMERATION_OPTION"),
            ErrorClass::Validation
        );
        assert_eq!(row_class("UNKNOWN_ERROR"), ErrorClass::Transient);
    }

    #[test]
    fn the_form_holds_the_request_and_the_file_between_boundaries() {
        let body = form("b0", &json!({"name": "x"}), b"Record ID\n1\n");
        let text = String::from_utf8(body).unwrap_or_default();
        assert!(text.starts_with("--b0\r\nContent-Disposition: form-data; name=\"importRequest\""));
        assert!(text.contains("{\"name\":\"x\"}\r\n--b0\r\n"));
        assert!(
            text.contains(
                "filename=\"hubforce.csv\"\r\nContent-Type: text/csv\r\n\r\nRecord ID\n1\n"
            )
        );
        assert!(text.ends_with("\r\n--b0--\r\n"));
    }
}
