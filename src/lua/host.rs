//! The host API seen from Lua: `hubspot`, `salesforce`, `budget` and `store`, on top of the
//! typed primitives. Calls are async in Rust and look synchronous in Lua; every call carries
//! the plugin's caller tag; the plugin's time limit pauses while the network works.
//!
//! The Rust side exposes raw functions that return `(true, value)` or `(false, error)`; the
//! Lua prelude (`host.lua`) turns them into the natural API and raises error values (tables
//! with `class`, `code`, `message`, `hint`, `retryable`, `status` and a one-line
//! `tostring`) that `pcall` hands back intact.

use std::sync::Arc;

use mlua::{Lua, MultiValue, Value};
use reqwest::Method;
use serde_json::json;

use super::convert::{from_lua, to_lua};
use super::sandbox::CallClock;
use crate::api::hubspot::{HubspotApi, ItemResult};
use crate::api::salesforce::{CollectionOp, SalesforceApi};
use crate::error::{ApiError, ErrorClass, Provider};
use crate::store::PluginStore;

/// What one plugin (or script, or the REPL) may reach.
#[derive(Clone, Default)]
pub struct HostContext {
    pub hubspot: Option<Arc<HubspotApi>>,
    pub salesforce: Option<Arc<SalesforceApi>>,
    pub store: Option<Arc<PluginStore>>,
    /// The store namespace (the plugin's name).
    pub namespace: String,
    /// Why a provider that is `None` is missing (no config, a secret not set): the error its
    /// first use raises. Without one, "not configured for this profile".
    pub unavailable: Vec<ApiError>,
}

impl HostContext {
    /// Host access whose API calls are logged and budgeted under `caller`.
    pub fn for_caller(
        hubspot: Option<&HubspotApi>,
        salesforce: Option<&SalesforceApi>,
        caller: &str,
        store: Option<Arc<PluginStore>>,
        namespace: impl Into<String>,
    ) -> Self {
        HostContext {
            hubspot: hubspot.map(|a| Arc::new(a.for_caller(caller))),
            salesforce: salesforce.map(|a| Arc::new(a.for_caller(caller))),
            store,
            namespace: namespace.into(),
            unavailable: Vec::new(),
        }
    }

    /// With the reasons providers are missing.
    pub fn unavailable(mut self, reasons: &[ApiError]) -> Self {
        self.unavailable = reasons.to_vec();
        self
    }

    /// The error a call to a missing `provider` raises.
    fn missing(&self, provider: Provider) -> ApiError {
        self.unavailable
            .iter()
            .find(|e| e.provider == provider)
            .cloned()
            .unwrap_or_else(|| not_configured(provider))
    }
}

const PRELUDE: &str = include_str!("host.lua");

fn error_value(lua: &Lua, e: &ApiError) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.set("class", e.class.as_str())?;
    t.set("code", e.code.clone())?;
    t.set("message", e.message.clone())?;
    t.set("hint", e.hint.clone())?;
    t.set("retryable", e.retryable())?;
    t.set("status", e.status)?;
    t.set("provider", e.provider.as_str())?;
    t.set("line", e.to_string())?;
    Ok(Value::Table(t))
}

fn not_configured(provider: Provider) -> ApiError {
    ApiError::new(
        provider,
        ErrorClass::AuthClient,
        format!("{} is not configured for this profile", provider.label()),
    )
    .with_hint(format!(
        "add a [profiles.<name>.{}] section to hubforce.toml and run `hubforce connect {}`",
        provider.as_str(),
        provider.as_str()
    ))
}

fn answer(lua: &Lua, r: Result<serde_json::Value, ApiError>) -> mlua::Result<(bool, Value)> {
    match r {
        Ok(v) => Ok((true, to_lua(lua, &v)?)),
        Err(e) => Ok((false, error_value(lua, &e)?)),
    }
}

fn items(results: Vec<ItemResult>) -> serde_json::Value {
    serde_json::Value::Array(
        results
            .into_iter()
            .map(|r| match r {
                ItemResult::Ok(v) => json!({"ok": true, "record": v}),
                ItemResult::Failed(e) => json!({"ok": false, "error": {"class": e.class.as_str(), "code": e.code, "message": e.message, "hint": e.hint, "retryable": e.retryable()}}),
            })
            .collect(),
    )
}

fn method(m: &str) -> Result<Method, ApiError> {
    Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|_| {
        ApiError::new(
            Provider::Hubspot,
            ErrorClass::Validation,
            format!("{m} is not an HTTP method"),
        )
    })
}

