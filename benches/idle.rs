//! What an always-on hubforce spends doing nothing: calls per idle pass (nothing changed on
//! either side) and per day at the watch interval, per provider, against the Salesforce
//! share of a 50-seat Enterprise org (0.5 × 150,000).
//!
//! A seeded simulator (default 2,000 contacts) is imported first, then left alone past the
//! cursors' skew margin (2 minutes: until then a pass reads the import's own writes again as
//! echoes, which the bench reports separately). Then:
//! - `hubforce sync --once` as a new process each time (a cron job): setup included, the
//!   describes and owners coming from the ledger's cache;
//! - `hubforce sync --watch --passes N` at a 1 s interval: the passes after the first.
//!
//! `cargo bench --bench idle` (HUBFORCE_BENCH_CONTACTS, default 2000; `-- --passes N`,
//! default 5; `-- --interval-secs S` for the per-day figure, default 30, the watch default;
//! `-- --no-wait` skips the 2-minute settling and reports the echo passes only).

#[allow(dead_code)] // each bench uses part of it
#[path = "support/simproc.rs"]
mod simproc;

use std::time::Duration;

use serde_json::Value;
use simproc::SimProcess;

/// The Salesforce calls a 50-seat Enterprise org allots hubforce per day (share 0.5).
const SF_SHARE: f64 = 0.5 * 150_000.0;

fn calls(report: &Value, provider: &str) -> u64 {
    report["calls"][provider].as_u64().unwrap_or(0)
}

/// The JSON documents of `--json` output, one per pass.
fn reports(stdout: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(stdout)
        .into_iter::<Value>()
        .filter_map(Result::ok)
        .collect()
}

fn sync(sim: &SimProcess, args: &[&str]) -> Vec<Value> {
    let out = std::process::Command::new(simproc::BIN)
        .current_dir(&sim.dir)
        .args(["--config", "hubforce.toml", "sync", "--json"])
        .args(args)
        .output()
        .expect("hubforce sync");
    assert!(
        out.status.success(),
        "sync {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    reports(&String::from_utf8_lossy(&out.stdout))
}

fn row(name: &str, hs: f64, sf: f64, interval: u64) {
    let per_day = 86_400.0 / interval as f64;
    println!(
        "{name:<40} hubspot {hs:>5.1}  salesforce {sf:>5.1} per pass   per day at {interval} s: hubspot {:>8.0}  salesforce {:>7.0} ({:.1} % of the share)",
        hs * per_day,
        sf * per_day,
        100.0 * sf * per_day / SF_SHARE
    );
}

fn mean(reports: &[Value], provider: &str) -> f64 {
    let n = reports.len().max(1) as f64;
    reports.iter().map(|r| calls(r, provider)).sum::<u64>() as f64 / n
}

fn main() {
    let contacts: usize = std::env::var("HUBFORCE_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let passes: usize = simproc::arg("--passes").unwrap_or(5);
    let interval: u64 = simproc::arg("--interval-secs").unwrap_or(30);
    let wait = !std::env::args().any(|a| a == "--no-wait");
    let sim = SimProcess::start(contacts, "idle", &[], |toml| {
        toml.replacen(
            "[profiles.sim.hubspot]\n",
            "[profiles.sim.sync]\nwatch_interval_secs = 1\n\n[profiles.sim.hubspot]\n",
            1,
        )
    });
    let import = sync(&sim, &["--once"]);
    let import = &import[0];
    println!(
        "import: {} synced records, hubspot {} and salesforce {} calls",
        import["directions"]
            .as_object()
            .map(|d| d
                .values()
                .map(|c| c["created"].as_u64().unwrap_or(0) + c["updated"].as_u64().unwrap_or(0))
                .sum::<u64>())
            .unwrap_or(0),
        calls(import, "hubspot"),
        calls(import, "salesforce")
    );
    let echoes = sync(&sim, &["--once"]);
    row(
        "first pass after the import (echoes)",
        mean(&echoes, "hubspot"),
        mean(&echoes, "salesforce"),
        interval,
    );
    if !wait {
        return;
    }
    // Past the skew margin, then one pass to move the cursors beyond the import.
    std::thread::sleep(Duration::from_secs(125));
    sync(&sim, &["--once"]);

    let served_before = sim.served();
    let mut cron = Vec::new();
    for _ in 0..passes {
        cron.extend(sync(&sim, &["--once"]));
    }
    let served = sim.served() - served_before;
    let reported: u64 = cron
        .iter()
        .map(|r| calls(r, "hubspot") + calls(r, "salesforce"))
        .sum();
    row(
        "idle `sync --once` (a new process)",
        mean(&cron, "hubspot"),
        mean(&cron, "salesforce"),
        interval,
    );
    let watch = sync(&sim, &["--watch", "--passes", &(passes + 1).to_string()]);
    let steady = &watch[1..];
    row(
        "idle `sync --watch` pass",
        mean(steady, "hubspot"),
        mean(steady, "salesforce"),
        interval,
    );
    println!(
        "the simulator served {served} calls (OAuth included) for the {passes} cron passes, which reported {reported}"
    );
}
