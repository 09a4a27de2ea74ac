//! Incremental pulls. Both sides are read in id order among the records modified since the
//! cursor's `since`: the position (`after_id`) is committed with every batch, so a crash
//! resumes exactly where the last checkpoint left off, and the HubSpot search restarts its
//! window from the last id before it reaches the 10,000-result cap. When a pull completes,
//! the next `since` is the time the pull started, less a margin for clock skew: changes made
//! during the pull to records already passed are read again next time.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::hubspot::HubspotApi;
use crate::api::salesforce::SalesforceApi;
use crate::error::ApiError;

/// Records per HubSpot search page (its most).
pub const HS_PAGE: usize = 200;
/// Records per Salesforce query page (its default batch).
pub const SF_PAGE: usize = 2000;
const HS_SEARCH_CAP: usize = 10_000;
/// How far back a new `since` reaches before the previous pull's start.
pub const SKEW: Duration = Duration::minutes(2);

/// A pull position as the ledger keeps it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Cursor {
    /// Only records modified at or after this time (None: everything, an import).
    pub since: Option<DateTime<Utc>>,
    /// Inside a pull: the last id passed.
    pub after_id: Option<String>,
    /// Inside a pull: when it started (becomes the next `since`).
    pub started: Option<DateTime<Utc>>,
}

impl Cursor {
    pub fn parse(text: Option<&str>) -> Cursor {
        text.and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }

    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Start (or resume) a pull; `full` reads everything again.
    pub fn begin(&self, full: bool, now: DateTime<Utc>) -> Cursor {
        if full {
            return Cursor {
                since: None,
                after_id: None,
                started: Some(now),
            };
        }
        if self.started.is_some() {
            return self.clone(); // resume an interrupted pull
        }
        Cursor {
            since: self.since,
            after_id: None,
            started: Some(now),
        }
    }

    /// The position after a batch whose last id is `id`.
    pub fn at(&self, id: &str) -> Cursor {
        Cursor {
            after_id: Some(id.to_string()),
            ..self.clone()
        }
    }

    /// The cursor once the pull has read everything.
    pub fn finished(&self) -> Cursor {
        Cursor {
            since: self.started.map(|s| s - SKEW).or(self.since),
            after_id: None,
            started: None,
        }
    }
}

/// Pages asked for at once once a window's size is known.
const HS_PAGES_AT_ONCE: usize = 8;

/// HubSpot search pages in id order. A window's first page says how many records match
/// (`total`); its other pages are then asked for together, by offset. A total that changes
/// between answers means a record entered or left the results and offsets may have moved:
/// the answers of that round are dropped and the window restarts after the last id handed
/// out, so that no record is skipped.
pub struct HsPager<'a> {
    api: &'a HubspotApi,
    object: String,
    modified_property: String,
    properties: Vec<String>,
    since: Option<DateTime<Utc>>,
    window_after_id: Option<u64>,
    /// The pair's own search filters, ANDed with the cursor's.
    filters: Vec<Value>,
    offset: usize,
    /// How many records the window holds, from its first page.
    total: Option<u64>,
    /// The last id handed out (where a restarted window begins).
    last_id: Option<u64>,
    ready: std::collections::VecDeque<Vec<Value>>,
    done: bool,
}

/// One search answer: its records, its next offset and its total.
type SearchAnswer = (Vec<Value>, Option<String>, Option<u64>);

