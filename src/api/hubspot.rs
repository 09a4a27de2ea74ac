//! HubSpot primitives on the transport: objects (get, paged list, search that windows past
//! the 10,000-result cap, create, update, archive), batches auto-chunked to 100 with
//! per-record results, properties, list memberships, associations, token introspection.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use super::shape;
use super::transport::{ApiRequest, Transport};
use crate::auth::HubspotAuth;
use crate::budget::CallKind;
use crate::error::{ApiError, ErrorClass, Provider};

pub const BATCH_MAX: usize = 100;
const SEARCH_PAGE: usize = 200;
const SEARCH_CAP: usize = 10_000;

/// One input's outcome in a batch: the record, or why it failed.
#[derive(Debug, Clone)]
pub enum ItemResult {
    Ok(Value),
    Failed(ApiError),
}

pub struct HubspotApi {
    pub transport: Arc<Transport>,
    pub auth: Arc<HubspotAuth>,
    /// The caller tag for calls made through this handle.
    pub caller: String,
}

fn p() -> Provider {
    Provider::Hubspot
}

/// A CRM record: `{id, properties, …}`.
fn record(v: &Value) -> Result<(), String> {
    shape::string_at(v, "id")
}

/// A page of results (list, search, properties, memberships, owners, batch answers).
pub fn page(v: &Value) -> Result<(), String> {
    shape::array_at(v, "results")?;
    shape::optional(v, "paging", Value::is_object, "an object")
}

impl HubspotApi {
    /// The same connection, with calls attributed to `caller` (`plugin:<name>`, `repl`…).
    pub fn for_caller(&self, caller: &str) -> HubspotApi {
        HubspotApi {
            transport: self.transport.clone(),
            auth: self.auth.clone(),
            caller: caller.to_string(),
        }
    }

    pub(super) fn req(&self, method: Method, path: impl Into<String>) -> ApiRequest {
        ApiRequest::new(method, path).caller(self.caller.clone())
    }

