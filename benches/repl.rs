//! `hubforce repl` start-up: the release binary on a pseudo-terminal against a connected
//! simulator pair, timed from spawn to its prompt, and `repl -e nil` from spawn to exit;
//! the simulator's request counters show that no call is made before a provider is used.
//!
//! `cargo bench --bench repl` (`-- --runs N`, default 20).

#[path = "../tests/common/pty.rs"]
#[allow(dead_code)]
mod pty;

#[allow(dead_code)] // each bench uses part of it
#[path = "support/simproc.rs"]
mod simproc;

use std::process::Command;
use std::time::{Duration, Instant};

use hubforce::sim::{SimConfig, Simulator};

fn repl(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hubforce"));
    c.current_dir(dir)
        .args(["--config", "hubforce.toml", "repl"])
        .env("NO_COLOR", "1");
    c
}

async fn served(sim: &Simulator) -> u64 {
    let url = format!("{}/stats", sim.ready_info().control);
    let v: serde_json::Value = reqwest::get(url)
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    ["hubspot", "salesforce"]
        .iter()
        .map(|p| v["requests"][p]["total"].as_u64().unwrap_or(0))
        .sum()
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let sim = Simulator::start(SimConfig::new(7).with_free_redirect_port())
            .await
            .expect("simulator");
        let dir = std::env::temp_dir().join(format!("hubforce-bench-repl-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        hubforce::connect::sim_session(&sim, &dir)
            .await
            .expect("connected pair");
        let before = served(&sim).await;
        let n = simproc::arg("--runs").unwrap_or(20);
        let d = dir.clone();
        let (mut prompt, mut eval) = tokio::task::spawn_blocking(move || {
            let (mut prompt, mut eval) = (Vec::new(), Vec::new());
            for _ in 0..n {
                let t0 = Instant::now();
                let mut t = pty::Pty::spawn(repl(&d));
                t.expect("sim> ", Duration::from_secs(10));
                prompt.push(t0.elapsed());
                t.send("\x04");
                let _ = t.child.wait();
                let t0 = Instant::now();
                let out = repl(&d).args(["-e", "nil"]).output().expect("repl -e");
                assert!(out.status.success());
                eval.push(t0.elapsed());
            }
            (prompt, eval)
        })
        .await
        .expect("runs");
        let calls = served(&sim).await - before;
        println!("hubforce repl on a connected simulator pair (target: prompt < 150 ms, no call):");
        simproc::print_times("spawn → prompt on a terminal", &mut prompt);
        simproc::print_times("repl -e nil, spawn → exit", &mut eval);
        println!("API calls made by {} start-ups: {calls}", 2 * n);
        assert_eq!(calls, 0, "start-up must not call a provider");
        let _ = std::fs::remove_dir_all(&dir);
    });
}
