//! A sandboxed Lua 5.4 state for one plugin: safe libraries only, text chunks only, a memory
//! limit for the state and a time limit for each call into it.
//!
//! `Lua::new()` would load `io`, `os` and `package`; we build the state with an explicit
//! library set and then trim what remains. The time limit uses a *global* hook, because a
//! hook set with `Lua::set_hook` does not reach code driven by `call_async` (mlua 0.12).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mlua::chunk::ChunkMode;
use mlua::{HookTriggers, Lua, LuaOptions, StdLib, Table, Value, VmState};

/// Limits of one plugin's state.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub memory_bytes: usize,
    pub call_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 * 1024 * 1024,
            call_time: Duration::from_millis(1000),
        }
    }
}

/// The deadline of the call running in the state, shared with the instruction hook.
#[derive(Debug)]
pub struct CallClock {
    /// Where Lua code was when the instruction hook last ran: memory errors carry no
    /// location of their own, so they are reported "near" this.
    last_at: std::sync::Mutex<String>,
    origin: Instant,
    /// Nanoseconds after `origin`; 0 = no call running (no limit).
    deadline: AtomicU64,
    limit: Duration,
    /// Set by Ctrl-C in the REPL: the running Lua code stops at the next hook.
    interrupted: std::sync::atomic::AtomicBool,
}

impl CallClock {
    pub fn new(limit: Duration) -> CallClock {
        CallClock {
            last_at: std::sync::Mutex::new(String::new()),
            origin: Instant::now(),
            deadline: AtomicU64::new(0),
            limit,
            interrupted: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Stop the Lua code running in this state at its next instruction hook.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::Relaxed);
    }

    /// Forget an interrupt that came when nothing was running.
    pub fn clear_interrupt(&self) {
        self.interrupted.store(false, Ordering::Relaxed);
    }

