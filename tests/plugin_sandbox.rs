//! Plugins are easy to write and impossible to escape: every escape or abuse attempt is
//! refused with an error naming the plugin, the hook and file:line, and the host (and the
//! other plugins) carry on.

use std::path::PathBuf;

use hubforce::plugins::Plugin;
use serde_json::json;

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const MANIFEST: &str = "version = \"0.1.0\"\napi = 1\nlimits = { memory_mb = 16, call_ms = 200 }\n";

/// A plugins folder with one plugin per (name, init.lua) pair.
fn plugins(list: &[(&str, &str)]) -> Dir {
    let root = std::env::temp_dir().join(format!(
        "hubforce-plugins-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    for (name, init) in list {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("plugin.toml"),
            format!("name = \"{name}\"\n{MANIFEST}"),
        )
        .unwrap();
        std::fs::write(dir.join("init.lua"), init).unwrap();
    }
    Dir(root)
}

fn load(d: &Dir, name: &str) -> Result<Plugin, hubforce::plugins::PluginError> {
    Plugin::load(&d.0.join(name), &toml::Table::new(), 1, None)
}

/// A plugin whose `include` hook runs `body`.
fn hook_body(body: &str) -> String {
    format!("return {{\n  include = function(record)\n    {body}\n  end,\n}}\n")
}

fn refused(body: &str) -> String {
    let d = plugins(&[("evil", &hook_body(body))]);
    let p = load(&d, "evil").expect("loads");
    let e = p.call("include", &[json!({})]).expect_err("refused");
    let text = e.to_string();
    assert!(
        text.contains("plugin evil") && text.contains("hook include"),
        "{text}"
    );
    text
}

#[test]
fn a_plugin_loads_and_its_hooks_take_and_return_data() {
    let d = plugins(&[(
        "acme",
        r#"
local M = {}
function M.include(record)
  return record.properties.lifecyclestage ~= "subscriber"
end
function M.transform(record)
  return { Email = string.lower(record.email), Score = record.score * 2, Tags = {}, Missing = json.null }
end
M.mappings = { email = "Email" }
return M
"#,
    )]);
    let p = load(&d, "acme").unwrap();
    assert_eq!(p.hook_names(), ["include", "mappings", "transform"]);
    assert_eq!(
        p.call(
            "include",
            &[json!({"properties": {"lifecyclestage": "lead"}})]
        )
        .unwrap(),
        json!(true)
    );
    assert_eq!(
        p.call("transform", &[json!({"email": "A@B.example", "score": 21})])
            .unwrap(),
        json!({"Email": "a@b.example", "Score": 42, "Tags": {}, "Missing": null})
    );
    assert_eq!(p.call("mappings", &[]).unwrap(), json!({"email": "Email"}));
}

#[test]
fn files_commands_native_code_and_bytecode_are_out_of_reach() {
    for (body, why) in [
        ("io.open('/etc/passwd')", "global 'io'"),
        ("os.execute('id')", "field 'execute'"),
        ("os.getenv('HOME')", "field 'getenv'"),
        ("package.loadlib('libc.so.6', 'system')", "global 'package'"),
        ("dofile('/etc/passwd')", "global 'dofile'"),
        ("loadfile('/etc/passwd')", "global 'loadfile'"),
        ("string.dump(function() end)", "field 'dump'"),
        ("debug.getregistry()", "field 'getregistry'"),
        ("debug.sethook()", "field 'sethook'"),
        ("collectgarbage('stop')", "not available to plugins"),
    ] {
        let text = refused(body);
        assert!(text.contains(why), "{body}: {text}");
        assert!(text.contains("plugins/evil/init.lua:3"), "{body}: {text}");
    }
    let text = refused("local f, err = load('\\27Lua\\x54\\x00') if not f then error(err) end");
    assert!(text.contains("binary chunk"), "{text}");
}

