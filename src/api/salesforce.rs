//! Salesforce primitives on the transport: SOQL query / queryAll streamed over
//! `nextRecordsUrl`, sObject get / create / update / delete / upsert by external id,
//! sObject Collections auto-chunked to 200 with per-record results, composite, describe
//! (cached), limits and userinfo.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{Value, json};

use super::hubspot::ItemResult;
use super::shape;
use super::transport::{ApiRequest, Transport};
use crate::auth::SalesforceAuth;
use crate::error::{ApiError, Provider};

pub const COLLECTION_MAX: usize = 200;

pub struct SalesforceApi {
    pub transport: Arc<Transport>,
    pub auth: Arc<SalesforceAuth>,
    pub version: String,
    pub caller: String,
    describes: Mutex<HashMap<String, Value>>,
}

fn p() -> Provider {
    Provider::Salesforce
}

/// A query page: `{totalSize, done, records, nextRecordsUrl?}` (also a Composite
/// subrequest's body).
pub fn query_answer(v: &Value) -> Result<(), String> {
    shape::array_at(v, "records")?;
    if !v["done"].is_boolean() {
        return Err("no `done` flag".into());
    }
    if v["done"] == json!(false) && !v["nextRecordsUrl"].is_string() {
        return Err("not `done`, but no `nextRecordsUrl`".into());
    }
    Ok(())
}

fn created(v: &Value) -> Result<(), String> {
    shape::string_at(v, "id")
}

fn describe_answer(v: &Value) -> Result<(), String> {
    shape::array_at(v, "fields")
}

fn composite_answer(v: &Value) -> Result<(), String> {
    shape::array_at(v, "compositeResponse")
}

/// Per-record errors in Collections answers use `statusCode`.
fn item_error(item: &Value) -> ApiError {
    let e = &item["errors"][0];
    let code = e["statusCode"]
        .as_str()
        .or(e["errorCode"].as_str())
        .unwrap_or("UNKNOWN");
    let message = e["message"].as_str().unwrap_or("failed");
    crate::classify::classify_item(p(), code, message, e)
}

/// Pair a Collections answer (results in input order) with its `n` records.
pub fn collection_results(n: usize, items: Vec<Value>) -> Vec<ItemResult> {
    let mut items = items.into_iter();
    (0..n)
        .map(|_| match items.next() {
            Some(item) if item["success"] == json!(true) => ItemResult::Ok(item),
            Some(item) => ItemResult::Failed(item_error(&item)),
            None => ItemResult::Failed(ApiError::new(
                p(),
                crate::error::ErrorClass::Transient,
                "the collection answer has no result for this record; retry it",
            )),
        })
        .collect()
}

impl SalesforceApi {
    pub fn new(
        transport: Arc<Transport>,
        auth: Arc<SalesforceAuth>,
        version: String,
        caller: String,
    ) -> SalesforceApi {
        SalesforceApi {
            transport,
            auth,
            version,
            caller,
            describes: Mutex::new(HashMap::new()),
        }
    }

    /// The same connection, with calls attributed to `caller`; the describe cache is its own.
    pub fn for_caller(&self, caller: &str) -> SalesforceApi {
        SalesforceApi::new(
            self.transport.clone(),
            self.auth.clone(),
            self.version.clone(),
            caller.to_string(),
        )
    }

    pub(super) fn data(&self, rest: &str) -> String {
        format!(
            "/services/data/v{}/{}",
            self.version,
            rest.trim_start_matches('/')
        )
    }

    pub(super) fn req(&self, method: Method, path: impl Into<String>) -> ApiRequest {
        ApiRequest::new(method, path).caller(self.caller.clone())
    }

