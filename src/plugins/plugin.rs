//! One loaded plugin: its manifest, its own sandboxed Lua state, the hooks its `init.lua`
//! returned (validated), and calls into them under the plugin's limits. Errors name the
//! plugin, its generation, the hook and the file:line in the plugin.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mlua::{Function, Lua, Value};

use super::manifest::Manifest;
use crate::lua::convert::{from_lua, to_lua};
use crate::lua::host::{HostContext, install as install_host};
use crate::lua::modules::{json_module, log_module};
use crate::lua::sandbox::{CallClock, Limits, RequirePath, load_file, new_state};
use crate::sync::pair_decl::{PairDecl, PairDeclError};

const RUNNER: &str = include_str!("runner.lua");

/// `transform` given as `{ Lead = { Rating = function(record, ctx) … end }, contacts = {…} }`:
/// per target object (an sObject going to Salesforce, a HubSpot object type going to
/// HubSpot), one function per field, returning its value (nil leaves the field alone).
const PER_FIELD: &str = r#"
return function(by_target)
  return function(record, ctx)
    local target = ctx and (ctx.direction == "to_salesforce" and ctx.sobject or ctx.object)
    local fields = target and by_target[target]
    if fields == nil then return nil end
    local out = {}
    for name, f in pairs(fields) do
      local v = f(record, ctx)
      if v ~= nil then out[name] = v end
    end
    if next(out) == nil then return nil end
    return out
  end
end
"#;

/// Runs a plugin's `checks(report)` hook with the report API (`ok`, `info`, `warn`, `error`,
/// each `(message, hint)`) and returns what it reported. A hook that returns a table instead
/// (older plugins) has that table reported as `returned`.
const CHECKS_RUNNER: &str = r#"
return function(checks)
  local items = {}
  local function add(status)
    return function(message, hint)
      items[#items + 1] = { status = status, message = tostring(message), hint = hint and tostring(hint) or nil }
    end
  end
  local report = { ok = add("ok"), info = add("info"), warn = add("warn"), error = add("error") }
  local returned = checks(report)
  return { items = items, returned = returned }
end
"#;

/// A per-field `transform` table must map target objects to tables of functions.
/// A per-field transform table's shape, and the fields it sets per target object.
fn per_field_shape(t: &mlua::Table) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in t.pairs::<Value, Value>() {
        let (target, fields) = pair.map_err(|e| format!(": {e}"))?;
        let target = match target {
            Value::String(s) => s.to_string_lossy(),
            other => {
                return Err(format!(
                    " has a key of type {}: use object names like Lead or contacts",
                    other.type_name()
                ));
            }
        };
        let Value::Table(fields) = fields else {
            return Err(format!(
                ".{target} must be a table of field = function(record, ctx)"
            ));
        };
        for f in fields.pairs::<Value, Value>() {
            let (field, func) = f.map_err(|e| format!(": {e}"))?;
            let field = match field {
                Value::String(s) => s.to_string_lossy(),
                other => other.type_name().to_string(),
            };
            if !matches!(func, Value::Function(_)) {
                return Err(format!(
                    ".{target}.{field} must be a function(record, ctx), got {}",
                    func.type_name()
                ));
            }
            out.entry(target.clone()).or_default().push(field);
        }
    }
    Ok(out)
}

/// What a load may bring besides the plugin's folder.
#[derive(Default, Clone, Copy)]
pub struct LoadOptions<'a> {
    /// `scripts/lib`, on the require path.
    pub lib: Option<&'a Path>,
    /// The host API; None for pure plugins (tests of hooks, benchmarks).
    pub host: Option<&'a HostContext>,
    /// The profile's overrides of the manifest's limits.
    pub limits: Option<&'a super::manifest::LimitSettings>,
    /// The plugin's path under `plugins/` (`examples/northwind`), which keys its store;
    /// the folder name when None.
    pub path: Option<&'a str>,
}

/// The store namespace of the plugin at `path` under `plugins/`: by its full path, so two
/// plugins can never share one, and never a namespace of the REPL's or a script's.
pub fn store_namespace(path: &str) -> String {
    format!("plugin:{path}")
}

/// The hooks a plugin may return; all optional.
pub const HOOKS: &[&str] = &[
    "include",
    "mappings",
    "pairs",
    "transform",
    "resolve",
    "checks",
    "on_sync_start",
    "on_sync_end",
    "on_delete",
    "on_alert",
];

