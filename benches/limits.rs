//! hubforce under simulated real limits: a Professional HubSpot portal (190 calls per 10 s,
//! 625,000 a day, 5 searches a second) and an Enterprise Salesforce org with 50 seats, of
//! whose daily allocation hubforce may use half (`share = 0.5`), both enforced by `hubforce
//! sim` in its own process. Two runs:
//! 1. a full import of N contacts (default 20,000): contacts synced per hour, the busiest
//!    10-second window against the burst limit, and the 429s / REQUEST_LIMIT_EXCEEDED the
//!    simulator answered (target: none);
//! 2. the same import with a HubSpot allocation far smaller than the work (`daily_limit`):
//!    how much of what was allowed hubforce used before pausing cleanly (target ≥ 90%).
//!
//! `cargo bench --bench limits` (HUBFORCE_BENCH_CONTACTS sets N).

#[allow(dead_code)] // each bench uses part of it
#[path = "support/simproc.rs"]
mod simproc;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use simproc::{BIN, SimProcess};

/// A seeded simulator with its limits on (`hubspot_extra` lines go into the profile's
/// [hubspot] table).
fn start(contacts: usize, name: &str, hubspot_extra: &str) -> SimProcess {
    SimProcess::start(
        contacts,
        name,
        &["--leads", "0", "--companies", "50", "--deals", "0"],
        |toml| {
            toml.replacen(
                "[profiles.sim.hubspot]\n",
                &format!("[profiles.sim.sync]\nobjects = [\"contact\"]\nactivities = []\n\n[profiles.sim.hubspot]\ntier = \"professional\"\n{hubspot_extra}"),
                1,
            )
        },
    )
}

fn served(v: &Value, provider: &str, status: &str) -> u64 {
    v["requests"][provider]["by_status"][status]
        .as_u64()
        .unwrap_or(0)
}

fn total(v: &Value, provider: &str) -> u64 {
    v["requests"][provider]["total"].as_u64().unwrap_or(0)
}

fn sync(sim: &SimProcess) -> (f64, Value, Option<i32>) {
    let t0 = Instant::now();
    let out = Command::new(BIN)
        .current_dir(&sim.dir)
        .args([
            "--config",
            "hubforce.toml",
            "sync",
            "--once",
            "--full",
            "--objects",
            "contact",
            "--json",
        ])
        .output()
        .expect("sync");
    (
        t0.elapsed().as_secs_f64(),
        serde_json::from_slice(&out.stdout).unwrap_or_default(),
        out.status.code(),
    )
}

/// HubSpot calls the client's request log holds (what the portal counts against its limits;
/// token exchanges are not API calls).
fn logged_calls(dir: &Path) -> u64 {
    let db = dir.join(".hubforce/sim/requests.sqlite");
    let conn = rusqlite::Connection::open(db).expect("request log");
    conn.query_row(
        "SELECT COUNT(*) FROM request_log WHERE provider = 'hubspot'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .unwrap_or(0)
}

/// The most HubSpot calls the client's request log shows in any 10-second window, searches
/// left out (they have their own limit, five a second, and do not count toward the burst).
fn busiest_window(dir: &Path) -> usize {
    let db = dir.join(".hubforce/sim/requests.sqlite");
    let conn = rusqlite::Connection::open(db).expect("request log");
    let mut stmt = conn
        .prepare("SELECT at FROM request_log WHERE provider = 'hubspot' AND caller = 'sync' AND path NOT LIKE '%/search' ORDER BY at")
        .expect("query");
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("rows")
        .flatten()
        .filter_map(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .collect();
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= chrono::Duration::seconds(10) {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

fn synced(report: &Value) -> u64 {
    let d = &report["directions"]["contact → Salesforce"];
    ["created", "updated", "unchanged"]
        .iter()
        .map(|k| d[*k].as_u64().unwrap_or(0))
        .sum()
}

fn main() {
    let contacts: usize = std::env::var("HUBFORCE_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);

    let sim = start(contacts, "import", "");
    let before = sim.stats();
    let (secs, report, code) = sync(&sim);
    let after = sim.stats();
    let n = synced(&report);
    let refused_hs = served(&after, "hubspot", "429") - served(&before, "hubspot", "429");
    let refused_sf = served(&after, "salesforce", "403") - served(&before, "salesforce", "403");
    println!(
        "{contacts} contacts under a Professional portal's and a 50-seat Enterprise org's limits (enforced by the simulator):"
    );
    println!(
        "  synced {n} contacts in {secs:.1} s = {:.0} contacts/hour (exit {code:?}); HubSpot {} calls, Salesforce {} calls",
        n as f64 / secs * 3600.0,
        total(&after, "hubspot") - total(&before, "hubspot"),
        total(&after, "salesforce") - total(&before, "salesforce"),
    );
    println!(
        "  busiest 10-second window: {} HubSpot calls of 190 allowed; answered 429: {refused_hs}, Salesforce 403 limit: {refused_sf}",
        busiest_window(&sim.dir)
    );
    drop(sim);

    let allowed = 100u64;
    let sim = start(
        contacts,
        "allocation",
        &format!("daily_limit = {allowed}\n"),
    );
    let already = logged_calls(&sim.dir);
    let before = sim.stats();
    let (secs, report, code) = sync(&sim);
    let after = sim.stats();
    let used = report["calls"]["hubspot"].as_u64().unwrap_or(0);
    println!(
        "a HubSpot allocation of {allowed} calls a day for the same import ({already} already made today, while connecting):"
    );
    println!(
        "  the sync made {used} calls in {secs:.1} s and synced {} contacts, then stopped (exit {code:?}): {}",
        synced(&report),
        report["stopped"].as_str().unwrap_or("(did not stop)")
    );
    println!(
        "  use of what was allowed: {:.0}% (target ≥ 90%); answered 429: {}",
        100.0 * (used + already) as f64 / allowed as f64,
        served(&after, "hubspot", "429") - served(&before, "hubspot", "429")
    );
}