    /// A raw call; `path` is below `/services/data/vNN.0/` unless it starts with `/services`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        // An absolute URL goes to the transport as it is: on the instance it is served, and
        // anywhere else it is refused by name.
        let full = if path.starts_with("/services/") || path.contains("://") {
            path.to_string()
        } else {
            self.data(path)
        };
        let mut r = self.req(method, full);
        if let Some(b) = body {
            r = r.json(b);
        }
        self.transport.json(&r).await
    }

    /// Run a query and hand each page of records to `on_page` (return false to stop).
    pub async fn query_pages(
        &self,
        soql: &str,
        all_rows: bool,
        mut on_page: impl FnMut(Vec<Value>) -> bool,
    ) -> Result<u64, ApiError> {
        let resource = if all_rows { "queryAll" } else { "query" };
        let mut v = self
            .transport
            .json(
                &self
                    .req(Method::GET, self.data(resource))
                    .query("q", soql)
                    .expect(query_answer),
            )
            .await?;
        let total = v["totalSize"].as_u64().unwrap_or(0);
        loop {
            let records = super::take_array(&mut v, "records");
            if !records.is_empty() && !on_page(records) {
                return Ok(total);
            }
            match (v["done"].as_bool(), v["nextRecordsUrl"].as_str()) {
                (Some(false), Some(next)) => {
                    v = self
                        .transport
                        .json(&self.req(Method::GET, next.to_string()).expect(query_answer))
                        .await?
                }
                _ => return Ok(total),
            }
        }
    }

    /// One page: the first of a query (`soql`) or the next one (`next`, a nextRecordsUrl).
    pub async fn query_page(
        &self,
        soql: Option<&str>,
        next: Option<&str>,
        all_rows: bool,
    ) -> Result<(Vec<Value>, Option<String>), ApiError> {
        let req = match (next, soql) {
            (Some(url), _) => self.req(Method::GET, url.to_string()),
            (None, Some(q)) => self
                .req(
                    Method::GET,
                    self.data(if all_rows { "queryAll" } else { "query" }),
                )
                .query("q", q),
            (None, None) => {
                return Err(ApiError::new(
                    p(),
                    crate::error::ErrorClass::Validation,
                    "a query needs SOQL text",
                ));
            }
        };
        let mut v = self.transport.json(&req.expect(query_answer)).await?;
        let next = if v["done"] == json!(false) {
            v["nextRecordsUrl"].as_str().map(String::from)
        } else {
            None
        };
        Ok((super::take_array(&mut v, "records"), next))
    }

    /// The first page of a query with its `totalSize` (how many records match in all).
    pub async fn query_first_page(
        &self,
        soql: &str,
        all_rows: bool,
    ) -> Result<(Vec<Value>, Option<String>, u64), ApiError> {
        let resource = if all_rows { "queryAll" } else { "query" };
        let req = self
            .req(Method::GET, self.data(resource))
            .query("q", soql)
            .expect(query_answer);
        let mut v = self.transport.json(&req).await?;
        let total = v["totalSize"].as_u64().unwrap_or(0);
        let next = if v["done"] == json!(false) {
            v["nextRecordsUrl"].as_str().map(String::from)
        } else {
            None
        };
        Ok((super::take_array(&mut v, "records"), next, total))
    }

    /// All records of a query.
    pub async fn query(&self, soql: &str) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        self.query_pages(soql, false, |page| {
            out.extend(page);
            true
        })
        .await?;
        Ok(out)
    }

    pub async fn get(&self, sobject: &str, id: &str, fields: &[&str]) -> Result<Value, ApiError> {
        let mut r = self.req(Method::GET, self.data(&format!("sobjects/{sobject}/{id}")));
        if !fields.is_empty() {
            r = r.query("fields", fields.join(","));
        }
        self.transport.json(&r.expect(shape::object)).await
    }

    pub async fn create(&self, sobject: &str, fields: Value) -> Result<String, ApiError> {
        let v = self
            .transport
            .json(
                &self
                    .req(Method::POST, self.data(&format!("sobjects/{sobject}/")))
                    .json(fields)
                    .expect(created),
            )
            .await?;
        Ok(v["id"].as_str().unwrap_or_default().to_string())
    }

    pub async fn update(&self, sobject: &str, id: &str, fields: Value) -> Result<(), ApiError> {
        self.transport
            .send(
                &self
                    .req(
                        Method::PATCH,
                        self.data(&format!("sobjects/{sobject}/{id}")),
                    )
                    .json(fields),
            )
            .await
            .map(|_| ())
    }

    pub async fn delete(&self, sobject: &str, id: &str) -> Result<(), ApiError> {
        self.transport
            .send(&self.req(
                Method::DELETE,
                self.data(&format!("sobjects/{sobject}/{id}")),
            ))
            .await
            .map(|_| ())
    }

    /// Upsert by external id: returns (id, created).
    pub async fn upsert(
        &self,
        sobject: &str,
        field: &str,
        value: &str,
        fields: Value,
    ) -> Result<(String, bool), ApiError> {
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let resp = self
            .transport
            .send(
                &self
                    .req(
                        Method::PATCH,
                        self.data(&format!("sobjects/{sobject}/{field}/{encoded}")),
                    )
                    .json(fields),
            )
            .await?;
        let v = resp.json(p())?;
        Ok((
            v["id"].as_str().unwrap_or_default().to_string(),
            resp.status.as_u16() == 201 || v["created"].as_bool() == Some(true),
        ))
    }

    /// Collections create/update (records carry `attributes.type`), 200 per call, results in
    /// input order. `all_or_none` applies per chunk.
    pub async fn collection(
        &self,
        op: CollectionOp,
        records: Vec<Value>,
        all_or_none: bool,
    ) -> Result<Vec<ItemResult>, ApiError> {
        // The calls go out together (all or none holds per call, as Salesforce applies it).
        let calls = records
            .chunks(COLLECTION_MAX)
            .map(|chunk| self.collection_call(&op, chunk, all_or_none));
        super::all_concat(calls).await
    }

    /// One sObject Collections call of at most [`COLLECTION_MAX`] records.
    async fn collection_call(
        &self,
        op: &CollectionOp,
        chunk: &[Value],
        all_or_none: bool,
    ) -> Result<Vec<ItemResult>, ApiError> {
        let answer = match op {
            CollectionOp::Create => self
                .req(Method::POST, self.data("composite/sobjects"))
                .json(json!({"allOrNone": all_or_none, "records": chunk})),
            CollectionOp::Update => self
                .req(Method::PATCH, self.data("composite/sobjects"))
                .json(json!({"allOrNone": all_or_none, "records": chunk})),
            CollectionOp::Upsert { sobject, field } => self
                .req(
                    Method::PATCH,
                    self.data(&format!("composite/sobjects/{sobject}/{field}")),
                )
                .json(json!({"allOrNone": all_or_none, "records": chunk})),
            CollectionOp::Delete => {
                let ids: Vec<&str> = chunk
                    .iter()
                    .filter_map(|r| r.as_str().or(r["id"].as_str()))
                    .collect();
                self.req(Method::DELETE, self.data("composite/sobjects"))
                    .query("ids", ids.join(","))
                    .query("allOrNone", all_or_none.to_string())
            }
        };
        let items = match self.transport.json(&answer.expect(shape::array)).await? {
            Value::Array(items) => items,
            _ => Vec::new(),
        };
        Ok(collection_results(chunk.len(), items))
    }

    /// `POST /composite` with up to 25 subrequests.
    /// A Composite subrequest that did not answer a query page, as the error its own call
    /// would have been: classified by its status and body.
    pub fn subrequest_error(r: &Value) -> ApiError {
        let status = r["httpStatusCode"].as_u64().unwrap_or(500) as u16;
        if status < 300 {
            return ApiError::new(
                Provider::Salesforce,
                crate::error::ErrorClass::Transient,
                "a Composite subrequest answered something that is not a query page",
            )
            .with_code("GARBAGE_ANSWER");
        }
        let body = serde_json::to_vec(&r["body"]).unwrap_or_default();
        crate::classify::classify(
            Provider::Salesforce,
            status,
            &reqwest::header::HeaderMap::new(),
            &body,
        )
    }

    pub async fn composite(
        &self,
        all_or_none: bool,
        subrequests: Vec<Value>,
    ) -> Result<Value, ApiError> {
        self.transport
            .json(
                &self
                    .req(Method::POST, self.data("composite"))
                    .json(json!({"allOrNone": all_or_none, "compositeRequest": subrequests}))
                    .expect(composite_answer),
            )
            .await
    }

    /// Describe of an sObject if it changed since `since` (None: Salesforce answered 304,
    /// what was read then still holds). A changed one is kept for [`Self::describe`].
    pub async fn describe_if_changed(
        &self,
        sobject: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Value>, ApiError> {
        // The HTTP date Salesforce takes: `EEE, dd MMM yyyy HH:mm:ss z`.
        let date = since.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let req = self
            .req(
                Method::GET,
                self.data(&format!("sobjects/{sobject}/describe")),
            )
            .header("If-Modified-Since", date)
            .expect(describe_answer);
        let answer = self.transport.send(&req).await?;
        let Some(v) = answer.parsed else {
            return Ok(None); // 304
        };
        self.remember_describe(sobject, v.clone());
        Ok(Some(v))
    }

    /// Keep a describe read earlier (hubforce's cache) for this session's [`Self::describe`].
    pub fn remember_describe(&self, sobject: &str, describe: Value) {
        if let Ok(mut m) = self.describes.lock() {
            m.insert(sobject.to_string(), describe);
        }
    }

    /// Forget this session's describes: the schema changed, the next ones are read again.
    pub fn forget_describes(&self) {
        if let Ok(mut m) = self.describes.lock() {
            m.clear();
        }
    }

    /// Describe of an sObject, fetched once per session.
    pub async fn describe(&self, sobject: &str) -> Result<Value, ApiError> {
        if let Some(v) = self
            .describes
            .lock()
            .ok()
            .and_then(|m| m.get(sobject).cloned())
        {
            return Ok(v);
        }
        let v = self
            .transport
            .json(
                &self
                    .req(
                        Method::GET,
                        self.data(&format!("sobjects/{sobject}/describe")),
                    )
                    .expect(describe_answer),
            )
            .await?;
        if let Ok(mut m) = self.describes.lock() {
            m.insert(sobject.to_string(), v.clone());
        }
        Ok(v)
    }

    pub async fn limits(&self) -> Result<Value, ApiError> {
        self.transport
            .json(
                &self
                    .req(Method::GET, self.data("limits"))
                    .expect(shape::object),
            )
            .await
    }

    pub async fn userinfo(&self) -> Result<Value, ApiError> {
        self.transport
            .json(
                &self
                    .req(Method::GET, "/services/oauth2/userinfo")
                    .expect(shape::object),
            )
            .await
    }
}

/// What a collection call does.
#[derive(Debug, Clone)]
pub enum CollectionOp {
    Create,
    Update,
    Upsert {
        sobject: String,
        field: String,
    },
    /// Records are ids (strings) or objects with `id`.
    Delete,
}
