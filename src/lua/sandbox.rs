//! A sandboxed Lua 5.4 state for one plugin: safe libraries only, text chunks only, a memory
//! limit for the state and a time limit for each call into it that Lua code cannot catch or
//! outrun in C (`sandbox.lua`).
//!
//! `Lua::new()` would load `io`, `os` and `package`; we build the state with an explicit
//! library set and then trim what remains. The time limit uses a *global* hook, because a
//! hook set with `Lua::set_hook` does not reach code driven by `call_async` (mlua 0.12).

use std::sync::Arc;
use std::time::Duration;

use mlua::{HookTriggers, Lua, LuaOptions, StdLib, Table, Value, VmState};

pub use super::clock::{CallClock, ClockGuard, PausedClock};
pub use super::files::{RequirePath, load_file};

const GUARDS: &str = include_str!("sandbox.lua");

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

/// Build a sandboxed state.
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

    super::files::install_require(&lua, require)?;

    let clock = Arc::new(CallClock::new(limits.call_time));
    let guards: mlua::Function = lua
        .load(GUARDS)
        .set_name("=hubforce/sandbox")
        .into_function()?;
    guards.call::<()>(super::guards::raw_table(&lua, &clock)?)?;

    lua.set_app_data(super::convert::ConversionBudget(limits.memory_bytes));
    lua.set_memory_limit(limits.memory_bytes)?;
    let hook_clock = clock.clone();
    lua.set_global_hook(
        HookTriggers::new().every_nth_instruction(4096),
        move |lua, debug| {
            let src = debug.source();
            let at = format!(
                "{}:{}",
                src.short_src.as_deref().unwrap_or("?"),
                debug.current_line().unwrap_or(0)
            );
            // The guards are the host's code: a stop or a "near" names the plugin's line.
            let host_code = at.starts_with("hubforce/");
            if let Some(stop) = hook_clock.check() {
                let at = if host_code {
                    plugin_line(lua).unwrap_or(at)
                } else {
                    at
                };
                return Err(mlua::Error::runtime(format!(
                    "{at}: {}",
                    hook_clock.stop_message(stop)
                )));
            }
            if !host_code {
                hook_clock.note_location(at);
            }
            Ok(VmState::Continue)
        },
    )?;
    Ok((lua, clock))
}

