//! HubSpot activities as Salesforce Tasks: a contact's recent form submission and last
//! email open (read from its conversion and email-open properties), each logged once as a
//! completed Task on the linked Lead or Contact. The Task's `HubSpot_Id__c` is
//! `contact id:kind:date`, so writing it is an upsert: a repeat never duplicates.

use serde_json::{Value, json};

use super::engine::{Engine, SyncError};
use super::ledger::Checkpoint;
use super::pair_decl::HUBSPOT_ID_FIELD;
use super::records::HsRecord;
use super::report::RunReport;
use crate::api::hubspot::ItemResult;

const DIRECTION: &str = "activity → Task";

/// The properties an activity is read from.
const ACTIVITY_PROPS: [&str; 4] = [
    "recent_conversion_event_name",
    "recent_conversion_date",
    "hs_email_last_email_name",
    "hs_email_last_open_date",
];

/// Whether `r` is a contact with an activity to log (a form submission, an email open).
pub(super) fn has_activities(spec: &super::pairs::PairSpec, r: &HsRecord) -> bool {
    spec.is_hubspot_contacts()
        && (r.prop("recent_conversion_date").is_some()
            || r.prop("hs_email_last_open_date").is_some())
}

/// `r` with only what its activities are read from: kept until they are logged.
pub(super) fn activity_record(r: &HsRecord) -> HsRecord {
    HsRecord {
        id: r.id.clone(),
        props: ACTIVITY_PROPS
            .iter()
            .filter_map(|p| Some((p.to_string(), r.props.get(*p)?.clone())))
            .collect(),
        modified: r.modified,
    }
}

/// One activity to log: its key and the Task fields.
struct Activity {
    contact: String,
    label: &'static str,
    key: String,
    task: Value,
}

fn activity(r: &HsRecord, kind: &str, who: &str) -> Option<Activity> {
    let (name_prop, date_prop, label) = match kind {
        "form_submission" => (
            "recent_conversion_event_name",
            "recent_conversion_date",
            "Form submission",
        ),
        _ => (
            "hs_email_last_email_name",
            "hs_email_last_open_date",
            "Email opened",
        ),
    };
    let when = super::records::parse_time(r.props.get(date_prop)?)?;
    let name = r.prop(name_prop).unwrap_or("(unnamed)");
    let key = format!("{}:{kind}:{}", r.id, when.timestamp_millis());
    Some(Activity {
        contact: r.id.clone(),
        label,
        task: json!({
            "attributes": {"type": "Task"},
            HUBSPOT_ID_FIELD: key,
            "Subject": format!("{label}: {name}"),
            "WhoId": who,
            "ActivityDate": when.format("%Y-%m-%d").to_string(),
            "Status": "Completed",
            "Priority": "Normal",
            "Description": format!("{label} in HubSpot at {}", when.to_rfc3339()),
        }),
        key,
    })
}

impl Engine<'_> {
    /// Log the activities of `contacts` not logged yet (the ledger remembers each key).
    pub(super) async fn log_activities(
        &self,
        contacts: &[HsRecord],
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        if self.settings.activities.is_empty() || report.dry_run {
            return Ok(());
        }
        let mut todo = Vec::new();
        let in_batch = cp.links_of("contact");
        for r in contacts {
            let who = match in_batch.get(&r.id) {
                Some(sf) => Some(sf.clone()),
                None => self.ledger.linked_sf("contact", &r.id)?.map(|(sf, _)| sf),
            };
            let Some(who) = who else { continue };
            for kind in &self.settings.activities {
                if let Some(a) = activity(r, kind, &who)
                    && !self.ledger.is_echo("activity", "Task", &a.key, "logged")?
                {
                    todo.push(a);
                }
            }
        }
        if todo.is_empty() {
            return Ok(());
        }
        let records = todo.iter_mut().map(|a| a.task.take()).collect();
        let results = Box::pin(self.sf_upsert(("Task", HUBSPOT_ID_FIELD), records, report)).await?;
        for (a, r) in todo.iter().zip(results) {
            match r {
                ItemResult::Ok(_) => {
                    cp.wrote("activity", "Task", &a.key, "logged");
                    report.counts(DIRECTION).created += 1;
                }
                ItemResult::Failed(mut e) => {
                    // Kept against the contact, whose retry (or resync) logs it again.
                    e.message = format!(
                        "its {} as a Salesforce Task: {}",
                        a.label.to_lowercase(),
                        e.message
                    );
                    cp.failed("hubspot", "contacts", &a.contact, &e);
                    report.counts(DIRECTION).failed += 1;
                    report.failure(("hubspot", "contacts", &a.contact), &e);
                }
            }
        }
        Ok(())
    }
}
