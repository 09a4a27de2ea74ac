//! `hubforce run FILE.lua [ARGS…]`: a one-off Lua job with the host API under the active
//! profile, sandboxed like a plugin (no time limit per call, a larger memory limit) unless
//! `--unsafe` gives it Lua's full standard library.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mlua::{Lua, Value};

use super::convert::from_lua;
use super::errors::describe;
use super::host::{HostContext, install};
use super::modules::{json_module, log_module};
use super::sandbox::{CallClock, Limits, RequirePath, load_file, new_state};

#[derive(Debug, thiserror::Error)]
#[error("{script}: {message}")]
pub struct ScriptError {
    pub script: String,
    pub message: String,
}

/// Limits for scripts: long jobs are fine, runaway memory is not.
pub const SCRIPT_LIMITS: Limits = Limits {
    memory_bytes: 512 * 1024 * 1024,
    call_time: Duration::from_secs(24 * 3600),
};

pub async fn run(
    path: &Path,
    args: &[String],
    host: HostContext,
    lib: Option<&Path>,
    unsafe_mode: bool,
    limits: Limits,
) -> Result<serde_json::Value, ScriptError> {
    let label = path.display().to_string();
    let fail = |message: String| ScriptError {
        script: label.clone(),
        message,
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut roots = vec![(
        dir,
        path.parent()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| ".".into()),
    )];
    if let Some(l) = lib {
        roots.push((l.to_path_buf(), "scripts/lib".into()));
    }
    let (lua, clock) = if unsafe_mode {
        // Trusted jobs only: io, os and package as Lua ships them; still no C modules.
        let lua = Lua::new();
        lua.set_memory_limit(limits.memory_bytes)
            .map_err(|e| fail(e.to_string()))?;
        (lua, Arc::new(CallClock::new(limits.call_time)))
    } else {
        new_state(limits, RequirePath { roots }).map_err(|e| fail(describe(&e, limits)))?
    };
    let lua_err = |e: mlua::Error| fail(describe(&e, limits));
    let g = lua.globals();
    g.set("json", json_module(&lua).map_err(lua_err)?)
        .map_err(lua_err)?;
    g.set("log", log_module(&lua, &label).map_err(lua_err)?)
        .map_err(lua_err)?;
    g.set("arg", args.to_vec()).map_err(lua_err)?;
    install(&lua, host, Arc::clone(&clock)).map_err(lua_err)?;
    let chunk = load_file(&lua, path, &label, None).map_err(lua_err)?;
    let _armed = clock.start();
    let values: mlua::MultiValue = chunk
        .call_async(mlua::Variadic::from_iter(args.iter().cloned()))
        .await
        .map_err(lua_err)?;
    let first = values.into_iter().next().unwrap_or(Value::Nil);
    from_lua(&lua, first).map_err(|e| {
        fail(format!(
            "the script returned a value with no JSON form: {}",
            describe(&e, limits)
        ))
    })
}
