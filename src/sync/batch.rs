//! What the stages of a batch (`direction.rs`) share across directions: match candidates
//! and the `resolve` choice, the echo check, the include and transform hooks, HubSpot's
//! default inclusion, converted Leads, the flip detector, and the conversion check of a
//! create.

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use serde_json::{Map, Value, json};

use super::engine::{Engine, SyncError, plugin_error};
use super::hooks::{HookError, Inclusion, Resolution};
use super::ledger::{Checkpoint, FieldHistory, hash_value};
use super::lookup;
use super::mapping::{Mappings, PairMapping, RecordPlan};
use super::pairs::PairSpec;
use super::records::{HsRecord, SfRecord};
use super::report::RunReport;
use super::write::Item;
use crate::error::{ApiError, ErrorClass, Provider};

/// The incumbent's default inclusion: lifecycle stage subscriber or later (any stage set).
pub const STAGES: &[&str] = &[
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
];

/// A record to be created with a value that does not convert is refused here, without a
/// call: the message names the field and the value, the hint the mapping to extend.
/// Owners are the exception: a user without a counterpart leaves the owner unset.
pub(super) fn conversion_failure(
    plan: &RecordPlan,
    mapping: &PairMapping,
    target: Provider,
) -> Option<ApiError> {
    let is_owner = |name: &str| {
        mapping
            .fields
            .iter()
            .any(|m| m.hubspot == name && m.kind == super::convert::FieldType::Owner)
    };
    let f = plan
        .fields
        .iter()
        .find(|f| f.error.is_some() && !is_owner(&f.hubspot))?;
    let (field, other) = match target {
        Provider::Hubspot => (&f.hubspot, &f.salesforce),
        Provider::Salesforce => (&f.salesforce, &f.hubspot),
    };
    Some(
        ApiError::new(
            target,
            ErrorClass::Validation,
            format!("{field}: {} (from {other})", f.error.clone().unwrap_or_default()),
        )
        .with_code("UNMAPPED_VALUE")
        .with_hint(format!(
            "add the value to the `values` of {} ⇄ {} in the plugin's mappings, then run `hubforce resync --class validation`",
            f.hubspot, f.salesforce
        )),
    )
}

/// The HubSpot id of an item that updates a linked pair (both records exist).
fn linked_hs_id(it: &Item) -> Option<&str> {
    it.sf.as_ref()?;
    it.hs.as_ref().map(|h| h.id.as_str())
}

/// A record on either side, as a match candidate.
pub(super) trait Candidate: Clone {
    fn id(&self) -> &str;
    fn kind(&self) -> String;
    fn json(&self) -> Value;
}

impl Candidate for SfRecord {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> String {
        self.sobject.clone()
    }
    fn json(&self) -> Value {
        self.to_json()
    }
}

impl Candidate for HsRecord {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> String {
        "HubSpot record".into()
    }
    fn json(&self) -> Value {
        self.to_json()
    }
}

/// What the match step decided for an unlinked record.
pub(super) enum Choice<'c, T> {
    Link(&'c T),
    Create,
    Skip,
    Fail(ApiError),
    /// The best match already belongs to another record (`owner`, or one of this batch).
    Taken {
        sobject: String,
        id: String,
        owner: Option<String>,
    },
}

