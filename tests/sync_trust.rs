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
    let report: Value = serde_json::from_str(&r.stdout).expect("the report as JSON");
    accounted(&report);
    report
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

/// Every record a direction pulled is in one column of the pass summary (deleted and merged
/// count links ended, beside them).
fn accounted(report: &Value) {
    for (direction, c) in report["directions"].as_object().into_iter().flatten() {
        if direction.starts_with("activity") {
            continue; // activities are logged, not pulled
        }
        let n = |k: &str| c[k].as_u64().unwrap_or(0);
        let columns = [
            "excluded",
            "echoes",
            "unchanged",
            "created",
            "updated",
            "skipped",
            "failed",
        ];
        let sum: u64 = columns.iter().map(|k| n(k)).sum();
        assert_eq!(n("pulled"), sum, "{direction}: {c}");
    }
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
    let gone: Vec<&str> = report["gone"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        gone.iter()
            .any(|g| g.starts_with(&format!("contacts {a} merged into {survivor} in HubSpot"))),
        "the summary names the merge: {gone:?}"
    );
    assert!(
        gone.iter()
            .any(|g| g.contains(&format!("Salesforce {lead_b} kept, not re-created"))),
        "{gone:?}"
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

async fn create_contact(c: &Connected, props: Value) -> String {
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    hs.create("contacts", props).await.expect("contact")["id"]
        .as_str()
        .expect("id")
        .to_string()
}

async fn lead_by_email(c: &Connected, email: &str, fields: &str) -> Value {
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    sf.query(&format!(
        "SELECT {fields} FROM Lead WHERE Email = '{email}'"
    ))
    .await
    .expect("query")
    .into_iter()
    .next()
    .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_first_link_a_blank_never_overwrites_a_value() {
    let c = common::connected("trust-first-link").await;
    common::cli::plugin(
        &c,
        "twoway",
        "",
        "return { mappings = { contact = { hubspot = 'contacts', salesforce = 'Lead', fields = {\n  { hubspot = 'jobtitle', salesforce = 'Title', rule = 'two_way' } } } } }",
    );
    enable(&c, &["twoway"], "");
    synced(&c, &[]).await;
    // A CFO in HubSpot, then a newer Lead of the same person without a title.
    let email = "cfo@first-link.example";
    let hs_id = create_contact(
        &c,
        json!({"email": email, "firstname": "Fay", "lastname": "Link", "company": "First Co",
               "jobtitle": "CFO", "lifecyclestage": "lead"}),
    )
    .await;
    // The simulator's clocks run ahead of the wall by a millisecond per write: let the
    // HubSpot side's settle, so that the Lead is the newer record, as in the field.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    sf.create(
        "Lead",
        json!({"LastName": "Link", "Company": "First Co", "Email": email}),
    )
    .await
    .expect("lead");
    let dry = synced(&c, &["--dry-run"]).await;
    let plan = dry["plans"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["hubspot_id"] == json!(hs_id))
        .cloned()
        .unwrap_or_default();
    let title = plan["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["hubspot"] == "jobtitle")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        title["decision"]["reason"], "linked just now: a blank never overwrites a value",
        "{plan:#}"
    );
    assert_eq!(title["decision"]["write_salesforce"], "CFO", "{plan:#}");
    synced(&c, &[]).await;
    assert_eq!(lead_by_email(&c, email, "Title").await["Title"], "CFO");
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let contact = hs
        .get("contacts", &hs_id, &["jobtitle"], None)
        .await
        .expect("contact");
    assert_eq!(contact["properties"]["jobtitle"], "CFO");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_computed_field_follows_its_inputs() {
    let c = common::connected("trust-computed").await;
    common::cli::plugin(
        &c,
        "rating",
        "reads = { contacts = [\"newsletter_opt_in\"] }",
        r#"return { transform = { Lead = {
  Rating = function(r) return r.properties.lifecyclestage == "salesqualifiedlead" and "Hot" or "Cold" end,
  Description = function(r) return r.properties.newsletter_opt_in == "true" and "reads the newsletter" or "no newsletter" end,
} } }"#,
    );
    enable(&c, &["rating"], "");
    let email = "computed@trust.example";
    let hs_id = create_contact(
        &c,
        json!({"email": email, "lastname": "Computed", "company": "Calc Co", "lifecyclestage": "lead",
               "newsletter_opt_in": "false"}),
    )
    .await;
    synced(&c, &[]).await;
    let lead = lead_by_email(&c, email, "Rating, Description").await;
    assert_eq!(
        (lead["Rating"].as_str(), lead["Description"].as_str()),
        (Some("Cold"), Some("no newsletter"))
    );
    // The Lead as created — with fields only the transform writes, which no pull reads — is
    // our echo when it comes back: not planned again.
    let second = synced(&c, &[]).await;
    let back = |what: &str| second["directions"]["Lead → HubSpot"][what].as_u64();
    assert!(back("pulled") >= Some(1), "{second:#}");
    assert_eq!(back("pulled"), back("echoes"), "{second:#}");
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    for (props, rating, description) in [
        (
            json!({"lifecyclestage": "salesqualifiedlead"}),
            "Hot",
            "no newsletter",
        ),
        (
            json!({"newsletter_opt_in": "true"}),
            "Hot",
            "reads the newsletter",
        ),
        (
            json!({"lifecyclestage": "lead"}),
            "Cold",
            "reads the newsletter",
        ),
    ] {
        hs.update("contacts", &hs_id, props.clone())
            .await
            .expect("edit");
        synced(&c, &[]).await;
        let lead = lead_by_email(&c, email, "Rating, Description").await;
        assert_eq!(
            (lead["Rating"].as_str(), lead["Description"].as_str()),
            (Some(rating), Some(description)),
            "after {props}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_shows_what_goes_on_the_wire_and_lossy_maps_are_named() {
    let c = common::connected("trust-wire").await;
    enable(&c, &[], "");
    synced(&c, &[]).await;
    let (_, lead) = linked(&c, "Lead", 1).await.remove(0);
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    sf.update("Lead", &lead, json!({"Status": "Working - Contacted"}))
        .await
        .expect("edit");
    let r = hf(&c.dir, &["sync", "--dry-run", "--show", "100"]).await;
    assert!(
        r.stdout
            .contains("→ HubSpot hs_lead_status := \"IN_PROGRESS\""),
        "{}",
        r.stdout
    );
    common::cli::plugin(
        &c,
        "lossy",
        "",
        "return { mappings = { company = { hubspot = 'companies', salesforce = 'Account', fields = {\n  { hubspot = 'industry', salesforce = 'Industry', type = 'picklist', values = { BANKING = 'Finance', ACCOUNTING = 'Finance' } } } } } }",
    );
    enable(&c, &["lossy"], "");
    let r = hf(&c.dir, &["check", "sync", "--no-roundtrip"]).await;
    assert!(
        r.stdout
            .contains("HubSpot's ACCOUNTING, BANKING all become Salesforce \"Finance\""),
        "{}",
        r.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_can_own_the_owner() {
    let c = common::connected("trust-owner").await;
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    let users = sf
        .query("SELECT Id FROM User WHERE IsActive = true")
        .await
        .expect("users");
    let owner = users
        .last()
        .and_then(|u| u["Id"].as_str())
        .expect("a user")
        .to_string();
    common::cli::plugin(
        &c,
        "owners",
        "[config.owner]\ntype = \"string\"\nrequired = true",
        "return {\n  mappings = { contact = { hubspot = 'contacts', salesforce = 'Lead', fields = {\n    { hubspot = 'hubspot_owner_id', salesforce = 'OwnerId', type = 'owner', rule = 'dont_sync' } } } },\n  transform = { Lead = { OwnerId = function() return config.owner end } },\n}",
    );
    enable(
        &c,
        &["owners"],
        &format!("[profiles.sim.plugin.owners]\nowner = \"{owner}\"\n"),
    );
    synced(&c, &[]).await;
    let pairs = linked(&c, "Lead", 3).await;
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let mut before = Vec::new();
    for (hs_id, lead) in &pairs {
        let l = sf.get("Lead", lead, &["OwnerId"]).await.expect("lead");
        assert_eq!(l["OwnerId"], json!(owner), "the plugin's owner");
        before.push(
            hs.get("contacts", hs_id, &["hubspot_owner_id"], None)
                .await
                .expect("contact")["properties"]["hubspot_owner_id"]
                .clone(),
        );
        touch_salesforce(&c, "Lead", lead).await;
        touch_hubspot(&c, hs_id).await;
    }
    synced(&c, &[]).await;
    synced(&c, &[]).await;
    for ((hs_id, lead), was) in pairs.iter().zip(before) {
        let l = sf.get("Lead", lead, &["OwnerId"]).await.expect("lead");
        assert_eq!(l["OwnerId"], json!(owner), "not fought back");
        let now = hs
            .get("contacts", hs_id, &["hubspot_owner_id"], None)
            .await
            .expect("contact")["properties"]["hubspot_owner_id"]
            .clone();
        assert_eq!(now, was, "the HubSpot owner is left alone");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_may_call_the_apis_during_a_sync() {
    let c = common::connected("trust-hook-api").await;
    common::cli::plugin(
        &c,
        "lookups",
        "limits = { calls_per_pass = 1000 }",
        r#"return {
  include = function(record, ctx)
    if ctx.side == "hubspot" and ctx.pair == "contact" then
      hubspot.contacts.get(record.id, { properties = { "email" } })
    end
    return nil
  end,
  transform = { Lead = { Description = function(record)
    local n = 0
    for _ in salesforce.query("SELECT Id FROM Account LIMIT 2") do n = n + 1 end
    return "accounts seen: " .. n
  end } },
}"#,
    );
    enable(
        &c,
        &["lookups"],
        "[profiles.sim.sync]\nobjects = [\"company\", \"contact\"]\n",
    );
    let report = synced(&c, &[]).await;
    assert!(
        report["errors_by_class"].get("plugin").is_none(),
        "{report}"
    );
    let (_, lead) = linked(&c, "Lead", 1).await.remove(0);
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    let l = sf.get("Lead", &lead, &["Description"]).await.expect("lead");
    assert_eq!(l["Description"], "accounts seen: 2");
    // A failing call inside a hook is the record's error, at the hook's line.
    common::cli::plugin(
        &c,
        "lookups",
        "",
        "return { transform = { Lead = { Description = function(record)\n  for _ in salesforce.query('SELECT Nope FROM Lead') do end\nend } } }",
    );
    touch_hubspot(&c, &linked(&c, "Lead", 1).await[0].0).await;
    synced(&c, &[]).await;
    let errors = hf(&c.dir, &["errors", "--class", "plugin"]).await;
    assert!(
        errors.stdout.contains("plugins/lookups/init.lua:2"),
        "{}",
        errors.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inclusion_list_is_read_every_pass_a_joiner_syncs_and_a_leaver_stops() {
    let c = common::connected("trust-list").await;
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let list = hs
        .request(
            reqwest::Method::POST,
            "/crm/v3/lists",
            Some(json!({"name": "Sync these", "objectTypeId": "0-1", "processingType": "MANUAL"})),
        )
        .await
        .expect("list")["list"]["listId"]
        .as_str()
        .expect("list id")
        .to_string();
    let member = create_contact(
        &c,
        json!({"email": "member@list.example", "lastname": "Member", "company": "List Co", "lifecyclestage": "lead"}),
    )
    .await;
    let outsider = create_contact(
        &c,
        json!({"email": "outsider@list.example", "lastname": "Outsider", "company": "List Co", "lifecyclestage": "lead"}),
    )
    .await;
    let path = format!("/crm/v3/lists/{list}/memberships/add");
    let add = |ids: Vec<String>| hs.request(reqwest::Method::PUT, &path, Some(json!(ids)));
    add(vec![member.clone()]).await.expect("add");
    enable(
        &c,
        &[],
        &format!(
            "[profiles.sim.sync]\nobjects = [\"company\", \"contact\"]\ninclusion_list = \"{list}\"\nwatch_interval_secs = 1\n"
        ),
    );
    synced(&c, &[]).await;
    assert!(
        lead_by_email(&c, "member@list.example", "Id")
            .await
            .is_object()
    );
    assert!(
        lead_by_email(&c, "outsider@list.example", "Id")
            .await
            .is_null()
    );
    let e = hf(&c.dir, &["explain", "contact", &outsider]).await;
    assert!(
        e.stdout.contains("not a member of the inclusion list"),
        "{}",
        e.all()
    );
    // A watch picks up a contact that joins the list while it runs — nothing about the
    // contact itself changed.
    let dir = c.dir.clone();
    let mut watch = std::process::Command::new(common::cli::BIN)
        .current_dir(&dir)
        .args(["sync", "--watch", "--json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("watch");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    add(vec![outsider.clone()]).await.expect("add");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while lead_by_email(&c, "outsider@list.example", "Id")
        .await
        .is_null()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the joiner never synced"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let _ = watch.kill();
    let _ = watch.wait();
    // One that leaves stops syncing, and explain says why.
    let remove = format!("/crm/v3/lists/{list}/memberships/remove");
    hs.request(reqwest::Method::PUT, &remove, Some(json!([member.clone()])))
        .await
        .expect("remove");
    hs.update("contacts", &member, json!({"lastname": "Left"}))
        .await
        .expect("edit");
    let report = synced(&c, &[]).await;
    assert!(total(&report, "excluded") >= 1, "{report}");
    let lead = lead_by_email(&c, "member@list.example", "LastName").await;
    assert_eq!(lead["LastName"], "Member", "a leaver's edit is not synced");
    let e = hf(&c.dir, &["explain", "contact", &member]).await;
    assert!(
        e.stdout.contains("not a member of the inclusion list"),
        "{}",
        e.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_in_hubspot_false_holds_for_every_pair_and_include_sees_both_sides() {
    let c = common::connected("trust-no-create").await;
    common::cli::plugin(
        &c,
        "sides",
        "",
        "return { include = function(record, ctx)\n  if ctx.side == 'salesforce' and (record.Email or ''):find('@skip%.example$') then\n    return { include = false, reason = 'a test address' }\n  end\n  return nil\nend }",
    );
    enable(
        &c,
        &["sides"],
        "[profiles.sim.sync]\ncreate_in_hubspot = false\n",
    );
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let before: Vec<usize> = futures_util::future::join_all(
        ["contacts", "companies", "deals"]
            .map(|o| async move { hs.list_all(o, &[]).await.expect("list").len() }),
    )
    .await;
    let report = synced(&c, &[]).await;
    let after: Vec<usize> = futures_util::future::join_all(
        ["contacts", "companies", "deals"]
            .map(|o| async move { hs.list_all(o, &[]).await.expect("list").len() }),
    )
    .await;
    assert_eq!(before, after, "nothing created in HubSpot: {report}");
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    let lead = sf
        .create(
            "Lead",
            json!({"LastName": "Skip", "Company": "Skip Co", "Email": "me@skip.example"}),
        )
        .await
        .expect("lead");
    let report = synced(&c, &[]).await;
    assert_eq!(
        report["directions"]["Lead → HubSpot"]["excluded"], 1,
        "{report}"
    );
    let e = hf(&c.dir, &["explain", "Lead", &lead]).await;
    assert!(e.stdout.contains("a test address"), "{}", e.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_delete_decides_per_record() {
    let c = common::connected("trust-on-delete").await;
    common::cli::plugin(
        &c,
        "deleter",
        "",
        "return { on_delete = function(record, ctx)\n  if ctx.side == 'salesforce' and ctx.counterpart_id == store.get('propagate') then return 'propagate' end\n  return nil\nend }",
    );
    enable(&c, &["deleter"], "");
    synced(&c, &[]).await;
    let pairs = linked(&c, "Lead", 2).await;
    hubforce::store::PluginStore::open(&c.dir.join(".hubforce/sim/store.sqlite"))
        .expect("store")
        .set(
            &hubforce::plugins::plugin::store_namespace("deleter"),
            "propagate",
            &json!(pairs[0].0),
        )
        .expect("set");
    let sf = c.session.salesforce.as_ref().expect("salesforce");
    for (_, lead) in &pairs {
        sf.delete("Lead", lead).await.expect("delete");
    }
    synced(&c, &[]).await;
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    assert!(
        hs.get("contacts", &pairs[0].0, &[], None).await.is_err(),
        "propagated"
    );
    assert!(
        hs.get("contacts", &pairs[1].0, &[], None).await.is_ok(),
        "kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_is_asked_only_with_candidates() {
    let c = common::connected("trust-resolve").await;
    common::cli::plugin(
        &c,
        "picky",
        "",
        "return { resolve = function(record, candidates, ctx)\n  if #candidates == 0 then error('resolve was asked with no candidates') end\n  store.set('asked', (store.get('asked') or 0) + 1)\n  return nil\nend }",
    );
    enable(&c, &["picky"], "");
    let report = synced(&c, &[]).await;
    assert!(
        report["errors_by_class"].get("plugin").is_none(),
        "{report}"
    );
    let asked = hubforce::store::PluginStore::open(&c.dir.join(".hubforce/sim/store.sqlite"))
        .expect("store")
        .get(
            &hubforce::plugins::plugin::store_namespace("picky"),
            "asked",
        )
        .expect("read");
    assert!(
        asked.and_then(|v| v.as_u64()).unwrap_or(0) > 0,
        "it was asked where records matched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_archived_while_a_pull_reads_its_pages_moves_no_other_out_of_it() {
    use hubforce::sync::pull::{Cursor, HsPager};
    let mut config = common::small_config();
    config.contacts = 1100;
    let c = common::connected_with("trust-pager", config).await;
    let hs = c.session.hubspot().expect("hubspot");
    let mut all: Vec<u64> = hs
        .list_all("contacts", &["email"])
        .await
        .expect("contacts")
        .iter()
        .filter_map(|r| r["id"].as_str()?.parse().ok())
        .collect();
    all.sort_unstable();
    assert!(all.len() > 600, "{}", all.len());
    let mut pager = HsPager::new(
        hs,
        "contacts",
        "lastmodifieddate",
        vec!["email".into()],
        &Cursor::default(),
    );
    let first = pager.next().await.expect("page").expect("records");
    assert_eq!(first.len(), 200);
    // A record already read is archived: every later offset moves one to the left, and a
    // page asked for by offset would start one record late.
    let gone = all[0];
    hs.request(
        reqwest::Method::DELETE,
        &format!("/crm/v3/objects/contacts/{gone}"),
        None,
    )
    .await
    .expect("archived");
    let mut seen: Vec<u64> = first
        .iter()
        .filter_map(|r| r["id"].as_str()?.parse().ok())
        .collect();
    while let Some(page) = pager.next().await.expect("page") {
        seen.extend(
            page.iter()
                .filter_map(|r| r["id"].as_str()?.parse::<u64>().ok()),
        );
    }
    let missing: Vec<u64> = all
        .iter()
        .copied()
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(missing.is_empty(), "skipped: {missing:?}");
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "a record was read twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_read_that_fails_for_some_records_does_not_take_them_for_deleted() {
    let c = common::connected("trust-unread").await;
    enable(&c, &[], "");
    synced(&c, &["--once"]).await;
    let (hs_id, lead) = linked(&c, "Lead", 1).await.remove(0);
    let sf = c.session.salesforce().expect("salesforce");
    sf.update("Lead", &lead, json!({"Title": "Chief Unread Officer"}))
        .await
        .expect("edited");
    // Every HubSpot batch read of this pass fails for all its inputs (a 207 whose errors are
    // not OBJECT_NOT_FOUND): the linked contacts are unread, not deleted.
    c.control(
        "/faults",
        json!({"provider": "hubspot", "kind": "partial_batch", "route": "/batch/read",
               "fraction": 1.0, "count": 20}),
    )
    .await;
    // The pass stops on the unread batch (a transient error, retried by the next pass).
    let r = hf(&c.dir, &["sync", "--once", "--json"]).await;
    assert!(!r.stderr.contains("panicked"), "{}", r.all());
    c.control_delete("/faults").await;
    let l = ledger(&c);
    assert!(
        l.tombstones_naming("contact", &hs_id)
            .expect("ledger")
            .is_empty(),
        "an unread contact was taken for deleted"
    );
    synced(&c, &["--once"]).await;
    let hs = c.session.hubspot.as_ref().expect("hubspot");
    let v = hs
        .request(
            reqwest::Method::GET,
            &format!("/crm/v3/objects/contacts/{hs_id}?properties=jobtitle"),
            None,
        )
        .await
        .expect("contact");
    assert_eq!(v["properties"]["jobtitle"], "Chief Unread Officer", "{v}");
}
