//! Transport benchmarks against the simulator on loopback:
//! 1. overhead: process CPU per request through the full transport (budget, token, request
//!    log in SQLite, classification path) minus the same request sent with bare reqwest;
//! 2. pacing: calls per ten-second window against a HubSpot burst limit, and 429s seen.
//!
//! `cargo bench --bench transport` (`-- --pace-seconds N` to change the pacing run).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hubforce::config::Config;
use hubforce::session::Session;
use hubforce::sim::{SimConfig, Simulator};
use serde_json::Value;

/// User + system CPU time of this process, from /proc (Linux), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 (utime, stime), counted from 1 over the whole line; after ')' they sit at 11 and 12.
    (ticks(11) + ticks(12)) / 100.0
}

fn arg(name: &str, default: f64) -> f64 {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

async fn connected_session(
    sim: &Simulator,
    dir: &std::path::Path,
    edit: impl Fn(String) -> String,
) -> Session {
    let ready = serde_json::to_value(sim.ready_info()).expect("ready");
    hubforce::connect::init_from_sim(dir, &ready, true).expect("init");
    let path = dir.join("hubforce.toml");
    let text = edit(std::fs::read_to_string(&path).expect("read"));
    std::fs::write(&path, text).expect("write");
    let s = Session::open(Config::load(&path).expect("config"), None, "bench").expect("session");
    let browser = |u: &url::Url| {
        let u = u.clone();
        tokio::spawn(async move {
            let _ = reqwest::get(u).await;
        });
    };
    hubforce::connect::hubspot(&s, Duration::from_secs(10), browser)
        .await
        .expect("connect");
    s
}

fn main() {
    let pace_secs = arg("--pace-seconds", 30.0);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let base = std::env::temp_dir().join(format!("hubforce-bench-{}", std::process::id()));

        // 1. Overhead.
        let mut c = SimConfig::new(3).without_limits();
        c.contacts = 50;
        c.leads = 10;
        let sim = Simulator::start(c).await.expect("sim");
        let dir = base.join("overhead");
        std::fs::create_dir_all(&dir).expect("dir");
        let s = connected_session(&sim, &dir, |t| t.replace("[profiles.sim.hubspot]\n", "[profiles.sim.hubspot]\nburst_per_10s = 1000000\ndaily_limit = 100000000\n")).await;
        let hs = s.hubspot().expect("hubspot");
        let token = hs.auth.access_token().await.expect("token");
        let url = format!("{}/crm/v3/owners/{}", sim.ready_info().hubspot.api_base, "70000000");
        let raw = reqwest::Client::new();
        let n = 4000;
        for _ in 0..200 {
            let _ = raw.get(&url).bearer_auth(token.expose()).send().await.map(|r| r.bytes());
            let _ = hs.request(reqwest::Method::GET, "/crm/v3/owners/70000000", None).await;
        }
        let (c0, t0) = (cpu_seconds(), Instant::now());
        for _ in 0..n {
            let r = raw.get(&url).bearer_auth(token.expose()).send().await.expect("raw");
            let _: Value = serde_json::from_slice(&r.bytes().await.expect("body")).expect("json");
        }
        let (raw_cpu, raw_wall) = (cpu_seconds() - c0, t0.elapsed());
        let (c0, t0) = (cpu_seconds(), Instant::now());
        for _ in 0..n {
            hs.request(reqwest::Method::GET, "/crm/v3/owners/70000000", None).await.expect("transport");
        }
        let (tr_cpu, tr_wall) = (cpu_seconds() - c0, t0.elapsed());
        let per = |d: f64| d / n as f64 * 1e6;
        println!("transport overhead ({n} sequential GETs of one owner, simulator in process, limits off)");
        println!("  bare reqwest:      {:>7.1} µs CPU/request  {:>7.1} µs wall/request", per(raw_cpu), per(raw_wall.as_secs_f64()));
        println!("  hubforce transport: {:>6.1} µs CPU/request  {:>7.1} µs wall/request", per(tr_cpu), per(tr_wall.as_secs_f64()));
        let overhead = per(tr_cpu) - per(raw_cpu);
        println!("  overhead:          {overhead:>7.1} µs CPU/request (target < 50: {})", if overhead < 50.0 { "met" } else { "NOT met" });
        sim.shutdown().await;

        // 2. Pacing against a Professional portal's ten-second limit (190).
        let mut c = SimConfig::new(4);
        c.contacts = 50;
        c.leads = 10;
        let sim = Simulator::start(c).await.expect("sim");
        let control = sim.ready_info().control.clone();
        let dir = base.join("pacing");
        std::fs::create_dir_all(&dir).expect("dir");
        let s = Arc::new(connected_session(&sim, &dir, |t| t.replace("[profiles.sim.hubspot]\n", "[profiles.sim.hubspot]\ntier = \"professional\"\n")).await);
        let deadline = Instant::now() + Duration::from_secs_f64(pace_secs);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut ok = 0u64;
                while Instant::now() < deadline {
                    let r = s.hubspot().expect("hubspot").request(reqwest::Method::GET, "/crm/v3/owners", None).await;
                    // Count what completed inside the measured period only.
                    if r.is_ok() && Instant::now() < deadline {
                        ok += 1;
                    }
                }
                ok
            }));
        }
        let mut calls = 0;
        for t in tasks {
            calls += t.await.unwrap_or(0);
        }
        let elapsed = pace_secs;
        let _ = start;
        let stats: Value = reqwest::get(format!("{control}/stats")).await.expect("stats").json().await.expect("json");
        let too_many = stats["requests"]["hubspot"]["by_status"]["429"].as_u64().unwrap_or(0);
        let per_window = calls as f64 / elapsed * 10.0;
        println!("paced throughput (32 concurrent callers, {pace_secs} s, limit 190 per 10 s)");
        println!("  {calls} calls completed within {elapsed:.0} s = {per_window:.1} per 10 s = {:.1}% of the limit; {too_many} answers were 429", per_window / 190.0 * 100.0);
        println!("  target ≥ 90% with zero 429s: {}", if per_window >= 171.0 && too_many == 0 { "met" } else { "NOT met" });
        sim.shutdown().await;
        let _ = std::fs::remove_dir_all(&base);
    });
}