#[derive(Debug, Clone, thiserror::Error)]
pub enum PluginError {
    #[error("plugin {plugin}: {message}")]
    Load { plugin: String, message: String },
    /// The profile names a plugin that has no folder.
    #[error("plugin {plugin}: no folder {path}")]
    NotFound { plugin: String, path: String },
    /// A setting in hubforce.toml its schema refuses.
    #[error("plugin {plugin}: {message}")]
    Setting {
        plugin: String,
        key: String,
        message: String,
    },
    #[error("plugin {plugin} (generation {generation}), hook {hook}: {message}")]
    Hook {
        plugin: String,
        generation: u64,
        hook: String,
        message: String,
    },
}

impl PluginError {
    /// The Lua traceback is left out of the one-line message; this is the message.
    pub fn message(&self) -> &str {
        match self {
            PluginError::Load { message, .. }
            | PluginError::Setting { message, .. }
            | PluginError::Hook { message, .. } => message,
            PluginError::NotFound { .. } => "no folder",
        }
    }
}

pub use crate::lua::errors::describe;

/// Levenshtein distance, for "did you mean" on hook names.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

pub struct Plugin {
    pub manifest: Manifest,
    pub dir: PathBuf,
    pub generation: u64,
    pub settings: toml::Table,
    pub limits: Limits,
    /// API calls per provider its own code may make in one pass.
    pub calls_per_pass: u64,
    lua: Lua,
    clock: Arc<CallClock>,
    /// Held by async calls for their whole run; see [`Plugin::call`].
    gate: tokio::sync::Mutex<()>,
    hook_values: Vec<(&'static str, Value)>,
    /// The fields a per-field `transform` table sets, by target object.
    pub transform_fields: BTreeMap<String, Vec<String>>,
    /// The object pairs its `pairs` hook declares, read and checked once at load.
    pub pairs: BTreeMap<String, PairDecl>,
    /// The folder as the profile names it (`examples/northwind`).
    shown: String,
}

/// What a `pairs` hook (a table, or a function returning one) declares, checked on its own
/// (the links between pairs are checked once every plugin has loaded).
fn declared_pairs(
    lua: &Lua,
    v: &Value,
    clock: &Arc<CallClock>,
    limits: Limits,
) -> Result<Result<BTreeMap<String, PairDecl>, PairDeclError>, String> {
    let table = match v {
        Value::Function(f) => {
            let _armed = clock.start();
            f.call::<Value>(()).map_err(|e| describe(&e, limits))?
        }
        other => other.clone(),
    };
    let json = from_lua(lua, table).map_err(|e| describe(&e, limits))?;
    Ok(crate::sync::pair_decl::parse(&json))
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.manifest.name)
            .field("generation", &self.generation)
            .finish()
    }
}

/// A pair declaration's error at the line that makes it: the pair's own line in init.lua,
/// then the first line after it with the key the error is about (`create_as`, `pair`, an
/// unknown key); the `pairs` hook's line when the pair's name is not to be found.
/// The plugin's folder `dir` is shown as `label` (`plugins/examples/tickets`); its init.lua is
/// read only now, for the line.
pub fn locate_pair_error(dir: &Path, label: &str, e: &PairDeclError) -> String {
    let source = std::fs::read_to_string(dir.join("init.lua")).unwrap_or_default();
    format!("{label}/init.lua:{}: {e}", pair_error_line(&source, e))
}

fn pair_error_line(source: &str, e: &PairDeclError) -> usize {
    let lines: Vec<&str> = source.lines().collect();
    let is_key = |line: &str, key: &str| {
        let t = line.trim_start();
        let bare = t
            .strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with('=') && !r.trim_start().starts_with("=="));
        bare || t.starts_with(&format!("[\"{key}\"]"))
            || t.contains(&format!(" {key} ="))
            || t.contains(&format!("{{ {key} ="))
            || t.contains(&format!("{{{key} ="))
    };
    let hook = lines
        .iter()
        .position(|l| is_key(l, "pairs") || l.contains("function M.pairs"))
        .unwrap_or(0);
    let Some(own) = (hook..lines.len())
        .chain(0..hook)
        .find(|&i| is_key(lines[i], &e.pair))
    else {
        return hook + 1;
    };
    // Down the path (`.record_types[2].record_type`: the second `record_type` after
    // `record_types`), then to a quoted unknown key.
    let find = |from: usize, key: &str, nth: usize| {
        (from..lines.len())
            .filter(|&i| is_key(lines[i], key))
            .nth(nth.saturating_sub(1))
    };
    let segments: Vec<(&str, usize)> = e
        .path
        .split('.')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse().unwrap_or(1)),
            None => (p, 0),
        })
        .collect();
    let mut at = own;
    let mut nth = 1;
    for (name, idx) in segments {
        match find(at, name, nth) {
            Some(i) => at = i,
            None => break,
        }
        nth = idx.max(1);
    }
    let unknown = e
        .message
        .split('`')
        .nth(1)
        .filter(|_| e.message.contains("unknown field"));
    if let Some(i) = unknown.and_then(|k| find(at, k, 1)) {
        at = i;
    }
    at + 1
}

