//! A sync you can trust with a client's data, through the binary against the simulator:
//! deletions and merges on either side are never undone, rules hold at first link and on
//! computed fields, hooks may call the APIs, inclusion stays current.

mod common;

use common::Connected;
use common::cli::{enable, hf};
use hubforce::sync::ledger::Ledger;
use serde_json::{Value, json};

fn ledger(c: &Connected) -> Ledger {
    Ledger::open(&c.dir.join(".hubforce/sim/ledger.sqlite")).expect("ledger")
}

/// Contacts linked to a Salesforce record of `sobject`: (HubSpot id, Salesforce id).
async fn linked(c: &Connected, sobject: &str, n: usize) -> Vec<(String, String)> {
    let l = ledger(c);
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let mut out = Vec::new();
    for r in hs.list_all("contacts", &["email"]).await.expect("contacts") {
        let id = r["id"].as_str().unwrap_or_default().to_string();
        if let Some((sf, ty)) = l.linked_sf("contact", &id).expect("ledger")
            && ty == sobject
        {
            out.push((id, sf));
        }
        if out.len() == n {
            break;
        }
    }
    assert_eq!(out.len(), n, "{n} contacts linked to a {sobject}");
    out
}

async fn synced(c: &Connected, args: &[&str]) -> Value {
    let mut all = vec!["sync", "--json"];
    all.extend_from_slice(args);
    let r = hf(&c.dir, &all).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    serde_json::from_str(&r.stdout).expect("the report as JSON")
}

/// A count summed over every direction of a pass.
fn total(report: &Value, what: &str) -> u64 {
    report["directions"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, c)| c[what].as_u64().unwrap_or(0))
        .sum()
}

async fn count(c: &Connected, soql: &str) -> usize {
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    sf.query(soql).await.expect("query").len()
}