    /// A raw authenticated call (`hubforce api hubspot …`, Lua's `hubspot.request`).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, ApiError> {
        self.call(method, path, body, shape::any).await
    }

    /// A call whose answer must have `expect`'s shape (a page of `results` for searches
    /// and batch reads): anything else is retried as garbage, never read as "no records".
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        expect: shape::Shape,
    ) -> Result<Value, ApiError> {
        let mut r = self.req(method, path).expect(expect);
        if path.ends_with("/search") {
            r = r.kind(CallKind::Search);
        }
        if let Some(b) = body {
            r = r.json(b);
        }
        self.transport.json(&r).await
    }

    pub async fn get(
        &self,
        object: &str,
        id: &str,
        properties: &[&str],
        id_property: Option<&str>,
    ) -> Result<Value, ApiError> {
        let mut r = self.req(Method::GET, format!("/crm/v3/objects/{object}/{id}"));
        if !properties.is_empty() {
            r = r.query("properties", properties.join(","));
        }
        if let Some(ip) = id_property {
            r = r.query("idProperty", ip);
        }
        self.transport.json(&r.expect(record)).await
    }

    /// One page of a list; returns (records, next cursor).
    pub async fn list_page(
        &self,
        object: &str,
        properties: &[&str],
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Value>, Option<String>), ApiError> {
        let mut r = self
            .req(Method::GET, format!("/crm/v3/objects/{object}"))
            .query("limit", limit.clamp(1, 100).to_string());
        if !properties.is_empty() {
            r = r.query("properties", properties.join(","));
        }
        if let Some(a) = after {
            r = r.query("after", a);
        }
        let mut v = self.transport.json(&r.expect(page)).await?;
        let next = v["paging"]["next"]["after"].as_str().map(String::from);
        Ok((super::take_array(&mut v, "results"), next))
    }

    /// One page of an object type's archived records (deleted, or merged away): (records,
    /// next cursor).
    pub async fn archived_page(
        &self,
        object: &str,
        properties: &[&str],
        after: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>), ApiError> {
        let mut r = self
            .req(Method::GET, format!("/crm/v3/objects/{object}"))
            .query("limit", "100")
            .query("archived", "true");
        if !properties.is_empty() {
            r = r.query("properties", properties.join(","));
        }
        if let Some(a) = after {
            r = r.query("after", a);
        }
        let mut v = self.transport.json(&r.expect(page)).await?;
        let next = v["paging"]["next"]["after"].as_str().map(String::from);
        Ok((super::take_array(&mut v, "results"), next))
    }

    /// Every record of an object type, page after page.
    pub async fn list_all(
        &self,
        object: &str,
        properties: &[&str],
    ) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = self
                .list_page(object, properties, after.as_deref(), 100)
                .await?;
            out.extend(page);
            match next {
                Some(n) => after = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// Search with the caller's filters, ascending by record id, past the 10,000 cap: when a
    /// query nears the cap it restarts from `hs_object_id > last seen` (ties on a timestamp
    /// cannot loop, since ids are unique). `on_page` gets each page; return false to stop.
    pub async fn search_all(
        &self,
        object: &str,
        filters: Vec<Value>,
        properties: &[&str],
        mut on_page: impl FnMut(Vec<Value>) -> bool,
    ) -> Result<usize, ApiError> {
        let mut last_id: Option<u64> = None;
        let mut seen = 0usize;
        loop {
            let mut window_filters = filters.clone();
            if let Some(id) = last_id {
                window_filters.push(json!({"propertyName": "hs_object_id", "operator": "GT", "value": id.to_string()}));
            }
            let mut after = 0usize;
            loop {
                let body = json!({
                    "filterGroups": if window_filters.is_empty() { json!([]) } else { json!([{"filters": window_filters}]) },
                    "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                    "properties": properties,
                    "limit": SEARCH_PAGE,
                    "after": after.to_string(),
                });
                let (results, next) = self.search_page(object, body).await?;
                let n = results.len();
                if let Some(id) = results
                    .last()
                    .and_then(|r| r["id"].as_str())
                    .and_then(|s| s.parse().ok())
                {
                    last_id = Some(id);
                }
                seen += n;
                if n > 0 && !on_page(results) {
                    return Ok(seen);
                }
                match next.and_then(|a| a.parse::<usize>().ok()) {
                    None => return Ok(seen),
                    Some(a) if a + SEARCH_PAGE > SEARCH_CAP => break, // restart the window from last_id
                    Some(a) => after = a,
                }
            }
        }
    }

    /// One search page: its records and the `after` of the next page.
    pub async fn search_page(
        &self,
        object: &str,
        body: Value,
    ) -> Result<(Vec<Value>, Option<String>), ApiError> {
        let (results, next, _) = self.search_page_counted(object, body).await?;
        Ok((results, next))
    }

    /// A search page with the answer's `total` (how many records match in all).
    pub async fn search_page_counted(
        &self,
        object: &str,
        body: Value,
    ) -> Result<(Vec<Value>, Option<String>, Option<u64>), ApiError> {
        let mut v = self
            .transport
            .json(
                &self
                    .req(Method::POST, format!("/crm/v3/objects/{object}/search"))
                    .kind(CallKind::Search)
                    .json(body)
                    .expect(page),
            )
            .await?;
        let next = v["paging"]["next"]["after"].as_str().map(String::from);
        let total = v["total"].as_u64();
        Ok((super::take_array(&mut v, "results"), next, total))
    }

    pub async fn create(&self, object: &str, properties: Value) -> Result<Value, ApiError> {
        self.transport
            .json(
                &self
                    .req(Method::POST, format!("/crm/v3/objects/{object}"))
                    .json(json!({"properties": properties}))
                    .expect(record),
            )
            .await
    }

    pub async fn update(
        &self,
        object: &str,
        id: &str,
        properties: Value,
    ) -> Result<Value, ApiError> {
        self.transport
            .json(
                &self
                    .req(Method::PATCH, format!("/crm/v3/objects/{object}/{id}"))
                    .json(json!({"properties": properties}))
                    .expect(record),
            )
            .await
    }

    pub async fn archive(&self, object: &str, id: &str) -> Result<(), ApiError> {
        self.transport
            .send(&self.req(Method::DELETE, format!("/crm/v3/objects/{object}/{id}")))
            .await
            .map(|_| ())
    }

    /// A batch operation over any number of inputs, 100 per call. Results come back per
    /// input, in input order, where the answer allows matching them (ids for read/update/
    /// upsert, order and `objectWriteTraceId` for create).
    pub async fn batch(
        &self,
        object: &str,
        op: &str,
        inputs: Vec<Value>,
        extra: Value,
    ) -> Result<Vec<ItemResult>, ApiError> {
        // The calls go out together; the transport keeps them within the budget.
        let calls = inputs
            .chunks(BATCH_MAX)
            .map(|chunk| self.batch_call(object, op, chunk, &extra));
        super::all_concat(calls).await
    }

    /// One batch call of at most [`BATCH_MAX`] inputs.
    async fn batch_call(
        &self,
        object: &str,
        op: &str,
        chunk: &[Value],
        extra: &Value,
    ) -> Result<Vec<ItemResult>, ApiError> {
        let mut body = extra.clone();
        // A trace id per input is what HubSpot keys a 207's errors by (and echoes on
        // results); reads and archives take none.
        let chunk: Vec<Value> = if matches!(op, "create" | "update" | "upsert") {
            chunk
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let mut c = c.clone();
                    c["objectWriteTraceId"] = json!(i.to_string());
                    c
                })
                .collect()
        } else {
            chunk.to_vec()
        };
        body["inputs"] = json!(chunk);
        let req = self
            .req(Method::POST, format!("/crm/v3/objects/{object}/batch/{op}"))
            .json(body);
        if op == "archive" {
            self.transport.send(&req).await?;
            return Ok(chunk.into_iter().map(ItemResult::Ok).collect());
        }
        let v = self.transport.json(&req.expect(page)).await?;
        Ok(batch_results(op, &chunk, v))
    }

    pub async fn properties(&self, object: &str) -> Result<Vec<Value>, ApiError> {
        let mut v = self
            .transport
            .json(
                &self
                    .req(Method::GET, format!("/crm/v3/properties/{object}"))
                    .expect(page),
            )
            .await?;
        Ok(super::take_array(&mut v, "results"))
    }

    /// Every member record id of a list.
    pub async fn list_members(&self, list_id: &str) -> Result<Vec<String>, ApiError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut r = self
                .req(Method::GET, format!("/crm/v3/lists/{list_id}/memberships"))
                .query("limit", "250");
            if let Some(a) = &after {
                r = r.query("after", a.clone());
            }
            let v = self.transport.json(&r.expect(page)).await?;
            out.extend(
                v["results"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m["recordId"].as_str().map(String::from)),
            );
            match v["paging"]["next"]["after"].as_str() {
                Some(a) => after = Some(a.to_string()),
                None => return Ok(out),
            }
        }
    }

    /// Associated record ids (v4) of many records at once, 100 per call (sent together).
    pub async fn associations(
        &self,
        from: &str,
        to: &str,
        ids: &[String],
    ) -> Result<Vec<(String, Vec<String>)>, ApiError> {
        let calls = ids.chunks(BATCH_MAX).map(|chunk| async move {
            let inputs: Vec<Value> = chunk.iter().map(|id| json!({"id": id})).collect();
            self.transport
                .json(
                    &self
                        .req(
                            Method::POST,
                            format!("/crm/v4/associations/{from}/{to}/batch/read"),
                        )
                        .json(json!({"inputs": inputs}))
                        .expect(page),
                )
                .await
        });
        let mut out = Vec::new();
        for v in super::all(calls).await? {
            for r in v["results"].as_array().into_iter().flatten() {
                let to_ids = r["to"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| t["toObjectId"].to_string().trim_matches('"').to_string())
                    .collect();
                out.push((
                    r["from"]["id"].as_str().unwrap_or_default().to_string(),
                    to_ids,
                ));
            }
        }
        Ok(out)
    }

    /// Token metadata (hub id, scopes, expiry) of the current access token.
    pub async fn introspect(&self) -> Result<Value, ApiError> {
        let token = self.auth.access_token().await?;
        // The token sits in the path here; the request log redacts `-tokens/` paths.
        self.transport
            .json(
                &self
                    .req(
                        Method::GET,
                        format!("/oauth/v1/access-tokens/{}", token.expose()),
                    )
                    .expect(shape::object),
            )
            .await
    }
}

