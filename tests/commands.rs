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
