//! `sync.mappings` (every synced object has a field mapping) and `sync.roundtrip`: the
//! seed's "create a test contact" step — a marked contact goes from
//! HubSpot to Salesforce through the real engine and is removed from both sides again.

use std::time::Duration;

use super::{CheckOptions, CheckReport, Status};
use crate::plugins::PluginSet;
use crate::session::Session;
use crate::sync::engine::{Engine, SyncError};
use crate::sync::hooks::Hooks;
use crate::sync::ledger::Ledger;
use crate::sync::roundtrip::{MARKER, Outcome};
use crate::sync::settings::SyncSettings;

const G: &str = "sync";
const C: &str = "roundtrip";

/// Long enough for a slow API and the transport's retries; a round trip that takes longer
/// is a finding in itself.
const LIMIT: Duration = Duration::from_secs(60);

/// About what a round trip costs on each side (prepare's reads, create, read, write, read
/// back, delete).
const CALLS_NEEDED: u64 = 20;

/// Every enabled pair needs a field mapping from some plugin, or nothing of it syncs.
pub fn mappings(
    plugins: &PluginSet,
    settings: &SyncSettings,
    opts: &CheckOptions,
    report: &mut CheckReport,
) {
    if !opts.wants(G, "mappings") {
        return;
    }
    let fix = "enable the `default` plugin (`plugins = [\"default\"]` in the profile, with its folder under plugins/) or a plugin whose `mappings` hook covers them";
    let mappings = match plugins.mappings() {
        Ok(m) => m,
        Err(e) => {
            report.push(
                G,
                "mappings",
                Status::Error,
                e.to_string(),
                Some("fix the plugin at the file:line shown".into()),
            );
            return;
        }
    };
    let enabled: Vec<&String> = settings.objects.iter().collect();
    let missing: Vec<&str> = enabled
        .iter()
        .filter(|p| !mappings.contains_key(p.as_str()))
        .map(|p| p.as_str())
        .collect();
    for (pair, m) in &mappings {
        for f in &m.fields {
            for (sf, hs, back) in f.lossy_values() {
                report.push(
                    G,
                    "mappings",
                    Status::Warn,
                    format!(
                        "{pair}: {} ⇄ {}: HubSpot's {} all become Salesforce \"{sf}\", which comes back to HubSpot as {back}",
                        f.hubspot,
                        f.salesforce,
                        hs.join(", ")
                    ),
                    Some(format!(
                        "if a value must survive the trip back, give it a Salesforce value of its own, or choose with `salesforce_values = {{ [\"{sf}\"] = \"...\" }}` in the mapping"
                    )),
                );
            }
        }
    }
    if missing.is_empty() {
        let fields: usize = mappings.values().map(|m| m.fields.len()).sum();
        report.push(
            G,
            "mappings",
            Status::Ok,
            format!("{} objects mapped, {fields} fields", enabled.len()),
            None,
        );
    } else {
        let status = if missing.len() == enabled.len() {
            Status::Error
        } else {
            Status::Warn
        };
        report.push(
            G,
            "mappings",
            status,
            format!(
                "no field mapping for {}: {} would not sync",
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "they" }
            ),
            Some(fix.into()),
        );
    }
}

