//! Peak memory of a large import: `hubforce sim` in its own process seeded with N HubSpot
//! contacts (default 1,000,000), then `hubforce sync --full --objects contact` in another,
//! whose peak resident set (VmHWM) is sampled from /proc until it exits. Only hubforce's
//! own memory is measured; the simulator's is not.
//!
//! `cargo bench --bench sync_memory` (HUBFORCE_BENCH_CONTACTS sets N). Linux only.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn wait_for(path: &Path, secs: u64) {
    let t0 = Instant::now();
    while !path.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "the simulator did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn main() {
    let contacts: usize = std::env::var("HUBFORCE_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let bin = env!("CARGO_BIN_EXE_hubforce");
    let dir = std::env::temp_dir().join(format!("hubforce-mem-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ready = dir.join("ready.json");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let _ = port; // the simulator's redirect port is its default; connects happen one at a time
    let t0 = Instant::now();
    let mut sim = Command::new(bin)
        .args([
            "sim",
            "--no-limits",
            "--leads",
            "0",
            "--companies",
            "200",
            "--deals",
            "0",
        ])
        .args(["--contacts", &contacts.to_string()])
        .arg("--ready-file")
        .arg(&ready)
        .stdout(Stdio::null())
        .spawn()
        .expect("simulator");
    wait_for(&ready, 1800);
    println!(
        "simulator seeded with {contacts} contacts in {:.0} s",
        t0.elapsed().as_secs_f64()
    );

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let info: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&ready).expect("ready")).expect("json");
        hubforce::connect::init_from_sim(&dir, &info, true).expect("profile");
        let toml = dir.join("hubforce.toml");
        let text = std::fs::read_to_string(&toml).expect("config")
            .replacen("plugins = []", "plugins = [\"default\"]", 1)
            .replacen(
                "[profiles.sim.hubspot]\n",
                "[profiles.sim.hubspot]\nburst_per_10s = 1000000\nsearch_per_second = 1000\ndaily_limit = 100000000\n",
                1,
            );
        std::fs::write(&toml, text).expect("config");
        let config = hubforce::config::Config::load(&toml).expect("config");
        let session = hubforce::session::Session::open(config, None, "bench").expect("session");
        hubforce::connect::connect_sim_both(&session).await.expect("connected");
    });
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/default");
    std::fs::create_dir_all(dir.join("plugins/default")).expect("plugins");
    for f in ["plugin.toml", "init.lua"] {
        std::fs::copy(plugins.join(f), dir.join("plugins/default").join(f)).expect("copy");
    }

    let t0 = Instant::now();
    let mut sync = Command::new(bin)
        .arg("--config")
        .arg(dir.join("hubforce.toml"))
        .args(["sync", "--full", "--objects", "contact", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("sync");
    let pid = sync.id();
    let mut peak = 0;
    while sync.try_wait().expect("wait").is_none() {
        peak = peak.max(vm_hwm_kb(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(100));
    }
    let secs = t0.elapsed().as_secs_f64();
    let out = sync.wait_with_output().expect("output");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
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
    println!(
        "peak RSS of the sync process: {:.1} MB (VmHWM, sampled every 100 ms)",
        peak as f64 / 1024.0
    );
    let _ = sim.kill();
    let _ = sim.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
