//! Lua ↔ JSON, in one place. The rules:
//! - JSON `null` becomes `json.null` (a sentinel, since `nil` cannot live in a table) and comes
//!   back as `null`; a Lua `nil` field is simply absent.
//! - JSON arrays become sequences marked as arrays, so `[]` survives the round trip; a plain
//!   empty Lua table `{}` is an object. A table with both sequence and string keys is an error.
//! - Integers stay integers and floats stay floats (`2` vs `2.0`).
//! - Dates and datetimes travel as the ISO strings both APIs use; nothing converts them.
//! - A value out of Lua is at most the state's [`ConversionBudget`] as JSON: a table that
//!   holds the same sub-table twice at each of 30 levels is a few KB in Lua and 2^30 values
//!   as JSON, which would take the host down with it.

use mlua::{Lua, LuaSerdeExt, Value};

const DEPTH: usize = 64;

/// How many bytes of the host's memory (roughly) one conversion out of a state may take;
/// the sandbox sets it to the state's memory limit.
#[derive(Debug, Clone, Copy)]
pub struct ConversionBudget(pub usize);

/// For states without a budget of their own (tests, the `--unsafe` script state).
const DEFAULT_BUDGET: usize = 512 * 1024 * 1024;

pub fn to_lua(lua: &Lua, v: &serde_json::Value) -> mlua::Result<Value> {
    to_lua_at(lua, v, 0)
}