impl<'a> HsPager<'a> {
    pub fn new(
        api: &'a HubspotApi,
        object: &str,
        modified_property: &str,
        properties: Vec<String>,
        cursor: &Cursor,
    ) -> HsPager<'a> {
        let after = cursor.after_id.as_deref().and_then(|s| s.parse().ok());
        HsPager {
            api,
            object: object.into(),
            modified_property: modified_property.into(),
            properties,
            since: cursor.since,
            window_after_id: after,
            filters: Vec::new(),
            offset: 0,
            total: None,
            last_id: after,
            ready: std::collections::VecDeque::new(),
            done: false,
        }
    }

    /// Only records that also pass these search filters (a pair's `hubspot.filters`).
    pub fn with_filters(mut self, filters: &[Value]) -> HsPager<'a> {
        self.filters = filters.to_vec();
        self
    }

    /// How many records the pull matches, from its first page (read now if it was not).
    pub async fn total(&mut self) -> Result<u64, ApiError> {
        while self.total.is_none() && self.ready.is_empty() && !self.done {
            self.read_round().await?;
        }
        let queued: usize = self.ready.iter().map(Vec::len).sum();
        Ok(self.total.unwrap_or(queued as u64))
    }

    pub async fn next(&mut self) -> Result<Option<Vec<Value>>, ApiError> {
        while self.ready.is_empty() && !self.done {
            self.read_round().await?;
        }
        let page = self.ready.pop_front();
        if let Some(id) = page
            .as_ref()
            .and_then(|p| p.last())
            .and_then(|r| r["id"].as_str())
            .and_then(|s| s.parse().ok())
        {
            self.last_id = Some(id);
        }
        Ok(page)
    }

    fn body(&self, offset: usize) -> Value {
        let mut filters = self.filters.clone();
        if let Some(s) = self.since {
            filters.push(json!({"propertyName": self.modified_property, "operator": "GTE", "value": s.timestamp_millis().to_string()}));
        }
        if let Some(id) = self.window_after_id {
            filters.push(
                json!({"propertyName": "hs_object_id", "operator": "GT", "value": id.to_string()}),
            );
        }
        json!({
            "filterGroups": if filters.is_empty() { json!([]) } else { json!([{"filters": filters}]) },
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": self.properties,
            "limit": HS_PAGE,
            "after": offset.to_string(),
        })
    }

    /// The offsets to ask for now: one until the window's total is known, then the rest of
    /// the window (up to the search's 10,000-result cap), a few at a time.
    fn offsets(&self) -> Vec<usize> {
        let Some(total) = self.total else {
            return vec![self.offset];
        };
        let end = (total as usize).min(HS_SEARCH_CAP);
        (self.offset..end)
            .step_by(HS_PAGE)
            .filter(|o| o + HS_PAGE <= HS_SEARCH_CAP)
            .take(HS_PAGES_AT_ONCE)
            .collect()
    }

    async fn read_round(&mut self) -> Result<(), ApiError> {
        let offsets = self.offsets();
        if offsets.is_empty() {
            // The window is read to its end, or to the cap: restart after the last id.
            self.restart_or_finish(true);
            return Ok(());
        }
        let calls = offsets
            .iter()
            .map(|&o| self.api.search_page_counted(&self.object, self.body(o)));
        let answers: Vec<SearchAnswer> = crate::api::all(calls).await?;
        if self.total.is_some() && answers.iter().any(|(_, _, t)| *t != self.total) {
            self.restart_or_finish(false);
            return Ok(());
        }
        for (results, next, total) in answers {
            self.total = self.total.or(total);
            let more = next.and_then(|a| a.parse::<usize>().ok());
            if results.is_empty() {
                self.done = true;
                return Ok(());
            }
            self.ready.push_back(results);
            match more {
                Some(a) => self.offset = a,
                None => {
                    self.done = true;
                    return Ok(());
                }
            }
        }
        if self.offset + HS_PAGE > HS_SEARCH_CAP {
            self.restart_or_finish(true);
        }
        Ok(())
    }

    /// A new window after the last id handed out or about to be (`read`: the pages taken
    /// so far are kept; otherwise the round's answers were dropped and none is queued).
    fn restart_or_finish(&mut self, read: bool) {
        let last_queued = self
            .ready
            .back()
            .and_then(|p| p.last())
            .and_then(|r| r["id"].as_str())
            .and_then(|s| s.parse().ok());
        let after = if read {
            last_queued.or(self.last_id)
        } else {
            self.last_id
        };
        if read && after == self.window_after_id {
            self.done = true; // nothing new since the window began
            return;
        }
        self.window_after_id = after;
        self.offset = 0;
        self.total = None;
    }
}

/// A SOQL datetime literal.
pub fn soql_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A SOQL string literal.
pub fn soql_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Salesforce query pages in id order (queryAll: deleted rows too).
pub struct SfPager<'a> {
    api: &'a SalesforceApi,
    soql: Option<String>,
    next_url: Option<String>,
    /// The first page, when a prefetch brought it with other pagers' first pages.
    first: Option<Vec<Value>>,
    /// How many records the query matches, from its first page.
    total: Option<u64>,
    done: bool,
    /// What the query is made of, to ask for the rest through a Bulk API job.
    parts: SoqlParts,
    bulk: Option<BulkRead>,
}

/// A pull's query, in parts.
#[derive(Debug, Clone)]
struct SoqlParts {
    sobject: String,
    fields: Vec<String>,
    filter: Option<String>,
    since: Option<DateTime<Utc>>,
}

