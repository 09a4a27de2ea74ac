//! Bulk API 2.0 on the transport: an ingest job (create, upload the CSV, close, wait, read
//! its successful and failed results) and a query job (create, wait, read its CSV pages
//! under `Sforce-Locator`). Every request is one call through the transport, counted and
//! retried like any other; waiting is a poll with growing pauses, each poll a call.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::hubspot::ItemResult;
use super::salesforce::SalesforceApi;
use super::shape;
use crate::error::{ApiError, ErrorClass, Provider};

/// What an ingest job does with each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkOperation {
    Insert,
    Update,
    /// On the external id field the rows' key column names.
    Upsert,
    Delete,
}

impl BulkOperation {
    fn as_str(self) -> &'static str {
        match self {
            BulkOperation::Insert => "insert",
            BulkOperation::Update => "update",
            BulkOperation::Upsert => "upsert",
            BulkOperation::Delete => "delete",
        }
    }
}

/// Records per query results page. A pull holds a page ahead of its batches and parses
/// the next, so this bounds its memory (a wide record parsed is some kB: 5,000 are ~15 MB;
/// pages of 10,000 took the million-record import to 190 MB) while a million records still
/// cost two hundred calls, not REST's five hundred.
pub const QUERY_PAGE: usize = 5_000;

fn p() -> Provider {
    Provider::Salesforce
}

fn garbage(what: impl Into<String>) -> ApiError {
    ApiError::new(p(), ErrorClass::Transient, what).with_code("GARBAGE_ANSWER")
}

/// A CSV document with a header row.
pub fn csv_document(header: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>, ApiError> {
    let mut doc = CsvDocument::new(header)?;
    for r in rows {
        doc.row(r)?;
    }
    doc.finish()
}

/// The most CSV one ingest job takes: Salesforce allows 150 MB of base64-encoded data per
/// upload, which is about 100 MB of CSV.
pub const UPLOAD_MAX: usize = 100 * 1024 * 1024;

/// A CSV document written row by row (a large job's rows need not all be held first).
pub struct CsvDocument {
    w: csv::Writer<Vec<u8>>,
    /// About how many bytes are written (quotes uncounted).
    size: usize,
}

fn csv_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(p(), ErrorClass::Validation, format!("CSV: {e}"))
}

impl CsvDocument {
    pub fn new<S: AsRef<[u8]>>(header: &[S]) -> Result<CsvDocument, ApiError> {
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        w.write_record(header).map_err(csv_error)?;
        let mut doc = CsvDocument { w, size: 0 };
        doc.count(header);
        Ok(doc)
    }

    fn count<S: AsRef<[u8]>>(&mut self, cells: &[S]) {
        self.size += cells.iter().map(|c| c.as_ref().len() + 1).sum::<usize>() + 1;
    }

    pub fn row<S: AsRef<[u8]>>(&mut self, cells: &[S]) -> Result<(), ApiError> {
        self.count(cells);
        self.w.write_record(cells).map_err(csv_error)
    }

    /// About how many bytes the document holds.
    pub fn size(&self) -> usize {
        self.size
    }

    pub fn finish(self) -> Result<Vec<u8>, ApiError> {
        self.w.into_inner().map_err(csv_error)
    }
}

