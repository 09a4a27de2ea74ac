//! A seeded portal: owners, companies, contacts (with activity), deals, tasks, associations
//! and two lists (a DYNAMIC "sales-ready" list and a MANUAL inclusion list).

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use serde_json::json;

use super::HubspotWorld;
use super::assoc::Associations;
use super::lists::Lists;
use super::meta::{Owner, Stage, default_stages};
use super::oauth::OAuthState;
use super::ratelimit::RateState;
use super::schema::{
    INDUSTRIES, LEAD_STATUSES, LIFECYCLE_STAGES, ObjectType, PRODUCT_INTERESTS, standard_properties,
};
use super::store::Store;
use crate::sim::clock::hubspot_iso;
use crate::sim::config::SimConfig;
use crate::sim::universe::{Universe, seeded_time};

pub fn seed(config: &SimConfig) -> HubspotWorld {
    let u = Universe::new(
        config.seed,
        config.contacts + config.leads,
        config.companies,
    );
    let mut rng = fastrand::Rng::with_seed(config.seed ^ 0x4B5B);
    let owners: Vec<Owner> = u
        .reps
        .iter()
        .enumerate()
        .map(|(i, r)| Owner {
            id: (70_000_000 + i as u64 * 1_337).to_string(),
            email: r.email.clone(),
            first_name: r.first.clone(),
            last_name: r.last.clone(),
            user_id: 9_000_000 + i as u64,
            created: seeded_time(&mut rng),
        })
        .collect();
    let owner_ids: Vec<String> = owners.iter().map(|o| o.id.clone()).collect();
    let stages: Vec<Stage> = default_stages();
    let stage_opts: Vec<(String, String)> = stages
        .iter()
        .map(|s| (s.label.clone(), s.id.clone()))
        .collect();
    let schemas: BTreeMap<ObjectType, _> = ObjectType::ALL
        .iter()
        .map(|t| (*t, standard_properties(*t, &owner_ids, &stage_opts)))
        .collect();
    let mut store = Store::new(101 + config.seed % 50, schemas);
    let mut assoc = Associations::default();
    let s = |v: &str| v.to_string();

    let mut company_ids = Vec::new();
    for org in u.orgs.iter().take(config.companies) {
        let values = vec![
            (s("name"), org.name.clone()),
            (s("domain"), org.domain.clone()),
            (s("website"), format!("https://www.{}", org.domain)),
            (s("city"), org.city.clone()),
            (s("country"), org.country.clone()),
            (s("industry"), INDUSTRIES[org.industry].1.to_string()),
            (s("numberofemployees"), org.employees.to_string()),
            (s("annualrevenue"), org.revenue.to_string()),
            (s("hubspot_owner_id"), owner_ids[org.owner].clone()),
            (s("lifecyclestage"), s("lead")),
        ];
        company_ids.push(store.insert(ObjectType::Companies, values, org.created));
    }

    let mut contact_ids = Vec::new();
    for p in u.people.iter().take(config.contacts) {
        let org = &u.orgs[p.org];
        let mut values = vec![
            (s("email"), p.email.clone()),
            (s("firstname"), p.first.clone()),
            (s("lastname"), p.last.clone()),
            (s("company"), org.name.clone()),
            (s("phone"), p.phone.clone()),
            (s("jobtitle"), p.title.clone()),
            (s("city"), p.city.clone()),
            (s("country"), p.country.clone()),
            (s("lifecyclestage"), LIFECYCLE_STAGES[p.stage].1.to_string()),
            (s("hubspot_owner_id"), owner_ids[p.owner].clone()),
        ];
        if rng.bool() {
            values.push((
                s("hs_lead_status"),
                LEAD_STATUSES[rng.usize(..LEAD_STATUSES.len())]
                    .1
                    .to_string(),
            ));
        }
        if rng.u8(..4) == 0 {
            let a = PRODUCT_INTERESTS[rng.usize(..2)].1;
            let b = PRODUCT_INTERESTS[rng.usize(2..4)].1;
            values.push((s("product_interest"), format!("{a};{b}")));
            values.push((s("newsletter_opt_in"), rng.bool().to_string()));
        }
        if rng.u8(..3) == 0 {
            values.push((s("recent_conversion_event_name"), s("Demo request form")));
            values.push((
                s("recent_conversion_date"),
                hubspot_iso(p.created + Duration::days(2)),
            ));
            values.push((s("first_conversion_event_name"), s("Newsletter signup")));
        }
        if rng.u8(..3) == 0 {
            values.push((
                s("hs_email_last_open_date"),
                hubspot_iso(p.created + Duration::days(5)),
            ));
            values.push((s("hs_email_last_email_name"), s("Product update")));
        }
        let company = company_ids.get(p.org).copied();
        if let Some(cid) = company {
            values.push((s("associatedcompanyid"), cid.to_string()));
        }
        let id = store.insert(ObjectType::Contacts, values, p.created);
        if let Some(cid) = company {
            assoc.add(ObjectType::Contacts, id, ObjectType::Companies, cid);
        }
        contact_ids.push(id);
    }

    for i in 0..config.deals {
        let created = seeded_time(&mut rng);
        let stage = &stages[rng.usize(..stages.len())];
        let values = vec![
            (
                s("dealname"),
                format!(
                    "Deal {} - {}",
                    i + 1,
                    ["Renewal", "Expansion", "New logo"][i % 3]
                ),
            ),
            (s("amount"), format!("{}", rng.u32(5..500) * 100)),
            (s("dealstage"), stage.id.clone()),
            (s("pipeline"), s("default")),
            (
                s("closedate"),
                hubspot_iso(created + Duration::days(rng.i64(10..120))),
            ),
            (s("dealtype"), s(["newbusiness", "existingbusiness"][i % 2])),
            (
                s("hubspot_owner_id"),
                owner_ids[rng.usize(..owner_ids.len())].clone(),
            ),
        ];
        let id = store.insert(ObjectType::Deals, values, created);
        if !company_ids.is_empty() {
            assoc.add(
                ObjectType::Deals,
                id,
                ObjectType::Companies,
                company_ids[rng.usize(..company_ids.len())],
            );
        }
        if !contact_ids.is_empty() {
            assoc.add(
                ObjectType::Deals,
                id,
                ObjectType::Contacts,
                contact_ids[rng.usize(..contact_ids.len())],
            );
        }
    }

    for i in 0..config.contacts / 10 {
        let created = seeded_time(&mut rng);
        let values = vec![
            (s("hs_timestamp"), hubspot_iso(created + Duration::days(3))),
            (s("hs_task_subject"), format!("Follow up #{}", i + 1)),
            (s("hs_task_body"), s("Call back about pricing")),
            (s("hs_task_status"), s(["NOT_STARTED", "COMPLETED"][i % 2])),
            (s("hs_task_priority"), s(["LOW", "MEDIUM", "HIGH"][i % 3])),
            (s("hs_task_type"), s(["CALL", "EMAIL", "TODO"][i % 3])),
            (
                s("hubspot_owner_id"),
                owner_ids[i % owner_ids.len()].clone(),
            ),
        ];
        let id = store.insert(ObjectType::Tasks, values, created);
        if let Some(&c) = contact_ids.get(i * 7 % contact_ids.len().max(1)) {
            assoc.add(ObjectType::Tasks, id, ObjectType::Contacts, c);
        }
    }

    // With `--tickets N`: tickets across both ticket pipelines, each on a contact.
    let pipelines = super::meta::ticket_pipelines();
    for i in 0..config.tickets {
        let created = seeded_time(&mut rng);
        let pipeline = &pipelines[i % pipelines.len()];
        let stage = &pipeline.stages[i % pipeline.stages.len()];
        let values = vec![
            (s("subject"), format!("Ticket {}", i + 1)),
            (s("content"), s("The customer reports a problem")),
            (s("hs_pipeline"), pipeline.id.clone()),
            (s("hs_pipeline_stage"), stage.id.clone()),
            (s("hs_ticket_priority"), s(["LOW", "MEDIUM", "HIGH"][i % 3])),
            (
                s("hubspot_owner_id"),
                owner_ids[i % owner_ids.len()].clone(),
            ),
        ];
        let id = store.insert(ObjectType::Tickets, values, created);
        if let Some(&c) = contact_ids.get(i * 11 % contact_ids.len().max(1)) {
            assoc.add(ObjectType::Tickets, id, ObjectType::Contacts, c);
        }
    }

    let mut lists = Lists::default();
    let at = Utc::now();
    lists.create(
        "Sales-ready contacts",
        ObjectType::Contacts,
        "DYNAMIC",
        Some(json!({
            "filterBranchType": "OR",
            "filterBranches": [{
                "filterBranchType": "AND",
                "filters": [{
                    "filterType": "PROPERTY", "property": "lifecyclestage",
                    "operation": {"operationType": "ENUMERATION", "operator": "IS_ANY_OF",
                                  "values": ["marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]},
                }],
            }],
        })),
        at,
    );
    let manual = lists.create(
        "Salesforce inclusion list",
        ObjectType::Contacts,
        "MANUAL",
        None,
        at,
    );
    for id in contact_ids.iter().step_by(3) {
        lists.add_member(manual, *id, at);
    }

    let mut world = HubspotWorld {
        settings: config.hubspot.clone(),
        store,
        assoc,
        lists,
        owners,
        stages,
        oauth: OAuthState::new(config.seed, config.hubspot.rotate_refresh_tokens),
        limits: RateState::default(),
        customs: Vec::new(),
        custom_schemas: Vec::new(),
        custom_associations: Vec::new(),
        imports: Default::default(),
    };
    if config.subscriptions > 0 {
        seed_subscriptions(&mut world, config.subscriptions, &company_ids, &mut rng);
    }
    world
}

/// The custom object "subscriptions" (as a portal admin defines it) and `n` records keyed
/// `SUB-00001`…, each associated with a company; Salesforce's `Subscription__c` seeds the
/// same keys.
fn seed_subscriptions(
    world: &mut HubspotWorld,
    n: usize,
    companies: &[u64],
    rng: &mut fastrand::Rng,
) {
    let definition = json!({
        "name": "subscriptions",
        "labels": {"singular": "Subscription", "plural": "Subscriptions"},
        "primaryDisplayProperty": "subscription_name",
        "requiredProperties": ["subscription_name", "subscription_key"],
        "searchableProperties": ["subscription_name", "subscription_key"],
        "properties": [
            {"name": "subscription_name", "label": "Name", "type": "string", "fieldType": "text"},
            {"name": "subscription_key", "label": "Subscription key", "type": "string", "fieldType": "text", "hasUniqueValue": true},
            {"name": "plan", "label": "Plan", "type": "enumeration", "fieldType": "select",
             "options": [{"label": "Basic", "value": "basic"}, {"label": "Pro", "value": "pro"}, {"label": "Enterprise", "value": "enterprise"}]},
            {"name": "status", "label": "Status", "type": "enumeration", "fieldType": "select",
             "options": [{"label": "Active", "value": "active"}, {"label": "Paused", "value": "paused"}, {"label": "Cancelled", "value": "cancelled"}]},
            {"name": "start_date", "label": "Start date", "type": "date", "fieldType": "date"},
            {"name": "renewal_date", "label": "Renewal date", "type": "date", "fieldType": "date"},
            {"name": "monthly_amount", "label": "Monthly amount", "type": "number", "fieldType": "number"},
        ],
        "associatedObjects": ["COMPANY", "CONTACT"],
    });
    if super::custom::define(world, &definition).is_err() {
        return;
    }
    let Some(t) = world.customs.last().map(|c| ObjectType::Custom(c)) else {
        return;
    };
    let s = |v: &str| v.to_string();
    for i in 0..n {
        let created = seeded_time(rng);
        let start = created.date_naive() + Duration::days(1);
        let values = vec![
            (s("subscription_name"), format!("Subscription {}", i + 1)),
            (s("subscription_key"), format!("SUB-{:05}", i + 1)),
            (s("plan"), s(["basic", "pro", "enterprise"][i % 3])),
            (s("status"), s(["active", "active", "paused"][i % 3])),
            (s("start_date"), crate::sim::clock::date_string(start)),
            (
                s("renewal_date"),
                crate::sim::clock::date_string(start + Duration::days(365)),
            ),
            (s("monthly_amount"), (rng.u32(2..50) * 10).to_string()),
        ];
        let id = world.store.insert(t, values, created);
        if let Some(&c) = companies.get(i % companies.len().max(1)) {
            world.assoc.add(t, id, ObjectType::Companies, c);
        }
    }
}
