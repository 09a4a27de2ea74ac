//! A short soak that begins with a Bulk import (4,000 contacts and 2,200 Leads, over
//! `bulk_threshold`): the import reads and writes through Bulk API jobs and HubSpot imports
//! while faults, edits and a kill -9 go on, and it ends with nothing mismatched, duplicated
//! or lost. The long one is `cargo bench --bench soak -- --bulk`.

#[path = "common/soak.rs"]
mod soak;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soak_that_begins_with_a_bulk_import_loses_nothing() {
    let seconds = std::env::var("HUBFORCE_SOAK_BULK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let r = soak::soak_from(seconds, soak::Start::Bulk).await;
    println!("{}", r.render());
    let [ingest, query, imports] = r.bulk;
    assert!(
        ingest >= 1 && query >= 1 && imports >= 1,
        "the import did not go through Bulk: {}",
        r.render()
    );
    assert!(r.checked > 3_000, "{}", r.render());
    assert!(
        r.mismatches.is_empty()
            && r.duplicates.is_empty()
            && r.lost.is_empty()
            && r.resurrected.is_empty(),
        "{}",
        r.render()
    );
}
