//! Bulk API 2.0: ingest jobs (create, CSV upload, `UploadComplete`, processing, successful /
//! failed / unprocessed results as CSV) and query jobs (results as CSV pages under
//! `Sforce-Locator`). Every request is one API call, as Salesforce counts them. A job is
//! processed when its upload completes, but reports `InProgress` to the first look and
//! `JobComplete` after, so clients must poll as they do against an org. Shapes follow the
//! Bulk API 2.0 Developer Guide (tests/fixtures/salesforce/bulk_*.json).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::errors::{Issue, SfError};
use super::sobjects::version;
use super::soql;
use super::store::{Store, WriteOptions};
use crate::sim::SimState;
use crate::sim::http::Params;

/// The most a single upload may carry (Salesforce: 150 MB after base64 encoding, about 100
/// MB of CSV).
pub const MAX_UPLOAD: usize = 100 * 1024 * 1024;
/// Records per query results page unless `maxRecords` asks for fewer.
const RESULTS_PAGE: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobState {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
}

impl JobState {
    fn as_str(self) -> &'static str {
        match self {
            JobState::Open => "Open",
            JobState::UploadComplete => "UploadComplete",
            JobState::InProgress => "InProgress",
            JobState::JobComplete => "JobComplete",
            JobState::Failed => "Failed",
            JobState::Aborted => "Aborted",
        }
    }
}

/// One row of a job's results.
#[derive(Debug, Clone)]
struct Outcome {
    id: String,
    /// `sf__Created` (successes) or `sf__Error` (failures).
    detail: String,
    /// The row as uploaded, one CSV line: a million results kept as cells took gigabytes.
    row: CompactRow,
}

/// A row's cells kept as one CSV line (one allocation, not one per cell).
#[derive(Debug, Clone, Default)]
struct CompactRow(Box<str>);

impl CompactRow {
    fn new(cells: &[String]) -> CompactRow {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let _ = w.write_record(cells);
        let line = w.into_inner().unwrap_or_default();
        CompactRow(String::from_utf8_lossy(&line).trim_end_matches('\n').into())
    }

