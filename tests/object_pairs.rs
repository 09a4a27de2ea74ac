//! Object pairs declared by plugins, end to end through the binary against the simulator:
//! tickets ⇄ Cases with two record types (plugins/examples/tickets) and a HubSpot custom
//! object ⇄ `Subscription__c` with its Account lookup (plugins/examples/subscriptions), and
//! the declaration errors that stop a sync before any call.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use common::cli::hf;
use common::default_plugin::copy_plugin;
use hubforce::session::Session;
use hubforce::sim::Simulator;
use serde_json::Value;

struct Profile {
    _sim: Simulator,
    dir: PathBuf,
    session: Session,
    portal: u64,
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A simulator seeded with tickets, Cases and subscriptions on both sides; a profile with
/// the default plugin and both examples, syncing every pair, connected with the scopes the
/// examples need.
async fn profile(name: &str) -> Profile {
    let mut config = common::small_config();
    config.tickets = 8;
    config.subscriptions = 6;
    let sim = Simulator::start(config.with_free_redirect_port())
        .await
        .expect("simulator");
    let dir = std::env::temp_dir().join(format!(
        "hubforce-pairs-{name}-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let ready = serde_json::to_value(sim.ready_info()).expect("ready");
    hubforce::connect::init_from_sim(&dir, &ready, true).expect("init");
    for p in ["default", "examples/tickets", "examples/subscriptions"] {
        copy_plugin(&dir, p);
    }
    let portal = sim.ready_info().hubspot.portal_id;
    let toml = dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&toml).expect("config");
    let text = text
        .replacen(
            "plugins = []",
            &format!(
                "plugins = [\"default\", \"examples/tickets\", \"examples/subscriptions\"]\n\
                 plugin.\"examples/subscriptions\" = {{ object = \"p{portal}_subscriptions\" }}"
            ),
            1,
        )
        .replacen(
            "optional_scopes = [\"crm.import\"]\n",
            "optional_scopes = [\"crm.import\", \"tickets\", \"crm.objects.custom.read\", \"crm.objects.custom.write\", \"crm.schemas.custom.read\"]\n",
            1,
        );
    let text = format!(
        "{text}\n[profiles.sim.sync]\nobjects = [\"company\", \"contact\", \"deal\", \"task\", \"ticket\", \"subscription\"]\n"
    );
    std::fs::write(&toml, text).expect("config");
    let config = hubforce::config::Config::load(&toml).expect("config loads");
    let session = Session::open(config, None, "test").expect("session");
    hubforce::connect::connect_sim_both(&session)
        .await
        .expect("connected");
    Profile {
        _sim: sim,
        dir,
        session,
        portal,
    }
}

impl Profile {
    fn hs(&self) -> &hubforce::api::hubspot::HubspotApi {
        self.session.hubspot.as_ref().expect("hubspot")
    }
    fn sf(&self) -> &hubforce::api::salesforce::SalesforceApi {
        self.session.salesforce.as_ref().expect("salesforce")
    }
    fn ledger(&self) -> hubforce::sync::ledger::Ledger {
        hubforce::sync::ledger::Ledger::open(&hubforce::profile::ledger_path(&self.session))
            .expect("ledger")
    }
    async fn records(&self, object: &str, props: &[&str]) -> Vec<Value> {
        self.hs().list_all(object, props).await.expect("list")
    }
}

fn s<'v>(v: &'v Value, k: &str) -> &'v str {
    v[k].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_and_cases_sync_by_record_type_with_their_contacts_and_accounts() {
    let p = profile("tickets").await;
    let r = hf(&p.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    assert!(r.stdout.contains("ticket → Salesforce"), "{}", r.stdout);
    assert!(r.stdout.contains("Case → HubSpot"), "{}", r.stdout);

    let types: BTreeMap<String, String> = p
        .sf()
        .query("SELECT Id, DeveloperName FROM RecordType WHERE SobjectType = 'Case'")
        .await
        .expect("record types")
        .iter()
        .map(|r| (s(r, "Id").to_string(), s(r, "DeveloperName").to_string()))
        .collect();
    let cases: HashMap<String, Value> = p
        .sf()
        .query("SELECT Id, RecordTypeId, Status, ContactId, AccountId, Subject, HubSpot_Id__c FROM Case")
        .await
        .expect("cases")
        .into_iter()
        .map(|c| (s(&c, "Id").to_string(), c))
        .collect();
    let ledger = p.ledger();
    let tickets = p
        .records(
            "tickets",
            &[
                "subject",
                "hs_pipeline",
                "hs_pipeline_stage",
                "hubforce_salesforce_id",
            ],
        )
        .await;
    // Every seeded ticket (8) and every seeded Case became a pair: HubSpot has a ticket
    // per Case, and each linked Case carries the ticket's pipeline as its record type.
    let errors = hf(&p.dir, &["errors"]).await;
    assert_eq!(
        tickets.len(),
        cases.len(),
        "one ticket per Case:\n{}\n{}",
        r.stdout,
        errors.stdout
    );
    let stage_of = |pipeline: &str, stage: &str| -> &'static str {
        match (pipeline, stage) {
            ("0", "1") | ("billing", "billing_new") => "New",
            ("0", "2") | ("billing", "billing_review") => "Working",
            ("0", "3") => "Escalated",
            _ => "Closed",
        }
    };
    let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
    for t in &tickets {
        let props = &t["properties"];
        let id = s(t, "id");
        let (case_id, _) = ledger
            .linked_sf("ticket", id)
            .expect("ledger")
            .unwrap_or_else(|| panic!("ticket {id} is not linked"));
        assert_eq!(
            s(props, "hubforce_salesforce_id"),
            case_id,
            "the id is written back"
        );
        let case = &cases[&case_id];
        let record_type = &types[s(case, "RecordTypeId")];
        let pipeline = s(props, "hs_pipeline");
        assert_eq!(
            record_type,
            if pipeline == "0" {
                "Support"
            } else {
                "Billing"
            },
            "ticket {id} in pipeline {pipeline}"
        );
        *by_type.entry(record_type.clone()).or_default() += 1;
        assert_eq!(
            s(case, "Status"),
            stage_of(pipeline, s(props, "hs_pipeline_stage")),
            "ticket {id}: {props}"
        );
        assert_eq!(s(props, "subject"), s(case, "Subject"));
    }
    assert!(
        by_type["Support"] >= 4 && by_type["Billing"] >= 4,
        "{by_type:?}"
    );
    // A ticket from HubSpot hangs from its contact's Contact and company's Account: every
    // Case made from a seeded ticket has the ContactId of its contact's link.
    let mut with_contact = 0;
    for case in cases.values().filter(|c| !s(c, "HubSpot_Id__c").is_empty()) {
        let ticket = s(case, "HubSpot_Id__c");
        let assoc = p
            .hs()
            .associations("tickets", "contacts", &[ticket.to_string()])
            .await
            .expect("associations");
        if let Some(contact) = assoc
            .into_iter()
            .next()
            .and_then(|(_, to)| to.into_iter().next())
            && let Some((sf_contact, ty)) = ledger.linked_sf("contact", &contact).expect("ledger")
            && ty == "Contact"
        {
            assert_eq!(s(case, "ContactId"), sf_contact, "Case of ticket {ticket}");
            with_contact += 1;
        }
    }
    assert!(
        with_contact > 0,
        "no ticket's contact is a Salesforce Contact"
    );
    // A Case from Salesforce came to HubSpot associated with its Contact's contact.
    let from_sf: Vec<&Value> = tickets
        .iter()
        .filter(|t| {
            let id = s(t, "id");
            cases.values().all(|c| s(c, "HubSpot_Id__c") != id)
        })
        .collect();
    assert!(!from_sf.is_empty());
    let ids: Vec<String> = from_sf.iter().map(|t| s(t, "id").to_string()).collect();
    let assoc = p
        .hs()
        .associations("tickets", "contacts", &ids)
        .await
        .expect("assoc");
    assert!(
        assoc.iter().any(|(_, to)| !to.is_empty()),
        "tickets from Cases have their contacts"
    );

    // A second pass changes nothing and duplicates nothing.
    let again = hf(&p.dir, &["sync", "--json"]).await;
    assert_eq!(again.code, Some(0), "{}", again.all());
    let after = p.records("tickets", &[]).await.len();
    assert_eq!(after, tickets.len(), "no ticket twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeclared_pipeline_is_excluded_with_its_reason_and_an_unmapped_stage_is_an_error() {
    let p = profile("pipelines").await;
    // The client syncs only its Support desk, and has not mapped "Waiting on us" (3).
    let init = p.dir.join("plugins/examples/tickets/init.lua");
    let text = std::fs::read_to_string(&init).expect("init");
    let start = text
        .find("      { record_type = \"Billing\"")
        .expect("billing");
    let end = start + text[start..].find("} },\n").expect("its end") + "} },\n".len();
    let text =
        format!("{}{}", &text[..start], &text[end..]).replacen(", [\"3\"] = \"Escalated\"", "", 1);
    std::fs::write(&init, text).expect("init");
    let tickets = p
        .records("tickets", &["hs_pipeline", "hs_pipeline_stage"])
        .await;
    let r = hf(&p.dir, &["sync", "--objects", "ticket"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let billing = tickets
        .iter()
        .find(|t| s(&t["properties"], "hs_pipeline") == "billing")
        .expect("a billing ticket");
    let shown = hf(&p.dir, &["explain", "ticket", s(billing, "id")]).await;
    assert_eq!(shown.code, Some(0), "{}", shown.all());
    assert!(
        shown.stdout.contains(
            "pipeline billing has no record type in pairs.ticket.record_types (Support ⇄ pipeline 0)"
        ),
        "{}",
        shown.stdout
    );
    assert!(
        p.ledger()
            .linked_sf("ticket", s(billing, "id"))
            .expect("l")
            .is_none()
    );
    let waiting = tickets
        .iter()
        .find(|t| {
            s(&t["properties"], "hs_pipeline") == "0"
                && s(&t["properties"], "hs_pipeline_stage") == "3"
        })
        .expect("a ticket waiting on us");
    let errors = hf(&p.dir, &["errors", "--json"]).await;
    assert!(
        errors.stdout.contains("UNMAPPED_STAGE")
            && errors
                .stdout
                .contains("hs_pipeline_stage 3 of pipeline 0 has no Status value")
            && errors
                .stdout
                .contains("pairs.ticket.record_types[1].stages")
            && errors.stdout.contains(s(waiting, "id")),
        "{}",
        errors.stdout
    );
    // Billing Cases stay in Salesforce: excluded, not created as tickets.
    let after = p.records("tickets", &["hs_pipeline"]).await;
    assert!(
        after
            .iter()
            .all(|t| s(&t["properties"], "hs_pipeline") == "0"
                || tickets.iter().any(|b| s(b, "id") == s(t, "id"))),
        "no ticket made in the billing pipeline"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_object_links_by_its_key_and_follows_its_account() {
    let p = profile("subscriptions").await;
    let object = format!("p{}_subscriptions", p.portal);
    let before_hs = p.records(&object, &[]).await.len();
    let before_sf = p
        .sf()
        .query("SELECT Id FROM Subscription__c")
        .await
        .expect("subs")
        .len();
    assert_eq!((before_hs, before_sf), (6, 6));
    let r = hf(&p.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    // The six on each side share their keys: linked, none created twice.
    let subs = p
        .records(
            &object,
            &["subscription_key", "hubforce_salesforce_id", "plan"],
        )
        .await;
    assert_eq!(subs.len(), 6, "no subscription created in HubSpot");
    let sf_subs = p
        .sf()
        .query("SELECT Id, Subscription_Key__c, Account__c, HubSpot_Id__c, Plan__c FROM Subscription__c")
        .await
        .expect("subs");
    assert_eq!(sf_subs.len(), 6, "no Subscription__c created in Salesforce");
    let ledger = p.ledger();
    for sub in &subs {
        let id = s(sub, "id");
        let key = s(&sub["properties"], "subscription_key");
        let (sf_id, ty) = ledger
            .linked_sf("subscription", id)
            .expect("ledger")
            .unwrap_or_else(|| panic!("subscription {key} is not linked"));
        assert_eq!(ty, "Subscription__c");
        let sf = sf_subs
            .iter()
            .find(|r| s(r, "Id") == sf_id)
            .expect("its record");
        assert_eq!(s(sf, "Subscription_Key__c"), key, "linked by the key");
        assert_eq!(s(&sub["properties"], "hubforce_salesforce_id"), sf_id);
    }
    // The Account lookup ⇄ the company association: each Subscription__c's Account__c is
    // the Account of the subscription's company (HubSpot's seed associates them).
    let mut checked = 0;
    for sub in &subs {
        let id = s(sub, "id").to_string();
        let companies = p
            .hs()
            .associations(&object, "companies", std::slice::from_ref(&id))
            .await
            .expect("assoc");
        let Some(company) = companies
            .into_iter()
            .next()
            .and_then(|(_, to)| to.into_iter().next())
        else {
            continue;
        };
        let (sf_id, _) = ledger
            .linked_sf("subscription", &id)
            .expect("l")
            .expect("linked");
        let sf = sf_subs
            .iter()
            .find(|r| s(r, "Id") == sf_id)
            .expect("its record");
        let account = s(sf, "Account__c");
        let linked_company = ledger.linked_hs("company", account).expect("ledger");
        // HubSpot's association decides (HubSpot → Salesforce runs first): Account__c is
        // now the Account linked to the subscription's company.
        if let Some(c) = linked_company {
            assert_eq!(c, company, "subscription {id}: Account {account}");
            checked += 1;
        }
    }
    assert!(checked > 0, "no subscription's company is linked");
    // A subscription made in HubSpot goes to Salesforce under its company's Account.
    let company = p.records("companies", &[]).await[0]["id"]
        .as_str()
        .expect("company")
        .to_string();
    let created = p
        .hs()
        .create(
            &object,
            serde_json::json!({"subscription_name": "New one", "subscription_key": "SUB-09999", "plan": "pro", "status": "active"}),
        )
        .await
        .expect("created");
    let new_id = s(&created, "id").to_string();
    let path =
        format!("/crm/v4/objects/{object}/{new_id}/associations/default/companies/{company}");
    p.hs()
        .request(reqwest::Method::PUT, &path, None)
        .await
        .expect("associated");
    let r = hf(&p.dir, &["sync"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let made = p
        .sf()
        .query("SELECT Id, Account__c, Plan__c FROM Subscription__c WHERE Subscription_Key__c = 'SUB-09999'")
        .await
        .expect("query");
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(s(&made[0], "Plan__c"), "Pro");
    let (account, _) = ledger
        .linked_sf("company", &company)
        .expect("l")
        .expect("company linked");
    assert_eq!(s(&made[0], "Account__c"), account);
}

/// A plugin beside the default one, declaring `pairs` as `init` gives them.
fn broken(p: &Profile, init: &str) -> hubforce::sync::ledger::Ledger {
    let dir = p.dir.join("plugins/examples/tickets");
    std::fs::write(dir.join("init.lua"), init).expect("init");
    p.ledger()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_declaration_error_stops_the_sync_at_its_line() {
    let p = profile("declarations").await;
    let good =
        std::fs::read_to_string(p.dir.join("plugins/examples/tickets/init.lua")).expect("init");
    let cases: Vec<(String, &str, &str)> = vec![
        // An unknown key, at its line.
        (
            good.replacen(
                "objects = { \"Case\" }",
                "objects = { \"Case\" }, objekts = 1",
                1,
            ),
            "unknown field `objekts`",
            "init.lua:10",
        ),
        // A parent no plugin declares.
        (
            good.replacen("pair = \"contact\"", "pair = \"person\"", 1),
            "person is not a declared pair",
            "init.lua:15",
        ),
        // A field Case does not have.
        (
            good.replacen("lookup = \"ContactId\"", "lookup = \"Contact__c\"", 1),
            "no lookup field Contact__c on Case",
            "init.lua:15",
        ),
        // A record type the org does not have.
        (
            good.replacen("record_type = \"Billing\"", "record_type = \"Refunds\"", 1),
            "Case has no record type Refunds (it has: Billing, Support)",
            "init.lua:21",
        ),
        // An sObject the org does not have.
        (
            good.replacen("objects = { \"Case\" }", "objects = { \"Kase\" }", 1),
            "Salesforce has no sObject Kase",
            "init.lua:10",
        ),
        // A HubSpot object the portal does not have.
        (
            good.replacen("object = \"tickets\"", "object = \"p1_tickets\"", 1),
            "HubSpot has no object p1_tickets",
            "init.lua:9",
        ),
        // An object the pair's sObjects do not include.
        (
            good.replacen(
                "objects = { \"Case\" }",
                "objects = { \"Case\" }, create_as = \"Lead\"",
                1,
            ),
            "Lead is not one of objects (Case)",
            "init.lua:10",
        ),
    ];
    for (init, says, at) in cases {
        let ledger = broken(&p, &init);
        let r = hf(&p.dir, &["sync"]).await;
        assert_eq!(r.code, Some(8), "{says}: {}", r.all());
        assert!(r.stderr.contains(says), "{says}: {}", r.stderr);
        assert!(r.stderr.contains(at), "{at} for {says}: {}", r.stderr);
        assert!(
            ledger.runs(5).expect("runs").is_empty(),
            "{says}: nothing ran"
        );
    }
    // A cycle of parents: company under ticket, ticket under company.
    std::fs::write(p.dir.join("plugins/examples/tickets/init.lua"), &good).expect("init");
    let default = p.dir.join("plugins/default/init.lua");
    let text = std::fs::read_to_string(&default).expect("default");
    std::fs::write(
        &default,
        text.replacen(
            "match = { by = \"domain_then_name\" },",
            "match = { by = \"domain_then_name\" },\n    parents = { { pair = \"ticket\", association = \"tickets\", lookup = \"Ticket__c\" } },",
            1,
        ),
    )
    .expect("default");
    let r = hf(&p.dir, &["sync"]).await;
    assert_eq!(r.code, Some(8), "{}", r.all());
    assert!(r.stderr.contains("parents run in a circle"), "{}", r.stderr);
    std::fs::write(&default, text).expect("default");
    // A pair the profile syncs that no plugin declares: at its hubforce.toml line.
    let toml = p.dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&toml).expect("config");
    std::fs::write(
        &toml,
        text.replace("\"subscription\"]", "\"subscriptoin\"]"),
    )
    .expect("w");
    let r = hf(&p.dir, &["sync"]).await;
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert!(
        r.stderr
            .contains("sync.objects names `subscriptoin`, which no enabled plugin declares"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hubforce.toml:"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pairs_hubspot_filters_and_soql_where_keep_other_records_out() {
    let p = profile("filters").await;
    let init = p.dir.join("plugins/examples/tickets/init.lua");
    let text = std::fs::read_to_string(&init).expect("init");
    std::fs::write(
        &init,
        text.replacen(
            "hubspot = { object = \"tickets\" },",
            "hubspot = { object = \"tickets\", filters = { { propertyName = \"hs_ticket_priority\", operator = \"EQ\", value = \"HIGH\" } } },",
            1,
        )
        .replacen(
            "salesforce = { objects = { \"Case\" } },",
            "salesforce = { objects = { \"Case\" }, where = \"Priority = 'High'\" },",
            1,
        ),
    )
    .expect("init");
    let before = p.records("tickets", &["hs_ticket_priority"]).await;
    let cases_before = p
        .sf()
        .query("SELECT Id, Priority FROM Case")
        .await
        .expect("cases");
    let r = hf(&p.dir, &["sync", "--objects", "ticket"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let ledger = p.ledger();
    for t in &before {
        let high = s(&t["properties"], "hs_ticket_priority") == "HIGH";
        let linked = ledger.linked_sf("ticket", s(t, "id")).expect("l").is_some();
        assert_eq!(linked, high, "ticket {t}");
    }
    for c in &cases_before {
        let high = s(c, "Priority") == "High";
        let linked = ledger.linked_hs("ticket", s(c, "Id")).expect("l").is_some();
        assert_eq!(linked, high, "Case {c}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_plugin_gives_deals_a_record_type_per_pipeline() {
    let p = profile("deal-types").await;
    // The client's one deal pipeline is its New Business record type; Renewals stay in
    // Salesforce. The plugin's `deal` replaces the default plugin's.
    let dir = p.dir.join("plugins/dealtypes");
    std::fs::create_dir_all(&dir).expect("plugin folder");
    std::fs::write(
        dir.join("plugin.toml"),
        "name = \"dealtypes\"\nversion = \"1.0.0\"\napi = 1\n",
    )
    .expect("manifest");
    std::fs::write(
        dir.join("init.lua"),
        r#"return { pairs = {
  deal = {
    hubspot = { object = "deals", salesforce_id = "salesforceopportunityid", pull = { "dealname" } },
    salesforce = { objects = { "Opportunity" }, pull = { "Name" } },
    match = { by = "ids" },
    parents = { { pair = "company", association = "companies", lookup = "AccountId" } },
    record_types = {
      { record_type = "New_Business", pipeline = "default", stage_field = "StageName",
        stages = { appointmentscheduled = "Prospecting", qualifiedtobuy = "Qualification",
                   presentationscheduled = "Value Proposition", decisionmakerboughtin = "Id. Decision Makers",
                   contractsent = "Negotiation/Review", closedwon = "Closed Won", closedlost = "Closed Lost" },
        salesforce_stages = { ["Needs Analysis"] = "qualifiedtobuy", ["Perception Analysis"] = "presentationscheduled",
                              ["Proposal/Price Quote"] = "decisionmakerboughtin" } },
    },
  },
} }
"#,
    )
    .expect("init");
    let toml = p.dir.join("hubforce.toml");
    let text = std::fs::read_to_string(&toml).expect("config");
    std::fs::write(
        &toml,
        text.replacen(
            "\"examples/subscriptions\"]",
            "\"examples/subscriptions\", \"dealtypes\"]",
            1,
        ),
    )
    .expect("config");
    let types: BTreeMap<String, String> = p
        .sf()
        .query("SELECT Id, DeveloperName FROM RecordType WHERE SobjectType = 'Opportunity'")
        .await
        .expect("record types")
        .iter()
        .map(|r| (s(r, "DeveloperName").to_string(), s(r, "Id").to_string()))
        .collect();
    let before = p
        .sf()
        .query("SELECT Id, RecordTypeId, HubSpot_Id__c FROM Opportunity")
        .await
        .expect("opportunities");
    let r = hf(&p.dir, &["sync", "--objects", "company,deal"]).await;
    assert_eq!(r.code, Some(0), "{}", r.all());
    let ledger = p.ledger();
    // Opportunities only Salesforce has: a New Business one comes to HubSpot, a Renewal
    // stays. (A pair both sides had takes its record type from the side changed last.)
    let own: Vec<&Value> = before
        .iter()
        .filter(|o| s(o, "HubSpot_Id__c").is_empty())
        .collect();
    assert!(own.len() >= 4, "{before:?}");
    for o in own {
        let linked = ledger.linked_hs("deal", s(o, "Id")).expect("l").is_some();
        let new_business = s(o, "RecordTypeId") == types["New_Business"];
        if linked != new_business {
            let shown = hf(&p.dir, &["explain", "Opportunity", s(o, "Id")]).await;
            panic!("Opportunity {o}:\n{}\n{}", shown.stdout, r.stdout);
        }
    }
    let after = p
        .sf()
        .query("SELECT Id, RecordTypeId, StageName FROM Opportunity")
        .await
        .expect("opportunities");
    let made: Vec<&Value> = after
        .iter()
        .filter(|o| before.iter().all(|b| s(b, "Id") != s(o, "Id")))
        .collect();
    assert!(!made.is_empty(), "HubSpot's deals became Opportunities");
    assert!(
        made.iter()
            .all(|o| s(o, "RecordTypeId") == types["New_Business"]),
        "{made:?}"
    );
    let renewal = before
        .iter()
        .find(|o| s(o, "RecordTypeId") == types["Renewal"] && s(o, "HubSpot_Id__c").is_empty())
        .expect("a renewal");
    let shown = hf(&p.dir, &["explain", "Opportunity", s(renewal, "Id")]).await;
    assert!(
        shown
            .stdout
            .contains("has no pipeline in pairs.deal.record_types"),
        "{}",
        shown.stdout
    );
}
