//! A 60-second soak (the full one is `cargo bench --bench soak`, 5 minutes): `sync --watch`
//! through user writes, faults, plugin edits, a revoked grant and a kill -9 ends with nothing
//! mismatched, duplicated or lost.

#[path = "common/soak.rs"]
mod soak;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minute_of_faults_edits_and_a_kill_loses_nothing() {
    let seconds = std::env::var("HUBFORCE_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let r = soak::soak_from(seconds, soak::Start::Rest).await;
    println!("{}", r.render());
    assert!(r.writes > 100, "{}", r.render());
    assert!(
        r.faults_installed > 10 && r.kills == 1 && r.reconnects >= 1,
        "{}",
        r.render()
    );
    assert!(
        r.reloads_applied >= 2 && r.reloads_refused >= 1 && r.hostile_edits >= 1,
        "{}",
        r.render()
    );
    assert!(r.checked > 300, "{}", r.render());
    assert!(r.deletes > 0 && r.merges > 0, "{}", r.render());
    assert!(
        r.mismatches.is_empty()
            && r.duplicates.is_empty()
            && r.lost.is_empty()
            && r.resurrected.is_empty(),
        "{}",
        r.render()
    );
}