async fn hs_email(c: &Connected, id: &str) -> String {
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    hs.get("contacts", id, &["email"], None)
        .await
        .expect("contact")["properties"]["email"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn touch_hubspot(c: &Connected, id: &str) {
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    hs.update(
        "contacts",
        id,
        json!({"jobtitle": "Edited after the deletion"}),
    )
    .await
    .expect("edit");
}

async fn touch_salesforce(c: &Connected, sobject: &str, id: &str) {
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    sf.update(sobject, id, json!({"Title": "Edited after the deletion"}))
        .await
        .expect("edit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_deleted_in_salesforce_is_kept_out_and_explained() {
    let c = common::connected("trust-sf-delete").await;
    enable(&c, &[], "");
    synced(&c, &[]).await;
    let (hs_id, lead) = linked(&c, "Lead", 1).await.remove(0);
    let email = hs_email(&c, &hs_id).await;
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    sf.delete("Lead", &lead).await.expect("delete");
    touch_hubspot(&c, &hs_id).await;
    let report = synced(&c, &[]).await;
    assert_eq!(total(&report, "deleted"), 1, "{report}");
    let again = count(&c, &format!("SELECT Id FROM Lead WHERE Email = '{email}'")).await;
    assert_eq!(again, 0, "the deleted Lead was not re-created");
    // Another edit, another pass: still not re-created.
    touch_hubspot(&c, &hs_id).await;
    synced(&c, &[]).await;
    assert_eq!(
        count(&c, &format!("SELECT Id FROM Lead WHERE Email = '{email}'")).await,
        0
    );
    let e = hf(&c.dir, &["explain", "contact", &hs_id]).await;
    assert!(
        e.stdout
            .contains(&format!("Lead {lead} deleted in Salesforce on ")),
        "{}",
        e.all()
    );
    assert!(
        e.stdout
            .contains(&format!("HubSpot {hs_id} kept, not re-created")),
        "{}",
        e.all()
    );
    assert!(!e.stdout.contains("create in Salesforce"), "{}", e.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_archived_in_hubspot_is_kept_out() {
    let c = common::connected("trust-hs-delete").await;
    enable(&c, &[], "");
    synced(&c, &[]).await;
    let (hs_id, lead) = linked(&c, "Lead", 1).await.remove(0);
    let email = hs_email(&c, &hs_id).await;
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    hs.archive("contacts", &hs_id).await.expect("archive");
    touch_salesforce(&c, "Lead", &lead).await;
    let report = synced(&c, &[]).await;
    assert_eq!(
        report["directions"]["Lead → HubSpot"]["deleted"], 1,
        "{report}"
    );
    let found = hs
        .search_page(
            "contacts",
            json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}]}),
        )
        .await
        .expect("search")
        .0;
    assert!(
        found.is_empty(),
        "the archived contact did not come back: {found:?}"
    );
    let e = hf(&c.dir, &["explain", "Lead", &lead]).await;
    assert!(
        e.stdout
            .contains(&format!("contacts {hs_id} deleted in HubSpot on ")),
        "{}",
        e.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propagate_deletes_the_counterparts_and_the_dry_run_counts_them() {
    let c = common::connected("trust-propagate").await;
    enable(
        &c,
        &[],
        "[profiles.sim.sync.deletes]\ncontact = \"propagate\"\n",
    );
    synced(&c, &[]).await;
    let pairs = linked(&c, "Lead", 5).await;
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    for (_, lead) in &pairs[..3] {
        sf.delete("Lead", lead).await.expect("delete");
    }
    let dry = synced(&c, &["--dry-run"]).await;
    let planned: Vec<&str> = dry["plans"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["action"].as_str())
        .filter(|a| a.contains("deleted too"))
        .collect();
    assert_eq!(planned.len(), 3, "{dry}");
    assert!(
        dry["write_calls_planned"]["hubspot"].as_u64() >= Some(1),
        "{dry}"
    );
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    for (hs_id, _) in &pairs[..3] {
        assert!(
            hs.get("contacts", hs_id, &[], None).await.is_ok(),
            "a dry run deletes nothing"
        );
    }
    synced(&c, &[]).await;
    for (hs_id, _) in &pairs[..3] {
        let e = hs
            .get("contacts", hs_id, &[], None)
            .await
            .expect_err("archived");
        assert_eq!(e.class.as_str(), "not_found", "{e}");
    }
    // And the other way: archived in HubSpot, deleted in Salesforce.
    for (hs_id, _) in &pairs[3..] {
        hs.archive("contacts", hs_id).await.expect("archive");
    }
    let report = synced(&c, &[]).await;
    assert_eq!(
        report["directions"]["contact → Salesforce"]["deleted"], 2,
        "{report}"
    );
    for (_, lead) in &pairs[3..] {
        assert_eq!(
            count(&c, &format!("SELECT Id FROM Lead WHERE Id = '{lead}'")).await,
            0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreate_is_the_incumbents_way_when_asked_for() {
    let c = common::connected("trust-recreate").await;
    enable(
        &c,
        &[],
        "[profiles.sim.sync.deletes]\ncontact = \"recreate\"\n",
    );
    synced(&c, &[]).await;
    let (hs_id, lead) = linked(&c, "Lead", 1).await.remove(0);
    let email = hs_email(&c, &hs_id).await;
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    sf.delete("Lead", &lead).await.expect("delete");
    synced(&c, &[]).await;
    touch_hubspot(&c, &hs_id).await;
    synced(&c, &[]).await;
    let again = count(&c, &format!("SELECT Id FROM Lead WHERE Email = '{email}'")).await;
    assert_eq!(again, 1, "recreate re-creates the Lead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_salesforce_merge_hands_the_link_to_the_survivor() {
    let c = common::connected("trust-sf-merge").await;
    enable(&c, &[], "");
    synced(&c, &[]).await;
    let (hs_id, loser) = linked(&c, "Lead", 1).await.remove(0);
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    let master = sf
        .create(
            "Lead",
            json!({"LastName": "Survivor", "Company": "Merge Co", "Email": "survivor@merge.example"}),
        )
        .await
        .expect("lead");
    c.control("/merge", json!({"master": master, "losers": [loser]}))
        .await;
    let report = synced(&c, &[]).await;
    assert_eq!(
        report["directions"]["Lead → HubSpot"]["merged"], 1,
        "{report}"
    );
    assert_eq!(
        ledger(&c)
            .linked_sf("contact", &hs_id)
            .expect("ledger")
            .map(|(s, _)| s),
        Some(master.clone()),
        "the survivor inherits the link"
    );
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let copies = hs
        .search_page(
            "contacts",
            json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "survivor@merge.example"}]}]}),
        )
        .await
        .expect("search")
        .0;
    // The survivor's values reached the linked contact; no second contact was made.
    let ids: Vec<&str> = copies.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(
        ids,
        [hs_id.as_str()],
        "nothing was created for the survivor"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hubspot_merge_relinks_one_and_keeps_the_other() {
    let c = common::connected("trust-hs-merge").await;
    enable(&c, &[], "");
    synced(&c, &[]).await;
    let pairs = linked(&c, "Lead", 2).await;
    let (a, lead_a) = pairs[0].clone();
    let (b, lead_b) = pairs[1].clone();
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let merged = hs
        .request(
            reqwest::Method::POST,
            "/crm/v3/objects/contacts/merge",
            Some(json!({"primaryObjectId": a, "objectIdToMerge": b})),
        )
        .await
        .expect("merge");
    let survivor = merged["id"].as_str().expect("id").to_string();
    let leads_before = count(&c, "SELECT Id FROM Lead").await;
    let report = synced(&c, &[]).await;
    assert_eq!(
        report["directions"]["contact → Salesforce"]["merged"], 2,
        "{report}"
    );
    let l = ledger(&c);
    assert_eq!(
        l.linked_sf("contact", &survivor)
            .expect("ledger")
            .map(|(s, _)| s),
        Some(lead_a.clone())
    );
    assert_eq!(
        count(&c, "SELECT Id FROM Lead").await,
        leads_before,
        "no Lead created"
    );
    // The other Lead is kept, and its edits do not re-create a HubSpot contact.
    touch_salesforce(&c, "Lead", &lead_b).await;
    let contacts_before = hs.list_all("contacts", &[]).await.expect("contacts").len();
    synced(&c, &[]).await;
    assert_eq!(
        hs.list_all("contacts", &[]).await.expect("contacts").len(),
        contacts_before
    );
    let e = hf(&c.dir, &["explain", "Lead", &lead_b]).await;
    assert!(
        e.stdout.contains(&format!(
            "contacts {b} merged into {survivor} in HubSpot on "
        )),
        "{}",
        e.all()
    );
}