impl Plugin {
    /// Load `dir` (a folder with plugin.toml and init.lua) into a fresh state and validate it.
    pub fn load(
        dir: &Path,
        given: &toml::Table,
        generation: u64,
        lib_dir: Option<&Path>,
    ) -> Result<Plugin, PluginError> {
        Plugin::load_with_host(dir, given, generation, lib_dir, None)
    }

    /// Load with the host API (`hubspot`, `salesforce`, `budget`, `store`) installed; calls
    /// are tagged `plugin:<name>` and capped by the manifest's budget.
    pub fn load_with_host(
        dir: &Path,
        given: &toml::Table,
        generation: u64,
        lib_dir: Option<&Path>,
        host: Option<&HostContext>,
    ) -> Result<Plugin, PluginError> {
        Plugin::load_with(
            dir,
            given,
            generation,
            &LoadOptions {
                lib: lib_dir,
                host,
                limits: None,
                path: None,
            },
        )
    }

    /// Load with everything: shared lib folder, host API, and the profile's limit overrides.
    pub fn load_with(
        dir: &Path,
        given: &toml::Table,
        generation: u64,
        opts: &LoadOptions,
    ) -> Result<Plugin, PluginError> {
        let (lib_dir, host) = (opts.lib, opts.host);
        let folder = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Named as the profile enables it (`examples/northwind`): the path a person can open.
        let shown = opts
            .path
            .map(String::from)
            .unwrap_or_else(|| folder.clone());
        let fail = |message: String| PluginError::Load {
            plugin: shown.clone(),
            message,
        };
        let label = format!("plugins/{shown}");
        let manifest_text = std::fs::read_to_string(dir.join("plugin.toml"))
            .map_err(|e| fail(format!("cannot read {label}/plugin.toml: {e}")))?;
        let manifest =
            Manifest::parse(&manifest_text, &format!("{label}/plugin.toml")).map_err(fail)?;
        if manifest.name != folder {
            return Err(fail(format!(
                "{label}/plugin.toml names the plugin `{}`; the folder and the name must match",
                manifest.name
            )));
        }
        let settings = manifest.settings(given).map_err(|e| PluginError::Setting {
            plugin: shown.clone(),
            key: e.key,
            message: e.message,
        })?;
        let resolved = manifest
            .limits
            .resolve(opts.limits, &format!("{label}/plugin.toml"), &manifest.name)
            .map_err(fail)?;
        let limits = Limits {
            memory_bytes: (resolved.memory_mb as usize) * 1024 * 1024,
            call_time: Duration::from_millis(resolved.call_ms),
        };
        let mut roots = vec![(dir.to_path_buf(), label.clone())];
        if let Some(lib) = lib_dir {
            roots.push((lib.to_path_buf(), "scripts/lib".into()));
        }
        let lua_err = |e: mlua::Error| fail(describe(&e, limits));
        let (lua, clock) = new_state(limits, RequirePath { roots }).map_err(lua_err)?;
        let g = lua.globals();
        let settings_json = serde_json::to_value(&settings).map_err(|e| fail(e.to_string()))?;
        g.set("config", to_lua(&lua, &settings_json).map_err(lua_err)?)
            .map_err(lua_err)?;
        g.set("json", json_module(&lua).map_err(lua_err)?)
            .map_err(lua_err)?;
        let log = log_module(&lua, &manifest.name).map_err(lua_err)?;
        g.set("print", log.get::<Function>("info").map_err(lua_err)?)
            .map_err(lua_err)?;
        g.set("log", log).map_err(lua_err)?;

        if let Some(h) = host {
            let caller = format!("plugin:{}", manifest.name);
            if let Some(a) = &h.hubspot {
                a.transport.budget.set_caller_caps(
                    &caller,
                    manifest.budget.hubspot,
                    resolved.calls_per_pass,
                );
            }
            if let Some(a) = &h.salesforce {
                a.transport.budget.set_caller_caps(
                    &caller,
                    manifest.budget.salesforce,
                    resolved.calls_per_pass,
                );
            }
            let namespace = store_namespace(opts.path.unwrap_or(&manifest.name));
            if let Some(store) = &h.store {
                // Stores were keyed by the bare name before; the first plugin of that name
                // takes over what it had.
                store
                    .adopt(&manifest.name, &namespace)
                    .map_err(|e| fail(format!("store: {e}")))?;
            }
            let ctx = HostContext::for_caller(
                h.hubspot.as_deref(),
                h.salesforce.as_deref(),
                &caller,
                h.store.clone(),
                namespace,
            );
            install_host(&lua, ctx, clock.clone()).map_err(lua_err)?;
        }
        let init = dir.join("init.lua");
        let chunk = load_file(
            &lua,
            &init,
            &format!("{label}/init.lua"),
            Some((dir, &label)),
        )
        .map_err(lua_err)?;
        let returned: Value = {
            let _armed = clock.start();
            chunk.call(()).map_err(lua_err)?
        };
        let Value::Table(hooks) = returned else {
            return Err(fail(format!(
                "{label}/init.lua must return a table of hooks (got {})",
                returned.type_name()
            )));
        };
        let mut transform_fields = BTreeMap::new();
        for pair in hooks.pairs::<Value, Value>() {
            let (k, v) = pair.map_err(lua_err)?;
            let name = k.to_string().unwrap_or_default();
            if !HOOKS.contains(&name.as_str()) {
                let close = HOOKS
                    .iter()
                    .min_by_key(|h| distance(h, &name))
                    .filter(|h| distance(h, &name) <= 3);
                let hint = close
                    .map(|h| format!(" (did you mean `{h}`?)"))
                    .unwrap_or_default();
                return Err(fail(format!(
                    "{label}/init.lua returns an unknown hook `{name}`{hint}; hooks are {}",
                    HOOKS.join(", ")
                )));
            }
            let ok = matches!(v, Value::Function(_))
                || (matches!(name.as_str(), "mappings" | "pairs" | "transform")
                    && matches!(v, Value::Table(_)));
            if !ok {
                return Err(fail(format!(
                    "{label}/init.lua: hook `{name}` must be a function{}, got {}",
                    match name.as_str() {
                        "mappings" | "pairs" => " or a table",
                        "transform" => " or a table of per-field functions by target object",
                        _ => "",
                    },
                    v.type_name()
                )));
            }
            if name == "transform"
                && let Value::Table(t) = &v
            {
                transform_fields = per_field_shape(t)
                    .map_err(|m| fail(format!("{label}/init.lua: transform{m}")))?;
            }
        }
        drop(g);
        let mut hook_values = Vec::new();
        for name in HOOKS {
            let mut v: Value = hooks.get(*name).map_err(lua_err)?;
            if *name == "transform"
                && let Value::Table(t) = &v
            {
                // Per-field transforms become one per-record function.
                let wrap: Function = lua
                    .load(PER_FIELD)
                    .set_name("=hubforce/per-field-transform")
                    .eval()
                    .map_err(lua_err)?;
                v = Value::Function(wrap.call(t.clone()).map_err(lua_err)?);
            }
            if !v.is_nil() {
                hook_values.push((*name, v));
            }
        }
        let pairs = match hook_values.iter().find(|(n, _)| *n == "pairs") {
            None => BTreeMap::new(),
            Some((_, v)) => declared_pairs(&lua, v, &clock, limits)
                .map_err(fail)?
                .map_err(|e| fail(locate_pair_error(dir, &label, &e)))?,
        };
        Ok(Plugin {
            pairs,
            shown: shown.clone(),
            manifest,
            dir: dir.to_path_buf(),
            generation,
            settings,
            limits,
            calls_per_pass: resolved.calls_per_pass,
            lua,
            clock,
            gate: tokio::sync::Mutex::new(()),
            hook_values,
            transform_fields,
        })
    }

    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The folder under `plugins/` as the profile names it (`examples/northwind`).
    pub fn label(&self) -> &str {
        &self.shown
    }