fn to_lua_at(lua: &Lua, v: &serde_json::Value, depth: usize) -> mlua::Result<Value> {
    use serde_json::Value as J;
    if depth > DEPTH {
        return Err(mlua::Error::runtime("JSON nested too deeply for Lua"));
    }
    Ok(match v {
        J::Null => lua.null(),
        J::Bool(b) => Value::Boolean(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::String(lua.create_string(s)?),
        J::Array(a) => {
            let t = lua.create_table_with_capacity(a.len(), 0)?;
            for (i, x) in a.iter().enumerate() {
                t.raw_set(i + 1, to_lua_at(lua, x, depth + 1)?)?;
            }
            t.set_metatable(Some(lua.array_metatable()))?;
            Value::Table(t)
        }
        J::Object(m) => {
            let t = lua.create_table_with_capacity(0, m.len())?;
            for (k, x) in m {
                // Scalars are pushed straight onto the Lua stack: building an intermediate
                // `Value` would take and free a registry slot per field.
                match x {
                    J::String(s) => t.raw_set(k.as_str(), s.as_str())?,
                    J::Bool(b) => t.raw_set(k.as_str(), *b)?,
                    J::Number(n) => match n.as_i64() {
                        Some(i) => t.raw_set(k.as_str(), i)?,
                        None => t.raw_set(k.as_str(), n.as_f64().unwrap_or(f64::NAN))?,
                    },
                    other => t.raw_set(k.as_str(), to_lua_at(lua, other, depth + 1)?)?,
                }
            }
            Value::Table(t)
        }
    })
}

pub fn from_lua(lua: &Lua, v: Value) -> mlua::Result<serde_json::Value> {
    let budget = lua
        .app_data_ref::<ConversionBudget>()
        .map(|b| b.0)
        .unwrap_or(DEFAULT_BUDGET);
    let mut left = Budget {
        left: budget,
        budget,
    };
    from_lua_at(lua, &v, 0, &mut left)
}

struct Budget {
    left: usize,
    budget: usize,
}

impl Budget {
    fn spend(&mut self, bytes: usize) -> mlua::Result<()> {
        match self.left.checked_sub(bytes) {
            Some(l) => {
                self.left = l;
                Ok(())
            }
            None => Err(mlua::Error::runtime(format!(
                "the value takes more than {} MiB as JSON (does a table hold the same table many times?)",
                self.budget / (1024 * 1024)
            ))),
        }
    }
}

fn from_lua_at(
    lua: &Lua,
    v: &Value,
    depth: usize,
    budget: &mut Budget,
) -> mlua::Result<serde_json::Value> {
    use serde_json::Value as J;
    if depth > DEPTH {
        return Err(mlua::Error::runtime(
            "table nested too deeply (or it contains itself)",
        ));
    }
    // What the value costs the host, roughly: a serde_json::Value, its text, and for an
    // object the B-tree it lives in (a small map's node is a few hundred bytes).
    budget.spend(match v {
        Value::String(s) => 32 + s.as_bytes().len(),
        Value::Table(_) => 256,
        _ => 32,
    })?;
    Ok(match v {
        Value::Nil => J::Null,
        Value::Boolean(b) => J::Bool(*b),
        Value::Integer(i) => J::from(*i),
        Value::Number(n) => serde_json::Number::from_f64(*n)
            .map(J::Number)
            .ok_or_else(|| mlua::Error::runtime(format!("{n} has no JSON form")))?,
        Value::String(s) => J::String(s.to_str()?.to_string()),
        Value::LightUserData(u) if u.0.is_null() => J::Null,
        Value::Table(t) => {
            let len = t.raw_len();
            let is_array = t.metatable().is_some_and(|m| m == lua.array_metatable());
            if len > 0 || is_array {
                let mut out = Vec::with_capacity(len);
                let mut count = 0usize;
                for pair in t.pairs::<Value, Value>() {
                    pair?;
                    count += 1;
                }
                if count > len {
                    return Err(mlua::Error::runtime(
                        "a table has both list items and named keys; JSON has no such value (use a list of tables, or only named keys)",
                    ));
                }
                for i in 1..=len {
                    out.push(from_lua_at(
                        lua,
                        &t.raw_get::<Value>(i)?,
                        depth + 1,
                        budget,
                    )?);
                }
                J::Array(out)
            } else {
                let mut out = serde_json::Map::new();
                // One traversal; keys come straight off the stack as Rust strings.
                // (Reading a key as a Rust String copies it off the stack without a registry
                // reference, and coerces number keys without touching the traversal.)
                t.for_each::<String, Value>(|key, x| {
                    budget.spend(64 + key.len())?;
                    out.insert(key, from_lua_at(lua, &x, depth + 1, budget)?);
                    Ok(())
                })
                .map_err(|e| match e {
                    mlua::Error::FromLuaConversionError { from, .. } => {
                        mlua::Error::runtime(format!("a table key of type {from} has no JSON form"))
                    }
                    other => other,
                })?;
                J::Object(out)
            }
        }
        other => {
            return Err(mlua::Error::runtime(format!(
                "a {} has no JSON form",
                other.type_name()
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(lua: &Lua, v: serde_json::Value) -> serde_json::Value {
        let l = to_lua(lua, &v).unwrap();
        from_lua(lua, l).unwrap()
    }

    #[test]
    fn json_survives_a_trip_through_lua() {
        let lua = Lua::new();
        let v = json!({"a": null, "b": [], "c": {}, "d": [1, 2.5, "x", true], "e": 2, "f": 2.0, "g": "2024-05-01T10:00:00.000Z"});
        assert_eq!(round_trip(&lua, v.clone()), v);
    }

    #[test]
    fn lua_values_map_to_json_by_the_rules() {
        let lua = Lua::new();
        let eval = |src: &str| from_lua(&lua, lua.load(src).eval::<Value>().unwrap());
        assert_eq!(eval("return {}").unwrap(), json!({}));
        assert_eq!(eval("return {1, 2, 3}").unwrap(), json!([1, 2, 3]));
        assert_eq!(eval("return {x = nil, y = 1}").unwrap(), json!({"y": 1}));
        assert_eq!(
            eval("return {n = 3, f = 3.0}").unwrap(),
            json!({"n": 3, "f": 3.0})
        );
        assert!(
            eval("return {1, 2, x = 3}").is_err(),
            "mixed tables are refused"
        );
        assert!(
            eval("return {f = function() end}").is_err(),
            "functions are not data"
        );
        assert!(
            eval("local t = {} t.self = t return t").is_err(),
            "cycles are refused"
        );
        let e = eval("return {[true] = 1}").unwrap_err().to_string();
        assert!(e.contains("key of type boolean has no JSON form"), "{e}");
        assert_eq!(
            eval("return {[10] = 'x'}").unwrap(),
            json!({"10": "x"}),
            "a sparse number key becomes a string key"
        );
    }

    #[test]
    fn a_table_of_shared_tables_stops_at_the_budget() {
        let lua = Lua::new();
        lua.set_app_data(ConversionBudget(1024 * 1024));
        // 2^30 leaves as JSON, a few hundred bytes in Lua.
        let dag: Value = lua
            .load("local t = {1} for i = 1, 30 do t = {a = t, b = t} end return t")
            .eval()
            .unwrap();
        let e = from_lua(&lua, dag).unwrap_err().to_string();
        assert!(e.contains("more than 1 MiB as JSON"), "{e}");
    }

    #[test]
    fn null_is_a_value_inside_lua() {
        let lua = Lua::new();
        let t = to_lua(&lua, &json!({"email": null})).unwrap();
        lua.globals().set("t", t).unwrap();
        lua.globals().set("null", lua.null()).unwrap();
        assert!(lua.load("return t.email == null").eval::<bool>().unwrap());
    }
}
