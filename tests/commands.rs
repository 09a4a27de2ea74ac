//! Commands that behave as a user at a shell expects: in a pipe, without a config, on one
//! record.

mod common;

use common::cli::{enable, hf, hf_closed_stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listing_command_survives_a_closed_pipe() {
    let c = common::connected("commands-pipe").await;
    enable(&c, &[], "");
    let r = hf(&c.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    for args in [
        &["--help"][..],
        &["status"],
        &["errors"],
        &["errors", "--json"],
        &["plugin", "list"],
        &["explain", "company", "1"],
        &["sync", "--dry-run"],
        &["sync", "--json"],
        &["api", "hubspot", "GET", "/crm/v3/objects/contacts?limit=5"],
        &["check", "--no-roundtrip"],
        &["repl", "-e", "1 + 1"],
    ] {
        let normal = hf(&c.dir, args).await;
        let closed = hf_closed_stdout(&c.dir, args).await;
        assert!(
            !closed.stderr.contains("panicked") && !closed.stderr.contains("Broken pipe"),
            "{args:?}: {}",
            closed.stderr
        );
        assert_eq!(
            closed.code, normal.code,
            "{args:?} ends as it would have: {}",
            closed.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_and_repl_need_no_config_until_an_api_is_used() {
    let dir = std::env::temp_dir().join(format!(
        "hubforce-commands-noconfig-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("plain.lua"), "print(6 * 7)").expect("script");
    std::fs::write(
        dir.join("api.lua"),
        "print('before')\nreturn hubspot.request('GET', '/crm/v3/objects/contacts')",
    )
    .expect("script");
    let check = |what: &str, r: &common::cli::Run, code: i32, says: &[&str]| {
        assert_eq!(r.code, Some(code), "{what}: {}", r.all());
        for s in says {
            assert!(r.all().contains(s), "{what} says {s}: {}", r.all());
        }
    };
    // No hubforce.toml at all.
    check("run", &hf(&dir, &["run", "plain.lua"]).await, 0, &["42"]);
    check(
        "repl -e",
        &hf(&dir, &["repl", "-e", "6 * 7"]).await,
        0,
        &["42"],
    );
    let r = hf(&dir, &["run", "api.lua"]).await;
    check(
        "run api",
        &r,
        8,
        &[
            "before",
            "auth.client",
            "no hubforce.toml",
            "run `hubforce init`",
        ],
    );
    let r = hf(&dir, &["repl", "-e", "salesforce.limits()"]).await;
    check(
        "repl api",
        &r,
        1,
        &["auth.client", "`hubforce connect salesforce`"],
    );
    assert!(
        !dir.join(".hubforce").exists(),
        "nothing written without a profile"
    );
    // The starter config: secrets it names are not set, and plain Lua does not need them.
    let r = hf(&dir, &["init"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    check(
        "run, starter",
        &hf(&dir, &["run", "plain.lua"]).await,
        0,
        &["42"],
    );
    check(
        "repl, starter",
        &hf(&dir, &["repl", "-e", "6 * 7"]).await,
        0,
        &["42"],
    );
    let r = hf(&dir, &["run", "api.lua"]).await;
    check(
        "run api, starter",
        &r,
        8,
        &["auth.client", "is not set", "`hubforce connect hubspot`"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}