pub async fn run(
    session: &Session,
    plugins: &PluginSet,
    ledger: &Ledger,
    settings: &SyncSettings,
    opts: &CheckOptions,
    report: &mut CheckReport,
) {
    if !opts.wants(G, C) {
        return;
    }
    let skip = |report: &mut CheckReport, why: &str| {
        report.push(G, C, Status::Skipped, why, None);
    };
    let read_only = session
        .profile_config()
        .map(|p| p.read_only)
        .unwrap_or(true);
    let (Some(hs), Some(sf)) = (&session.hubspot, &session.salesforce) else {
        return skip(report, "the profile does not connect both sides");
    };
    if opts.no_roundtrip {
        return skip(report, "--no-roundtrip");
    }
    if read_only {
        return skip(
            report,
            "the profile is read-only: nothing is written to either side",
        );
    }
    if !settings.enabled("contact") {
        return skip(report, "contacts do not sync in this profile");
    }
    if !plugins.mappings().is_ok_and(|m| m.contains_key("contact")) {
        return skip(report, "contacts have no field mapping (see sync.mappings)");
    }
    // A test must not spend the last of a day's calls that the sync needs.
    for t in [&hs.transport, &sf.transport] {
        let left = t.budget.left_today();
        if left < CALLS_NEEDED.max(t.budget.report().daily_max / 10) {
            return skip(
                report,
                &format!(
                    "only {left} {} calls left today: the sync needs them more than a test does",
                    t.provider().label()
                ),
            );
        }
    }
    if report
        .findings
        .iter()
        .any(|f| f.status == Status::Error && (f.group == "hubspot" || f.group == "salesforce"))
    {
        return skip(
            report,
            "fix the errors above first: the round trip cannot pass while they stand",
        );
    }
    let given: serde_json::Map<String, serde_json::Value> = session
        .profile_config()
        .ok()
        .and_then(|p| serde_json::to_value(&p.check.test_contact).ok())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let configured = !given.is_empty();
    let trip = async {
        let mut engine = Engine::prepare(hs, sf, ledger, plugins, settings.clone()).await?;
        engine.round_trip(&given).await
    };
    let trip = match tokio::time::timeout(LIMIT, trip).await {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            let fix = match &e {
                SyncError::Api(a) => a.hint.clone(),
                _ => "see the message".into(),
            };
            report.push(
                G,
                C,
                Status::Error,
                format!("the test contact could not be created or synced: {e}"),
                Some(fix),
            );
            return;
        }
        Err(_) => {
            report.push(
                G,
                C,
                Status::Error,
                format!("the round trip did not finish in {} s", LIMIT.as_secs()),
                Some(format!(
                    "the APIs are too slow to sync; see health.requests. A test contact may be left: search HubSpot and Salesforce for the company \"{MARKER}\" and delete it"
                )),
            );
            return;
        }
    };
    let timeline = trip.timeline();
    match &trip.outcome {
        Outcome::Completed {
            sobject,
            id,
            fields_checked,
            mismatches,
        } if mismatches.is_empty() => report.push(
            G,
            C,
            Status::Ok,
            format!(
                "test contact {} arrived as {sobject} {id} with its {fields_checked} mapped fields ({timeline})",
                trip.hubspot_id
            ),
            None,
        ),
        Outcome::Completed {
            sobject, mismatches, ..
        } => report.push(
            G,
            C,
            Status::Warn,
            format!(
                "the test contact arrived as a {sobject}, but {} ({timeline})",
                mismatches.join("; ")
            ),
            Some("a plugin's transform or a Salesforce rule (a trigger, a workflow) changed the values; `hubforce explain` shows the plan of a record".into()),
        ),
        Outcome::NotIncluded { reason } => report.push(
            G,
            C,
            Status::Warn,
            format!(
                "the {} test contact did not sync, so the round trip is unproven: {reason}",
                if configured { "configured" } else { "default" }
            ),
            Some(format!(
                "give the check a contact your rules include: [profiles.{}.check] test_contact = {{ lifecyclestage = \"customer\", country = \"Japan\" }} (HubSpot properties over the defaults); or change the include hook if contacts like it should sync",
                session.profile
            )),
        ),
        Outcome::Failed { message, hint } => report.push(
            G,
            C,
            Status::Error,
            format!("the test contact did not arrive in Salesforce: {message} ({timeline})"),
            Some(hint.clone()),
        ),
    }
    if trip.left_behind.is_empty() {
        report.push(
            G,
            "cleanup",
            Status::Ok,
            "the test records are removed from both sides and from the ledger",
            None,
        );
    } else {
        report.push(
            G,
            "cleanup",
            Status::Warn,
            format!("could not remove {}", trip.left_behind.join(", ")),
            Some(format!(
                "delete them by hand: they carry the company \"{MARKER}\""
            )),
        );
    }
    report.round_trip = Some(trip);
}
