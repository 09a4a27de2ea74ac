//! Peak memory of a large import: `hubforce sim` in its own process seeded with N HubSpot
//! contacts (default 1,000,000), then `hubforce sync --full --objects contact` in another,
//! whose peak resident set (VmHWM) is sampled from /proc until it exits. Only hubforce's
//! own memory is measured; the simulator's is not.
//!
//! `cargo bench --bench sync_memory` (HUBFORCE_BENCH_CONTACTS sets N). Linux only.

#[allow(dead_code)] // each bench uses part of it
#[path = "support/simproc.rs"]
mod simproc;

use std::time::Instant;

use simproc::SimProcess;

fn main() {
    let contacts: usize = std::env::var("HUBFORCE_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let t0 = Instant::now();
    let sim = SimProcess::start(
        contacts,
        "memory",
        &[
            "--no-limits",
            "--leads",
            "0",
            "--companies",
            "200",
            "--deals",
            "0",
        ],
        |toml| {
            // HUBFORCE_BENCH_BULK_THRESHOLD=N: Salesforce pulls of N records or more read
            // through a Bulk API query job.
            let bulk =
                std::env::var("HUBFORCE_BENCH_BULK_THRESHOLD").unwrap_or_else(|_| "0".into());
            toml.replacen(
                "[profiles.sim.hubspot]\n",
                &format!("[profiles.sim.sync]\nbulk_threshold = {bulk}\n\n[profiles.sim.hubspot]\nburst_per_10s = 1000000\nsearch_per_second = 1000\ndaily_limit = 100000000\n"),
                1,
            )
        },
    );
    println!(
        "simulator seeded with {contacts} contacts in {:.0} s",
        t0.elapsed().as_secs_f64()
    );
    let (secs, peak_mb, code, report) =
        sim.measure(&["sync", "--full", "--objects", "contact", "--json"]);
    assert_eq!(code, Some(0), "the sync failed");
    let synced: u64 = report["directions"]
        .as_object()
        .map(|d| {
            d.values()
                .map(|c| {
                    ["created", "updated", "unchanged"]
                        .iter()
                        .map(|k| c[*k].as_u64().unwrap_or(0))
                        .sum::<u64>()
                })
                .sum()
        })
        .unwrap_or(0);
    let calls: u64 = report["calls"]
        .as_object()
        .map(|c| c.values().filter_map(|v| v.as_u64()).sum())
        .unwrap_or(0);
    println!(
        "sync of {contacts} contacts: {secs:.0} s, {synced} records synced, {calls} calls ({:.4} per record)",
        calls as f64 / synced.max(1) as f64
    );
    println!("peak RSS of the sync process: {peak_mb:.1} MB (VmHWM, sampled every 20 ms)");
    // Where the calls went, by provider and stage: what the next saving has to aim at.
    for p in report["calls_by"].as_array().into_iter().flatten() {
        let field = |k: &str| p[k].as_str().unwrap_or("").to_string();
        println!(
            "  {} {} {} {}: {}",
            field("provider"),
            field("pair"),
            field("stage"),
            field("caller"),
            p["calls"]
        );
    }
}