impl SoqlParts {
    fn soql(&self, after_id: Option<&str>) -> String {
        let mut conds: Vec<String> = self.filter.clone().into_iter().collect();
        if let Some(s) = self.since {
            conds.push(format!("SystemModstamp >= {}", soql_datetime(s)));
        }
        if let Some(id) = after_id {
            conds.push(format!("Id > {}", soql_string(id)));
        }
        let mut soql = format!("SELECT {} FROM {}", self.fields.join(", "), self.sobject);
        if !conds.is_empty() {
            soql.push_str(" WHERE ");
            soql.push_str(&conds.join(" AND "));
        }
        soql.push_str(" ORDER BY Id");
        soql
    }
}

/// What a large Salesforce pull cost, and what the other way would have: the report says it,
/// and a dry run prices an import both ways.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct PullPrice {
    pub sobject: String,
    pub records: u64,
    /// Read through a Bulk API query job (else REST pages).
    pub bulk: bool,
    pub rest_calls: u64,
    pub bulk_calls: u64,
}

/// A large pull's rest, read through a Bulk API 2.0 query job: far fewer calls than pages of
/// 2,000 (one job, two polls, a call per 50,000 records).
#[derive(Debug)]
pub struct BulkRead {
    /// From this many records, the rest comes through Bulk.
    pub threshold: u64,
    /// The sObject's describe types, to give the CSV's text the REST API's types.
    pub types: std::collections::HashMap<String, String>,
    job: Option<String>,
    locator: Option<String>,
}

impl BulkRead {
    pub fn new(threshold: u64, types: std::collections::HashMap<String, String>) -> BulkRead {
        BulkRead {
            threshold,
            types,
            job: None,
            locator: None,
        }
    }
}

/// The first pages of several pagers in one Composite request, which Salesforce counts as one
/// API call (an idle pass of a pair with Contacts and Leads asks once, not twice). A
/// subrequest that failed, or answered something that is no query page, is left for its
/// pager to ask again on its own, so that its error is classified, never read as "nothing".
pub async fn prefetch_first_pages(
    api: &SalesforceApi,
    pagers: &mut [&mut SfPager<'_>],
) -> Result<(), ApiError> {
    let subrequests: Vec<Value> = pagers
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let soql = p.soql.as_deref()?;
            let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
            Some(json!({"method": "GET", "referenceId": format!("p{i}"),
                        "url": format!("/services/data/v{}/queryAll?q={q}", api.version)}))
        })
        .collect();
    if subrequests.len() < 2 {
        return Ok(());
    }
    let mut answer = api.composite(false, subrequests).await?;
    let Value::Array(responses) = answer["compositeResponse"].take() else {
        return Ok(());
    };
    for mut r in responses {
        let Some(i) = r["referenceId"]
            .as_str()
            .and_then(|id| id.strip_prefix('p'))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let ok = r["httpStatusCode"].as_u64().is_some_and(|s| s < 300)
            && crate::api::salesforce::query_answer(&r["body"]).is_ok();
        if let (true, Some(p)) = (ok, pagers.get_mut(i)) {
            let mut body = r["body"].take();
            let records = match body["records"].take() {
                Value::Array(a) => a,
                _ => Vec::new(),
            };
            let next = (body["done"] == json!(false))
                .then(|| body["nextRecordsUrl"].as_str().map(String::from))
                .flatten();
            p.soql = None;
            p.next_url = next;
            p.total = body["totalSize"].as_u64();
            p.first = Some(records);
        }
    }
    Ok(())
}