/// The innermost line of plugin (or script) code on the stack, skipping the host's own
/// Lua (`hubforce/…`) and C functions.
pub(crate) fn plugin_line(lua: &Lua) -> Option<String> {
    for level in 0.. {
        let frame = lua.inspect_stack(level, |d| {
            let short = d.source().short_src.map(|s| s.to_string());
            let line = d.current_line();
            (short, line)
        })?;
        if let (Some(short), Some(line)) = frame
            && !short.starts_with("hubforce/")
            && !short.starts_with("[C]")
        {
            return Some(format!("{short}:{line}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBJECTS: &[&str] = &[
        "",
        "hello world",
        "  key = value  ",
        "a,b,,c",
        "THE (quick) [brown] fox",
        "x = 1 + 2; y=(3*(4+5))",
        "aaa",
        "ab12cd345ef",
        "\0z\0",
        "état déjà",
        "one\ntwo\nthree",
        "%d%%",
    ];
    const PATTERNS: &[&str] = &[
        "",
        "o",
        "^h",
        "d$",
        "%w+",
        "(%w+)",
        "%s*(.-)%s*$",
        "(%w+)%s*=%s*(%w+)",
        "[%a_][%w_]*",
        "[^,]*",
        "%b()",
        "%b[]",
        "%f[%w]%w+",
        "()ll()",
        "(a*(.)%w(%s*))",
        "(a)%1",
        "[a-c]+",
        "[]]",
        "[^%s]+",
        ".-",
        ".-b",
        "a?b?",
        "%d+",
        "%D+",
        "%x+",
        "%p",
        "%c",
        "%z",
        "%u%l*",
        "\0",
        "[%]]",
        "(",
        "%",
        "[a",
        "(()",
        "%1",
        "(a)%2",
        "%g+",
        "^(%S+)",
        "a-$",
        "%f[%s]",
        "%bx",
        "x*",
        "[]",
        "[^]",
        "%f",
        "((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))",
        "(h)(e)(l)(l)(o)",
        "^$",
        "$^",
    ];
    const PROGRAM: &str = r#"
        local s, p = ...
        local out = {}
        local function show(...)
          local t = table.pack(...)
          for i = 1, t.n do t[i] = tostring(t[i]) end
          return table.concat(t, "|", 1, t.n)
        end
        local function try(f, ...) out[#out + 1] = show(pcall(f, ...)) end
        try(string.find, s, p)
        try(string.find, s, p, 3)
        try(string.find, s, p, -4)
        try(string.find, s, p, 1, true)
        try(string.match, s, p)
        try(string.match, s, p, 2)
        try(function() local r = {} for a, b in s:gmatch(p) do r[#r + 1] = show(a, b) end return table.concat(r, ",") end)
        try(string.gsub, s, p, "<%0>")
        try(string.gsub, s, p, "[%1]", 2)
        try(string.gsub, s, p, "%2")
        try(string.gsub, s, p, "%")
        try(string.gsub, s, p, function(a, b) return b and (a .. b) or (a == "o" and false or a:upper()) end)
        try(string.gsub, s, p, { o = "0", l = 1, hello = "HI" })
        try(string.gsub, s, p, { o = {} })
        return table.concat(out, "\n")
    "#;

    fn run(lua: &Lua, s: &str, p: &str) -> Vec<u8> {
        let f: mlua::Function = lua.load(PROGRAM).set_name("=case").into_function().unwrap();
        let out: mlua::LuaString = f
            .call((lua.create_string(s).unwrap(), lua.create_string(p).unwrap()))
            .unwrap();
        out.as_bytes().to_vec()
    }

    #[test]
    fn patterns_mean_what_they_mean_in_lua() {
        let c = Lua::new();
        let (ours, clock) =
            new_state(Limits::default(), RequirePath { roots: Vec::new() }).unwrap();
        let _armed = clock.start();
        for s in SUBJECTS {
            for p in PATTERNS {
                let (got, want) = (run(&ours, s, p), run(&c, s, p));
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&want),
                    "subject {s:?}, pattern {p:?}"
                );
            }
        }
    }

    #[test]
    fn guarded_table_functions_behave_as_lua_s() {
        let c = Lua::new();
        let (ours, clock) =
            new_state(Limits::default(), RequirePath { roots: Vec::new() }).unwrap();
        let _armed = clock.start();
        let program = r#"
            local out = {}
            local function show(ok, v)
              if type(v) == "table" then v = table.concat(v, ",") end
              out[#out + 1] = tostring(ok) .. ":" .. tostring(v)
            end
            local function mt(t) return setmetatable(t, {}) end
            show(pcall(function() local t = {1, 2, 3} table.insert(t, 2, 9) return t end))
            show(pcall(function() local t = mt{1, 2, 3} table.insert(t, 2, 9) return t end))
            show(pcall(function() local t = mt{1, 2, 3} table.insert(t, 4) return t end))
            show(pcall(function() local t = mt{1, 2, 3} table.insert(t, 9, 1) return t end))
            show(pcall(function() local t = mt{1, 2, 3} table.insert(t, 1, 2, 3) return t end))
            show(pcall(function() local t = mt{1, 2, 3} return table.remove(t, 1), t end))
            show(pcall(function() local t = mt{1, 2, 3} return table.remove(t) end))
            show(pcall(function() local t = mt{} return table.remove(t) end))
            show(pcall(function() local t = mt{1, 2} local v = table.remove(t, 5) return v end))
            show(pcall(function() local t = {} for i = 1, 40000 do t[i] = i end
              table.move(t, 1, 40000, 3) return {#t, t[1], t[3], t[40002]} end))
            show(pcall(function() local t = {} for i = 1, 40000 do t[i] = i end
              table.move(t, 2, 40000, 1) return {#t, t[1], t[39999], t[40000]} end))
            show(pcall(function() local a, b = {}, {} for i = 1, 40000 do a[i] = i end
              table.move(a, 1, 40000, 1, b) return {#b, b[40000]} end))
            show(pcall(function() local t = table.move({}, 1, math.maxinteger, 2) return t end))
            show(pcall(string.rep, "", 5))
            show(pcall(string.rep, "ab", 3, "-"))
            show(pcall(string.rep, "", 3, "-"))
            return table.concat(out, "\n")
        "#;
        let eval = |lua: &Lua| -> String { lua.load(program).set_name("=t").eval().unwrap() };
        assert_eq!(eval(&ours), eval(&c));
    }
}