#[test]
fn require_stays_inside_the_plugin_and_the_shared_lib() {
    let d = plugins(&[
        ("one", &hook_body("return require('helpers').double(21)")),
        ("other", "return {}"),
    ]);
    std::fs::write(
        d.0.join("one").join("helpers.lua"),
        "return { double = function(x) return x * 2 end }",
    )
    .unwrap();
    std::fs::write(d.0.join("other").join("secret.lua"), "return 'nope'").unwrap();
    let p = load(&d, "one").unwrap();
    assert_eq!(p.call("include", &[json!({})]).unwrap(), json!(42));
    for name in ["../other/secret", "other.secret", "/etc/passwd", "os"] {
        let e = p
            .eval(&format!("return require('{name}')"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("require("), "{name}: {e}");
    }
}

#[test]
fn memory_bombs_hit_the_limit_and_the_host_carries_on() {
    // Chunks of 64 KiB reach 16 MiB in a few hundred steps, well inside the time limit even
    // on a loaded debug build (1 KiB chunks once met the 200 ms limit first on CI).
    let text = refused("local t = {} for i = 1, 1e8 do t[i] = string.rep('x', 65536) .. i end");
    assert!(
        text.contains("memory limit of 16 MiB exceeded near plugins/evil/init.lua:3"),
        "{text}"
    );
    let text = refused("local s = 'x' while true do s = s .. s end");
    assert!(text.contains("memory limit"), "{text}");
}

#[test]
fn endless_loops_and_deep_recursion_are_stopped_with_file_and_line() {
    let text = refused("while true do end");
    assert!(
        text.contains("time limit of 200 ms exceeded") && text.contains("plugins/evil/init.lua:3"),
        "{text}"
    );
    let text = refused("local function f(n) return f(n + 1) + 1 end return f(1)");
    assert!(
        text.contains("stack overflow") || text.contains("memory limit"),
        "{text}"
    );
    // The same plugin state answers the next call.
    let d = plugins(&[(
        "loopy",
        "local n = 0\nreturn { include = function(r) n = n + 1 if r.spin then while true do end end return n end }",
    )]);
    let p = load(&d, "loopy").unwrap();
    assert!(p.call("include", &[json!({"spin": true})]).is_err());
    assert_eq!(p.call("include", &[json!({})]).unwrap(), json!(2));
}

#[test]
fn one_plugin_cannot_change_what_another_sees() {
    let d = plugins(&[
        (
            "meddler",
            &hook_body(
                "getmetatable('').__index.upper = function() return 'pwned' end string.lower = nil _G.shared = 1 return ('x'):upper()",
            ),
        ),
        (
            "victim",
            &hook_body("return { ('x'):upper(), string.lower('Y'), shared == nil }"),
        ),
    ]);
    let meddler = load(&d, "meddler").unwrap();
    let victim = load(&d, "victim").unwrap();
    assert_eq!(
        meddler.call("include", &[json!({})]).unwrap(),
        json!("pwned")
    );
    assert_eq!(
        victim.call("include", &[json!({})]).unwrap(),
        json!(["X", "y", true])
    );
}

#[test]
fn broken_plugins_fail_to_load_with_what_and_where() {
    let cases = [
        (
            "return { inclde = function() end }",
            "unknown hook `inclde` (did you mean `include`?)",
        ),
        ("return 42", "must return a table of hooks"),
        (
            "return { include = 'yes' }",
            "hook `include` must be a function",
        ),
        ("return { include = function( }", "plugins/bad/init.lua:1"),
        ("error('boom')", "plugins/bad/init.lua:1: boom"),
        ("while true do end", "time limit"),
    ];
    for (init, want) in cases {
        let d = plugins(&[("bad", init)]);
        let e = load(&d, "bad").unwrap_err().to_string();
        assert!(e.contains("plugin bad") && e.contains(want), "{init}: {e}");
    }
    let d = plugins(&[("named", "return {}")]);
    std::fs::write(
        d.0.join("named/plugin.toml"),
        "name = \"other\"\nversion = \"1\"\napi = 1\n",
    )
    .unwrap();
    assert!(
        load(&d, "named")
            .unwrap_err()
            .to_string()
            .contains("must match")
    );
    std::fs::write(
        d.0.join("named/plugin.toml"),
        "name = \"named\"\nversion = \"1\"\napi = 7\n",
    )
    .unwrap();
    assert!(
        load(&d, "named")
            .unwrap_err()
            .to_string()
            .contains("host API 7")
    );
}

#[test]
fn settings_reach_lua_as_config_and_results_must_be_data() {
    let d = plugins(&[(
        "cfg",
        &hook_body("return { config.region, config.min_score, function() end }"),
    )]);
    std::fs::write(
        d.0.join("cfg/plugin.toml"),
        "name = \"cfg\"\nversion = \"1\"\napi = 1\n[config.region]\ntype = \"string\"\nrequired = true\n[config.min_score]\ntype = \"integer\"\ndefault = 3\n",
    )
    .unwrap();
    let mut given = toml::Table::new();
    given.insert("region".into(), toml::Value::String("APAC".into()));
    let p = Plugin::load(&d.0.join("cfg"), &given, 1, None).unwrap();
    let e = p.call("include", &[json!({})]).unwrap_err().to_string();
    assert!(e.contains("no JSON form"), "{e}");
    assert_eq!(
        p.eval("return { config.region, config.min_score }")
            .unwrap(),
        json!(["APAC", 3])
    );
}
