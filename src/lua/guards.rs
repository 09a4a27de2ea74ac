//! The raw functions behind the sandbox's guarded standard library (`sandbox.lua`): string
//! patterns matched by [`super::pattern`] under the clock, and the clock's verdict for the
//! `pcall` family.
//!
//! Each returns `true, results…` or `false, message`; the Lua side raises the message at the
//! caller's line, so errors read as Lua's own (`init.lua:7: malformed pattern (…)`).

use std::sync::Arc;

use mlua::{Lua, MultiValue, Table, Value};

use super::clock::{CallClock, Stop};
use super::pattern::{self, Capture, Found, PatternError};

type Reply = mlua::Result<MultiValue>;

fn fail(lua: &Lua, message: String) -> Reply {
    Ok(MultiValue::from_vec(vec![
        Value::Boolean(false),
        Value::String(lua.create_string(message)?),
    ]))
}

/// A failure that already names its line (a stop): raised as is.
fn fail_located(lua: &Lua, clock: &CallClock, message: String) -> Reply {
    Ok(MultiValue::from_vec(vec![
        Value::Boolean(false),
        Value::String(lua.create_string(located(lua, clock, &message))?),
        Value::Boolean(true),
    ]))
}

/// `file:line: message` at the plugin's innermost line (or where the clock last saw it).
fn located(lua: &Lua, clock: &CallClock, message: &str) -> String {
    match super::sandbox::plugin_line(lua).or_else(|| {
        let last = clock.last_location();
        (!last.is_empty()).then_some(last)
    }) {
        Some(at) => format!("{at}: {message}"),
        None => message.to_string(),
    }
}

fn ok(mut values: Vec<Value>) -> Reply {
    values.insert(0, Value::Boolean(true));
    Ok(MultiValue::from_vec(values))
}

/// The arguments of one call, checked as `luaL_check*` would, with its messages.
struct Args<'a> {
    lua: &'a Lua,
    values: Vec<Value>,
    name: &'static str,
}

impl Args<'_> {
    fn type_name(&self, i: usize) -> &'static str {
        match self.values.get(i) {
            None => "no value",
            Some(v) => v.type_name(),
        }
    }

    fn string(&self, i: usize) -> Result<mlua::LuaString, String> {
        let v = self.values.get(i).cloned().unwrap_or(Value::Nil);
        match self.lua.coerce_string(v) {
            Ok(Some(s)) => Ok(s),
            _ => Err(format!(
                "bad argument #{} to '{}' (string expected, got {})",
                i + 1,
                self.name,
                self.type_name(i)
            )),
        }
    }

    fn integer(&self, i: usize, default: i64) -> Result<i64, String> {
        let v = match self.values.get(i) {
            None | Some(Value::Nil) => return Ok(default),
            Some(v) => v.clone(),
        };
        if let Ok(Some(n)) = self.lua.coerce_integer(v.clone()) {
            return Ok(n);
        }
        let reason = match self.lua.coerce_number(v) {
            Ok(Some(_)) => "number has no integer representation".to_string(),
            _ => format!("number expected, got {}", self.type_name(i)),
        };
        Err(format!(
            "bad argument #{} to '{}' ({reason})",
            i + 1,
            self.name
        ))
    }

    fn truthy(&self, i: usize) -> bool {
        !matches!(
            self.values.get(i),
            None | Some(Value::Nil) | Some(Value::Boolean(false))
        )
    }
}

fn capture_value(lua: &Lua, src: &[u8], c: Capture) -> mlua::Result<Value> {
    Ok(match c {
        Capture::Text(a, b) => Value::String(lua.create_string(&src[a..b])?),
        Capture::Position(p) => Value::Integer(p as i64),
        Capture::Unfinished => Value::Nil,
    })
}

fn capture_values(lua: &Lua, src: &[u8], caps: Vec<Capture>) -> mlua::Result<Vec<Value>> {
    caps.into_iter()
        .map(|c| capture_value(lua, src, c))
        .collect()
}

/// The clock as a pattern's step check: a stop is the end of the match.
fn clock_check(clock: &CallClock) -> impl Fn() -> Result<(), String> + '_ {
    move || match clock.check() {
        None => Ok(()),
        Some(stop) => Err(clock.stop_message(stop)),
    }
}

fn pattern_failure(lua: &Lua, clock: &CallClock, e: PatternError) -> Reply {
    match e {
        PatternError::Malformed(m) => fail(lua, m),
        PatternError::Stopped(m) => fail_located(lua, clock, m),
    }
}

/// `find(s, p, init, plain)` and `match(s, p, init)`.
fn find(lua: &Lua, clock: &CallClock, values: MultiValue, is_find: bool) -> Reply {
    let args = Args {
        lua,
        values: values.into_vec(),
        name: if is_find { "find" } else { "match" },
    };
    let parsed = (|| Ok::<_, String>((args.string(0)?, args.string(1)?, args.integer(2, 1)?)))();
    let (s, p, init) = match parsed {
        Ok(a) => a,
        Err(m) => return fail(lua, m),
    };
    let (src, pat) = (s.as_bytes(), p.as_bytes());
    let start = pattern::start_offset(init, src.len());
    let plain = is_find && args.truthy(3);
    let found = pattern::find(&src, &pat, start, plain, is_find, &clock_check(clock));
    match found {
        Err(e) => pattern_failure(lua, clock, e),
        Ok(None) => ok(vec![Value::Nil]),
        Ok(Some(f)) if is_find => match f.all_captures() {
            Err(e) => pattern_failure(lua, clock, e),
            Ok(caps) => {
                let mut out = vec![
                    Value::Integer(f.start as i64 + 1),
                    Value::Integer(f.end as i64),
                ];
                out.extend(capture_values(lua, &src, caps)?);
                ok(out)
            }
        },
        Ok(Some(f)) => match f.values() {
            Err(e) => pattern_failure(lua, clock, e),
            Ok(caps) => ok(capture_values(lua, &src, caps)?),
        },
    }
}

