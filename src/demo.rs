//! `hubforce demo`: the whole product on the embedded simulator. It writes a profile for the
//! simulator, connects both sides through their OAuth flows, makes the data as messy as real
//! portals (duplicates, records Salesforce will refuse, conflicting edits), checks the
//! connections and plugins, runs a full sync with the default plugin and a consultant's
//! plugin, shows a dry-run diff of the conflicts, syncs them, and sums it all up.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use reqwest::Method;
use serde_json::{Value, json};

use crate::session::Session;
use crate::sim::Simulator;
use crate::sync::engine::SyncOptions;
use crate::sync::report::RunReport;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{step}: {detail}")]
    Step { step: &'static str, detail: String },
}

fn step<E: std::fmt::Display>(step: &'static str) -> impl Fn(E) -> DemoError {
    move |e| DemoError::Step {
        step,
        detail: e.to_string(),
    }
}

/// Where the demo keeps its profile, plugins and state (removed afterwards).
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn prepare_dir(sim: &Simulator) -> Result<WorkDir, DemoError> {
    let dir = WorkDir(std::env::temp_dir().join(format!("hubforce-demo-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    for files in [
        crate::plugins::bundled::DEFAULT,
        crate::plugins::bundled::NORTHWIND,
    ] {
        crate::plugins::bundled::write(&dir.0.join("plugins"), files)
            .map_err(step("writing the demo plugins"))?;
    }
    let ready = serde_json::to_value(sim.ready_info())
        .map_err(step("reading the simulator's ready info"))?;
    crate::connect::init_from_sim(&dir.0, &ready, true).map_err(step("writing hubforce.toml"))?;
    let cfg = dir.0.join(crate::config::FILE_NAME);
    let text = std::fs::read_to_string(&cfg).map_err(step("writing hubforce.toml"))?;
    let text = text.replacen(
        "plugins = []",
        "plugins = [\"default\", \"examples/northwind\"]",
        1,
    );
    std::fs::write(&cfg, text).map_err(step("writing hubforce.toml"))?;
    Ok(dir)
}

/// Make the data look like two real portals that drifted apart.
async fn make_it_messy(session: &Session) -> Result<String, crate::error::ApiError> {
    let hs = session.hubspot().map_err(not_configured)?;
    let sf = session.salesforce().map_err(not_configured)?;
    let mut notes = Vec::new();
    // People HubSpot has without the name and company Salesforce requires of a Lead.
    let inputs: Vec<Value> = (0..4)
        .map(|i| json!({"properties": {"email": format!("no.name.{i}@walk-in.example"), "lifecyclestage": "lead", "country": "Japan"}}))
        .collect();
    hs.request(
        Method::POST,
        "/crm/v3/objects/contacts/batch/create",
        Some(json!({"inputs": inputs})),
    )
    .await?;
    notes.push(
        "4 HubSpot contacts without a last name or company (Salesforce will refuse them as Leads)"
            .to_string(),
    );
    // Duplicate Leads of people who are already in both systems.
    let people = sf
        .query("SELECT Email, LastName, Company FROM Lead WHERE IsConverted = false AND Email != null ORDER BY Email LIMIT 3")
        .await?;
    for p in &people {
        // An import tool saving past the duplicate rule, as list imports do.
        let req = crate::api::transport::ApiRequest::new(
            Method::POST,
            format!("/services/data/v{}/sobjects/Lead", sf.version),
        )
        .header("Sforce-Duplicate-Rule-Header", "allowSave=true")
        .json(json!({"Email": p["Email"], "LastName": p["LastName"], "Company": p["Company"], "LeadSource": "Purchased List"}));
        sf.transport.json(&req).await?;
    }
    notes.push(format!(
        "{} duplicate Leads (an imported list with people the org already has)",
        people.len()
    ));
    // Two HubSpot companies under the name of one Account.
    let accounts = sf
        .query("SELECT Name FROM Account ORDER BY Name LIMIT 2")
        .await?;
    for a in &accounts {
        hs.create("companies", json!({"name": a["Name"]})).await?;
    }
    notes.push(format!(
        "{} HubSpot companies duplicating another company's name",
        accounts.len()
    ));
    Ok(notes.join("\n  "))
}

fn not_configured(e: crate::session::SessionError) -> crate::error::ApiError {
    crate::error::ApiError::new(
        crate::error::Provider::Hubspot,
        crate::error::ErrorClass::AuthClient,
        e.to_string(),
    )
}

/// Conflicting edits on linked records, made by "users" on both sides after the first sync.
async fn edit_both_sides(session: &Session, ledger_path: &Path) -> Result<usize, DemoError> {
    let ledger =
        crate::sync::ledger::Ledger::open(ledger_path).map_err(step("opening the ledger"))?;
    let hs = session.hubspot().map_err(step("HubSpot"))?;
    let sf = session.salesforce().map_err(step("Salesforce"))?;
    let leads = sf
        .query("SELECT Id FROM Lead WHERE HubSpot_Id__c != null ORDER BY Id LIMIT 3")
        .await
        .map_err(step("finding linked Leads"))?;
    let mut n = 0;
    for (i, l) in leads.iter().enumerate() {
        let Some(id) = l["Id"].as_str() else { continue };
        let Some(hs_id) = ledger
            .linked_hs("contact", id)
            .map_err(step("reading the ledger"))?
        else {
            continue;
        };
        // Both sides change the title; Salesforce's phone changes too.
        hs.update(
            "contacts",
            &hs_id,
            json!({"jobtitle": format!("Head of Growth {i}")}),
        )
        .await
        .map_err(step("editing HubSpot"))?;
        sf.update(
            "Lead",
            id,
            json!({"Title": format!("VP Revenue {i}"), "Phone": format!("+81-3-555-01{i:02}")}),
        )
        .await
        .map_err(step("editing Salesforce"))?;
        n += 1;
    }
    let deals = hs
        .request(
            Method::GET,
            "/crm/v3/objects/deals?limit=3&properties=dealstage",
            None,
        )
        .await
        .map_err(step("reading deals"))?;
    for d in deals["results"].as_array().into_iter().flatten() {
        if let Some(id) = d["id"].as_str() {
            hs.update("deals", id, json!({"dealstage": "contractsent"}))
                .await
                .map_err(step("editing a deal"))?;
            n += 1;
        }
    }
    Ok(n)
}

fn add(total: &mut RunReport, r: &RunReport) {
    for (d, c) in &r.directions {
        let t = total.counts(d);
        t.pulled += c.pulled;
        t.excluded += c.excluded;
        t.echoes += c.echoes;
        t.unchanged += c.unchanged;
        t.created += c.created;
        t.updated += c.updated;
        t.skipped += c.skipped;
        t.failed += c.failed;
    }
    for (k, v) in &r.calls {
        *total.calls.entry(k.clone()).or_default() += v;
    }
    total.seconds += r.seconds;
}

/// Run the demo against a started simulator, printing as it goes.
pub async fn run(sim: &Simulator) -> Result<(), DemoError> {
    let started = Instant::now();
    let info = sim.ready_info().clone();
    crate::outln!("hubforce demo — the embedded simulator of both APIs on loopback");
    crate::outln!(
        "  HubSpot API {}   Salesforce {}",
        info.hubspot.api_base,
        info.salesforce.instance_url
    );
    let dir = prepare_dir(sim)?;

    crate::outln!(
        "\n1. Connect both sides (HubSpot authorization code; Salesforce web-server flow with PKCE)"
    );
    let session = crate::profile::session(&dir.0.join(crate::config::FILE_NAME), None, "demo")
        .map_err(step("opening the profile"))?;
    crate::connect::connect_sim_both(&session)
        .await
        .map_err(step("connecting"))?;
    let statuses = crate::connect::status(&session).await;
    crate::out!(
        "{}",
        crate::connect::render_status(&session.profile, &statuses, &[])
    );

    crate::outln!("\n2. The data, as messy as real portals");
    let notes = make_it_messy(&session)
        .await
        .map_err(step("preparing the data"))?;
    crate::outln!("  {notes}");

    crate::outln!("\n3. Checks: connections and plugins");
    let setup = crate::profile::open(&session, &dir.0, Default::default())
        .and_then(|s| s.for_sync(&session))
        .map_err(step("opening plugins and ledger"))?;
    for p in setup.plugins.list() {
        match &p.error {
            None => crate::outln!(
                "  ✓ plugin {} {} loaded (hooks: {})",
                p.name,
                p.version.unwrap_or_default(),
                p.hooks.join(", ")
            ),
            Some(e) => crate::outln!("  ✗ plugin {}: {e}", p.name),
        }
        if let Some(plugin) = setup.plugins.get(&p.name)
            && plugin.has("checks")
        {
            match plugin.call_async("checks", &[]).await {
                Ok(v) => crate::outln!("    check: {v}"),
                Err(e) => crate::outln!("    ✗ check failed: {e}"),
            }
        }
    }

    // The passes are `hubforce sync`'s own (`watch::prepare`, `watch::pass`).
    let stop = crate::watch::StopSignal::never();
    let Some(mut engine) = crate::watch::prepare(&session, &setup, false, &stop)
        .await
        .map_err(step("preparing the sync"))?
    else {
        return Ok(());
    };
    let ctx = |pass: u64, full: bool, dry_run: bool| json!({"profile": session.profile, "pass": pass, "dry_run": dry_run, "full": full, "watch": false});
    let mut total = RunReport::default();

    crate::outln!(
        "\n4. Full sync (import existing records) with plugins default + examples/northwind"
    );
    let full_sync = SyncOptions {
        full: true,
        ..Default::default()
    };
    let full = crate::watch::pass(&mut engine, &setup, &full_sync, ctx(1, true, false), false)
        .await
        .map_err(step("full sync"))?;
    crate::out!("{}", full.render());
    add(&mut total, &full);

    crate::outln!("\n5. People edit both sides; a dry run shows what the next sync would do");
    let edits = edit_both_sides(&session, &crate::profile::ledger_path(&session)).await?;
    crate::outln!("  {edits} records edited");
    let dry_run = SyncOptions {
        dry_run: true,
        ..Default::default()
    };
    let dry = crate::watch::pass(&mut engine, &setup, &dry_run, ctx(2, false, true), true)
        .await
        .map_err(step("dry run"))?;
    crate::out!("{}", dry.render_plans(6));
    let planned: Vec<String> = dry
        .write_calls_planned
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    crate::outln!("  the writes would cost: {}", planned.join(", "));

    crate::outln!("\n6. Incremental sync");
    let inc = crate::watch::pass(
        &mut engine,
        &setup,
        &SyncOptions::default(),
        ctx(3, false, false),
        false,
    )
    .await
    .map_err(step("incremental sync"))?;
    crate::out!("{}", inc.render());
    add(&mut total, &inc);

    crate::outln!("\n7. Summary");
    crate::out!(
        "{}",
        summary(&total, &setup.ledger, started.elapsed().as_secs_f64())
    );
    Ok(())
}

fn summary(total: &RunReport, ledger: &crate::sync::ledger::Ledger, seconds: f64) -> String {
    let mut out = String::new();
    let mut per_object: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    for (d, c) in &total.directions {
        let object = d.split(" → ").next().unwrap_or(d).to_string();
        let e = per_object.entry(object).or_default();
        e[0] += c.created;
        e[1] += c.updated;
        e[2] += c.skipped + c.excluded;
        e[3] += c.failed;
    }
    let _ = writeln!(
        out,
        "  {:<14} {:>8} {:>8} {:>8} {:>8}",
        "object", "created", "updated", "skipped", "failed"
    );
    for (o, [c, u, s, f]) in &per_object {
        let _ = writeln!(out, "  {o:<14} {c:>8} {u:>8} {s:>8} {f:>8}");
    }
    let mut by_class: BTreeMap<String, u64> = BTreeMap::new();
    for e in ledger.errors(None).unwrap_or_default() {
        *by_class.entry(e.class).or_default() += 1;
    }
    let classes: Vec<String> = by_class.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(
        out,
        "  record errors by class: {}",
        if classes.is_empty() {
            "none".into()
        } else {
            classes.join(", ")
        }
    );
    // One example of each class, with what to do about it.
    let mut shown = std::collections::BTreeSet::new();
    for e in ledger.errors(None).unwrap_or_default() {
        if shown.insert(e.class.clone()) {
            let _ = writeln!(
                out,
                "    e.g. {} {} {}: {}\n         what to do: {}",
                e.class, e.object, e.id, e.message, e.hint
            );
        }
    }
    let calls: Vec<String> = total
        .calls
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(out, "  API calls: {}", calls.join(", "));
    let _ = writeln!(
        out,
        "  calls per synced record: {:.4} (the incumbent: up to ~4 per contact)",
        total.calls_per_record()
    );
    let _ = writeln!(out, "  time: {seconds:.1} s");
    out
}
