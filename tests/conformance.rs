//! Third-party clients against the simulator, unchanged: the official HubSpot Node client
//! (`@hubspot/api-client`) and jsforce. `.ci/run` installs them (`npm ci` in
//! tests/conformance); without them a local run says so and skips, CI fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{small_config, start};

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("conformance")
}

/// None (skip) when the Node packages are not installed outside CI.
fn node_ready() -> Option<()> {
    let installed = conformance_dir()
        .join("node_modules")
        .join("jsforce")
        .exists()
        && conformance_dir()
            .join("node_modules")
            .join("@hubspot")
            .join("api-client")
            .exists();
    if installed {
        return Some(());
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "the conformance clients are not installed: run `npm ci --prefix tests/conformance` (.ci/run does)"
        );
    }
    eprintln!(
        "skipped: run `npm ci --prefix tests/conformance` to install @hubspot/api-client and jsforce"
    );
    None
}

async fn run_client(script: &'static str) {
    if node_ready().is_none() {
        return;
    }
    let mut config = small_config();
    // More leads than one 2,000-row query page, so clients must follow nextRecordsUrl.
    config.leads = 2_300;
    config.contacts = 300;
    let f = start(config).await;
    let ready = std::env::temp_dir().join(format!(
        "hubforce-conformance-{}-{script}.json",
        std::process::id()
    ));
    f.sim.write_ready_file(&ready).expect("ready file");
    let dir = conformance_dir();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join(script))
            .arg(&ready)
            .current_dir(dir)
            .output()
    })
    .await
    .expect("join")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("\"passed\""), "{stdout}");
    println!("{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_hubspot_node_client_works_unchanged() {
    run_client("hubspot.mjs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsforce_works_unchanged() {
    run_client("jsforce.mjs").await;
}
