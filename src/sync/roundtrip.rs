//! The seed's "create a test contact" step, done by the engine itself: a clearly marked
//! contact is created in HubSpot, followed through the incumbent's sync states (started →
//! scheduled → processing → completed), read back from Salesforce to compare the mapped
//! fields, then removed from both sides and from the ledger.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::engine::{Engine, SyncError};
use super::ledger::Checkpoint;
use super::lookup;
use super::pairs::PairSpec;
use super::report::RunReport;
use super::rules::Rule;
use crate::error::ApiError;

/// The marker in every test contact, so that one left behind (a killed check) is easy to
/// find and delete: search HubSpot for this company name.
pub const MARKER: &str = "hubforce check (safe to delete)";

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub state: &'static str,
    pub at: DateTime<Utc>,
}

/// How the round trip ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// It arrived in Salesforce; `mismatches` lists mapped fields that arrived different.
    Completed {
        sobject: String,
        id: String,
        fields_checked: usize,
        mismatches: Vec<String>,
    },
    /// The inclusion rules (a plugin's include hook) left it out.
    NotIncluded { reason: String },
    /// The sync failed on it, with the record error's message and fix.
    Failed { message: String, hint: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct RoundTrip {
    pub hubspot_id: String,
    pub steps: Vec<Step>,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Test records that could not be removed, with the reason: delete them by hand.
    pub left_behind: Vec<String>,
}

impl RoundTrip {
    /// `started 08:15:01.120, scheduled +12 ms, …`
    pub fn timeline(&self) -> String {
        let Some(first) = self.steps.first() else {
            return String::new();
        };
        self.steps
            .iter()
            .map(|s| {
                if s.at == first.at && s.state == first.state {
                    format!("{} {}", s.state, s.at.format("%H:%M:%S%.3f"))
                } else {
                    let ms = (s.at - first.at).num_milliseconds();
                    format!("{} +{ms} ms", s.state)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Engine<'_> {
    /// Create, sync, verify and remove one test contact. Errors before the contact exists
    /// are returned; after that, the outcome says what happened and the records are always
    /// removed (what could not be is in `left_behind`).
    pub async fn round_trip(&mut self, given: &Map<String, Value>) -> Result<RoundTrip, SyncError> {
        let spec = self
            .pairs
            .values()
            .find(|s| s.is_hubspot_contacts())
            .cloned()
            .ok_or_else(|| SyncError::Usage("no declared pair syncs HubSpot contacts".into()))?;
        let spec = &spec;
        let mappings = self.hooks.mappings().map_err(SyncError::Mappings)?;
        let tag = format!(
            "{}{:04}",
            Utc::now().format("%Y%m%d%H%M%S"),
            fastrand::u16(..10_000)
        );
        let mut props = json!({
            "email": format!("hubforce-check-{tag}@example.com"),
            "firstname": "Hubforce",
            "lastname": format!("Check {tag}"),
            "company": MARKER,
            "lifecyclestage": "lead",
        });
        // The profile's test contact, over the defaults; HubSpot properties are text.
        for (k, v) in given {
            let text = match v {
                Value::String(s) => s.replace("{tag}", &tag),
                other => other.to_string(),
            };
            props[k.as_str()] = Value::String(text);
        }
        let created = self.hs.create(&spec.hs_object, props.clone()).await?;
        let hubspot_id = created["id"].as_str().unwrap_or_default().to_string();
        if hubspot_id.is_empty() {
            return Err(SyncError::Usage(format!(
                "HubSpot created the test contact without an id: {created}"
            )));
        }
        let mut steps = vec![Step {
            state: "started",
            at: Utc::now(),
        }];
        // The inclusion list is the user's filter, not what this checks: the test contact
        // stands in for a member of it. A plugin's include hook still decides.
        self.read_inclusion().await?;
        self.add_member(&hubspot_id);
        let outcome = self
            .follow(spec, &mappings, &hubspot_id, &props, &mut steps)
            .await;
        let (outcome, salesforce) = match outcome {
            Ok(o) => o,
            Err(e) => (
                Outcome::Failed {
                    message: e.to_string(),
                    hint: match &e {
                        SyncError::Api(a) => a.hint.clone(),
                        _ => "see the message".into(),
                    },
                },
                None,
            ),
        };
        let left_behind = self.remove(spec, &hubspot_id, salesforce.as_ref()).await;
        Ok(RoundTrip {
            hubspot_id,
            steps,
            outcome,
            left_behind,
        })
    }

    /// From the created contact to its Salesforce record: the outcome, and the Salesforce
    /// record (sObject, id) when one was written.
    async fn follow(
        &self,
        spec: &PairSpec,
        mappings: &super::mapping::Mappings,
        hubspot_id: &str,
        sent: &Value,
        steps: &mut Vec<Step>,
    ) -> Result<(Outcome, Option<(String, String)>), SyncError> {
        let target = self.settings.new_contacts_as.clone();
        let properties = self.hs_properties(mappings, spec);
        let record = lookup::hs_by_ids(self.hs, spec, &properties, &[hubspot_id.to_string()], None)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                SyncError::Usage(format!(
                    "HubSpot does not return the test contact {hubspot_id} it just created"
                ))
            })?;
        let inclusion = self
            .include_hs(spec, &record, &target)
            .await
            .map_err(|e| SyncError::Usage(format!("the include hook failed: {e}")))?;
        if !inclusion.included {
            return Ok((
                Outcome::NotIncluded {
                    reason: inclusion.reason,
                },
                None,
            ));
        }
        steps.push(Step {
            state: "scheduled",
            at: Utc::now(),
        });
        steps.push(Step {
            state: "processing",
            at: Utc::now(),
        });
        let mut cp = Checkpoint::default();
        let mut report = RunReport::default();
        self.sync_hubspot_batch(spec, mappings, vec![record], &mut cp, &mut report)
            .await?;
        self.ledger.commit(cp)?;
        let Some((sf_id, sobject)) = self.ledger.linked_sf(&spec.name, hubspot_id)? else {
            let error =
                self.ledger.errors(None)?.into_iter().find(|e| {
                    e.side == "hubspot" && e.object == spec.hs_object && e.id == hubspot_id
                });
            return Ok((
                match error {
                    Some(e) => Outcome::Failed {
                        message: format!("{}: {}", e.class, e.message),
                        hint: e.hint,
                    },
                    None => Outcome::Failed {
                        message: "the sync wrote nothing to Salesforce and recorded no error"
                            .into(),
                        hint: format!(
                            "run `hubforce explain contact {hubspot_id}` on a contact like it"
                        ),
                    },
                },
                None,
            ));
        };
        steps.push(Step {
            state: "completed",
            at: Utc::now(),
        });
        let outcome = self.read_back(spec, mappings, sent, &sobject, &sf_id).await;
        Ok((outcome, Some((sobject, sf_id))))
    }

    /// The test contact's record in Salesforce, read back: each sent field that a rule lets
    /// through arrived as sent.
    async fn read_back(
        &self,
        spec: &PairSpec,
        mappings: &super::mapping::Mappings,
        sent: &Value,
        sobject: &str,
        sf_id: &str,
    ) -> Outcome {
        let (sobject, sf_id) = (sobject.to_string(), sf_id.to_string());
        let Some(mapping) = self.mapping(mappings, spec, &sobject) else {
            return Outcome::Completed {
                sobject,
                id: sf_id,
                fields_checked: 0,
                mismatches: Vec::new(),
            };
        };
        let sent = sent.as_object().cloned().unwrap_or_default();
        let checked: Vec<(&str, &str)> = mapping
            .fields
            .iter()
            .filter(|f| !matches!(f.rule, Rule::AlwaysSalesforce | Rule::DontSync))
            .filter(|f| sent.contains_key(&f.hubspot))
            .map(|f| (f.hubspot.as_str(), f.salesforce.as_str()))
            .collect();
        let names: Vec<&str> = checked.iter().map(|(_, s)| *s).collect();
        let arrived = match self.sf.get(&sobject, &sf_id, &names).await {
            Ok(v) => v,
            Err(e) => {
                return Outcome::Failed {
                    message: format!("the {sobject} was written but cannot be read back: {e}"),
                    hint: e.hint.clone(),
                };
            }
        };
        let mismatches = mismatches(&sent, &arrived, &checked);
        Outcome::Completed {
            sobject,
            id: sf_id,
            fields_checked: checked.len(),
            mismatches,
        }
    }

    /// Delete the test records on both sides and forget them in the ledger; returns what
    /// could not be removed.
    async fn remove(
        &self,
        spec: &PairSpec,
        hubspot_id: &str,
        salesforce: Option<&(String, String)>,
    ) -> Vec<String> {
        let mut left = Vec::new();
        // The link may exist even when `follow` failed after writing (a read-back error).
        let linked = self.ledger.linked_sf(&spec.name, hubspot_id).ok().flatten();
        let salesforce = salesforce
            .cloned()
            .or(linked.map(|(id, sobject)| (sobject, id)));
        if let Some((sobject, id)) = &salesforce
            && let Err(e) = self.sf.delete(sobject, id).await
        {
            left.push(format!("Salesforce {sobject} {id} ({})", short(&e)));
        }
        if let Err(e) = self.hs.archive(&spec.hs_object, hubspot_id).await {
            left.push(format!("HubSpot contact {hubspot_id} ({})", short(&e)));
        }
        let sf = salesforce.as_ref().map(|(o, i)| (o.as_str(), i.as_str()));
        if let Err(e) = self
            .ledger
            .forget(&spec.name, (&spec.hs_object, hubspot_id), sf)
        {
            left.push(format!("the ledger's link for contact {hubspot_id} ({e})"));
        }
        left
    }
}

fn short(e: &ApiError) -> String {
    format!("{}: {}", e.class, e.message)
}

/// Mapped fields whose Salesforce value differs from what was sent to HubSpot (e-mail
/// addresses compare without case).
fn mismatches(sent: &Map<String, Value>, arrived: &Value, fields: &[(&str, &str)]) -> Vec<String> {
    fields
        .iter()
        .filter_map(|(hs, sf)| {
            let want = sent.get(*hs).and_then(Value::as_str).unwrap_or_default();
            let got = arrived[*sf].as_str().unwrap_or_default();
            let same = if hs.contains("email") {
                want.eq_ignore_ascii_case(got)
            } else {
                want == got
            };
            (!same).then(|| format!("{sf} is {got:?}, HubSpot {hs} is {want:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatches_name_the_field_and_both_values_and_ignore_email_case() {
        let sent = json!({"email": "A@x.com", "firstname": "Ann", "lastname": "Lee"});
        let arrived = json!({"Email": "a@x.com", "FirstName": "Anne", "LastName": "Lee"});
        let m = mismatches(
            sent.as_object().unwrap(),
            &arrived,
            &[
                ("email", "Email"),
                ("firstname", "FirstName"),
                ("lastname", "LastName"),
            ],
        );
        assert_eq!(
            m,
            vec![r#"FirstName is "Anne", HubSpot firstname is "Ann""#]
        );
    }

    #[test]
    fn the_timeline_shows_the_first_time_then_offsets() {
        let t0 = Utc::now();
        let rt = RoundTrip {
            hubspot_id: "1".into(),
            steps: vec![
                Step {
                    state: "started",
                    at: t0,
                },
                Step {
                    state: "completed",
                    at: t0 + chrono::Duration::milliseconds(42),
                },
            ],
            outcome: Outcome::NotIncluded {
                reason: String::new(),
            },
            left_behind: Vec::new(),
        };
        let line = rt.timeline();
        assert!(
            line.starts_with("started ") && line.ends_with("completed +42 ms"),
            "{line}"
        );
    }
}
