//! Lua ↔ JSON, in one place. The rules:
//! - JSON `null` becomes `json.null` (a sentinel, since `nil` cannot live in a table) and comes
//!   back as `null`; a Lua `nil` field is simply absent.
//! - JSON arrays become sequences marked as arrays, so `[]` survives the round trip; a plain
//!   empty Lua table `{}` is an object. A table with both sequence and string keys is an error.
//! - Integers stay integers and floats stay floats (`2` vs `2.0`).
//! - Dates and datetimes travel as the ISO strings both APIs use; nothing converts them.

use mlua::{Lua, LuaSerdeExt, Value};

const DEPTH: usize = 64;

pub fn to_lua(lua: &Lua, v: &serde_json::Value) -> mlua::Result<Value> {
    let opts = mlua::serde::SerializeOptions::new()
        .set_array_metatable(true)
        .serialize_none_to_null(true)
        .serialize_unit_to_null(true)
        .recursion_limit(DEPTH);
    lua.to_value_with(v, opts)
}

pub fn from_lua(lua: &Lua, v: Value) -> mlua::Result<serde_json::Value> {
    refuse_mixed_tables(&v, 0)?;
    let opts = mlua::serde::DeserializeOptions::new()
        .deny_unsupported_types(true)
        .deny_recursive_tables(true)
        .sort_keys(true)
        .encode_empty_tables_as_array(false)
        .detect_mixed_tables(false)
        .recursion_limit(DEPTH);
    lua.from_value_with(v, opts)
}

/// A table with a sequence part and other keys has no JSON form; serde would silently keep
/// one half of it.
fn refuse_mixed_tables(v: &Value, depth: usize) -> mlua::Result<()> {
    let Value::Table(t) = v else { return Ok(()) };
    if depth > DEPTH {
        return Err(mlua::Error::runtime(
            "table nested too deeply (or it contains itself)",
        ));
    }
    let len = t.raw_len();
    let mut count = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let (_, value) = pair?;
        count += 1;
        refuse_mixed_tables(&value, depth + 1)?;
    }
    if len > 0 && count > len {
        return Err(mlua::Error::runtime(
            "a table has both list items and named keys; JSON has no such value (use a list of tables, or only named keys)",
        ));
    }
    Ok(())
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
