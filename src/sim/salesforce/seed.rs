//! A seeded org: users, the Organization row, Accounts, Contacts, Leads (a few converted),
//! Opportunities and Tasks, overlapping the HubSpot portal's data through the universe.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::Duration;
use serde_json::{Value, json};

use super::ids;
use super::oauth::OAuthState;
use super::query::Cursors;
use super::schema::{
    CASE_STATUSES, INDUSTRIES, LEAD_SOURCES, LEAD_STATUSES, OPPORTUNITY_STAGES, PRODUCT_INTERESTS,
    RECORD_TYPES, SUBSCRIPTION_PLANS, record_type_id, standard_objects, subscription_object,
};
use super::store::Store;
use super::{ApiUsage, SalesforceWorld};
use crate::sim::Urls;
use crate::sim::clock::date_string;
use crate::sim::config::SimConfig;
use crate::sim::universe::{Universe, seeded_time};

fn vals(pairs: Vec<(&str, Value)>) -> Vec<(String, Value)> {
    pairs
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

pub fn seed(config: &SimConfig, _urls: &Urls) -> SalesforceWorld {
    let settings = config.salesforce.clone();
    let u = Universe::new(
        config.seed,
        config.contacts + config.leads,
        config.companies,
    );
    let mut rng = fastrand::Rng::with_seed(config.seed ^ 0x5A1E);
    let mut objects = standard_objects();
    if config.subscriptions > 0 {
        objects.push(subscription_object());
    }
    let mut store = Store::new(objects, config.seed);
    store.duplicate_rule = settings.duplicate_rule;
    let def = |store: &Store, name: &str| {
        store
            .object(name)
            .cloned()
            .unwrap_or_else(|| unreachable!("standard object {name}"))
    };
    let (user_def, org_def) = (def(&store, "User"), def(&store, "Organization"));

    let start = seeded_time(&mut fastrand::Rng::with_seed(config.seed));
    let org_id = ids::to18(&settings.org_id);
    let edition = match settings.edition {
        super::super::config::SalesforceEdition::Developer => "Developer Edition",
        super::super::config::SalesforceEdition::Professional => "Professional Edition",
        super::super::config::SalesforceEdition::Enterprise => "Enterprise Edition",
        super::super::config::SalesforceEdition::Unlimited => "Unlimited Edition",
    };
    store.insert_as(
        &org_def,
        org_id.clone(),
        vals(vec![
            ("Name", json!("Acme Sim")),
            ("IsSandbox", json!(settings.sandbox)),
            ("OrganizationType", json!(edition)),
            (
                "InstanceName",
                json!(if settings.sandbox { "CS42" } else { "NA99" }),
            ),
        ]),
        start,
    );
    let username = settings.username();
    store.user_id = store.insert(
        &user_def,
        vals(vec![
            ("Username", json!(username)),
            ("Email", json!(settings.username_base)),
            ("FirstName", json!("Integration")),
            ("LastName", json!("User")),
            ("IsActive", json!(true)),
        ]),
        start,
    );
    let suffix = if settings.sandbox {
        format!(".{}", settings.sandbox_name)
    } else {
        String::new()
    };
    let rep_ids: Vec<String> = u
        .reps
        .iter()
        .map(|r| {
            store.insert(
                &user_def,
                vals(vec![
                    ("Username", json!(format!("{}{suffix}", r.email))),
                    ("Email", json!(r.email)),
                    ("FirstName", json!(r.first)),
                    ("LastName", json!(r.last)),
                    ("Title", json!("Account Executive")),
                    ("IsActive", json!(true)),
                ]),
                start,
            )
        })
        .collect();

    let account_def = def(&store, "Account");
    let mut accounts: HashMap<usize, String> = HashMap::new();
    for (i, org) in u.orgs.iter().enumerate().take(config.companies / 2) {
        let id = store.insert(
            &account_def,
            vals(vec![
                ("Name", json!(org.name)),
                ("Website", json!(format!("https://www.{}", org.domain))),
                ("Industry", json!(INDUSTRIES[org.industry])),
                (
                    "Type",
                    json!(["Prospect", "Customer - Direct", "Other"][i % 3]),
                ),
                ("NumberOfEmployees", json!(org.employees)),
                ("AnnualRevenue", json!(org.revenue as f64)),
                ("BillingCity", json!(org.city)),
                ("BillingCountry", json!(org.country)),
                ("OwnerId", json!(rep_ids[org.owner])),
            ]),
            org.created,
        );
        accounts.insert(i, id);
    }

    let contact_def = def(&store, "Contact");
    for p in u.people.iter().take(config.contacts / 5) {
        store.insert(
            &contact_def,
            vals(vec![
                (
                    "AccountId",
                    accounts
                        .get(&p.org)
                        .map(|a| json!(a))
                        .unwrap_or(Value::Null),
                ),
                ("FirstName", json!(p.first)),
                ("LastName", json!(p.last)),
                ("Email", json!(p.email)),
                ("Phone", json!(p.phone)),
                ("Title", json!(p.title)),
                ("MailingCity", json!(p.city)),
                ("MailingCountry", json!(p.country)),
                (
                    "LeadSource",
                    json!(LEAD_SOURCES[rng.usize(..LEAD_SOURCES.len())]),
                ),
                ("OwnerId", json!(rep_ids[p.owner])),
            ]),
            p.created,
        );
    }

    let lead_def = def(&store, "Lead");
    let overlap = (config.contacts / 4).min(config.leads / 2);
    let first_lead = config.contacts - overlap;
    let mut lead_ids = Vec::new();
    for p in u.people.iter().skip(first_lead).take(config.leads) {
        let org = &u.orgs[p.org];
        let converted = rng.u8(..20) == 0;
        let mut v = vec![
            ("FirstName", json!(p.first)),
            ("LastName", json!(p.last)),
            ("Company", json!(org.name)),
            ("Email", json!(p.email)),
            ("Phone", json!(p.phone)),
            ("Title", json!(p.title)),
            ("City", json!(p.city)),
            ("Country", json!(p.country)),
            ("Industry", json!(INDUSTRIES[org.industry])),
            (
                "LeadSource",
                json!(LEAD_SOURCES[rng.usize(..LEAD_SOURCES.len())]),
            ),
            (
                "Status",
                json!(if converted {
                    "Closed - Converted"
                } else {
                    LEAD_STATUSES[rng.usize(..2)]
                }),
            ),
            ("Rating", json!(["Hot", "Warm", "Cold"][rng.usize(..3)])),
            ("OwnerId", json!(rep_ids[p.owner])),
        ];
        if rng.u8(..4) == 0 {
            v.push((
                "Product_Interest__c",
                json!(format!("{};{}", PRODUCT_INTERESTS[0], PRODUCT_INTERESTS[2])),
            ));
        }
        if converted {
            v.push(("IsConverted", json!(true)));
            v.push((
                "ConvertedDate",
                json!(date_string((p.created + Duration::days(20)).date_naive())),
            ));
        }
        lead_ids.push(store.insert(&lead_def, vals(v), p.created));
    }

    // Record types are metadata every org of this shape has: two for Opportunity, two
    // for Case, at fixed ids (describe's recordTypeInfos name the same ones).
    let rt_def = def(&store, "RecordType");
    for (i, (sobject, dev, label)) in RECORD_TYPES.iter().enumerate() {
        store.insert_as(
            &rt_def,
            record_type_id(i),
            vals(vec![
                ("Name", json!(label)),
                ("DeveloperName", json!(dev)),
                ("SobjectType", json!(sobject)),
                ("IsActive", json!(true)),
            ]),
            start,
        );
    }
    let record_types = |sobject: &str| -> Vec<String> {
        RECORD_TYPES
            .iter()
            .enumerate()
            .filter(|(_, (o, ..))| *o == sobject)
            .map(|(i, _)| record_type_id(i))
            .collect()
    };
    let (opp_types, case_types) = (record_types("Opportunity"), record_types("Case"));
    let opp_def = def(&store, "Opportunity");
    let account_ids: Vec<&String> = accounts.values().collect::<Vec<_>>();
    let mut account_ids: Vec<&String> = account_ids;
    account_ids.sort();
    for i in 0..config.deals / 2 {
        let created = seeded_time(&mut rng);
        let stage = OPPORTUNITY_STAGES[rng.usize(..OPPORTUNITY_STAGES.len())];
        store.insert(
            &opp_def,
            vals(vec![
                ("Name", json!(format!("Opportunity {}", i + 1))),
                (
                    "AccountId",
                    account_ids
                        .get(i % account_ids.len().max(1))
                        .map(|a| json!(a))
                        .unwrap_or(Value::Null),
                ),
                ("StageName", json!(stage)),
                (
                    "CloseDate",
                    json!(date_string(
                        (created + Duration::days(rng.i64(10..120))).date_naive()
                    )),
                ),
                ("Amount", json!(f64::from(rng.u32(5..500) * 100))),
                ("OwnerId", json!(rep_ids[i % rep_ids.len()])),
                ("RecordTypeId", json!(opp_types[i % opp_types.len()])),
            ]),
            created,
        );
    }

    let task_def = def(&store, "Task");
    for (i, lead) in lead_ids.iter().enumerate().step_by(10) {
        let created = seeded_time(&mut rng);
        store.insert(
            &task_def,
            vals(vec![
                ("Subject", json!("Call")),
                ("WhoId", json!(lead)),
                (
                    "ActivityDate",
                    json!(date_string((created + Duration::days(3)).date_naive())),
                ),
                ("Status", json!(["Not Started", "Completed"][i % 2])),
                ("Priority", json!("Normal")),
                ("TaskSubtype", json!("Call")),
                ("OwnerId", json!(rep_ids[i % rep_ids.len()])),
            ]),
            created,
        );
    }

    // A few Cases on contacts that have accounts, and a campaign with members: the
    // standard objects people query exist with data.
    let case_def = def(&store, "Case");
    let contact_accounts: Vec<(String, Value)> = store
        .records
        .get("Contact")
        .map(|m| {
            m.values()
                .filter(|c| !c.get("AccountId").is_null())
                .step_by(7)
                .map(|c| (c.id.clone(), c.get("AccountId").clone()))
                .collect()
        })
        .unwrap_or_default();
    // With `--tickets N`, N Cases more (the HubSpot side gets N tickets).
    let tickets = if contact_accounts.is_empty() {
        0
    } else {
        config.tickets
    };
    let cases: Vec<(String, Value)> = contact_accounts
        .iter()
        .cloned()
        .chain((0..tickets).map(|i| contact_accounts[i % contact_accounts.len()].clone()))
        .collect();
    for (i, (contact, account)) in cases.iter().enumerate() {
        let created = seeded_time(&mut rng);
        store.insert(
            &case_def,
            vals(vec![
                ("Subject", json!(format!("Case {}", i + 1))),
                ("ContactId", json!(contact)),
                ("AccountId", account.clone()),
                ("Status", json!(CASE_STATUSES[i % CASE_STATUSES.len()])),
                ("Priority", json!(["High", "Medium", "Low"][i % 3])),
                ("Origin", json!(["Phone", "Email", "Web"][i % 3])),
                ("OwnerId", json!(rep_ids[i % rep_ids.len()])),
                ("RecordTypeId", json!(case_types[i % case_types.len()])),
            ]),
            created,
        );
    }
    let campaign_def = def(&store, "Campaign");
    let member_def = def(&store, "CampaignMember");
    let campaign = store.insert(
        &campaign_def,
        vals(vec![
            ("Name", json!("Spring Webinar")),
            ("Type", json!("Webinar")),
            ("Status", json!("Completed")),
            ("IsActive", json!(true)),
            ("OwnerId", json!(rep_ids[0])),
        ]),
        seeded_time(&mut rng),
    );
    for (i, lead) in lead_ids.iter().enumerate().step_by(5) {
        store.insert(
            &member_def,
            vals(vec![
                ("CampaignId", json!(campaign)),
                ("LeadId", json!(lead)),
                ("Status", json!(["Sent", "Responded"][i % 2])),
            ]),
            seeded_time(&mut rng),
        );
    }

    if config.subscriptions > 0 {
        let sub_def = def(&store, "Subscription__c");
        let accounts_sorted: Vec<String> = {
            let mut a: Vec<String> = accounts.values().cloned().collect();
            a.sort();
            a
        };
        for i in 0..config.subscriptions {
            let created = seeded_time(&mut rng);
            let start_date = (created + Duration::days(1)).date_naive();
            store.insert(
                &sub_def,
                vals(vec![
                    ("Name", json!(format!("Subscription {}", i + 1))),
                    (
                        "Account__c",
                        accounts_sorted
                            .get(i % accounts_sorted.len().max(1))
                            .map(|a| json!(a))
                            .unwrap_or(Value::Null),
                    ),
                    (
                        "Plan__c",
                        json!(SUBSCRIPTION_PLANS[i % SUBSCRIPTION_PLANS.len()]),
                    ),
                    ("Status__c", json!(["Active", "Active", "Paused"][i % 3])),
                    ("Start_Date__c", json!(date_string(start_date))),
                    (
                        "Renewal_Date__c",
                        json!(date_string(start_date + Duration::days(365))),
                    ),
                    ("Monthly_Amount__c", json!(f64::from(rng.u32(2..50) * 10))),
                    ("Subscription_Key__c", json!(format!("SUB-{:05}", i + 1))),
                    ("OwnerId", json!(rep_ids[i % rep_ids.len()])),
                ]),
                created,
            );
        }
    }

    SalesforceWorld {
        org_id,
        store,
        oauth: OAuthState::new(config.seed),
        usage: ApiUsage {
            used: 0,
            window_start: Instant::now(),
        },
        cursors: Cursors::new(settings.max_query_cursors),
        bulk: Default::default(),
        inflight: BTreeMap::new(),
        next_request: 0,
        settings,
    }
}
