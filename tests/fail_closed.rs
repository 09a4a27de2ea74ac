//! A mistake stops before it costs anything: a plugin the profile names that does not load
//! stops `sync`, `resync`, `check` and `explain` before any API call (exit 8, what, where,
//! what to do), unless `--skip-broken-plugins` says the user means it.

mod common;

use common::Connected;
use common::cli::{enable, hf, plugin};
use serde_json::Value;

/// Requests the simulator has answered, per provider.
async fn requests(c: &Connected) -> Value {
    let stats = c.control_get("/stats").await;
    serde_json::json!([
        stats["requests"]["hubspot"]["total"],
        stats["requests"]["salesforce"]["total"]
    ])
}

/// The 1-based line of `hubforce.toml` that contains `needle`.
fn line_of(c: &Connected, needle: &str) -> usize {
    let text = std::fs::read_to_string(c.dir.join("hubforce.toml")).expect("config");
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("{needle} in {text}"))
}

/// Every command that runs plugins stops with the plugin class and says `expect`.
async fn every_command_stops(c: &Connected, expect: &[&str]) {
    let before = requests(c).await;
    for args in [
        &["sync"][..],
        &["sync", "--watch"],
        &["sync", "--dry-run"],
        &["resync"],
        &["check"],
        &["explain", "contact", "1"],
    ] {
        let r = hf(&c.dir, args).await;
        assert_eq!(r.code, Some(8), "{args:?}: {}", r.all());
        for e in expect {
            assert!(r.stderr.contains(e), "{args:?} says {e}: {}", r.stderr);
        }
        assert!(r.stderr.contains("--skip-broken-plugins"), "{}", r.stderr);
    }
    assert_eq!(requests(c).await, before, "no API call was made");
}

const SCHEMA: &str = "[config.owner_map]\ntype = \"table\"\nvalues = \"string\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelled_plugin_stops_every_command_and_says_where() {
    let c = common::connected("closed-missing").await;
    enable(&c, &["globx"], "");
    let line = line_of(&c, "\"globx\"");
    every_command_stops(
        &c,
        &[
            "plugin globx: no folder",
            &format!("hubforce.toml:{line}"),
            "plugins here: default",
        ],
    )
    .await;
    // The one who means it goes on without it, and is told.
    let r = hf(
        &c.dir,
        &["sync", "--objects", "company", "--skip-broken-plugins"],
    )
    .await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stderr.contains("warning: plugin globx"), "{}", r.stderr);
    // The plugin commands agree.
    let r = hf(&c.dir, &["plugin", "list"]).await;
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert!(r.stdout.contains("ERROR"), "{}", r.all());
    let r = hf(&c.dir, &["plugin", "test", "globx"]).await;
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert!(
        r.stderr.contains("no plugin globx") && r.stderr.contains("known: default"),
        "{}",
        r.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_the_schema_refuses_stop_with_their_line() {
    let c = common::connected("closed-settings").await;
    plugin(&c, "acme", SCHEMA, "return {}");
    let toml = c.dir.join("hubforce.toml");
    let original = std::fs::read_to_string(&toml).expect("config");
    let reset = || std::fs::write(&toml, &original).expect("config");
    enable(
        &c,
        &["acme"],
        "\n[profiles.sim.plugin.acme]\nowner_mapp = { alice = \"005A\" }\n",
    );
    let line = line_of(&c, "owner_mapp");
    every_command_stops(
        &c,
        &[
            "unknown setting `owner_mapp`",
            "did you mean `owner_map`?",
            &format!("hubforce.toml:{line}"),
        ],
    )
    .await;
    // A table whose values are of the wrong type.
    reset();
    enable(
        &c,
        &["acme"],
        "\n[profiles.sim.plugin.acme]\nowner_map = { alice = \"005A\", bob = 7 }\n",
    );
    let line = line_of(&c, "owner_map =");
    every_command_stops(
        &c,
        &[
            "should be a table of strings; `bob` is an integer",
            &format!("hubforce.toml:{line}"),
        ],
    )
    .await;
    reset();
    enable(
        &c,
        &["acme"],
        "\n[profiles.sim.plugin.acme]\nowner_map = { alice = \"005A\" }\n",
    );
    let r = hf(&c.dir, &["sync", "--objects", "company"]).await;
    assert_eq!(r.code, Some(0), "fixed: {}", r.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_does_not_parse_or_load_stops_with_its_file_and_line() {
    let c = common::connected("closed-files").await;
    plugin(&c, "acme", "bogus = ", "return {}");
    enable(&c, &["acme"], "");
    every_command_stops(&c, &["plugins/acme/plugin.toml: line 4"]).await;
    plugin(&c, "acme", "", "local x = nil\nreturn x.hooks");
    every_command_stops(&c, &["plugins/acme/init.lua:2:"]).await;
    // Nested plugins are named by their path, which is where the file is.
    plugin(&c, "clients/acme", "", "return { nope = 1 }");
    enable(&c, &["clients/acme"], "");
    every_command_stops(
        &c,
        &["plugins/clients/acme/init.lua", "unknown hook `nope`"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_list_loads_plugins_as_the_sync_does() {
    let c = common::connected("closed-list").await;
    // The store and the APIs exist at load time in a sync: so they do in `plugin list`.
    plugin(
        &c,
        "stateful",
        "",
        "local seen = store.get('seen') or 0\nreturn { include = function() return nil end }",
    );
    enable(&c, &["stateful"], "");
    let r = hf(&c.dir, &["plugin", "list"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(!r.stdout.contains("ERROR"), "{}", r.all());
    let r = hf(&c.dir, &["sync", "--objects", "company"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
}
