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
//! `-- --latency-ms N` makes the simulator hold every call N ms, as a distant API does).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

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

fn arg(name: &str) -> Option<u64> {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .and_then(|s| s.parse().ok())
}

struct Sim {
    child: std::process::Child,
    info: Value,
    dir: PathBuf,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_hubforce");

/// A seeded simulator in its own process, and a connected profile for it in `dir`.
fn start(contacts: usize, name: &str, latency: Option<u64>) -> Sim {
    let dir = std::env::temp_dir().join(format!("hubforce-compare-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let ready = dir.join("ready.json");
    let child = Command::new(BIN)
        .args([
            "sim",
            "--no-limits",
            "--leads",
            "0",
            "--companies",
            "50",
            "--deals",
            "0",
        ])
        .args(["--contacts", &contacts.to_string()])
        .arg("--ready-file")
        .arg(&ready)
        .stdout(Stdio::null())
        .spawn()
        .expect("simulator");
    let t0 = Instant::now();
    while !ready.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "the simulator did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(100)); // the file is written, then flushed
    let info: Value =
        serde_json::from_slice(&std::fs::read(&ready).expect("ready")).expect("ready json");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        hubforce::connect::init_from_sim(&dir, &info, true).expect("profile");
        let toml = dir.join("hubforce.toml");
        let text = std::fs::read_to_string(&toml)
            .expect("config")
            .replacen("plugins = []", "plugins = [\"default\"]", 1)
            .replacen(
                "[profiles.sim.hubspot]\n",
                "[profiles.sim.sync]\nobjects = [\"contact\"]\nactivities = []\n\n[profiles.sim.hubspot]\nburst_per_10s = 1000000\nsearch_per_second = 1000\ndaily_limit = 100000000\n",
                1,
            );
        std::fs::write(&toml, text).expect("config");
        let config = hubforce::config::Config::load(&toml).expect("config");
        let session = hubforce::session::Session::open(config, None, "bench").expect("session");
        hubforce::connect::connect_sim_both(&session)
            .await
            .expect("connected");
        if let Some(ms) = latency {
            for provider in ["hubspot", "salesforce"] {
                let s = reqwest::Client::new()
                    .post(format!("{}/faults", info["control"].as_str().expect("control")))
                    .json(&serde_json::json!({"provider": provider, "kind": "latency", "latency_ms": ms}))
                    .send()
                    .await
                    .expect("fault")
                    .status();
                assert!(s.is_success());
            }
        }
    });
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/default");
    std::fs::create_dir_all(dir.join("plugins/default")).expect("plugins");
    for f in ["plugin.toml", "init.lua"] {
        std::fs::copy(plugins.join(f), dir.join("plugins/default").join(f)).expect("copy");
    }
    Sim { child, info, dir }
}

fn served(sim: &Sim) -> u64 {
    let url = format!("{}/stats", sim.info["control"].as_str().expect("control"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let v: Value = rt.block_on(async {
        reqwest::get(url)
            .await
            .expect("stats")
            .json()
            .await
            .expect("json")
    });
    ["hubspot", "salesforce"]
        .iter()
        .map(|p| v["requests"][p]["total"].as_u64().unwrap_or(0))
        .sum()
}

struct Outcome {
    name: &'static str,
    seconds: f64,
    contacts: u64,
    calls: u64,
    peak_mb: f64,
    detail: String,
}

/// Run `args` against `sim`, sampling its peak RSS; returns (seconds, peak MB, stdout).
fn measure(sim: &Sim, args: &[&str]) -> (f64, f64, Value) {
    let t0 = Instant::now();
    let mut child = Command::new(BIN)
        .current_dir(&sim.dir)
        .args(["--config", "hubforce.toml"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hubforce");
    let pid = child.id();
    let mut peak = 0;
    while child.try_wait().expect("wait").is_none() {
        peak = peak.max(vm_hwm_kb(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(20));
    }
    let seconds = t0.elapsed().as_secs_f64();
    let out = child.wait_with_output().expect("output");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = serde_json::from_slice(&out.stdout).unwrap_or_default();
    (seconds, peak as f64 / 1024.0, v)
}

fn baseline(contacts: usize, latency: Option<u64>) -> Outcome {
    let sim = start(contacts, "baseline", latency);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/compare/baseline.lua");
    std::fs::copy(&script, sim.dir.join("baseline.lua")).expect("script");
    let before = served(&sim);
    let (seconds, peak_mb, v) = measure(&sim, &["run", "baseline.lua"]);
    let calls = served(&sim) - before;
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    Outcome {
        name: "baseline (per record)",
        seconds,
        contacts: n("created") + n("updated") + n("unchanged"),
        calls,
        peak_mb,
        detail: format!(
            "created {}, updated {}, failed {}, excluded {}",
            n("created"),
            n("updated"),
            n("failed"),
            n("excluded")
        ),
    }
}

fn engine(contacts: usize, latency: Option<u64>) -> Outcome {
    let sim = start(contacts, "engine", latency);
    let before = served(&sim);
    let (seconds, peak_mb, v) = measure(
        &sim,
        &["sync", "--once", "--full", "--objects", "contact", "--json"],
    );
    let calls = served(&sim) - before;
    let d = &v["directions"]["contact → Salesforce"];
    let n = |k: &str| d[k].as_u64().unwrap_or(0);
    Outcome {
        name: "hubforce sync",
        seconds,
        contacts: n("created") + n("updated") + n("unchanged"),
        calls,
        peak_mb,
        detail: format!(
            "created {}, updated {}, failed {}, excluded {}",
            n("created"),
            n("updated"),
            n("failed"),
            n("excluded")
        ),
    }
}

fn main() {
    let contacts: usize = std::env::var("HUBFORCE_BENCH_CONTACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let latency = arg("--latency-ms");
    let rows = [baseline(contacts, latency), engine(contacts, latency)];
    println!(
        "{contacts} seeded HubSpot contacts → Salesforce Leads, limits off, {}:",
        match latency {
            Some(ms) => format!("{ms} ms per call"),
            None => "loopback".into(),
        }
    );
    println!(
        "{:<22} {:>9} {:>10} {:>13} {:>8} {:>13} {:>9}",
        "", "wall s", "contacts", "contacts/s", "calls", "calls/contact", "peak MB"
    );
    for r in &rows {
        println!(
            "{:<22} {:>9.2} {:>10} {:>13.1} {:>8} {:>13.4} {:>9.1}   ({})",
            r.name,
            r.seconds,
            r.contacts,
            r.contacts as f64 / r.seconds,
            r.calls,
            r.calls as f64 / r.contacts.max(1) as f64,
            r.peak_mb,
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
