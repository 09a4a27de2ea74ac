//! One REPL session: a sandboxed Lua state with the plugins' host API under the caller tag
//! `repl`, evaluation (an expression prints its values without `return`), the `:` commands,
//! and what `:more`, `:trace` and `:save` need.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mlua::{Function, Lua, MultiValue, RegistryKey, Table, Value};
use tokio::sync::Notify;

use super::complete::FieldCache;
use super::help;
use super::pretty::{self, Limits};
use crate::lua::convert::from_lua;
use crate::lua::host::{HostContext, install};
use crate::lua::modules::{json_module, log_module};
use crate::lua::sandbox::{CallClock, RequirePath, new_state};
use crate::lua::script::SCRIPT_LIMITS;
use crate::plugins::PluginSet;
use crate::plugins::plugin::Plugin;
use crate::session::Session;

#[derive(Debug, thiserror::Error)]
pub enum ReplError {
    #[error("the REPL's Lua state: {0}")]
    Lua(#[from] mlua::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Evaluates a chunk and keeps what a failure needs: `(true, packed results)` or `(false,
/// error value, traceback)`. Lua 5.4 lets async host calls yield through `xpcall`.
const RUNNER: &str = r#"
local traceback, pack, xpcall = debug.traceback, table.pack, xpcall
return function(f)
  local trace
  local r = pack(xpcall(f, function(e)
    trace = traceback(nil, 2)
    return e
  end))
  if r[1] then return true, r end
  return false, r[2], trace
end
"#;
const RUNNER_KEY: &str = "hubforce.repl.runner";

/// Wraps `salesforce.describe` and `hubspot.properties` so that completion learns the
/// field and property names they return.
const LEARN: &str = r#"
local seen = ...
local describe, properties = salesforce.describe, hubspot.properties
function salesforce.describe(name)
  local d = describe(name)
  local names = {}
  for _, f in ipairs(d.fields or {}) do names[#names + 1] = f.name end
  seen("sobject", d.name or name, names)
  return d
end
function hubspot.properties(object)
  local p = properties(object)
  local names = {}
  for _, x in ipairs(p) do names[#names + 1] = x.name end
  seen("hubspot", object, names)
  return p
end
"#;

/// What one input produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Text to print (may be empty).
    Text(String),
    /// An error, one line; `:trace` shows the traceback.
    Error(String),
    Quit,
}

/// How an evaluation ended, before rendering.
enum Evaluated {
    Values(Lua, Vec<Value>),
    Failed(String, Option<String>),
}

pub struct Repl {
    config_path: PathBuf,
    base: PathBuf,
    session: Session,
    home: Lua,
    home_clock: Arc<CallClock>,
    /// The state input goes to: the REPL's own, or a plugin's after `:plugin NAME`.
    pub current: Arc<Mutex<Lua>>,
    /// That state's clock, for Ctrl-C.
    pub current_clock: Arc<Mutex<Arc<CallClock>>>,
    pub fields: Arc<Mutex<FieldCache>>,
    plugins: Option<Arc<PluginSet>>,
    /// The plugin whose state is current (kept alive while it is).
    plugin: Option<Arc<Plugin>>,
    last: Option<(Lua, RegistryKey, Limits)>,
    last_trace: Option<String>,
    /// Successful inputs of the REPL's own state, for `:save` (expression, source).
    inputs: Vec<(bool, String)>,
    pub colour: bool,
    /// Ctrl-C: wakes the evaluation to drop it.
    pub cancel: Arc<Notify>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Repl {
    /// A state for `session`; nothing touches the network until a provider is first used.
    pub fn new(config_path: &Path, base: &Path, session: Session) -> Result<Repl, ReplError> {
        let lib = base.join("scripts/lib");
        let (lua, clock) = new_state(
            SCRIPT_LIMITS,
            RequirePath {
                roots: vec![(lib, "scripts/lib".into())],
            },
        )?;
        lua.globals().set("json", json_module(&lua)?)?;
        lua.globals().set("log", log_module(&lua, "repl")?)?;
        let fields = Arc::new(Mutex::new(FieldCache::default()));
        let repl = Repl {
            config_path: config_path.to_path_buf(),
            base: base.to_path_buf(),
            session,
            current: Arc::new(Mutex::new(lua.clone())),
            current_clock: Arc::new(Mutex::new(clock.clone())),
            home: lua,
            home_clock: clock,
            fields,
            plugins: None,
            plugin: None,
            last: None,
            last_trace: None,
            inputs: Vec::new(),
            colour: false,
            cancel: Arc::new(Notify::new()),
        };
        repl.connect_host()?;
        Ok(repl)
    }

    /// Install the host API of the current profile into the REPL's state.
    fn connect_host(&self) -> Result<(), ReplError> {
        let host = HostContext::for_caller(
            self.session.hubspot.as_ref(),
            self.session.salesforce.as_ref(),
            "repl",
            self.session.store()?,
            "repl",
        )
        .unavailable(&self.session.unavailable);
        install(&self.home, host, self.home_clock.clone())?;
        let fields = self.fields.clone();
        let seen = self.home.create_function(
            move |_, (kind, name, names): (String, String, Vec<String>)| {
                let mut f = lock(&fields);
                match kind.as_str() {
                    "sobject" => f.sobjects.insert(name, names),
                    _ => f.hubspot.insert(name, names),
                };
                Ok(())
            },
        )?;
        self.home
            .load(LEARN)
            .set_name("=hubforce/repl")
            .call::<()>(seen)?;
        Ok(())
    }

    pub fn profile(&self) -> &str {
        &self.session.profile
    }

    /// Whether typed lines are kept: not without a profile (no state folder to keep them in).
    pub fn keeps_history(&self) -> bool {
        !self.session.scratch
    }

    pub fn history_file(&self) -> PathBuf {
        self.session
            .config
            .state_dir(&self.session.profile)
            .join("repl_history")
    }

    pub fn prompt(&self) -> String {
        match &self.plugin {
            Some(p) => format!("{}> ", p.name()),
            None => format!("{}> ", self.session.profile),
        }
    }

    /// Stop whatever runs now (Ctrl-C): Lua code at its next hook, a host call by dropping it.
    pub fn interrupt(clock: &Mutex<Arc<CallClock>>, cancel: &Notify) {
        lock(clock).interrupt();
        cancel.notify_waiters();
    }

    /// One input: a `:` command or a Lua chunk.
    pub async fn handle(&mut self, input: &str) -> Reply {
        let src = input.trim();
        if src.is_empty() {
            return Reply::Text(String::new());
        }
        if let Some(cmd) = src.strip_prefix(':') {
            return self.command(cmd).await;
        }
        let cancel = self.cancel.clone();
        let cancelled = cancel.notified();
        tokio::select! {
            reply = self.eval_reply(src) => reply,
            _ = cancelled => {
                Reply::Error("interrupted: the running call was cancelled".into())
            }
        }
    }

    async fn eval_reply(&mut self, src: &str) -> Reply {
        match self.evaluate(src).await {
            Evaluated::Values(lua, values) => self.show(&lua, values, Limits::DEFAULT),
            Evaluated::Failed(line, trace) => {
                self.last_trace = trace;
                Reply::Error(line)
            }
        }
    }

    /// Compile (as an expression first), run through the runner, and collect the results.
    async fn evaluate(&mut self, src: &str) -> Evaluated {
        let lua = lock(&self.current).clone();
        let clock = lock(&self.current_clock).clone();
        let (f, expression) = match compile(&lua, src) {
            Ok(c) => c,
            Err(e) => return Evaluated::Failed(e, None),
        };
        let runner = match runner(&lua) {
            Ok(r) => r,
            Err(e) => return Evaluated::Failed(e.to_string(), None),
        };
        clock.clear_interrupt();
        let out = {
            let _armed = clock.start();
            runner.call_async::<MultiValue>(f).await
        };
        let out: Vec<Value> = match out {
            Ok(v) => v.into_iter().collect(),
            Err(e) => return Evaluated::Failed(first_line(&e.to_string()), None),
        };
        match out.first() {
            Some(Value::Boolean(true)) => {
                let values = match out.get(1) {
                    Some(Value::Table(packed)) => unpack(packed),
                    _ => Vec::new(),
                };
                if self.plugin.is_none() {
                    self.inputs.push((expression, src.to_string()));
                    if let Some(v) = values.first() {
                        let _ = lua.globals().set("_", v.clone());
                    }
                }
                Evaluated::Values(lua, values)
            }
            _ => {
                let err = out.get(1).cloned().unwrap_or(Value::Nil);
                let trace = match out.get(2) {
                    Some(Value::String(s)) => Some(user_frames(&s.to_string_lossy())),
                    _ => None,
                };
                Evaluated::Failed(error_line(&err), trace)
            }
        }
    }

    fn show(&mut self, lua: &Lua, values: Vec<Value>, limits: Limits) -> Reply {
        let mut text = Vec::new();
        let mut cut = false;
        for v in &values {
            let (s, c) = pretty::render(v, limits, self.colour);
            cut |= c;
            text.push(s);
        }
        if let Ok(t) = lua.create_sequence_from(values)
            && let Ok(key) = lua.create_registry_value(t)
        {
            self.last = Some((lua.clone(), key, limits));
        }
        let mut out = text.join("\n");
        if cut {
            out.push_str(&self.dim("\n(:more shows the rest)"));
        }
        Reply::Text(out)
    }

    fn dim(&self, s: &str) -> String {
        if self.colour {
            format!("\x1b[90m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// `-e EXPR`: the values as JSON (one value as itself, several as an array).
    pub async fn eval_json(&mut self, src: &str) -> Result<serde_json::Value, String> {
        match self.evaluate(src).await {
            Evaluated::Failed(line, _) => Err(line),
            Evaluated::Values(lua, mut values) => {
                let mut json = Vec::new();
                let single = values.len() == 1;
                for v in values.drain(..) {
                    json.push(from_lua(&lua, v).map_err(|e| first_line(&e.to_string()))?);
                }
                Ok(match (single, json.is_empty()) {
                    (true, _) => json.remove(0),
                    (_, true) => serde_json::Value::Null,
                    _ => serde_json::Value::Array(json),
                })
            }
        }
    }

    async fn command(&mut self, cmd: &str) -> Reply {
        let (name, arg) = match cmd.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (cmd, ""),
        };
        match name {
            "q" | "quit" | "exit" => Reply::Quit,
            "help" | "h" => Reply::Text(help::help(Some(arg).filter(|a| !a.is_empty()))),
            "more" => self.more(),
            "trace" => Reply::Text(
                self.last_trace
                    .clone()
                    .unwrap_or_else(|| "no error yet".into()),
            ),
            "budget" => Reply::Text(self.budget()),
            "time" if !arg.is_empty() => self.time(arg).await,
            "profile" if !arg.is_empty() => self.switch_profile(arg),
            "profile" => Reply::Text(format!("profile {}", self.session.profile)),
            "reload" => self.reload(),
            "plugin" => self.enter_plugin(arg),
            "save" if !arg.is_empty() => self.save(arg),
            _ => Reply::Error(format!(
                "unknown command `:{cmd}`: `:help` lists the commands"
            )),
        }
    }

    fn more(&mut self) -> Reply {
        let Some((lua, key, limits)) = self.last.take() else {
            return Reply::Error("nothing to expand yet".into());
        };
        let values: Vec<Value> = match lua.registry_value::<Table>(&key) {
            Ok(t) => t.sequence_values::<Value>().flatten().collect(),
            Err(e) => return Reply::Error(e.to_string()),
        };
        self.show(&lua, values, limits.more())
    }

    fn budget(&self) -> String {
        let mut lines = Vec::new();
        let transports = [
            self.session.hubspot.as_ref().map(|a| a.transport.clone()),
            self.session
                .salesforce
                .as_ref()
                .map(|a| a.transport.clone()),
        ];
        for t in transports.into_iter().flatten() {
            let r = t.budget.report();
            let callers: Vec<String> = r
                .by_caller
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            let mut line = format!(
                "{}: {} of {} calls used today, {} left",
                r.provider.label(),
                r.used_today,
                r.daily_max,
                t.budget.left_today()
            );
            if let (Some(used), Some(max)) = (r.provider_used, r.provider_max) {
                line.push_str(&format!(" (the provider counts {used} of {max})"));
            }
            if let Some(w) = r.window_max {
                line.push_str(&format!("; burst limit {w} per window"));
            }
            if !callers.is_empty() {
                line.push_str(&format!("; this process: {}", callers.join(", ")));
            }
            lines.push(line);
        }
        if lines.is_empty() {
            "no provider is configured in this profile".into()
        } else {
            lines.join("\n")
        }
    }

    fn calls(&self) -> (u64, u64) {
        (
            self.session
                .hubspot
                .as_ref()
                .map_or(0, |a| a.transport.budget.report().used_today),
            self.session
                .salesforce
                .as_ref()
                .map_or(0, |a| a.transport.budget.report().used_today),
        )
    }

    async fn time(&mut self, expr: &str) -> Reply {
        let before = self.calls();
        let t0 = Instant::now();
        let reply = self.eval_reply(expr).await;
        let took = t0.elapsed().as_secs_f64();
        let after = self.calls();
        let line = self.dim(&format!(
            "{took:.3} s; HubSpot {} calls, Salesforce {} calls",
            after.0 - before.0,
            after.1 - before.1
        ));
        match reply {
            Reply::Text(t) if t.is_empty() => Reply::Text(line),
            Reply::Text(t) => Reply::Text(format!("{t}\n{line}")),
            Reply::Error(e) => Reply::Error(format!("{e}\n{line}")),
            Reply::Quit => Reply::Quit,
        }
    }

    fn switch_profile(&mut self, name: &str) -> Reply {
        // A named profile always reads hubforce.toml (a missing one is an error here).
        let opened = crate::profile::lua_session(&self.config_path, Some(name), "repl")
            .map_err(|e| e.to_string());
        match opened {
            Err(e) => Reply::Error(format!("cannot switch to profile `{name}`: {e}")),
            Ok(session) => {
                self.session = session;
                self.leave_plugin();
                self.plugins = None;
                *lock(&self.fields) = FieldCache::default();
                match self.connect_host() {
                    Ok(()) => Reply::Text(format!(
                        "profile {name}: hubspot and salesforce now use its connections (variables kept)"
                    )),
                    Err(e) => Reply::Error(e.to_string()),
                }
            }
        }
    }

    fn load_plugins(&mut self) -> Result<Arc<PluginSet>, String> {
        let setup = crate::profile::open(
            &self.session,
            &self.base,
            crate::profile::OpenOptions {
                skip_broken_plugins: true,
            },
        )
        .map_err(|e| e.to_string())?;
        self.plugins = Some(setup.plugins.clone());
        Ok(setup.plugins)
    }

    fn reload(&mut self) -> Reply {
        self.leave_plugin();
        match self.load_plugins() {
            Err(e) => Reply::Error(e),
            Ok(set) => {
                let list = set.list();
                if list.is_empty() {
                    return Reply::Text("the profile enables no plugins".into());
                }
                let lines: Vec<String> = list
                    .iter()
                    .map(|p| match &p.error {
                        Some(e) => format!("✗ {}: {e}", p.name),
                        None => format!("✓ {}", p.name),
                    })
                    .collect();
                Reply::Text(lines.join("\n"))
            }
        }
    }

    fn leave_plugin(&mut self) {
        self.plugin = None;
        *lock(&self.current) = self.home.clone();
        *lock(&self.current_clock) = self.home_clock.clone();
    }

    fn enter_plugin(&mut self, name: &str) -> Reply {
        if name.is_empty() {
            self.leave_plugin();
            return Reply::Text("back in the REPL's own state".into());
        }
        let set = match &self.plugins {
            Some(s) => s.clone(),
            None => match self.load_plugins() {
                Ok(s) => s,
                Err(e) => return Reply::Error(e),
            },
        };
        let Some(plugin) = set.get(name) else {
            let why = set
                .list()
                .into_iter()
                .find(|p| p.name == name)
                .and_then(|p| p.error)
                .unwrap_or_else(|| {
                    format!(
                        "no plugin `{name}` in this profile (enabled: {})",
                        set.names().join(", ")
                    )
                });
            return Reply::Error(why);
        };
        match plugin.repl_env() {
            Err(e) => Reply::Error(e.to_string()),
            Ok((lua, clock)) => {
                *lock(&self.current) = lua;
                *lock(&self.current_clock) = clock;
                let hooks = plugin.hook_names().join(", ");
                self.plugin = Some(plugin);
                Reply::Text(format!(
                    "in plugin {name}: its hooks are plugin.{{{hooks}}}, its settings `config`; `:plugin` comes back"
                ))
            }
        }
    }

    fn save(&self, file: &str) -> Reply {
        let mut script =
            String::from("-- Saved from `hubforce repl`; run with `hubforce run FILE`.\n");
        for (expression, src) in &self.inputs {
            if *expression {
                script.push_str(&format!("_ = {src}\n"));
            } else {
                script.push_str(src);
                script.push('\n');
            }
        }
        if self.inputs.last().is_some_and(|(e, _)| *e) {
            script.push_str("return _\n");
        }
        let path = PathBuf::from(file);
        match std::fs::write(&path, script) {
            Ok(()) => Reply::Text(format!(
                "{} inputs written to {}",
                self.inputs.len(),
                path.display()
            )),
            Err(e) => Reply::Error(format!("cannot write {}: {e}", path.display())),
        }
    }
}

/// An expression first (so `1 + 1` prints 2), then a statement; a syntax error is one line.
fn compile(lua: &Lua, src: &str) -> Result<(Function, bool), String> {
    if lua
        .load(format!("return {src}"))
        .set_name("=repl")
        .into_function()
        .is_ok()
    {
        // Not a tail call, so the traceback keeps the line typed. Newline-free prefix: the
        // source keeps its line numbers.
        let f = lua
            .load(format!(
                "local __values = table.pack({src}\n) return table.unpack(__values, 1, __values.n)"
            ))
            .set_name("=repl")
            .into_function()
            .map_err(|e| first_line(&e.to_string()))?;
        return Ok((f, true));
    }
    lua.load(src)
        .set_name("=repl")
        .into_function()
        .map(|f| (f, false))
        .map_err(|e| first_line(&e.to_string()))
}

fn runner(lua: &Lua) -> mlua::Result<Function> {
    if let Ok(f) = lua.named_registry_value::<Function>(RUNNER_KEY) {
        return Ok(f);
    }
    let f: Function = lua.load(RUNNER).set_name("=hubforce/repl").eval()?;
    lua.set_named_registry_value(RUNNER_KEY, f.clone())?;
    Ok(f)
}

fn unpack(packed: &Table) -> Vec<Value> {
    let n: i64 = packed.get("n").unwrap_or(0);
    (2..=n)
        .map(|i| packed.raw_get::<Value>(i).unwrap_or(Value::Nil))
        .collect()
}

/// The traceback without the host's own frames (the prelude, the runner, `error`).
fn user_frames(trace: &str) -> String {
    trace
        .lines()
        .filter(|l| {
            !(l.contains("hubforce/")
                || l.contains("in function 'error'")
                || l.contains("in function 'xpcall'"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_string()
}

/// An error value as one line: the host's errors carry class, message and hint in `line`.
fn error_line(err: &Value) -> String {
    match err {
        Value::Table(t) => match t.get::<Option<String>>("line") {
            Ok(Some(line)) => line,
            _ => err
                .to_string()
                .unwrap_or_else(|_| "an error value without a message".into()),
        },
        Value::String(s) => first_line(&s.to_string_lossy()),
        Value::Nil => "error(nil)".into(),
        other => other
            .to_string()
            .unwrap_or_else(|_| format!("<{}>", other.type_name())),
    }
}