    /// What the plugin says its `transform` writes, by target object: its manifest's
    /// `writes` and the fields of a per-field transform table.
    pub fn declared_writes(&self) -> BTreeMap<String, Vec<String>> {
        let mut out = self.manifest.writes.clone();
        for (object, fields) in &self.transform_fields {
            out.entry(object.clone())
                .or_default()
                .extend(fields.iter().cloned());
        }
        out
    }

    pub fn has(&self, hook: &str) -> bool {
        self.hook_values.iter().any(|(n, _)| *n == hook)
    }

    pub fn hook_names(&self) -> Vec<String> {
        HOOKS
            .iter()
            .filter(|h| self.has(h))
            .map(|h| h.to_string())
            .collect()
    }

    /// Memory the plugin's state uses now.
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    fn hook_error(&self, hook: &str, mut message: String) -> PluginError {
        if message.starts_with("memory limit") && !message.contains(" near ") {
            let near = self.clock.last_location();
            if !near.is_empty() {
                message = format!("{message} near {near}");
            }
        }
        PluginError::Hook {
            plugin: self.manifest.name.clone(),
            generation: self.generation,
            hook: hook.into(),
            message,
        }
    }

    /// Host-side work on the state (converting arguments and results) runs with the memory
    /// limit lifted: with a limit set, mlua protects every table and string operation, which
    /// makes a 20-field record cost several times more. Lua code itself always runs limited.
    fn relaxed<R>(&self, relax: bool, f: impl FnOnce() -> R) -> R {
        if !relax {
            return f();
        }
        let _ = self.lua.set_memory_limit(0);
        let r = f();
        let _ = self.lua.set_memory_limit(self.limits.memory_bytes);
        r
    }