impl<'a> SfPager<'a> {
    pub fn new(
        api: &'a SalesforceApi,
        sobject: &str,
        fields: &[String],
        filter: Option<&str>,
        cursor: &Cursor,
    ) -> SfPager<'a> {
        let parts = SoqlParts {
            sobject: sobject.to_string(),
            fields: fields.to_vec(),
            filter: filter.map(String::from),
            since: cursor.since,
        };
        SfPager {
            api,
            soql: Some(parts.soql(cursor.after_id.as_deref())),
            next_url: None,
            first: None,
            total: None,
            done: false,
            parts,
            bulk: None,
        }
    }

    /// Read the rest through a Bulk API query job when the query matches `bulk.threshold`
    /// records or more.
    pub fn with_bulk(mut self, bulk: Option<BulkRead>) -> SfPager<'a> {
        self.bulk = bulk;
        self
    }

    /// Whether this pull may switch to a Bulk API query job (its pages then grow).
    pub fn may_go_bulk(&self) -> bool {
        self.bulk.is_some()
    }

    /// Whether this pull will read through a Bulk API query job: its first page (read
    /// already) says it matches the threshold or more.
    pub fn goes_bulk(&self) -> bool {
        self.bulk
            .as_ref()
            .is_some_and(|b| self.total.is_some_and(|t| t >= b.threshold))
    }

    /// Whether this pull went to the Bulk API.
    pub fn went_bulk(&self) -> bool {
        self.bulk.as_ref().is_some_and(|b| b.job.is_some())
    }

    /// What a pull of more than one REST page costs either way, once it is read.
    pub fn priced(&self) -> Option<PullPrice> {
        let records = self.total.filter(|t| *t > SF_PAGE as u64)?;
        let page = SF_PAGE as u64;
        let rest = records - page;
        Some(PullPrice {
            sobject: self.parts.sobject.clone(),
            records,
            bulk: self.went_bulk(),
            rest_calls: records.div_ceil(page),
            // The first REST page, the job, its two polls and a call per results page.
            bulk_calls: 1 + 1 + 2 + rest.div_ceil(crate::api::salesforce_bulk::QUERY_PAGE as u64),
        })
    }

    pub async fn next(&mut self) -> Result<Option<Vec<Value>>, ApiError> {
        if self.done {
            return Ok(None);
        }
        if self.bulk.as_ref().is_some_and(|b| b.job.is_some()) {
            return self.next_bulk().await;
        }
        if let Some(records) = self.first.take() {
            if self.next_url.is_none() {
                self.done = true;
            }
            self.switch_to_bulk(&records);
            return Ok((!records.is_empty()).then_some(records));
        }
        // queryAll: deleted rows (IsDeleted, and a merge's losers with MasterRecordId) come
        // with the changes, at no extra call.
        let (records, next) = match self.next_url.take() {
            Some(url) => self.api.query_page(None, Some(&url), true).await?,
            None => {
                let soql = self.soql.take().unwrap_or_default();
                let (records, next, total) = self.api.query_first_page(&soql, true).await?;
                self.total = Some(total);
                (records, next)
            }
        };
        match next {
            Some(n) => self.next_url = Some(n),
            None => self.done = true,
        }
        if records.is_empty() {
            self.done = true;
            return Ok(None);
        }
        self.switch_to_bulk(&records);
        Ok(Some(records))
    }

    /// After the first page of a query that matches enough records: the rest (after its
    /// last id) is to come from a Bulk API query job, not from the REST pages.
    fn switch_to_bulk(&mut self, first: &[Value]) {
        let Some(bulk) = &mut self.bulk else { return };
        let large = self.total.is_some_and(|t| t >= bulk.threshold);
        let last = first.last().and_then(|r| r["Id"].as_str());
        if bulk.job.is_some() || !large || self.next_url.is_none() {
            return;
        }
        if let Some(last) = last {
            // The job is started on the next call; the REST cursor is dropped.
            bulk.job = Some(String::new());
            self.soql = Some(self.parts.soql(Some(last)));
            self.next_url = None;
        }
    }

    async fn next_bulk(&mut self) -> Result<Option<Vec<Value>>, ApiError> {
        let Some(bulk) = &mut self.bulk else {
            return Ok(None);
        };
        if bulk.job.as_deref() == Some("") {
            let soql = self.soql.take().unwrap_or_default();
            bulk.job = Some(self.api.bulk_query_job(&soql, true).await?);
        }
        let job = bulk.job.clone().unwrap_or_default();
        let (rows, next) = self
            .api
            .bulk_query_page(&job, bulk.locator.as_deref())
            .await?;
        match next {
            Some(l) => bulk.locator = Some(l),
            None => self.done = true,
        }
        if rows.is_empty() {
            self.done = true;
            return Ok(None);
        }
        Ok(Some(
            rows.into_iter()
                .map(|r| Value::Object(crate::api::salesforce_bulk::typed_record(r, &bulk.types)))
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_resumes_an_interrupted_pull_and_moves_on_after_a_finished_one() {
        let t0 = DateTime::parse_from_rfc3339("2026-05-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let t1 = t0 + Duration::hours(1);
        let fresh = Cursor::default().begin(false, t0);
        assert_eq!((fresh.since, fresh.started), (None, Some(t0)));
        let mid = fresh.at("42");
        let resumed = Cursor::parse(Some(&mid.text())).begin(false, t1);
        assert_eq!(resumed, mid, "a crash mid-pull resumes from the last id");
        let done = resumed.finished();
        assert_eq!(done.since, Some(t0 - SKEW));
        assert_eq!(done.after_id, None);
        let next = done.begin(false, t1);
        assert_eq!((next.since, next.started), (Some(t0 - SKEW), Some(t1)));
        assert_eq!(done.begin(true, t1).since, None, "--full reads everything");
        assert_eq!(soql_string("O'Brien"), "'O\\'Brien'");
    }
}
