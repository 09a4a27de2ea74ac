//! `hubforce plugin test`: the shipped plugins' tests pass; failures say what and where.

use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_example_plugin_passes_its_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = hubforce::plugin_tests::run(
        &root.join("plugins"),
        Some(&root.join("scripts/lib")),
        "example",
        &toml::Table::new(),
    )
    .await;
    assert_eq!(out.len(), 1);
    assert!(out[0].error.is_none(), "{:?}", out[0].error);
    assert!(out[0].cases.len() >= 6);
    assert!(out[0].cases.iter().all(|c| c.ok), "{:?}", out[0].cases);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_name_the_case_the_expectation_and_the_line() {
    let root = std::env::temp_dir().join(format!("hubforce-ptest-{}", std::process::id()));
    let dir = root.join("plugins/shaky");
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::write(
        dir.join("plugin.toml"),
        "name = \"shaky\"\nversion = \"0.1.0\"\napi = 1\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("init.lua"),
        "return { include = function(r) return r.n > 1 end }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("tests/shaky_test.lua"),
        "-- fixture: contacts=5 leads=3\ndescribe('include', function()\n  it('passes', function() expect(plugin.include({ n = 2 })).to_be(true) end)\n  it('fails', function()\n    expect(plugin.include({ n = 0 })).to_be(true)\n  end)\n  it('errors', function() plugin.include({}) end)\nend)\n",
    )
    .unwrap();
    let out =
        hubforce::plugin_tests::run(&root.join("plugins"), None, "shaky", &toml::Table::new())
            .await;
    let cases = &out[0].cases;
    assert_eq!(
        cases.iter().map(|c| c.ok).collect::<Vec<_>>(),
        [true, false, false]
    );
    assert_eq!(
        cases[1].message.as_deref(),
        Some("expected true, got false")
    );
    assert_eq!(
        cases[1].at.as_deref(),
        Some("plugins/shaky/tests/shaky_test.lua:5")
    );
    assert!(
        cases[2]
            .message
            .as_deref()
            .unwrap()
            .contains("plugins/shaky/init.lua:1"),
        "{:?}",
        cases[2]
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_plugins_mappings_parse_and_match_both_schemas() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = hubforce::plugins::Plugin::load(
        &root.join("plugins/default"),
        &toml::Table::new(),
        1,
        None,
    )
    .unwrap();
    let m = hubforce::sync::mapping::parse(&p.call("mappings", &[]).unwrap())
        .expect("the default mappings parse");
    assert_eq!(
        m.keys().cloned().collect::<Vec<_>>(),
        ["company", "contact", "deal", "task"]
    );
    assert_eq!(m["contact"].salesforce, "Lead");
    // The four pairs are the default plugin's declaration, not the engine's.
    assert_eq!(
        p.pairs.keys().cloned().collect::<Vec<_>>(),
        ["company", "contact", "deal", "task"]
    );
    assert_eq!(p.pairs["contact"].salesforce.objects, ["Contact", "Lead"]);
    assert_eq!(p.pairs["contact"].create_as(), "Lead");
    let out =
        hubforce::plugin_tests::run(&root.join("plugins"), None, "default", &toml::Table::new())
            .await;
    assert!(out[0].error.is_none(), "{:?}", out[0].error);
    assert!(
        out[0].cases.len() >= 9 && out[0].cases.iter().all(|c| c.ok),
        "{:?}",
        out[0].cases
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tickets_example_declares_its_pair_and_its_tests_pass() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = hubforce::plugins::plugin::Plugin::load(
        &root.join("plugins/examples/tickets"),
        &toml::Table::new(),
        1,
        None,
    )
    .unwrap();
    let ticket = &p.pairs["ticket"];
    assert_eq!(ticket.salesforce.objects, ["Case"]);
    assert_eq!(ticket.record_types.len(), 2);
    let out = hubforce::plugin_tests::run(
        &root.join("plugins"),
        None,
        "examples/tickets",
        &toml::Table::new(),
    )
    .await;
    assert!(out[0].error.is_none(), "{:?}", out[0].error);
    assert!(
        out[0].cases.len() >= 5 && out[0].cases.iter().all(|c| c.ok),
        "{:?}",
        out[0].cases
    );
}
