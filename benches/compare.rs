//! hubforce's engine against the baseline (benches/compare/baseline.lua: per contact, look up
//! the Lead, then create or update it — the way hand-rolled integrations and the incumbent
//! work), on the same seeded data, in the same run. Each side gets its own `hubforce sim`
//! process seeded identically (same seed), and runs as its own `hubforce` process — `hubforce
//! run` for the baseline (the same host primitives plugins use), `hubforce sync --once --full`
//! for the engine — so wall time, peak RSS (VmHWM, sampled) and the calls the simulator served
//! are each side's alone. Limits are off on both sides: the comparison is of the work, not of
//! pacing.
//!
//! `cargo bench --bench compare` (HUBFORCE_BENCH_CONTACTS, default 5000;
//! `-- --latency-ms N` makes the simulator hold every call N ms, as a distant API does;
//! `-- --only engine` or `-- --only baseline` runs one side; `-- --in-flight N` allows N calls
//! in flight per provider, 1 for the sequential run).

#[allow(dead_code)] // each bench uses part of it
#[path = "support/simproc.rs"]
mod simproc;

use std::path::Path;

use simproc::SimProcess;

/// A seeded simulator with limits off and the client's pacing lifted to match; with
/// `latency`, every call is held that long.
fn start(contacts: usize, name: &str, latency: Option<u64>) -> SimProcess {
    let sim = SimProcess::start(
        contacts,
        name,
        &[
            "--no-limits",
            "--leads",
            "0",
            "--companies",
            "50",
            "--deals",
            "0",
        ],
        |toml| {
            let toml = toml.replacen(
                "[profiles.sim.hubspot]\n",
                "[profiles.sim.sync]\nobjects = [\"contact\"]\nactivities = []\n\n[profiles.sim.hubspot]\nburst_per_10s = 1000000\nsearch_per_second = 1000\ndaily_limit = 100000000\n",
                1,
            );
            // `-- --in-flight 1`: one call at a time on each side (the sequential run).
            match simproc::arg::<usize>("--in-flight") {
                Some(n) => toml
                    .replacen(
                        "[profiles.sim.hubspot]\n",
                        &format!("[profiles.sim.hubspot]\nmax_in_flight = {n}\n"),
                        1,
                    )
                    .replacen(
                        "share = 0.5",
                        &format!("share = 0.5\nmax_in_flight = {n}"),
                        1,
                    ),
                None => toml,
            }
        },
    );
    if let Some(ms) = latency {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            for provider in ["hubspot", "salesforce"] {
                let s = reqwest::Client::new()
                    .post(format!("{}/faults", sim.control()))
                    .json(&serde_json::json!({"provider": provider, "kind": "latency", "latency_ms": ms}))
                    .send()
                    .await
                    .expect("fault")
                    .status();
                assert!(s.is_success());
            }
        });
    }
    sim
}

struct Outcome {
    name: &'static str,
    seconds: f64,
    contacts: u64,
    calls: u64,
    peak_mb: f64,
    /// CPU seconds of the side's hubforce process and of its simulator during the run.
    cpu: (f64, f64),
    detail: String,
}

/// Run one side and read its counts from `counts(stdout)`.
fn side(
    name: &'static str,
    sim: &SimProcess,
    args: &[&str],
    counts: impl Fn(&serde_json::Value) -> serde_json::Value,
) -> Outcome {
    let before = sim.served();
    let cpu_before = (simproc::children_cpu_seconds(), sim.cpu_seconds());
    let (seconds, peak_mb, code, out) = sim.measure(args);
    let cpu = (
        simproc::children_cpu_seconds() - cpu_before.0,
        sim.cpu_seconds() - cpu_before.1,
    );
    assert_eq!(code, Some(0), "{name}: {args:?} failed");
    let calls = sim.served() - before;
    let c = counts(&out);
    let n = |k: &str| c[k].as_u64().unwrap_or(0);
    Outcome {
        name,
        seconds,
        contacts: n("created") + n("updated") + n("unchanged"),
        calls,
        peak_mb,
        cpu,
        detail: format!(
            "created {}, updated {}, failed {}, excluded {}",
            n("created"),
            n("updated"),
            n("failed"),
            n("excluded")
        ),
    }
}

fn baseline(contacts: usize, latency: Option<u64>) -> Outcome {
    let sim = start(contacts, "baseline", latency);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/compare/baseline.lua");
    std::fs::copy(&script, sim.dir.join("baseline.lua")).expect("script");
    side(
        "baseline (per record)",
        &sim,
        &["run", "baseline.lua"],
        |v| v.clone(),
    )
}

fn engine(contacts: usize, latency: Option<u64>) -> Outcome {
    let sim = start(contacts, "engine", latency);
    side(
        "hubforce sync",
        &sim,
        &["sync", "--once", "--full", "--objects", "contact", "--json"],
        |v| v["directions"]["contact → Salesforce"].clone(),
    )
}

fn main() {
    let contacts: usize = std::env::var("HUBFORCE_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let latency: Option<u64> = simproc::arg("--latency-ms");
    // `-- --only engine` (or `baseline`) runs one side, for profiling it.
    let only: Option<String> = simproc::arg("--only");
    if let Some(side) = only {
        let r = match side.as_str() {
            "baseline" => baseline(contacts, latency),
            _ => engine(contacts, latency),
        };
        println!(
            "{}: {:.2} s, {} contacts, {:.1} contacts/s, {} calls, {:.1} MB, CPU {:.2} s + simulator {:.2} s ({})",
            r.name,
            r.seconds,
            r.contacts,
            r.contacts as f64 / r.seconds,
            r.calls,
            r.peak_mb,
            r.cpu.0,
            r.cpu.1,
            r.detail
        );
        return;
    }
    let rows = [baseline(contacts, latency), engine(contacts, latency)];
    println!(
        "{contacts} seeded HubSpot contacts → Salesforce Leads, limits off, {}:",
        match latency {
            Some(ms) => format!("{ms} ms per call"),
            None => "loopback".into(),
        }
    );
    println!(
        "{:<22} {:>9} {:>10} {:>13} {:>8} {:>13} {:>9} {:>7} {:>9}",
        "",
        "wall s",
        "contacts",
        "contacts/s",
        "calls",
        "calls/contact",
        "peak MB",
        "CPU s",
        "sim CPU s"
    );
    for r in &rows {
        println!(
            "{:<22} {:>9.2} {:>10} {:>13.1} {:>8} {:>13.4} {:>9.1} {:>7.2} {:>9.2}   ({})",
            r.name,
            r.seconds,
            r.contacts,
            r.contacts as f64 / r.seconds,
            r.calls,
            r.calls as f64 / r.contacts.max(1) as f64,
            r.peak_mb,
            r.cpu.0,
            r.cpu.1,
            r.detail
        );
    }
    let (b, e) = (&rows[0], &rows[1]);
    let speed = (e.contacts as f64 / e.seconds) / (b.contacts as f64 / b.seconds);
    let calls =
        (b.calls as f64 / b.contacts.max(1) as f64) / (e.calls as f64 / e.contacts.max(1) as f64);
    println!(
        "hubforce: {speed:.1}× the baseline's contacts/s (target ≥ 20×), 1/{calls:.0} of its calls per contact (target ≤ 1/100)"
    );
}