    /// The hook's function and its converted arguments, or the value of a data hook.
    fn prepare(
        &self,
        hook: &str,
        args: &[serde_json::Value],
        relax: bool,
    ) -> Result<Result<(Function, mlua::MultiValue), serde_json::Value>, PluginError> {
        let err = |e: mlua::Error| self.hook_error(hook, describe(&e, self.limits));
        self.relaxed(relax, || {
            // The hook table is read once at load; a plugin cannot swap hooks mid-generation.
            let v: Value = self
                .hook_values
                .iter()
                .find(|(n, _)| *n == hook)
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Nil);
            let f = match v {
                Value::Function(f) => f,
                Value::Nil => {
                    return Err(self.hook_error(hook, "the plugin has no such hook".into()));
                }
                other => return from_lua(&self.lua, other).map(Err).map_err(err),
            };
            let mut lua_args = Vec::with_capacity(args.len());
            for a in args {
                lua_args.push(to_lua(&self.lua, a).map_err(err)?);
            }
            Ok(Ok((f, mlua::MultiValue::from_vec(lua_args))))
        })
    }

    fn result(
        &self,
        hook: &str,
        out: Value,
        relax: bool,
    ) -> Result<serde_json::Value, PluginError> {
        self.relaxed(relax, || from_lua(&self.lua, out))
            .map_err(|e| {
                self.hook_error(
                    hook,
                    format!(
                        "returned a value with no JSON form: {}",
                        describe(&e, self.limits)
                    ),
                )
            })
    }

    /// Call a pure hook with JSON arguments; returns its JSON result (null for nil). The
    /// `mappings` hook may be a plain table, returned as is.
    pub fn call(
        &self,
        hook: &str,
        args: &[serde_json::Value],
    ) -> Result<serde_json::Value, PluginError> {
        // Lifting the limit is safe only while no async call of this plugin is suspended.
        let gate = self.gate.try_lock();
        let relax = gate.is_ok();
        let (f, lua_args) = match self.prepare(hook, args, relax)? {
            Ok(call) => call,
            Err(data) => return Ok(data),
        };
        let out: Value = {
            let _armed = self.clock.start();
            f.call(lua_args)
                .map_err(|e| self.hook_error(hook, describe(&e, self.limits)))?
        };
        self.result(hook, out, relax)
    }

    /// Call a hook that may use the host API (checks, on_sync_start, scripts): async, so the
    /// plugin's `hubspot.*`/`salesforce.*` calls await the network without blocking. Async
    /// calls of one plugin run one at a time.
    pub async fn call_async(
        &self,
        hook: &str,
        args: &[serde_json::Value],
    ) -> Result<serde_json::Value, PluginError> {
        let _gate = self.gate.lock().await;
        let (f, lua_args) = match self.prepare(hook, args, true)? {
            Ok(call) => call,
            Err(data) => return Ok(data),
        };
        let out: Value = {
            let _armed = self.clock.start();
            f.call_async(lua_args)
                .await
                .map_err(|e| self.hook_error(hook, describe(&e, self.limits)))?
        };
        self.result(hook, out, true)
    }

    /// Run one test file (`tests/*.lua`) in the plugin's state with the describe / it /
    /// expect runner; `plugin` is the table of the plugin's hooks. Returns the cases.
    pub async fn run_test_file(
        &self,
        file: &Path,
        label: &str,
    ) -> Result<serde_json::Value, PluginError> {
        let _gate = self.gate.lock().await;
        let err = |e: mlua::Error| self.hook_error("test", describe(&e, self.limits));
        let g = self.lua.globals();
        self.lua
            .load(RUNNER)
            .set_name("@hubforce/runner.lua")
            .exec()
            .map_err(err)?;
        let hooks = self.lua.create_table().map_err(err)?;
        for (name, v) in &self.hook_values {
            hooks.set(*name, v.clone()).map_err(err)?;
        }
        g.set("plugin", hooks).map_err(err)?;
        let folder = format!("plugins/{}", self.manifest.name);
        let chunk = load_file(&self.lua, file, label, Some((&self.dir, &folder))).map_err(err)?;
        {
            // Tests may be slow (API round trips) but not endless.
            let _armed = self.clock.start();
            chunk.call_async::<()>(()).await.map_err(err)?;
        }
        let results: mlua::Function = g.get("__results").map_err(err)?;
        let v: Value = results.call(()).map_err(err)?;
        from_lua(&self.lua, v).map_err(err)
    }

    /// Run the plugin's `checks` hook (host API allowed) and return
    /// `{items = [{status, message, hint}], returned}`.
    pub async fn run_checks(&self) -> Result<serde_json::Value, PluginError> {
        let _gate = self.gate.lock().await;
        let err = |e: mlua::Error| self.hook_error("checks", describe(&e, self.limits));
        let Some(Value::Function(hook)) = self
            .hook_values
            .iter()
            .find(|(n, _)| *n == "checks")
            .map(|(_, v)| v.clone())
        else {
            return Err(self.hook_error("checks", "the plugin has no checks hook".into()));
        };
        let runner: Function = self
            .lua
            .load(CHECKS_RUNNER)
            .set_name("=hubforce/checks")
            .eval()
            .map_err(err)?;
        let out: Value = {
            let _armed = self.clock.start();
            runner.call_async(hook).await.map_err(err)?
        };
        self.result("checks", out, true)
    }

    /// Run Lua source in the plugin's state asynchronously (host API allowed).
    pub async fn eval_async(&self, source: &str) -> Result<serde_json::Value, PluginError> {
        let _armed = self.clock.start();
        let v: Value = self
            .lua
            .load(source)
            .set_name("=eval")
            .set_mode(mlua::chunk::ChunkMode::Text)
            .eval_async()
            .await
            .map_err(|e| self.hook_error("eval", describe(&e, self.limits)))?;
        from_lua(&self.lua, v).map_err(|e| self.hook_error("eval", describe(&e, self.limits)))
    }

    /// The plugin's own state for the REPL's `:plugin`, with its hooks as the global
    /// `plugin` (as in its tests) and its clock (time limit, Ctrl-C).
    pub fn repl_env(&self) -> mlua::Result<(Lua, Arc<CallClock>)> {
        let hooks = self.lua.create_table()?;
        for (name, v) in &self.hook_values {
            hooks.set(*name, v.clone())?;
        }
        self.lua.globals().set("plugin", hooks)?;
        Ok((self.lua.clone(), self.clock.clone()))
    }

    /// Run Lua source in the plugin's state (tests, the REPL's `:plugin`).
    pub fn eval(&self, source: &str) -> Result<serde_json::Value, PluginError> {
        let _armed = self.clock.start();
        let v: Value = self
            .lua
            .load(source)
            .set_name("=eval")
            .set_mode(mlua::chunk::ChunkMode::Text)
            .eval()
            .map_err(|e| self.hook_error("eval", describe(&e, self.limits)))?;
        from_lua(&self.lua, v).map_err(|e| self.hook_error("eval", describe(&e, self.limits)))
    }
}

#[cfg(test)]
mod tests {
    use super::distance;

    #[test]
    fn close_names_are_close() {
        assert_eq!(distance("inclde", "include"), 1);
        assert!(distance("transform", "include") > 3);
    }
}