/// `gsub(s, p, repl, n)` with a string (or number) replacement, all in Rust.
fn gsub_text(lua: &Lua, clock: &CallClock, values: MultiValue) -> Reply {
    let args = Args {
        lua,
        values: values.into_vec(),
        name: "gsub",
    };
    let parsed = (|| {
        let s = args.string(0)?;
        let max = args.integer(3, s.as_bytes().len() as i64 + 1)?;
        Ok::<_, String>((s, args.string(1)?, args.string(2)?, max))
    })();
    let (s, p, repl, max) = match parsed {
        Ok(a) => a,
        Err(m) => return fail(lua, m),
    };
    let src = s.as_bytes();
    match pattern::gsub_text(
        &src,
        &p.as_bytes(),
        &repl.as_bytes(),
        max,
        &clock_check(clock),
    ) {
        Err(e) => pattern_failure(lua, clock, e),
        Ok((out, n)) => ok(vec![
            Value::String(lua.create_string(out)?),
            Value::Integer(n),
        ]),
    }
}

/// `subject_args(name, s, p, init_or_n)`: the subject and pattern as strings, and the
/// 0-based start of `gmatch` (or `gsub`'s maximum count), for the Lua-driven loops.
fn subject_args(lua: &Lua, values: MultiValue) -> Reply {
    let mut values = values.into_vec();
    let gsub = matches!(values.first(), Some(Value::String(n)) if n.as_bytes().as_ref() == b"gsub");
    values.remove(0);
    let args = Args {
        lua,
        values,
        name: if gsub { "gsub" } else { "gmatch" },
    };
    let parsed = (|| {
        let s = args.string(0)?;
        let p = args.string(1)?;
        let len = s.as_bytes().len();
        let third = if gsub {
            args.integer(2, len as i64 + 1)?
        } else {
            pattern::start_offset(args.integer(2, 1)?, len).min(len + 1) as i64
        };
        Ok::<_, String>((s, p, third))
    })();
    match parsed {
        Err(m) => fail(lua, m),
        Ok((s, p, third)) => ok(vec![
            Value::String(s),
            Value::String(p),
            Value::Integer(third),
        ]),
    }
}

/// `scan(s, p, from, last_end, anchored, first_only)`: the next match as
/// `start, end, values…` (0-based, end exclusive), or nothing.
fn scan(lua: &Lua, clock: &CallClock, values: MultiValue) -> Reply {
    let v = values.into_vec();
    let (Some(Value::String(s)), Some(Value::String(p))) = (v.first(), v.get(1)) else {
        return fail(lua, "scan: subject and pattern must be strings".into());
    };
    let int = |i: usize| match v.get(i) {
        Some(Value::Integer(n)) => Some(*n as usize),
        _ => None,
    };
    let from = int(2).unwrap_or(0);
    let last_end = int(3);
    let anchored = matches!(v.get(4), Some(Value::Boolean(true)));
    let first_only = matches!(v.get(5), Some(Value::Boolean(true)));
    let src = s.as_bytes();
    let found: Found = match pattern::next_match(
        &src,
        &p.as_bytes(),
        from,
        last_end,
        anchored,
        &clock_check(clock),
    ) {
        Err(e) => return pattern_failure(lua, clock, e),
        Ok(None) => return ok(Vec::new()),
        Ok(Some(f)) => f,
    };
    let caps = if first_only {
        found.first().map(|c| vec![c])
    } else {
        found.values()
    };
    let caps = match caps {
        Ok(c) => c,
        Err(e) => return pattern_failure(lua, clock, e),
    };
    let mut out = vec![
        Value::Integer(found.start as i64),
        Value::Integer(found.end as i64),
    ];
    out.extend(capture_values(lua, &src, caps)?);
    ok(out)
}

/// The raw table handed to `sandbox.lua`.
pub fn raw_table(lua: &Lua, clock: &Arc<CallClock>) -> mlua::Result<Table> {
    let raw = lua.create_table()?;
    let c = clock.clone();
    raw.set(
        "find",
        lua.create_function(move |lua, a: MultiValue| find(lua, &c, a, true))?,
    )?;
    let c = clock.clone();
    raw.set(
        "match",
        lua.create_function(move |lua, a: MultiValue| find(lua, &c, a, false))?,
    )?;
    let c = clock.clone();
    raw.set(
        "gsub_text",
        lua.create_function(move |lua, a: MultiValue| gsub_text(lua, &c, a))?,
    )?;
    raw.set("subject_args", lua.create_function(subject_args)?)?;
    let c = clock.clone();
    raw.set(
        "scan",
        lua.create_function(move |lua, a: MultiValue| scan(lua, &c, a))?,
    )?;
    let c = clock.clone();
    raw.set(
        "tripped",
        lua.create_function(move |_, ()| Ok(c.tripped()))?,
    )?;
    let c = clock.clone();
    raw.set(
        "stop_message",
        lua.create_function(move |lua, ()| {
            let stop = c.trip_reason().unwrap_or(Stop::TimeUp);
            Ok(located(lua, &c, &c.stop_message(stop)))
        })?,
    )?;
    Ok(raw)
}