impl Engine<'_> {
    /// Choose among the best matches of an unlinked record: free candidates
    /// (not linked to another record, not claimed earlier in this batch) go to the plugins'
    /// `resolve` hook, whose answer wins; by default the first free candidate is linked.
    pub(super) async fn choose<'c, R: Candidate, T: Candidate>(
        &self,
        record: &R,
        best: Vec<&'c T>,
        all: &'c [T],
        owner_of: impl Fn(&str) -> Result<Option<String>, super::ledger::LedgerError>,
        claimed: &HashSet<String>,
        ctx: &Value,
    ) -> Result<Choice<'c, T>, SyncError> {
        let record_id = record.id();
        let mut free = Vec::new();
        let mut taken = None;
        for c in best {
            let owner = owner_of(c.id())?;
            if owner.as_deref().is_none_or(|o| o == record_id) && !claimed.contains(c.id()) {
                free.push(c);
            } else if taken.is_none() {
                taken = Some((c.kind(), c.id().to_string(), owner));
            }
        }
        let provider = if ctx["side"] == "hubspot" {
            Provider::Hubspot
        } else {
            Provider::Salesforce
        };
        // `resolve` decides among free candidates: it is never asked with none.
        let answer = if self.hooks.wants("resolve") && !free.is_empty() {
            let cands = Value::Array(free.iter().map(|c| c.json()).collect());
            self.hooks.resolve(&record.json(), &cands, ctx).await
        } else {
            Ok(Resolution::Default)
        };
        Ok(match answer {
            Err(msg) => Choice::Fail(plugin_error(provider, &msg)),
            Ok(Resolution::Skip) => Choice::Skip,
            Ok(Resolution::Create) => Choice::Create,
            Ok(Resolution::Link(id)) => match all.iter().find(|c| c.id() == id) {
                Some(c) => Choice::Link(c),
                None => Choice::Fail(
                    ApiError::new(provider, ErrorClass::Plugin, format!("resolve returned {id}, which is not one of the candidates"))
                        .with_hint("return the id of one of the candidates passed to resolve, false to create, or nil"),
                ),
            },
            Ok(Resolution::Default) => match (free.first(), taken) {
                (Some(c), _) => Choice::Link(c),
                (None, Some((sobject, id, owner))) => Choice::Taken { sobject, id, owner },
                (None, None) => Choice::Create,
            },
        })
    }

    /// A linked Lead that Salesforce converted lives on as a Contact: follow the link there
    /// (HubSpot → Salesforce direction), so that nothing is written to a converted Lead.
    pub(super) async fn leads_to_contacts(
        &self,
        mappings: &Mappings,
        spec: &PairSpec,
        links: &mut HashMap<String, (String, String)>,
        found: &mut HashMap<String, SfRecord>,
        cp: &mut Checkpoint,
    ) -> Result<(), SyncError> {
        let converted: Vec<(String, String)> = links
            .iter()
            .filter_map(|(hs, (sf, _))| {
                let lead = found.get(sf)?;
                if lead.fields.get("IsConverted") != Some(&json!(true)) {
                    return None;
                }
                lead.field("ConvertedContactId")
                    .map(|c| (hs.clone(), c.to_string()))
            })
            .collect();
        if converted.is_empty() {
            return Ok(());
        }
        let fields = self.sf_field_list(mappings, spec, "Contact");
        let ids: Vec<String> = converted.iter().map(|(_, c)| c.clone()).collect();
        for c in lookup::sf_by_ids(self.sf, "Contact", &fields, &ids).await? {
            found.insert(c.id.clone(), c);
        }
        for (hs, contact) in converted {
            if found.contains_key(&contact) {
                cp.link(&spec.name, &hs, &contact, "Contact");
                links.insert(hs, (contact, "Contact".into()));
            }
        }
        Ok(())
    }

    /// Salesforce Contacts that a linked Lead was converted into take over that Lead's link
    /// (Salesforce → HubSpot direction): one query per batch of unlinked Contacts.
    pub(super) async fn follow_conversions(
        &self,
        spec: &PairSpec,
        contacts: &[SfRecord],
        links: &mut HashMap<String, String>,
        cp: &mut Checkpoint,
    ) -> Result<(), SyncError> {
        let unlinked: Vec<String> = contacts
            .iter()
            .filter(|c| !links.contains_key(&c.id))
            .map(|c| super::pull::soql_string(&c.id))
            .collect();
        if unlinked.is_empty() {
            return Ok(());
        }
        let leads = self
            .sf
            .query(&format!(
                "SELECT Id, ConvertedContactId FROM Lead WHERE IsConverted = true AND ConvertedContactId IN ({})",
                unlinked.join(", ")
            ))
            .await?;
        for l in leads {
            let (Some(lead), Some(contact)) = (l["Id"].as_str(), l["ConvertedContactId"].as_str())
            else {
                continue;
            };
            if let Some(hs) = self.ledger.linked_hs(&spec.name, lead)? {
                cp.link(&spec.name, &hs, contact, "Contact");
                links.insert(contact.to_string(), hs);
            }
        }
        Ok(())
    }

    /// The records whose state is not the one we wrote last (our own echo), counting the
    /// echoes; the ledger is asked once for the whole batch.
    pub(super) fn without_echoes<R: Candidate>(
        &self,
        (side, object): (&str, &str),
        records: Vec<(R, String)>,
        direction: &str,
        report: &mut RunReport,
    ) -> Result<Vec<R>, SyncError> {
        if report.plan_echoes {
            return Ok(records.into_iter().map(|(r, _)| r).collect());
        }
        let ids: Vec<&str> = records.iter().map(|(r, _)| r.id()).collect();
        let written = self.ledger.written_hashes(side, object, &ids)?;
        let mut out = Vec::with_capacity(records.len());
        for (r, h) in records {
            if written.get(r.id()) == Some(&h) {
                report.counts(direction).echoes += 1;
            } else {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The plugins' `include` decision; the record's JSON is built only if a plugin has
    /// the hook.
    pub(super) async fn include_hook<R: Candidate>(
        &self,
        record: &R,
        ctx: impl FnOnce() -> Value,
    ) -> Result<Option<Inclusion>, HookError> {
        if !self.hooks.wants("include") {
            return Ok(None);
        }
        let (record, ctx) = (record.json(), ctx());
        self.hooks.include(&record, &ctx).await
    }

    /// The plugins' `transform` values; the record's JSON and the context (which carries
    /// the counterpart record) are likewise built only if a plugin has the hook.
    pub(super) async fn transform_hook<R: Candidate>(
        &self,
        record: &R,
        ctx: impl FnOnce() -> Value,
    ) -> Result<Option<Map<String, Value>>, HookError> {
        if !self.hooks.wants("transform") {
            return Ok(None);
        }
        let (record, ctx) = (record.json(), ctx());
        self.hooks.transform(&record, &ctx).await
    }

    pub(super) async fn include_hs(
        &self,
        spec: &PairSpec,
        r: &HsRecord,
        sobject: &str,
    ) -> Result<Inclusion, HookError> {
        let member = if spec.is_hubspot_contacts() {
            self.is_member(&r.id)
        } else {
            None
        };
        if member == Some(false) {
            return Ok(Inclusion {
                included: false,
                reason: "not a member of the inclusion list".into(),
            });
        }
        if let Some(out) = self.hs_pipeline_inclusion(spec, r) {
            return Ok(out);
        }
        if let Some(d) = self
            .include_hook(r, || Engine::hook_ctx(spec, "hubspot", sobject))
            .await?
        {
            return Ok(d);
        }
        if member == Some(true) {
            return Ok(Inclusion {
                included: true,
                reason: "a member of the inclusion list".into(),
            });
        }
        if let Some(reason) = self.hs_pipeline_reason(spec, r) {
            return Ok(Inclusion {
                included: true,
                reason,
            });
        }
        if !spec.is_hubspot_contacts() {
            return Ok(Inclusion {
                included: true,
                reason: format!(
                    "every {} syncs unless a plugin's include says otherwise",
                    spec.name
                ),
            });
        }
        let stage = r.prop("lifecyclestage").unwrap_or_default();
        Ok(if STAGES.contains(&stage) {
            Inclusion {
                included: true,
                reason: format!("lifecycle stage {stage} (subscriber or later: the default)"),
            }
        } else {
            Inclusion {
                included: false,
                reason: "no lifecycle stage (the default includes subscriber or later)".into(),
            }
        })
    }

    /// [`Engine::flip_guard`] for every item of a batch that updates a linked pair, with
    /// the ledger read once for all of them.
    pub(super) fn flip_guard_batch(
        &self,
        spec: &PairSpec,
        items: &mut [Item],
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        let ids: Vec<&str> = items.iter().filter_map(|it| linked_hs_id(it)).collect();
        let window = Duration::hours(self.settings.flip_window_hours);
        let history = self.ledger.field_history(&spec.name, &ids, window)?;
        let none = FieldHistory::default();
        for it in items.iter_mut() {
            let Some(hs_id) = linked_hs_id(it).map(String::from) else {
                continue;
            };
            let past = history.get(&hs_id).unwrap_or(&none);
            self.flip_guard(spec, &hs_id, past, &mut it.plan, cp, report);
        }
        Ok(())
    }

    /// Drop writes to fields caught in a loop (put back to an earlier value `flip_limit` times
    /// in the window); record the others with their value for the next pass.
    fn flip_guard(
        &self,
        spec: &PairSpec,
        hs_id: &str,
        past: &FieldHistory,
        plan: &mut RecordPlan,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) {
        let names: Vec<(bool, String, String, String)> = plan
            .hubspot_writes
            .iter()
            .map(|(k, v)| (true, k.clone(), k.clone(), hash_value(v)))
            .chain(
                plan.salesforce_writes
                    .iter()
                    .filter(|(k, _)| k.as_str() != spec.sf_hubspot_id())
                    .map(|(k, v)| {
                        let hs_name = plan
                            .fields
                            .iter()
                            .find(|f| &f.salesforce == k)
                            .map(|f| f.hubspot.clone())
                            .unwrap_or_else(|| k.clone());
                        (false, k.clone(), hs_name, hash_value(v))
                    }),
            )
            .collect();
        for (hubspot_side, key, field, value) in names {
            let n = past.flips(&field);
            if n >= self.settings.flip_limit {
                if hubspot_side {
                    plan.hubspot_writes.remove(&key);
                } else {
                    plan.salesforce_writes.remove(&key);
                }
                *report
                    .frozen_fields
                    .entry(format!("{}.{field}", spec.name))
                    .or_default() += 1;
                report.flips.push(format!(
                    "{} {hs_id}: {field} went back to an earlier value {n} times in {} h (a loop: something keeps undoing it); left alone until it settles (see `hubforce explain {} {hs_id}`)",
                    spec.name, self.settings.flip_window_hours, spec.name
                ));
            } else {
                let reverted = past.wrote(&field, &value);
                cp.wrote_field(&spec.name, hs_id, &field, &value, reverted);
            }
        }
    }
}