    fn cells(&self) -> Vec<String> {
        if self.0.is_empty() {
            return Vec::new();
        }
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(self.0.as_bytes())
            .records()
            .next()
            .and_then(Result::ok)
            .map(|r| r.iter().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
enum Work {
    Ingest {
        operation: String,
        object: String,
        external_id: Option<String>,
        /// The uploaded CSV, until the job is processed.
        data: Vec<u8>,
        header: Vec<String>,
        successful: Vec<Outcome>,
        failed: Vec<Outcome>,
        unprocessed: Vec<Vec<String>>,
    },
    Query {
        operation: String,
        soql: String,
        header: Vec<String>,
        /// The ids the query selected, in its order; each results page reads its records
        /// then (a million rendered records would hold gigabytes until the last page).
        rows: Vec<String>,
    },
}

#[derive(Debug, Clone)]
struct Job {
    id: String,
    work: Work,
    state: JobState,
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
    version: String,
    error: Option<String>,
}

/// The org's Bulk API 2.0 jobs.
#[derive(Debug, Default)]
pub struct BulkJobs {
    jobs: BTreeMap<String, Job>,
    next: u64,
}

impl BulkJobs {
    fn new_id(&mut self) -> String {
        self.next += 1;
        // Job ids have the 750 key prefix.
        format!("7505g{:010}AAA", self.next)
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

fn invalid(code: &str, message: impl Into<String>) -> SfError {
    SfError::bad_request(code, message)
}

fn job_not_found(id: &str) -> SfError {
    SfError::new(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("The requested resource does not exist: job {id}"),
    )
}

impl Job {
    /// The job's state as a client sees it on this look: a processed job is still
    /// `InProgress` to the first look and complete after.
    fn look(&mut self) -> JobState {
        match self.state {
            JobState::UploadComplete => self.state = JobState::InProgress,
            JobState::InProgress => self.state = JobState::JobComplete,
            _ => {}
        }
        self.state
    }

    /// The job as the create answer shows it (`created`) or as `GET` shows it (with its
    /// type, counters and processing times, as the Developer Guide's examples do).
    fn describe(&self, user: &str, created: bool) -> Value {
        let mut v = json!({
            "id": self.id,
            "createdById": user,
            "createdDate": stamp(self.created),
            "systemModstamp": stamp(self.modified),
            "state": self.state.as_str(),
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": self.version.parse::<f64>().unwrap_or(62.0),
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        });
        let done = matches!(
            self.state,
            JobState::JobComplete | JobState::Failed | JobState::Aborted
        );
        match &self.work {
            Work::Ingest {
                operation,
                object,
                external_id,
                successful,
                failed,
                ..
            } => {
                v["operation"] = json!(operation);
                v["object"] = json!(object);
                v["contentUrl"] = json!(format!(
                    "services/data/v{}/jobs/ingest/{}/batches",
                    self.version, self.id
                ));
                if let Some(f) = external_id {
                    v["externalIdFieldName"] = json!(f);
                }
                if !created {
                    v["jobType"] = json!("V2Ingest");
                    v["retries"] = json!(0);
                    v["totalProcessingTime"] = json!(0);
                    v["apiActiveProcessingTime"] = json!(0);
                    v["apexProcessingTime"] = json!(0);
                    if done {
                        v["numberRecordsProcessed"] = json!(successful.len() + failed.len());
                        v["numberRecordsFailed"] = json!(failed.len());
                    }
                }
            }
            Work::Query {
                operation,
                soql,
                rows,
                ..
            } => {
                v["operation"] = json!(operation);
                v["object"] = json!(soql_object(soql));
                if !created {
                    v["jobType"] = json!("V2Query");
                    v["retries"] = json!(0);
                    v["totalProcessingTime"] = json!(0);
                    v["numberRecordsProcessed"] = json!(if self.state == JobState::JobComplete {
                        rows.len()
                    } else {
                        0
                    });
                }
            }
        }
        if let Some(e) = &self.error {
            v["errorMessage"] = json!(e);
        }
        v
    }

    fn info(&self, user: &str) -> Value {
        self.describe(user, false)
    }
}

fn soql_object(soql: &str) -> String {
    let lower = soql.to_ascii_lowercase();
    lower
        .find(" from ")
        .and_then(|i| soql[i + 6..].split_whitespace().next())
        .unwrap_or_default()
        .to_string()
}

fn parse_json(body: &Bytes) -> Result<Map<String, Value>, SfError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(SfError::json_parse("the request body is not a JSON object")),
    }
}

/// `POST /jobs/ingest`
pub async fn create_ingest(
    State(sim): State<Arc<SimState>>,
    Path(v): Path<String>,
    body: Bytes,
) -> Result<Response, SfError> {
    let v = version(&v)?;
    let b = parse_json(&body)?;
    let text = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_string);
    let operation = text("operation")
        .ok_or_else(|| invalid("INVALIDJOB", "InvalidJob : Operation is required"))?;
    if !matches!(
        operation.as_str(),
        "insert" | "update" | "upsert" | "delete" | "hardDelete"
    ) {
        return Err(invalid(
            "INVALIDJOB",
            format!("InvalidJob : Invalid operation: {operation}"),
        ));
    }
    if text("contentType").is_some_and(|c| c != "CSV") {
        return Err(invalid(
            "INVALIDJOB",
            "InvalidJob : Only CSV content type is supported",
        ));
    }
    let mut sf = sim.salesforce();
    let object_name =
        text("object").ok_or_else(|| invalid("INVALIDJOB", "InvalidJob : Object is required"))?;
    let def = sf.store.object(&object_name).cloned().ok_or_else(|| {
        invalid(
            "INVALIDENTITY",
            format!("InvalidEntity : Entity '{object_name}' is not supported by the Bulk API."),
        )
    })?;
    let external_id = text("externalIdFieldName");
    if operation == "upsert" {
        let Some(f) = &external_id else {
            return Err(invalid("INVALIDJOB", "InvalidJob : External ID was blank for Contact. An External ID must be specified for upsert.".replace("Contact", def.name)));
        };
        if !f.eq_ignore_ascii_case("Id") && !def.field(f).is_some_and(|d| d.external_id) {
            return Err(invalid(
                "INVALIDJOB",
                format!(
                    "InvalidJob : Field name provided, {f} does not match an External ID, Salesforce Id, or indexed field for {}",
                    def.name
                ),
            ));
        }
    }
    let now = Utc::now();
    let id = sf.bulk.new_id();
    let job = Job {
        id: id.clone(),
        work: Work::Ingest {
            operation,
            object: def.name.to_string(),
            external_id,
            data: Vec::new(),
            header: Vec::new(),
            successful: Vec::new(),
            failed: Vec::new(),
            unprocessed: Vec::new(),
        },
        state: JobState::Open,
        created: now,
        modified: now,
        version: v,
        error: None,
    };
    let info = job.describe(&sf.store.user_id, true);
    sf.bulk.jobs.insert(id, job);
    Ok(axum::Json(info).into_response())
}

/// `PUT /jobs/ingest/{id}/batches` (text/csv): appended to the job's data while it is open.
pub async fn upload(
    State(sim): State<Arc<SimState>>,
    Path((v, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, SfError> {
    version(&v)?;
    let csv_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|t| t.starts_with("text/csv"));
    if !csv_type {
        return Err(invalid(
            "INVALIDCONTENTTYPE",
            "Content-Type must be text/csv",
        ));
    }
    let mut sf = sim.salesforce();
    let job = sf
        .bulk
        .jobs
        .get_mut(&id)
        .ok_or_else(|| job_not_found(&id))?;
    let Work::Ingest { data, .. } = &mut job.work else {
        return Err(job_not_found(&id));
    };
    if job.state != JobState::Open {
        return Err(invalid(
            "INVALIDJOBSTATE",
            format!(
                "Unable to upload data to a job that is not in the Open state (state: {})",
                job.state.as_str()
            ),
        ));
    }
    if data.len() + body.len() > MAX_UPLOAD {
        return Err(invalid(
            "EXCEEDED_QUOTA",
            "The job data exceeds the maximum upload size of 150 MB",
        ));
    }
    data.extend_from_slice(&body);
    job.modified = Utc::now();
    Ok(StatusCode::CREATED.into_response())
}

/// `PATCH /jobs/ingest/{id}`: `UploadComplete` processes the job, `Aborted` stops it.
pub async fn change_ingest(
    State(sim): State<Arc<SimState>>,
    Path((v, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, SfError> {
    version(&v)?;
    let b = parse_json(&body)?;
    let wanted = b
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut sf = sim.salesforce();
    let sf = &mut *sf;
    let job = sf
        .bulk
        .jobs
        .get_mut(&id)
        .ok_or_else(|| job_not_found(&id))?;
    match (wanted.as_str(), job.state) {
        ("UploadComplete", JobState::Open) => {
            process(&mut sf.store, job);
        }
        ("Aborted", JobState::Open | JobState::UploadComplete | JobState::InProgress) => {
            job.state = JobState::Aborted;
        }
        ("UploadComplete" | "Aborted", s) => {
            return Err(invalid(
                "INVALIDJOBSTATE",
                format!("Job state {} cannot be changed to {wanted}", s.as_str()),
            ));
        }
        _ => {
            return Err(invalid(
                "INVALIDJOBSTATE",
                format!("Invalid job state: {wanted}"),
            ));
        }
    }
    job.modified = Utc::now();
    Ok(axum::Json(job.info(&sf.store.user_id)).into_response())
}

/// The uploaded rows, each applied as its operation says.
fn process(store: &mut Store, job: &mut Job) {
    let Work::Ingest {
        operation,
        object,
        external_id,
        data,
        header,
        successful,
        failed,
        ..
    } = &mut job.work
    else {
        return;
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(data.as_slice());
    *header = match reader.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => {
            job.state = JobState::Failed;
            job.error = Some(format!("InvalidBatch : Failed to parse CSV header: {e}"));
            return;
        }
    };
    if header.is_empty() {
        job.state = JobState::Failed;
        job.error = Some("InvalidBatch : No content found in the job data".into());
        return;
    }
    let key = match operation.as_str() {
        "upsert" => external_id.clone(),
        "update" | "delete" | "hardDelete" => Some("Id".to_string()),
        _ => None,
    };
    if let Some(k) = &key
        && !header.iter().any(|h| h.eq_ignore_ascii_case(k))
    {
        job.state = JobState::Failed;
        job.error = Some(format!("InvalidBatch : Field name not found : {k}"));
        return;
    }
    let Some(def) = store.object(object).cloned() else {
        return;
    };
    for row in reader.records() {
        let row: Vec<String> = match row {
            Ok(r) => r.iter().map(str::to_string).collect(),
            Err(e) => {
                failed.push(Outcome {
                    id: String::new(),
                    detail: format!("INVALID_BATCH:{e}:--"),
                    row: CompactRow::default(),
                });
                continue;
            }
        };
        // An empty cell leaves the field alone; `#N/A` empties it.
        let mut fields = Map::new();
        for (name, value) in header.iter().zip(&row) {
            match value.as_str() {
                "" => {}
                "#N/A" => {
                    fields.insert(name.clone(), Value::Null);
                }
                v => {
                    fields.insert(name.clone(), json!(v));
                }
            }
        }
        let key_value = key.as_ref().and_then(|k| {
            let (name, _) = fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(k))?;
            let name = name.clone();
            fields
                .remove(&name)
                .and_then(|v| v.as_str().map(str::to_string))
        });
        let opts = WriteOptions::default();
        let result = match (operation.as_str(), key_value) {
            ("insert", _) => store.create(def.name, &fields, opts).map(|id| (id, true)),
            (_, None) => Err(Issue::new(
                "MISSING_ARGUMENT",
                format!("{} not specified", key.as_deref().unwrap_or("Id")),
            )),
            ("update", Some(id)) => store
                .update(Some(def.name), &id, &fields, opts)
                .map(|id| (id, false)),
            ("delete" | "hardDelete", Some(id)) => {
                store.delete(Some(def.name), &id).map(|id| (id, false))
            }
            (_, Some(value)) => {
                let field = key.clone().unwrap_or_default();
                match store.upsert_matches(&def, &field, &value) {
                    Err(e) => Err(e),
                    Ok(m) if m.is_empty() => {
                        fields.insert(field, json!(value));
                        store.create(def.name, &fields, opts).map(|id| (id, true))
                    }
                    Ok(m) if m.len() == 1 => store
                        .update(Some(def.name), &m[0], &fields, opts)
                        .map(|id| (id, false)),
                    Ok(m) => Err(Issue::new(
                        "DUPLICATE_EXTERNAL_ID",
                        format!(
                            "{field}: more than one record found for external id field: {}",
                            m.join(", ")
                        ),
                    )),
                }
            }
        };
        match result {
            Ok((id, created)) => successful.push(Outcome {
                id,
                detail: created.to_string(),
                row: CompactRow::new(&row),
            }),
            Err(issue) => failed.push(Outcome {
                id: String::new(),
                detail: format!(
                    "{}:{}:{} --",
                    issue.code,
                    issue.message,
                    issue.fields.join(",")
                ),
                row: CompactRow::new(&row),
            }),
        }
    }
    data.clear();
    job.state = JobState::UploadComplete;
}

/// `GET /jobs/ingest/{id}` and `GET /jobs/query/{id}`
pub async fn info(
    State(sim): State<Arc<SimState>>,
    Path((v, id)): Path<(String, String)>,
) -> Result<Response, SfError> {
    version(&v)?;
    let mut sf = sim.salesforce();
    let sf = &mut *sf;
    let job = sf
        .bulk
        .jobs
        .get_mut(&id)
        .ok_or_else(|| job_not_found(&id))?;
    job.look();
    Ok(axum::Json(job.info(&sf.store.user_id)).into_response())
}

/// `DELETE /jobs/ingest/{id}` and `DELETE /jobs/query/{id}`: only a finished job.
pub async fn delete(
    State(sim): State<Arc<SimState>>,
    Path((v, id)): Path<(String, String)>,
) -> Result<Response, SfError> {
    version(&v)?;
    let mut sf = sim.salesforce();
    let job = sf.bulk.jobs.get(&id).ok_or_else(|| job_not_found(&id))?;
    if !matches!(
        job.state,
        JobState::JobComplete | JobState::Aborted | JobState::Failed | JobState::Open
    ) {
        return Err(invalid(
            "INVALIDJOBSTATE",
            "A job can be deleted only when it is Open, Aborted, Failed or JobComplete",
        ));
    }
    sf.bulk.jobs.remove(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn csv_body(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<Vec<u8>, SfError> {
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new());
    let fail = |e: csv::Error| invalid("UNKNOWN_EXCEPTION", e.to_string());
    w.write_record(header).map_err(fail)?;
    for r in rows {
        w.write_record(&r).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| invalid("UNKNOWN_EXCEPTION", e.to_string()))
}

fn csv_response(body: Vec<u8>, extra: &[(&'static str, String)]) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    for (k, v) in extra {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(*k, v);
        }
    }
    r
}

/// Which results of an ingest job.
#[derive(Clone, Copy)]
enum Results {
    Successful,
    Failed,
    Unprocessed,
}

fn ingest_results(sim: &SimState, v: &str, id: &str, which: Results) -> Result<Response, SfError> {
    version(v)?;
    let mut sf = sim.salesforce();
    let job = sf.bulk.jobs.get_mut(id).ok_or_else(|| job_not_found(id))?;
    let state = job.look();
    let Work::Ingest {
        header,
        successful,
        failed,
        unprocessed,
        ..
    } = &job.work
    else {
        return Err(job_not_found(id));
    };
    if !matches!(
        state,
        JobState::JobComplete | JobState::Failed | JobState::Aborted
    ) {
        return Err(invalid(
            "INVALIDJOBSTATE",
            format!("The job {id} is not complete (state: {})", state.as_str()),
        ));
    }
    let with = |first: &'static str, second: &'static str| -> Vec<&str> {
        let mut h = vec![first, second];
        h.extend(header.iter().map(String::as_str));
        h
    };
    let body = match which {
        Results::Successful => csv_body(
            &with("sf__Id", "sf__Created"),
            successful
                .iter()
                .map(|o| [vec![o.id.clone(), o.detail.clone()], o.row.cells()].concat()),
        )?,
        Results::Failed => csv_body(
            &with("sf__Id", "sf__Error"),
            failed
                .iter()
                .map(|o| [vec![o.id.clone(), o.detail.clone()], o.row.cells()].concat()),
        )?,
        Results::Unprocessed => {
            let h: Vec<&str> = header.iter().map(String::as_str).collect();
            csv_body(&h, unprocessed.iter().cloned())?
        }
    };
    Ok(csv_response(body, &[]))
}

/// `GET /jobs/ingest/{id}/successfulResults/`
pub async fn successful(
    State(sim): State<Arc<SimState>>,
    Path((v, id)): Path<(String, String)>,
) -> Result<Response, SfError> {
    ingest_results(&sim, &v, &id, Results::Successful)
}

/// `GET /jobs/ingest/{id}/failedResults/`
pub async fn failed(
    State(sim): State<Arc<SimState>>,
    Path((v, id)): Path<(String, String)>,
) -> Result<Response, SfError> {
    ingest_results(&sim, &v, &id, Results::Failed)
}

/// `GET /jobs/ingest/{id}/unprocessedrecords/`
pub async fn unprocessed(
    State(sim): State<Arc<SimState>>,
    Path((v, id)): Path<(String, String)>,
) -> Result<Response, SfError> {
    ingest_results(&sim, &v, &id, Results::Unprocessed)
}

/// `POST /jobs/query`: the query runs at once (a bad one is refused here, as Salesforce
/// refuses it at creation); its rows wait for the results calls.
pub async fn create_query(
    State(sim): State<Arc<SimState>>,
    Path(v): Path<String>,
    body: Bytes,
) -> Result<Response, SfError> {
    let v = version(&v)?;
    let b = parse_json(&body)?;
    let operation = b
        .get("operation")
        .and_then(Value::as_str)
        .unwrap_or("query")
        .to_string();
    if !matches!(operation.as_str(), "query" | "queryAll") {
        return Err(invalid(
            "INVALIDJOB",
            format!("InvalidJob : Invalid operation: {operation}"),
        ));
    }
    let text = b
        .get("query")
        .and_then(Value::as_str)
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| invalid("INVALIDJOB", "InvalidJob : Query is required"))?
        .to_string();
    let parsed = soql::parse_sent(&text).map_err(|e| invalid(e.code, e.message))?;
    if parsed.offset.is_some() || !parsed.group_by.is_empty() {
        return Err(invalid(
            "FeatureNotEnabled",
            "FeatureNotEnabled : The query uses a clause (OFFSET, GROUP BY) that Bulk API 2.0 does not support",
        ));
    }
    let mut sf = sim.salesforce();
    let result = soql::run(
        &sf.store,
        &parsed,
        &text,
        operation == "queryAll",
        &v,
        Utc::now(),
    )
    .map_err(|e| invalid(e.code, e.message))?;
    let header: Vec<String> = parsed
        .select
        .iter()
        .filter_map(|s| match s {
            soql::SelectItem::Field(p) => Some(p.parts.join(".")),
            _ => None,
        })
        .collect();
    let rows = result
        .records
        .iter()
        .filter_map(|r| r["Id"].as_str().map(String::from))
        .collect();
    let now = Utc::now();
    let id = sf.bulk.new_id();
    let job = Job {
        id: id.clone(),
        work: Work::Query {
            operation,
            soql: text,
            header,
            rows,
        },
        state: JobState::UploadComplete,
        created: now,
        modified: now,
        version: v,
        error: None,
    };
    let info = job.describe(&sf.store.user_id, true);
    sf.bulk.jobs.insert(id, job);
    Ok(axum::Json(info).into_response())
}

/// A record's value at a dotted path, as CSV text (null is empty).
fn cell(record: &Value, path: &str) -> String {
    let mut v = record;
    for part in path.split('.') {
        let next = v.as_object().and_then(|m| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(part))
                .map(|(_, v)| v)
        });
        match next {
            Some(n) => v = n,
            None => return String::new(),
        }
    }
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `GET /jobs/query/{id}/results?locator=&maxRecords=`
pub async fn query_results(
    State(sim): State<Arc<SimState>>,
    Path((v, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, SfError> {
    version(&v)?;
    let params = Params::parse(q.as_deref());
    let mut sf = sim.salesforce();
    let sf = &mut *sf;
    let job = sf
        .bulk
        .jobs
        .get_mut(&id)
        .ok_or_else(|| job_not_found(&id))?;
    let state = job.look();
    let Work::Query {
        header,
        rows,
        soql,
        operation,
    } = &job.work
    else {
        return Err(job_not_found(&id));
    };
    if state != JobState::JobComplete {
        return Err(invalid(
            "INVALIDJOBSTATE",
            format!("The job {id} is not complete (state: {})", state.as_str()),
        ));
    }
    let start = match params.get("locator") {
        None => 0,
        Some(l) => decode_locator(l)
            .filter(|s| *s <= rows.len())
            .ok_or_else(|| invalid("INVALID_LOCATOR", format!("Invalid locator: {l}")))?,
    };
    let max = params
        .get("maxRecords")
        .and_then(|m| m.parse::<usize>().ok())
        .filter(|m| *m > 0)
        .unwrap_or(RESULTS_PAGE)
        .min(RESULTS_PAGE);
    let end = (start + max).min(rows.len());
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    let records = page_records(&sf.store, (soql, operation, header), &rows[start..end], &v)?;
    let body = csv_body(
        &h,
        records
            .iter()
            .map(|r| header.iter().map(|f| cell(r, f)).collect()),
    )?;
    let locator = if end < rows.len() {
        encode_locator(end)
    } else {
        "null".to_string()
    };
    Ok(csv_response(
        body,
        &[
            ("sforce-locator", locator),
            ("sforce-numberofrecords", (end - start).to_string()),
        ],
    ))
}

/// The records of one results page, in the job's order: its fields read again by id.
fn page_records(
    store: &Store,
    (soql, operation, header): (&str, &str, &[String]),
    ids: &[String],
    version: &str,
) -> Result<Vec<Value>, SfError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = ids.iter().map(|i| format!("'{i}'")).collect();
    let text = format!(
        "SELECT {} FROM {} WHERE Id IN ({})",
        header.join(", "),
        soql_object(soql),
        list.join(", ")
    );
    let parsed = soql::parse(&text).map_err(|e| invalid(e.code, e.message))?;
    let result = soql::run(
        store,
        &parsed,
        &text,
        operation == "queryAll",
        version,
        Utc::now(),
    )
    .map_err(|e| invalid(e.code, e.message))?;
    let mut by_id: std::collections::HashMap<String, Value> = result
        .records
        .into_iter()
        .filter_map(|r| Some((r["Id"].as_str()?.to_string(), r)))
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Locators are opaque to clients; the simulator's are the next row's index in base64.
fn encode_locator(row: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(row.to_string())
}

fn decode_locator(l: &str) -> Option<usize> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(l).ok()?;
    String::from_utf8(bytes).ok()?.parse().ok()
}

/// `PATCH /jobs/query/{id}`: only `Aborted`.
pub async fn change_query(
    State(sim): State<Arc<SimState>>,
    Path((v, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, SfError> {
    version(&v)?;
    let b = parse_json(&body)?;
    let mut sf = sim.salesforce();
    let sf = &mut *sf;
    let job = sf
        .bulk
        .jobs
        .get_mut(&id)
        .ok_or_else(|| job_not_found(&id))?;
    if b.get("state").and_then(Value::as_str) != Some("Aborted") {
        return Err(invalid(
            "INVALIDJOBSTATE",
            "A query job can only be aborted",
        ));
    }
    if job.state == JobState::JobComplete {
        return Err(invalid(
            "INVALIDJOBSTATE",
            "Job state JobComplete cannot be changed to Aborted",
        ));
    }
    job.state = JobState::Aborted;
    Ok(axum::Json(job.info(&sf.store.user_id)).into_response())
}
