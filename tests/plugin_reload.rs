//! Hot reload: rebuild, validate, swap with a new generation; keep the last good one on any
//! error; work in flight finishes on the generation it started with.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hubforce::plugins::PluginSet;
use serde_json::json;

struct Root(PathBuf);

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn root() -> Root {
    let r = std::env::temp_dir().join(format!(
        "hubforce-reload-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(r.join("plugins")).unwrap();
    std::fs::create_dir_all(r.join("scripts/lib")).unwrap();
    Root(r)
}

fn write_plugin(r: &Root, name: &str, init: &str) {
    let dir = r.0.join("plugins").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("plugin.toml"),
        format!("name = \"{name}\"\nversion = \"1.0.0\"\napi = 1\n"),
    )
    .unwrap();
    std::fs::write(dir.join("init.lua"), init).unwrap();
}

fn set(r: &Root, names: &[&str]) -> Arc<PluginSet> {
    let enabled: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    Arc::new(PluginSet::load(
        &r.0.join("plugins"),
        Some(&r.0.join("scripts/lib")),
        &enabled,
        &BTreeMap::new(),
    ))
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn value(n: i64) -> String {
    format!("return {{ include = function(r) return {n} end }}\n")
}

#[test]
fn saving_a_plugin_swaps_in_a_new_generation_and_broken_edits_keep_the_last_good_one() {
    let r = root();
    write_plugin(&r, "acme", &value(1));
    let s = set(&r, &["acme"]);
    let _watch = s.watch().expect("watcher");
    let held = s.get("acme").unwrap();
    assert_eq!(held.generation, 1);

    std::fs::write(r.0.join("plugins/acme/init.lua"), value(2)).unwrap();
    wait_for("generation 2", || s.get("acme").unwrap().generation == 2);
    assert_eq!(
        s.get("acme")
            .unwrap()
            .call("include", &[json!({})])
            .unwrap(),
        json!(2)
    );
    // Work that started on generation 1 still finishes on it.
    assert_eq!(held.call("include", &[json!({})]).unwrap(), json!(1));

    std::fs::write(
        r.0.join("plugins/acme/init.lua"),
        "return { include = function(r) return end\n",
    )
    .unwrap();
    wait_for("the error to be recorded", || s.list()[0].error.is_some());
    let info = &s.list()[0];
    assert_eq!(info.generation, 2, "the last good generation stays");
    assert!(info.status.contains("last good generation active"));
    assert!(
        info.error
            .as_deref()
            .unwrap()
            .contains("plugins/acme/init.lua:"),
        "{:?}",
        info.error
    );
    assert_eq!(
        s.get("acme")
            .unwrap()
            .call("include", &[json!({})])
            .unwrap(),
        json!(2)
    );

    std::fs::write(r.0.join("plugins/acme/init.lua"), value(3)).unwrap();
    wait_for("generation 3", || s.get("acme").unwrap().generation == 3);
    assert!(s.list()[0].error.is_none());
}

#[test]
fn a_shared_library_change_reloads_every_plugin_that_may_use_it() {
    let r = root();
    std::fs::write(r.0.join("scripts/lib/common.lua"), "return { n = 10 }").unwrap();
    write_plugin(
        &r,
        "a",
        "local c = require('common') return { include = function() return c.n end }",
    );
    write_plugin(
        &r,
        "b",
        "local c = require('common') return { include = function() return c.n + 1 end }",
    );
    let s = set(&r, &["a", "b"]);
    let _watch = s.watch().expect("watcher");
    std::fs::write(r.0.join("scripts/lib/common.lua"), "return { n = 20 }").unwrap();
    wait_for("both reloaded", || {
        s.get("a").unwrap().generation == 2 && s.get("b").unwrap().generation == 2
    });
    assert_eq!(s.get("a").unwrap().call("include", &[]).unwrap(), json!(20));
    assert_eq!(s.get("b").unwrap().call("include", &[]).unwrap(), json!(21));
}

#[test]
fn a_plugin_that_fails_at_start_is_listed_with_its_error_and_the_others_load() {
    let r = root();
    write_plugin(&r, "good", &value(1));
    write_plugin(&r, "bad", "return {");
    let s = set(&r, &["good", "bad", "missing"]);
    let list = s.list();
    let by = |n: &str| list.iter().find(|i| i.name == n).unwrap().clone();
    assert_eq!(by("good").status, "active");
    assert_eq!(by("bad").status, "error");
    assert!(by("bad").error.unwrap().contains("plugins/bad/init.lua:1"));
    assert!(by("missing").error.unwrap().contains("no folder"));
    assert!(s.get("bad").is_none());
}

#[test]
fn the_profile_can_tighten_a_plugins_limits() {
    let r = root();
    write_plugin(
        &r,
        "spinner",
        "return { include = function() local t0 = os.clock() while os.clock() - t0 < 0.3 do end return true end }",
    );
    let loose = set(&r, &["spinner"]);
    assert_eq!(
        loose.get("spinner").unwrap().call("include", &[]).unwrap(),
        json!(true),
        "300 ms under the default 1 s"
    );
    let mut limits = BTreeMap::new();
    limits.insert(
        "spinner".to_string(),
        hubforce::plugins::manifest::LimitSettings {
            memory_mb: Some(8),
            call_ms: Some(100),
            calls_per_pass: None,
        },
    );
    let tight = PluginSet::load_with(
        &r.0.join("plugins"),
        None,
        &["spinner".to_string()],
        &BTreeMap::new(),
        &limits,
        None,
    );
    let err = tight
        .get("spinner")
        .unwrap()
        .call("include", &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("time limit of 100 ms"), "{err}");
}