/// A results CSV as rows of (column → value).
fn read_csv(body: &[u8]) -> Result<Vec<Map<String, Value>>, ApiError> {
    let mut r = csv::ReaderBuilder::new().from_reader(body);
    let header: Vec<String> = r
        .headers()
        .map_err(|e| garbage(format!("a Bulk API result is not CSV: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut out = Vec::new();
    for row in r.records() {
        let row = row.map_err(|e| garbage(format!("a Bulk API result is not CSV: {e}")))?;
        out.push(
            header
                .iter()
                .zip(row.iter())
                .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
                .collect(),
        );
    }
    Ok(out)
}

/// Each row of a results CSV, as the cells of `columns` (an absent column reads as empty).
fn each_result(
    body: &[u8],
    columns: &[&str],
    mut on_row: impl FnMut(&[&str]),
) -> Result<(), ApiError> {
    let not_csv = |e: csv::Error| garbage(format!("a Bulk API result is not CSV: {e}"));
    let mut r = csv::ReaderBuilder::new().from_reader(body);
    let header = r.headers().map_err(not_csv)?.clone();
    let at: Vec<Option<usize>> = columns
        .iter()
        .map(|c| header.iter().position(|h| h == *c))
        .collect();
    let mut row = csv::StringRecord::new();
    while r.read_record(&mut row).map_err(not_csv)? {
        let cells: Vec<&str> = at
            .iter()
            .map(|i| i.and_then(|i| row.get(i)).unwrap_or_default())
            .collect();
        on_row(&cells);
    }
    Ok(())
}

/// A failed row's `sf__Error` (`CODE:message:fields --`) as the error it is.
fn row_error(text: &str) -> ApiError {
    let (code, rest) = text.split_once(':').unwrap_or(("UNKNOWN_EXCEPTION", text));
    let (message, fields) = match rest.rsplit_once(':') {
        Some((m, f)) => (m, f.trim_end_matches("--").trim()),
        None => (rest, ""),
    };
    let fields: Vec<&str> = fields.split(',').filter(|f| !f.is_empty()).collect();
    crate::classify::classify_item(p(), code, message, &json!({"fields": fields}))
}

impl SalesforceApi {
    fn jobs(&self, rest: &str) -> String {
        self.data(&format!("jobs/{rest}"))
    }

    async fn job_json(
        &self,
        method: Method,
        rest: &str,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        let mut req = self.req(method, self.jobs(rest)).expect(shape::object);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.transport.json(&req).await
    }

    async fn job_csv(&self, rest: &str) -> Result<super::transport::ApiResponse, ApiError> {
        let req = self
            .req(Method::GET, self.jobs(rest))
            .header("Accept", "text/csv");
        self.transport.send(&req).await
    }

    /// Poll a job until it is done; its last info.
    async fn wait_for(&self, kind: &str, id: &str) -> Result<Value, ApiError> {
        let started = std::time::Instant::now();
        let mut poll = 0;
        loop {
            let info = self
                .job_json(Method::GET, &format!("{kind}/{id}"), None)
                .await?;
            match info["state"].as_str() {
                Some("JobComplete") => return Ok(info),
                Some("Failed" | "Aborted") => {
                    let why = info["errorMessage"].as_str().unwrap_or("no reason given");
                    return Err(ApiError::new(
                        p(),
                        ErrorClass::Validation,
                        format!(
                            "Bulk API job {id} ended {}: {why}",
                            info["state"].as_str().unwrap_or("")
                        ),
                    )
                    .with_code("BULK_JOB_FAILED"));
                }
                Some(_) if started.elapsed() < super::JOB_MAX_WAIT => {
                    tokio::time::sleep(super::job_pause(poll)).await;
                    poll += 1;
                }
                Some(s) => {
                    return Err(ApiError::new(
                        p(),
                        ErrorClass::Transient,
                        format!(
                            "Bulk API job {id} is still {s} after {} minutes",
                            super::JOB_MAX_WAIT.as_secs() / 60
                        ),
                    )
                    .with_code("BULK_JOB_TIMEOUT"));
                }
                None => {
                    return Err(garbage(format!(
                        "Bulk API job {id} answered without a state"
                    )));
                }
            }
        }
    }

    /// Run one ingest job over `rows` (columns as `header` names them; `key` is the column
    /// that tells the rows apart: the external id for an upsert, `Id` otherwise). Each
    /// row's outcome comes back keyed by its `key` value (Salesforce does not keep the
    /// order): the record id and whether it was created, or its error with its class.
    pub async fn bulk_ingest(
        &self,
        operation: BulkOperation,
        sobject: &str,
        key: &str,
        (header, rows): (&[String], &[Vec<String>]),
    ) -> Result<HashMap<String, ItemResult>, ApiError> {
        let csv = csv_document(header, rows)?;
        self.bulk_ingest_csv(operation, sobject, key, csv).await
    }

    /// [`SalesforceApi::bulk_ingest`] of a CSV document written already.
    pub async fn bulk_ingest_csv(
        &self,
        operation: BulkOperation,
        sobject: &str,
        key: &str,
        csv: Vec<u8>,
    ) -> Result<HashMap<String, ItemResult>, ApiError> {
        let mut create = json!({"object": sobject, "operation": operation.as_str(),
            "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA"});
        if operation == BulkOperation::Upsert {
            create["externalIdFieldName"] = json!(key);
        }
        let job = self.job_json(Method::POST, "ingest", Some(create)).await?;
        let id = job["id"]
            .as_str()
            .ok_or_else(|| garbage("a created Bulk API job has no id"))?
            .to_string();
        let upload = self
            .req(Method::PUT, self.jobs(&format!("ingest/{id}/batches")))
            .raw("text/csv", csv);
        self.transport.send(&upload).await?;
        self.job_json(
            Method::PATCH,
            &format!("ingest/{id}"),
            Some(json!({"state": "UploadComplete"})),
        )
        .await?;
        self.wait_for("ingest", &id).await?;
        let (successes, failures) = (
            format!("ingest/{id}/successfulResults/"),
            format!("ingest/{id}/failedResults/"),
        );
        let (ok, bad) = tokio::try_join!(self.job_csv(&successes), self.job_csv(&failures))?;
        let mut out = HashMap::new();
        // Only the columns an outcome needs: the results repeat every column of the upload.
        each_result(&ok.body, &[key, "sf__Id", "sf__Created"], |cells| {
            out.insert(
                cells[0].to_string(),
                ItemResult::Ok(json!({"id": cells[1], "success": true,
                    "created": cells[2] == "true"})),
            );
        })?;
        each_result(&bad.body, &[key, "sf__Error"], |cells| {
            out.insert(
                cells[0].to_string(),
                ItemResult::Failed(row_error(cells[1])),
            );
        })?;
        Ok(out)
    }

    /// Start a query job; its id, once Salesforce has run it.
    pub async fn bulk_query_job(&self, soql: &str, all_rows: bool) -> Result<String, ApiError> {
        let operation = if all_rows { "queryAll" } else { "query" };
        let job = self
            .job_json(
                Method::POST,
                "query",
                Some(json!({"operation": operation, "query": soql})),
            )
            .await?;
        let id = job["id"]
            .as_str()
            .ok_or_else(|| garbage("a created Bulk API query job has no id"))?
            .to_string();
        self.wait_for("query", &id).await?;
        Ok(id)
    }

    /// One page of a finished query job's results (values as text, empty for null) and the
    /// locator of the next, if there is one.
    pub async fn bulk_query_page(
        &self,
        id: &str,
        locator: Option<&str>,
    ) -> Result<(Vec<Map<String, Value>>, Option<String>), ApiError> {
        let mut rest = format!("query/{id}/results?maxRecords={QUERY_PAGE}");
        if let Some(l) = locator {
            rest.push_str(&format!("&locator={l}"));
        }
        let page = self.job_csv(&rest).await?;
        let rows = read_csv(&page.body)?;
        let next = page
            .headers
            .get("sforce-locator")
            .and_then(|v| v.to_str().ok())
            .filter(|l| !l.is_empty() && *l != "null")
            .map(str::to_string);
        Ok((rows, next))
    }

    /// Run a query job and hand its records to `on_page` page by page. The number of records.
    pub async fn bulk_query(
        &self,
        soql: &str,
        all_rows: bool,
        mut on_page: impl FnMut(Vec<Map<String, Value>>),
    ) -> Result<u64, ApiError> {
        let id = self.bulk_query_job(soql, all_rows).await?;
        let mut locator: Option<String> = None;
        let mut total = 0u64;
        loop {
            let (rows, next) = self.bulk_query_page(&id, locator.as_deref()).await?;
            total += rows.len() as u64;
            on_page(rows);
            match next {
                Some(l) => locator = Some(l),
                None => return Ok(total),
            }
        }
    }
}

/// A Bulk API record's text values as the REST API gives them, by the describe's field types:
/// numbers and booleans as JSON, empty as null, datetimes in REST's form. The state hashes of
/// a record read either way are then the same.
pub fn typed_record(
    row: Map<String, Value>,
    types: &HashMap<String, String>,
) -> Map<String, Value> {
    row.into_iter()
        .map(|(k, v)| {
            let text = v.as_str().unwrap_or_default();
            let typed = if text.is_empty() {
                Value::Null
            } else {
                match types.get(&k).map(String::as_str) {
                    Some("boolean") => json!(text.eq_ignore_ascii_case("true")),
                    Some("int") => text.parse::<i64>().map(|n| json!(n)).unwrap_or(v),
                    Some("double" | "currency" | "percent") => {
                        text.parse::<f64>().map(|n| json!(n)).unwrap_or(v)
                    }
                    Some("datetime") => chrono::DateTime::parse_from_rfc3339(text)
                        .or_else(|_| {
                            chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
                        })
                        .map(|t| {
                            json!(
                                t.with_timezone(&chrono::Utc)
                                    .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
                                    .to_string()
                            )
                        })
                        .unwrap_or(v),
                    _ => v,
                }
            };
            (k, typed)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_failed_rows_error_keeps_its_code_message_and_fields() {
        let e =
            row_error("REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --");
        assert_eq!(e.code.as_deref(), Some("REQUIRED_FIELD_MISSING"));
        assert_eq!(e.class, ErrorClass::Validation);
        assert!(e.message.contains("Required fields are missing"), "{e}");
        let dup = row_error("DUPLICATES_DETECTED:Use one of these records?: --");
        assert_eq!(dup.class, ErrorClass::Duplicate, "{dup}");
    }

    #[test]
    fn csv_quotes_what_needs_it_and_reads_back() {
        let header = vec!["Name".to_string(), "Note".to_string()];
        let rows = vec![vec![
            "Rivera, Ana".to_string(),
            "said \"hi\"\nthen left".to_string(),
        ]];
        let doc = csv_document(&header, &rows).unwrap();
        let back = read_csv(&doc).unwrap();
        assert_eq!(back[0]["Name"], "Rivera, Ana");
        assert_eq!(back[0]["Note"], "said \"hi\"\nthen left");
    }

    #[test]
    fn bulk_text_becomes_what_rest_answers() {
        let types: HashMap<String, String> = [
            ("IsConverted", "boolean"),
            ("NumberOfEmployees", "int"),
            ("AnnualRevenue", "currency"),
            ("SystemModstamp", "datetime"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let row: Map<String, Value> = [
            ("IsConverted", "false"),
            ("NumberOfEmployees", "50"),
            ("AnnualRevenue", "2500000.0"),
            ("SystemModstamp", "2026-12-01T22:10:38.000Z"),
            ("Title", ""),
            ("LastName", "Rivera"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
        let t = typed_record(row, &types);
        assert_eq!(t["IsConverted"], json!(false));
        assert_eq!(t["NumberOfEmployees"], json!(50));
        assert_eq!(t["AnnualRevenue"], json!(2500000.0));
        assert_eq!(t["SystemModstamp"], json!("2026-12-01T22:10:38.000+0000"));
        assert_eq!(t["Title"], Value::Null);
        assert_eq!(t["LastName"], json!("Rivera"));
    }

    #[test]
    fn polls_pause_longer_each_time_up_to_ten_seconds() {
        assert_eq!(crate::api::job_pause(0), Duration::from_millis(500));
        assert_eq!(crate::api::job_pause(1), Duration::from_secs(1));
        assert_eq!(crate::api::job_pause(9), Duration::from_secs(10));
    }
}
