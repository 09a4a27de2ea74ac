//! `hubforce check` end to end, as a user runs it: the release binary started against a
//! connected, seeded simulator pair on loopback, timed from spawn to exit (process start,
//! session, plugins, every check, and the round trip of a test contact unless skipped).
//!
//! `cargo bench --bench check` (`-- --runs N`, default 10; `-- --show` prints a report).

#[allow(dead_code)] // each bench uses part of it
#[path = "support/simproc.rs"]
mod simproc;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use hubforce::sim::{SimConfig, Simulator};

/// Wall time of one `hubforce check` and whether it exited 0.
fn check(dir: &Path, extra: &[&str]) -> (Duration, bool, String) {
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_hubforce"))
        .current_dir(dir)
        .args(["--config", "hubforce.toml", "check"])
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .expect("hubforce runs");
    (
        t0.elapsed(),
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        // The default seeded portals (the demo's size), rate limits on.
        let sim = Simulator::start(SimConfig::new(7).with_free_redirect_port())
            .await
            .expect("simulator");
        let dir = std::env::temp_dir().join(format!("hubforce-bench-check-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        hubforce::connect::sim_session(&sim, &dir)
            .await
            .expect("connected pair");
        // The profile syncs with the default plugin's mappings, as `hubforce demo` does.
        simproc::copy_default_plugin(&dir);
        let toml = dir.join("hubforce.toml");
        let text = std::fs::read_to_string(&toml).expect("config");
        std::fs::write(&toml, text.replacen("plugins = []", "plugins = [\"default\"]", 1))
            .expect("config");
        let n = simproc::arg("--runs").unwrap_or(10);
        measure(&dir, n, "on loopback").await;
        // Real APIs answer in 100–300 ms: every call of the simulator now waits 150 ms.
        let control = format!("{}/faults", sim.ready_info().control);
        for provider in ["hubspot", "salesforce"] {
            let s = reqwest::Client::new()
                .post(&control)
                .json(&serde_json::json!({"provider": provider, "kind": "latency", "latency_ms": 150}))
                .send()
                .await
                .expect("fault")
                .status();
            assert!(s.is_success());
        }
        measure(&dir, n.div_ceil(2), "with 150 ms per API call").await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}

async fn measure(dir: &Path, n: usize, what: &str) {
    let dir2 = dir.to_path_buf();
    let (with, without) = tokio::task::spawn_blocking(move || {
        let mut with = Vec::new();
        let mut without = Vec::new();
        for i in 0..n {
            let (t, ok, out) = check(&dir2, &[]);
            assert!(ok, "check failed:\n{out}");
            if i == 0 && std::env::args().any(|a| a == "--show") {
                println!("{out}");
            }
            with.push(t);
            let (t, ok, out) = check(&dir2, &["--no-roundtrip"]);
            assert!(ok, "check --no-roundtrip failed:\n{out}");
            without.push(t);
        }
        (with, without)
    })
    .await
    .expect("runs");
    let (mut with, mut without) = (with, without);
    println!("hubforce check on a healthy simulator pair {what}, wall time from spawn to exit:");
    simproc::print_times("with the round trip", &mut with);
    simproc::print_times("--no-roundtrip", &mut without);
}