/// Pair a batch answer's results and errors with its inputs (as sent: with their trace
/// ids): by `objectWriteTraceId`
/// first (HubSpot keys a 207's errors by it and echoes it on results), then by id.
pub fn batch_results(op: &str, inputs: &[Value], mut v: Value) -> Vec<ItemResult> {
    let results = super::take_array(&mut v, "results");
    let errors = super::take_array(&mut v, "errors");
    let error_for = |key: &str, ctx: &str| -> Option<ApiError> {
        errors
            .iter()
            .find(|e| {
                let listed = &e["context"][ctx];
                listed.as_str() == Some(key)
                    || listed
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(key)))
            })
            .map(|e| {
                crate::classify::classify_item(
                    p(),
                    e["category"].as_str().unwrap_or("VALIDATION_ERROR"),
                    e["message"].as_str().unwrap_or("failed"),
                    e,
                )
            })
    };
    let fallback = || {
        ApiError::new(
            p(),
            ErrorClass::Transient,
            "the batch answer did not mention this input; retry it",
        )
    };
    inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let trace = input["objectWriteTraceId"].as_str();
            let by_trace = trace.and_then(|t| {
                results
                    .iter()
                    .find(|r| r["objectWriteTraceId"].as_str() == Some(t))
            });
            let found = by_trace.or_else(|| match op {
                // An answer that echoes no trace id and lost nothing is in input order.
                "create" => (errors.is_empty()
                    && results.len() == inputs.len()
                    && results.iter().all(|r| r["objectWriteTraceId"].is_null()))
                .then(|| &results[i]),
                "upsert" => {
                    let key = input["id"].as_str().unwrap_or_default().to_lowercase();
                    let prop = input["idProperty"].as_str().unwrap_or_default();
                    results
                        .iter()
                        .find(|r| {
                            r["properties"][prop]
                                .as_str()
                                .map(str::to_lowercase)
                                .as_deref()
                                == Some(key.as_str())
                        })
                        // Without the id property echoed back, a complete answer is in input order.
                        .or_else(|| {
                            (errors.is_empty() && results.len() == inputs.len())
                                .then(|| &results[i])
                        })
                }
                _ => results
                    .iter()
                    .find(|r| r["id"].as_str() == input["id"].as_str()),
            });
            match found {
                Some(r) => ItemResult::Ok(r.clone()),
                None => {
                    let key = input["id"]
                        .as_str()
                        .map(String::from)
                        .unwrap_or_else(|| i.to_string());
                    ItemResult::Failed(
                        trace
                            .and_then(|t| error_for(t, "objectWriteTraceId"))
                            .or_else(|| error_for(&key, "ids"))
                            .or_else(|| error_for(&i.to_string(), "index"))
                            .unwrap_or_else(fallback),
                    )
                }
            }
        })
        .collect()
}