    /// Arm the clock for one call; disarmed when the guard drops.
    pub fn start(self: &Arc<Self>) -> ClockGuard {
        if let Ok(mut last) = self.last_at.lock() {
            last.clear();
        }
        let at = Instant::now() + self.limit;
        self.deadline.store(
            at.duration_since(self.origin).as_nanos() as u64,
            Ordering::Relaxed,
        );
        ClockGuard(self.clone())
    }

    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// The last `file:line` the hook saw.
    pub fn last_location(&self) -> String {
        self.last_at.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn expired(&self) -> bool {
        let d = self.deadline.load(Ordering::Relaxed);
        d != 0 && self.origin.elapsed().as_nanos() as u64 > d
    }
}

impl CallClock {
    /// Stop the clock while the host works (an API call awaits the network); it restarts
    /// with the time that was left when the guard drops.
    pub fn pause(self: &Arc<Self>) -> PausedClock {
        let d = self.deadline.swap(0, Ordering::Relaxed);
        let left = (d != 0).then(|| {
            Duration::from_nanos(d.saturating_sub(self.origin.elapsed().as_nanos() as u64))
        });
        PausedClock {
            clock: self.clone(),
            left,
        }
    }
}

pub struct PausedClock {
    clock: Arc<CallClock>,
    left: Option<Duration>,
}

impl Drop for PausedClock {
    fn drop(&mut self) {
        if let Some(left) = self.left {
            let at = self.clock.origin.elapsed() + left;
            self.clock
                .deadline
                .store(at.as_nanos().max(1) as u64, Ordering::Relaxed);
        }
    }
}

pub struct ClockGuard(Arc<CallClock>);

impl Drop for ClockGuard {
    fn drop(&mut self) {
        self.0.deadline.store(0, Ordering::Relaxed);
    }
}

/// Where `require` may look: the plugin's folder, then the shared `scripts/lib`.
#[derive(Debug, Clone)]
pub struct RequirePath {
    pub roots: Vec<(PathBuf, String)>,
}

/// Build a sandboxed state. `label` names the state in errors (`plugin acme`).
pub fn new_state(limits: Limits, require: RequirePath) -> mlua::Result<(Lua, Arc<CallClock>)> {
    let libs = StdLib::TABLE
        | StdLib::STRING
        | StdLib::MATH
        | StdLib::UTF8
        | StdLib::COROUTINE
        | StdLib::OS;
    let lua = Lua::new_with(libs, LuaOptions::new())?;
    let g = lua.globals();

    // Base library: no file access, no bytecode.
    for name in ["dofile", "loadfile"] {
        g.raw_set(name, Value::Nil)?;
    }
    let real_load: mlua::Function = g.get("load")?;
    g.raw_set(
        "load",
        lua.create_function(
            move |_,
                  (chunk, name, _mode, env): (
                Value,
                Option<String>,
                Option<String>,
                Option<Value>,
            )| {
                // Whatever mode is asked for, only text is accepted.
                real_load.call::<mlua::MultiValue>((chunk, name, "t", env))
            },
        )?,
    )?;
    let real_gc: mlua::Function = g.get("collectgarbage")?;
    g.raw_set(
        "collectgarbage",
        lua.create_function(move |_, opt: Option<String>| {
            match opt.as_deref().unwrap_or("collect") {
                o @ ("collect" | "count" | "step") => real_gc.call::<Value>(o),
                other => Err(mlua::Error::runtime(format!(
                    "collectgarbage(\"{other}\") is not available to plugins"
                ))),
            }
        })?,
    )?;

    // string.dump would hand out bytecode.
    let string: Table = g.get("string")?;
    string.raw_set("dump", Value::Nil)?;

    // os: time only.
    let os: Table = g.get("os")?;
    let safe_os = lua.create_table()?;
    for name in ["time", "clock", "date", "difftime"] {
        safe_os.raw_set(name, os.get::<Value>(name)?)?;
    }
    g.raw_set("os", safe_os)?;

    // debug: traceback only.
    let debug = lua.create_table()?;
    debug.raw_set(
        "traceback",
        lua.create_function(|lua, (msg, level): (Option<String>, Option<usize>)| {
            lua.traceback(msg.as_deref(), level.unwrap_or(1))
        })?,
    )?;
    g.raw_set("debug", debug)?;

    install_require(&lua, require)?;

    lua.set_memory_limit(limits.memory_bytes)?;
    let clock = Arc::new(CallClock::new(limits.call_time));
    let hook_clock = clock.clone();
    lua.set_global_hook(
        HookTriggers::new().every_nth_instruction(4096),
        move |_, debug| {
            let src = debug.source();
            let at = format!(
                "{}:{}",
                src.short_src.as_deref().unwrap_or("?"),
                debug.current_line().unwrap_or(0)
            );
            if hook_clock.interrupted.swap(false, Ordering::Relaxed) {
                return Err(mlua::Error::runtime(format!("{at}: interrupted")));
            }
            if hook_clock.expired() {
                return Err(mlua::Error::runtime(format!(
                    "{at}: time limit of {} ms exceeded",
                    hook_clock.limit.as_millis()
                )));
            }
            if let Ok(mut last) = hook_clock.last_at.lock() {
                *last = at;
            }
            Ok(VmState::Continue)
        },
    )?;
    Ok((lua, clock))
}

/// `require("name")` loads `name.lua` (dots become folders) from the plugin's folder or the
/// shared `scripts/lib`, as text, once; nothing outside those folders is reachable.
fn install_require(lua: &Lua, path: RequirePath) -> mlua::Result<()> {
    let loaded = lua.create_table()?;
    let require = lua.create_function(move |lua, name: String| {
        if let Some(v) = loaded.raw_get::<Option<Value>>(name.as_str())? {
            return Ok(v);
        }
        let valid = !name.is_empty() && name.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        if !valid {
            return Err(mlua::Error::runtime(format!("require(\"{name}\"): module names are letters, digits, '_' and '-', separated by dots")));
        }
        let rel: PathBuf = name.split('.').collect::<PathBuf>().with_extension("lua");
        for (root, label) in &path.roots {
            let file = root.join(&rel);
            if !file.is_file() {
                continue;
            }
            let source = std::fs::read_to_string(&file).map_err(|e| mlua::Error::runtime(format!("require(\"{name}\"): {e}")))?;
            let chunk_name = format!("@{}/{}", label, rel.display());
            let v: Value = lua.load(source).set_name(chunk_name).set_mode(ChunkMode::Text).call(())?;
            let v = if v.is_nil() { Value::Boolean(true) } else { v };
            loaded.raw_set(name.as_str(), v.clone())?;
            return Ok(v);
        }
        let searched: Vec<String> = path.roots.iter().map(|(_, l)| format!("{l}/{}", rel.display())).collect();
        Err(mlua::Error::runtime(format!("require(\"{name}\"): not found (searched {})", searched.join(", "))))
    })?;
    lua.globals().raw_set("require", require)
}

/// Load a file as a text chunk named `@<label>` so errors carry `label:line`.
pub fn load_file(lua: &Lua, file: &Path, label: &str) -> mlua::Result<mlua::Function> {
    let source = std::fs::read_to_string(file)
        .map_err(|e| mlua::Error::runtime(format!("cannot read {label}: {e}")))?;
    lua.load(source)
        .set_name(format!("@{label}"))
        .set_mode(ChunkMode::Text)
        .into_function()
}
