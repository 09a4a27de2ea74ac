//! `query` / `queryAll` with `nextRecordsUrl` paging over server-side cursors.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::Value;

use super::errors::SfError;
use super::ids;
use super::sobjects::version;
use super::soql;
use crate::sim::SimState;
use crate::sim::http::Params;

const DEFAULT_BATCH: usize = 2000;
const MIN_BATCH: usize = 200;

struct Cursor {
    id: String,
    rows: Vec<Value>,
    total: usize,
    batch: usize,
}

/// Open query cursors. A user may hold a limited number; opening one more frees the oldest,
/// whose locator then answers `INVALID_QUERY_LOCATOR`.
pub struct Cursors {
    next: u64,
    open: VecDeque<Cursor>,
    max: usize,
}

impl Cursors {
    pub fn new(max: usize) -> Cursors {
        Cursors {
            next: 0,
            open: VecDeque::new(),
            max: max.max(1),
        }
    }

    fn open(&mut self, rows: Vec<Value>, total: usize, batch: usize) -> String {
        self.next += 1;
        let id = ids::make("01g", self.next);
        if self.open.len() >= self.max {
            self.open.pop_front();
        }
        self.open.push_back(Cursor {
            id: id.clone(),
            rows,
            total,
            batch,
        });
        id
    }
}

/// `Sforce-Query-Options: batchSize=N` (200..2000; a hint the server may lower).
fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("Sforce-Query-Options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',').find_map(|kv| {
                kv.trim()
                    .strip_prefix("batchSize=")?
                    .trim()
                    .parse::<usize>()
                    .ok()
            })
        })
        .map(|n| n.clamp(MIN_BATCH, DEFAULT_BATCH))
        .unwrap_or(DEFAULT_BATCH)
}

/// One page of a query answer, serialized straight from the cursor's rows (building a
/// `Value` of the page first copied 2,000 records per page).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Page<'a> {
    total_size: usize,
    done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_records_url: Option<String>,
    records: &'a [Value],
}

fn page<'a>(
    v: &str,
    cursor_id: Option<&str>,
    rows: &'a [Value],
    total: usize,
    offset: usize,
    batch: usize,
    all: bool,
) -> Page<'a> {
    let end = (offset + batch).min(rows.len());
    let done = end >= rows.len();
    let next_records_url = cursor_id.filter(|_| !done).map(|c| {
        let resource = if all { "queryAll" } else { "query" };
        format!("/services/data/v{v}/{resource}/{c}-{end}")
    });
    Page {
        total_size: total,
        done,
        next_records_url,
        records: &rows[offset.min(end)..end],
    }
}

fn run(
    sim: &SimState,
    v: &str,
    q: Option<&str>,
    headers: &HeaderMap,
    all: bool,
) -> Result<Response, SfError> {
    let v = version(v)?;
    let text = Params::parse(q)
        .get("q")
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            SfError::bad_request("MALFORMED_QUERY", "A query string has to be specified")
        })?;
    let parsed = soql::parse_sent(&text).map_err(|e| SfError::bad_request(e.code, e.message))?;
    let batch = batch_size(headers);
    let mut sf = sim.salesforce();
    let result = soql::run(&sf.store, &parsed, &text, all, &v, Utc::now())
        .map_err(|e| SfError::bad_request(e.code, e.message))?;
    if result.records.len() <= batch {
        return Ok(axum::Json(page(
            &v,
            None,
            &result.records,
            result.total_size,
            0,
            batch,
            all,
        ))
        .into_response());
    }
    let id = sf.cursors.open(result.records, result.total_size, batch);
    let Some(c) = sf.cursors.open.back() else {
        return Err(SfError::bad_request(
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
        ));
    };
    Ok(axum::Json(page(&v, Some(&id), &c.rows, c.total, 0, c.batch, all)).into_response())
}

/// A Composite subrequest's query string, carried beside its URI: a subrequest's URL lives
/// in the request body, where Salesforce takes it however long its SOQL, while an
/// `http::Uri` holds at most 64 KB.
#[derive(Clone)]
pub struct SubrequestQuery(pub String);

/// `GET /query?q=`
pub async fn query(
    State(sim): State<Arc<SimState>>,
    Path(v): Path<String>,
    RawQuery(q): RawQuery,
    sub: Option<axum::Extension<SubrequestQuery>>,
    headers: HeaderMap,
) -> Result<Response, SfError> {
    let q = sub.map(|s| s.0.0).or(q);
    run(&sim, &v, q.as_deref(), &headers, false)
}

/// `GET /queryAll?q=` (deleted and archived rows too)
pub async fn query_all(
    State(sim): State<Arc<SimState>>,
    Path(v): Path<String>,
    RawQuery(q): RawQuery,
    sub: Option<axum::Extension<SubrequestQuery>>,
    headers: HeaderMap,
) -> Result<Response, SfError> {
    let q = sub.map(|s| s.0.0).or(q);
    run(&sim, &v, q.as_deref(), &headers, true)
}

/// `GET /query/{cursor}-{offset}`: the next page of an open cursor.
pub async fn more(
    State(sim): State<Arc<SimState>>,
    Path((v, locator)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Result<Response, SfError> {
    let v = version(&v)?;
    let all = uri.path().contains("/queryAll/");
    let invalid = || SfError::bad_request("INVALID_QUERY_LOCATOR", "invalid query locator");
    let (cursor_id, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    let mut sf = sim.salesforce();
    let pos = sf
        .cursors
        .open
        .iter()
        .position(|c| c.id == cursor_id)
        .ok_or_else(invalid)?;
    let c = &sf.cursors.open[pos];
    if offset > c.rows.len() {
        return Err(invalid());
    }
    let body = page(&v, Some(cursor_id), &c.rows, c.total, offset, c.batch, all);
    let done = body.done;
    let response = axum::Json(body).into_response();
    if done {
        sf.cursors.open.remove(pos);
    }
    Ok(response)
}
