//! Running unattended (issue 20): a watch that is told to stop ends at a checkpoint and
//! exits 0, and what it leaves is finished by the next run without a loss or a duplicate.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::{BIN, enable, hf};

/// Links of the contact pair, by sObject: (links, distinct Salesforce ids).
fn contact_links(dir: &std::path::Path) -> Vec<(String, u64)> {
    let ledger = hubforce::sync::ledger::Ledger::open(&dir.join(".hubforce/sim/ledger.sqlite"))
        .expect("ledger");
    ledger
        .link_counts()
        .expect("links")
        .into_iter()
        .filter(|(pair, _, _)| pair == "contact")
        .map(|(_, sobject, n)| (sobject, n))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_in_the_middle_of_a_pass_stops_at_a_checkpoint_and_the_next_run_loses_nothing() {
    let mut config = common::small_config();
    (config.contacts, config.leads, config.deals) = (3000, 0, 0);
    let c = common::connected_with("unattended-sigterm", config).await;
    // Small batches, and calls 60 ms away: a pass of many checkpoints, long enough to be
    // stopped in the middle.
    enable(&c, &[], "\n[profiles.sim.sync]\nbatch_size = 100\n");
    for provider in ["hubspot", "salesforce"] {
        c.control(
            "/faults",
            serde_json::json!({"provider": provider, "kind": "latency", "latency_ms": 60}),
        )
        .await;
    }
    let mut child = Command::new(BIN)
        .current_dir(&c.dir)
        .args(["sync", "--watch", "--objects", "contact"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hubforce runs");
    // Off a terminal, the pass logs a line of its progress every few seconds: the first says
    // it is under way. Its stderr is read on a thread to the end, so the pipe never fills.
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let (lines, seen_line) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines.send(line.clone());
            all.push(line);
        }
        all
    });
    let t0 = Instant::now();
    loop {
        let left = Duration::from_secs(120).saturating_sub(t0.elapsed());
        match seen_line.recv_timeout(left) {
            Ok(line) if line.starts_with("sync: contact → Salesforce") => break,
            Ok(_) => {}
            Err(e) => panic!("no progress line from the pass: {e}"),
        }
    }
    // SAFETY: kill only sends a signal to the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "still running a minute after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut stdout)
        .expect("stdout");
    let seen = reader.join().unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{stdout}\n{}", seen.join("\n"));
    c.control_delete("/faults").await;
    assert!(
        stdout.contains("stopped early: a stop was asked (SIGTERM or Ctrl-C)"),
        "{stdout}"
    );
    // It stopped part-way: some contacts are linked, not all.
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let contacts = hs.list_all("contacts", &[]).await.expect("contacts").len() as u64;
    let linked: u64 = contact_links(&c.dir).iter().map(|(_, n)| n).sum();
    assert!(linked > 0 && linked < contacts, "{linked} of {contacts}");
    // The next run finishes: every contact linked once, one Salesforce record each.
    let r = hf(&c.dir, &["sync", "--once", "--objects", "contact"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let errors = hf(&c.dir, &["errors", "--json"]).await;
    let errors: serde_json::Value = serde_json::from_str(&errors.stdout).expect("errors");
    let in_error = errors.as_array().map_or(0, Vec::len) as u64;
    let links = contact_links(&c.dir);
    let linked: u64 = links.iter().map(|(_, n)| n).sum();
    assert_eq!(linked + in_error, contacts, "{links:?} {errors:#}");
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    for (sobject, n) in &links {
        let in_org = sf
            .query(&format!("SELECT Id FROM {sobject}"))
            .await
            .expect("query")
            .len() as u64;
        assert!(in_org >= *n, "{sobject}: {in_org} in the org, {n} linked");
        if sobject == "Lead" {
            // Every Lead is one the sync made for a contact: none twice.
            assert_eq!(in_org, *n, "Leads in the org and linked");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_put_one_object_a_line_on_stderr_with_a_summary_per_pass() {
    let mut config = common::small_config();
    (config.contacts, config.leads, config.deals) = (40, 0, 0);
    let c = common::connected_with("unattended-json-logs", config).await;
    enable(&c, &[], "");
    let r = hf(
        &c.dir,
        &[
            "--log-format",
            "json",
            "sync",
            "--once",
            "--objects",
            "contact",
        ],
    )
    .await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let lines: Vec<serde_json::Value> = r
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let pass = lines
        .iter()
        .find(|l| l["target"] == "pass")
        .unwrap_or_else(|| panic!("no pass summary in {lines:#?}"));
    assert_eq!(pass["profile"], "sim");
    assert!(pass["created"].as_u64().unwrap_or(0) > 0, "{pass}");
    assert!(pass["calls_salesforce"].as_u64().unwrap_or(0) > 0, "{pass}");
    assert_eq!(pass["interrupted"], false);
    // An error is a JSON line too, with the exit code of its class.
    let r = hf(
        &c.dir,
        &[
            "--log-format",
            "json",
            "sync",
            "--once",
            "--objects",
            "nosuchpair",
        ],
    )
    .await;
    assert_ne!(r.code, Some(0));
    let last: serde_json::Value =
        serde_json::from_str(r.stderr.lines().last().unwrap_or_default()).expect("JSON error");
    assert_eq!(last["level"], "ERROR", "{last}");
    assert_eq!(
        last["exit_code"].as_u64(),
        r.code.map(|c| c as u64),
        "{last}"
    );
}