/// Register an async raw function `name(args) -> (ok, value)` that needs a provider handle.
macro_rules! raw_fn {
    ($lua:expr, $raw:expr, $clock:expr, $api:expr, $missing:expr, $name:literal, |$l:ident, $a:ident, $args:ident : $ty:ty| $body:expr) => {{
        let api = $api.clone();
        let clock = $clock.clone();
        let missing: ApiError = $missing.clone();
        $raw.set(
            $name,
            $lua.create_async_function(move |$l: Lua, $args: $ty| {
                let api = api.clone();
                let clock = clock.clone();
                let missing = missing.clone();
                async move {
                    let _paused = clock.pause();
                    let r: Result<serde_json::Value, ApiError> = match api.as_ref() {
                        None => Err(missing),
                        Some($a) => $body.await,
                    };
                    answer(&$l, r)
                }
            })?,
        )?;
    }};
}

/// A request body from Lua: nil means none.
fn optional_json(lua: &Lua, value: &Value) -> Result<Option<serde_json::Value>, ApiError> {
    if value.is_nil() {
        return Ok(None);
    }
    from_lua(lua, value.clone())
        .map(Some)
        .map_err(lua_data_error)
}

/// Install `hubspot`, `salesforce`, `budget` and `store` into a state.
pub fn install(lua: &Lua, ctx: HostContext, clock: Arc<CallClock>) -> mlua::Result<()> {
    let raw = lua.create_table()?;
    let hs = ctx.hubspot.clone();
    let sf = ctx.salesforce.clone();
    let hs_missing = ctx.missing(Provider::Hubspot);
    let sf_missing = ctx.missing(Provider::Salesforce);

    raw_fn!(lua, raw, clock, hs, hs_missing, "hs_request", |lua,
                                                            a,
                                                            args: (
        String,
        String,
        Value
    )| async {
        let body = optional_json(&lua, &args.2)?;
        a.request(method(&args.0)?, &args.1, body).await
    });
    raw_fn!(lua, raw, clock, hs, hs_missing, "hs_get", |lua,
                                                        a,
                                                        args: (
        String,
        String,
        Vec<String>,
        Option<String>
    )| async {
        let props: Vec<&str> = args.2.iter().map(String::as_str).collect();
        a.get(&args.0, &args.1, &props, args.3.as_deref()).await
    });
    raw_fn!(lua, raw, clock, hs, hs_missing, "hs_search", |lua,
                                                           a,
                                                           args: (
        String,
        Value,
        Vec<String>,
        usize
    )| async {
        let filters = from_lua(&lua, args.1.clone()).map_err(lua_data_error)?;
        let filters: Vec<serde_json::Value> = filters.as_array().cloned().unwrap_or_default();
        let props: Vec<&str> = args.2.iter().map(String::as_str).collect();
        let limit = args.3.max(1);
        let mut out = Vec::new();
        a.search_all(&args.0, filters, &props, |page| {
            out.extend(page);
            out.len() < limit
        })
        .await?;
        out.truncate(limit);
        Ok(serde_json::Value::Array(out))
    });
    raw_fn!(lua, raw, clock, hs, hs_missing, "hs_write", |lua,
                                                          a,
                                                          args: (
        String,
        String,
        Option<String>,
        Value
    )| async {
        let props = from_lua(&lua, args.3.clone()).map_err(lua_data_error)?;
        match args.0.as_str() {
            "create" => a.create(&args.1, props).await,
            "update" => {
                a.update(&args.1, args.2.as_deref().unwrap_or_default(), props)
                    .await
            }
            _ => a
                .archive(&args.1, args.2.as_deref().unwrap_or_default())
                .await
                .map(|_| serde_json::Value::Null),
        }
    });
    raw_fn!(lua, raw, clock, hs, hs_missing, "hs_batch", |lua,
                                                          a,
                                                          args: (
        String,
        String,
        Value
    )| async {
        let inputs = from_lua(&lua, args.2.clone()).map_err(lua_data_error)?;
        let inputs = inputs.as_array().cloned().unwrap_or_default();
        a.batch(&args.0, &args.1, inputs, json!({}))
            .await
            .map(items)
    });
    raw_fn!(
        lua,
        raw,
        clock,
        hs,
        hs_missing,
        "hs_properties",
        |lua, a, args: String| async { a.properties(&args).await.map(serde_json::Value::Array) }
    );
    raw_fn!(
        lua,
        raw,
        clock,
        hs,
        hs_missing,
        "hs_list_members",
        |lua, a, args: String| async { a.list_members(&args).await.map(|m| json!(m)) }
    );

    raw_fn!(lua, raw, clock, sf, sf_missing, "sf_request", |lua,
                                                            a,
                                                            args: (
        String,
        String,
        Value
    )| async {
        let body = optional_json(&lua, &args.2)?;
        a.request(method(&args.0)?, &args.1, body).await
    });
    raw_fn!(
        lua,
        raw,
        clock,
        sf,
        sf_missing,
        "sf_query_page",
        |lua, a, args: (Option<String>, Option<String>, bool)| async {
            let (records, next) = a
                .query_page(args.0.as_deref(), args.1.as_deref(), args.2)
                .await?;
            Ok(json!({"records": records, "next": next}))
        }
    );
    raw_fn!(lua, raw, clock, sf, sf_missing, "sf_sobject", |lua,
                                                            a,
                                                            args: (
        String,
        String,
        Option<String>,
        Value,
        Option<String>
    )| async {
        let (op, sobject, id) = (
            args.0.as_str(),
            args.1.as_str(),
            args.2.as_deref().unwrap_or_default(),
        );
        let fields = if args.3.is_nil() {
            json!({})
        } else {
            from_lua(&lua, args.3.clone()).map_err(lua_data_error)?
        };
        match op {
            "get" => {
                let names: Vec<String> = fields
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str().map(String::from))
                    .collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                a.get(sobject, id, &names).await
            }
            "create" => a.create(sobject, fields).await.map(|id| json!({"id": id})),
            "update" => a
                .update(sobject, id, fields)
                .await
                .map(|_| serde_json::Value::Null),
            "delete" => a.delete(sobject, id).await.map(|_| serde_json::Value::Null),
            _ => {
                let field = args.4.clone().unwrap_or_default();
                a.upsert(sobject, &field, id, fields)
                    .await
                    .map(|(id, created)| json!({"id": id, "created": created}))
            }
        }
    });
    raw_fn!(
        lua,
        raw,
        clock,
        sf,
        sf_missing,
        "sf_collection",
        |lua, a, args: (String, Value, bool, Option<String>, Option<String>)| async {
            let records = from_lua(&lua, args.1.clone()).map_err(lua_data_error)?;
            let records = records.as_array().cloned().unwrap_or_default();
            let op = match args.0.as_str() {
                "create" => CollectionOp::Create,
                "update" => CollectionOp::Update,
                "delete" => CollectionOp::Delete,
                _ => CollectionOp::Upsert {
                    sobject: args.3.clone().unwrap_or_default(),
                    field: args.4.clone().unwrap_or_default(),
                },
            };
            a.collection(op, records, args.2).await.map(items)
        }
    );
    raw_fn!(
        lua,
        raw,
        clock,
        sf,
        sf_missing,
        "sf_describe",
        |lua, a, args: String| async { a.describe(&args).await }
    );
    raw_fn!(
        lua,
        raw,
        clock,
        sf,
        sf_missing,
        "sf_limits",
        |lua, a, _args: ()| async { a.limits().await }
    );

    let (hs_b, sf_b) = (ctx.hubspot.clone(), ctx.salesforce.clone());
    raw.set(
        "budget",
        lua.create_function(move |lua, provider: String| {
            let report = match provider.as_str() {
                "hubspot" => hs_b.as_ref().map(|a| a.transport.budget.report()),
                "salesforce" => sf_b.as_ref().map(|a| a.transport.budget.report()),
                _ => None,
            };
            match report {
                Some(r) => to_lua(
                    lua,
                    &serde_json::to_value(r).map_err(mlua::Error::external)?,
                ),
                None => Ok(Value::Nil),
            }
        })?,
    )?;

    let store_table = lua.create_table()?;
    let ns = ctx.namespace.clone();
    let st = ctx.store.clone();
    let store_err = |e: rusqlite::Error| mlua::Error::runtime(format!("store: {e}"));
    let need_store =
        || mlua::Error::runtime("store is not available here (no profile state directory)");
    {
        let (ns, st) = (ns.clone(), st.clone());
        store_table.set(
            "get",
            lua.create_function(move |lua, key: String| {
                let s = st.as_ref().ok_or_else(need_store)?;
                match s.get(&ns, &key).map_err(store_err)? {
                    Some(v) => to_lua(lua, &v),
                    None => Ok(Value::Nil),
                }
            })?,
        )?;
    }
    {
        let (ns, st) = (ns.clone(), st.clone());
        store_table.set(
            "set",
            lua.create_function(move |lua, (key, value): (String, Value)| {
                let s = st.as_ref().ok_or_else(need_store)?;
                if value.is_nil() {
                    return s.delete(&ns, &key).map_err(store_err);
                }
                let v = from_lua(lua, value)?;
                s.set(&ns, &key, &v).map_err(store_err)
            })?,
        )?;
    }
    {
        let (ns, st) = (ns.clone(), st.clone());
        store_table.set(
            "keys",
            lua.create_function(move |_, ()| {
                let s = st.as_ref().ok_or_else(need_store)?;
                s.keys(&ns).map_err(store_err)
            })?,
        )?;
    }
    lua.globals().set("store", store_table)?;

    let prelude: mlua::Function = lua
        .load(PRELUDE)
        .set_name("@hubforce/host.lua")
        .into_function()?;
    prelude.call::<MultiValue>(raw)?;
    Ok(())
}

fn lua_data_error(e: mlua::Error) -> ApiError {
    ApiError::new(
        Provider::Hubspot,
        ErrorClass::Validation,
        format!("the Lua value has no JSON form: {e}"),
    )
    .with_hint("pass tables of strings, numbers, booleans and nested tables (json.null for null)")
}
