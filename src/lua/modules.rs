//! Small modules every state gets: `json` and `log`.

use mlua::{Lua, LuaSerdeExt, Table, Value};

use super::convert::{from_lua, to_lua};

/// `json.encode`, `json.decode` and `json.null`.
pub fn json_module(lua: &Lua) -> mlua::Result<Table> {
    let json = lua.create_table()?;
    json.set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let j = from_lua(lua, v)?;
            serde_json::to_string(&j).map_err(mlua::Error::external)
        })?,
    )?;
    json.set(
        "decode",
        lua.create_function(|lua, s: String| {
            let j: serde_json::Value = serde_json::from_str(&s)
                .map_err(|e| mlua::Error::runtime(format!("json.decode: {e}")))?;
            to_lua(lua, &j)
        })?,
    )?;
    json.set("null", lua.null())?;
    Ok(json)
}

/// `log.debug/info/warn/error`, into the host's tracing with the caller's name and file:line.
pub fn log_module(lua: &Lua, plugin: &str) -> mlua::Result<Table> {
    let log = lua.create_table()?;
    for level in ["debug", "info", "warn", "error"] {
        let name = plugin.to_string();
        log.set(
            level,
            lua.create_function(move |lua, args: mlua::Variadic<Value>| {
                let text: Vec<String> = args
                    .iter()
                    .map(|v| {
                        v.to_string()
                            .unwrap_or_else(|_| format!("<{}>", v.type_name()))
                    })
                    .collect();
                let line = text.join(" ");
                let location = lua.inspect_stack(1, |d| {
                    let s = d.source();
                    format!(
                        "{}:{}",
                        s.short_src.as_deref().unwrap_or("?"),
                        d.current_line().unwrap_or(0)
                    )
                });
                let at = location.unwrap_or_default();
                // Target `plugin`: shown at info by default, whatever hubforce's own level.
                match level {
                    "debug" => {
                        tracing::debug!(target: "plugin", at = at.as_str(), "[{name}] {line}")
                    }
                    "info" => tracing::info!(target: "plugin", at = at.as_str(), "[{name}] {line}"),
                    "warn" => tracing::warn!(target: "plugin", at = at.as_str(), "[{name}] {line}"),
                    _ => tracing::error!(target: "plugin", at = at.as_str(), "[{name}] {line}"),
                }
                Ok(())
            })?,
        )?;
    }
    Ok(log)
}
