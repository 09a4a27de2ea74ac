//! The LuaLS stubs in scripts/types/hubforce.lua and the host API registered in Rust must
//! name the same functions: a function without its annotation, or an annotation without its
//! function, fails here.

use std::collections::BTreeSet;

use hubforce::lua::host::{HostContext, install};
use hubforce::lua::modules::{json_module, log_module};
use hubforce::lua::sandbox::{Limits, RequirePath, new_state};

fn registered() -> BTreeSet<String> {
    let (lua, clock) = new_state(Limits::default(), RequirePath { roots: vec![] }).unwrap();
    lua.globals()
        .set("json", json_module(&lua).unwrap())
        .unwrap();
    lua.globals()
        .set("log", log_module(&lua, "stubs").unwrap())
        .unwrap();
    install(&lua, HostContext::default(), clock).unwrap();
    let names: Vec<String> = lua
        .load(
            r#"
local out = {}
local function functions(prefix, t, sep)
  for k, v in pairs(t) do
    if type(v) == "function" then out[#out + 1] = prefix .. sep .. k end
  end
end
for _, g in ipairs({ "hubspot", "salesforce", "budget", "store", "json", "log" }) do
  functions(g, _G[g], ".")
end
functions("Objects", hubspot.contacts, ".")
functions("SObject", getmetatable(salesforce.sobject("Lead")).__index, ":")
return out
"#,
        )
        .eval()
        .unwrap();
    names.into_iter().collect()
}

fn annotated() -> BTreeSet<String> {
    let stubs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/types/hubforce.lua"
    ))
    .unwrap();
    stubs
        .lines()
        .filter_map(|l| l.strip_prefix("function "))
        .map(|l| l.split('(').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn every_host_function_has_an_annotation_and_every_annotation_a_function() {
    let (reg, ann) = (registered(), annotated());
    let missing: Vec<&String> = reg.difference(&ann).collect();
    let stale: Vec<&String> = ann.difference(&reg).collect();
    assert!(
        missing.is_empty(),
        "host functions without an annotation in scripts/types/hubforce.lua: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "annotations without a host function: {stale:?}"
    );
    for hook in hubforce::plugins::HOOKS {
        let stubs = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/types/hubforce.lua"
        ))
        .unwrap();
        assert!(
            stubs.contains(&format!("---@field {hook} ")),
            "hook {hook} is not in hubforce.Hooks"
        );
    }
}
