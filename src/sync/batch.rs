//! One batch in each direction: include → echo check → links → match → plan, then the
//! writes and their checkpoint entries (`write.rs`). A record's failure (a refused value, a
//! plugin error) is recorded against it and the rest of the batch goes on; a failure of a
//! whole call ends the batch without its checkpoint, so the next run repeats it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use super::deletes::Fate;
use super::engine::{Engine, SyncError, by_sobject, plugin_error};
use super::hooks::{HookError, Inclusion, Resolution};
use super::ledger::{Checkpoint, FieldHistory, hash_value};
use super::lookup;
use super::mapping::{self, Mappings, PairMapping, RecordPlan};
use super::pairs::PairSpec;
use super::records::{HsRecord, SfRecord, values_hash};
use super::report::RunReport;
use super::rules::same;
use super::write::{Item, fail, hs_string};
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
fn conversion_failure(
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

/// A pair's mapping per sObject, made once per batch rather than once per record.
struct MappingCache<'a, 'e> {
    engine: &'a Engine<'e>,
    mappings: &'a Mappings,
    spec: &'a PairSpec,
    made: HashMap<String, Option<Arc<PairMapping>>>,
}

impl<'a, 'e> MappingCache<'a, 'e> {
    fn new(engine: &'a Engine<'e>, mappings: &'a Mappings, spec: &'a PairSpec) -> Self {
        MappingCache {
            engine,
            mappings,
            spec,
            made: HashMap::new(),
        }
    }

    fn get(&mut self, sobject: &str) -> Option<Arc<PairMapping>> {
        if let Some(m) = self.made.get(sobject) {
            return m.clone();
        }
        let m = self
            .engine
            .mapping(self.mappings, self.spec, sobject)
            .map(Arc::new);
        self.made.insert(sobject.to_string(), m.clone());
        m
    }
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
    async fn leads_to_contacts(
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
    async fn follow_conversions(
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
    fn without_echoes<R: Candidate>(
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
    async fn include_hook<R: Candidate>(
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
    async fn transform_hook<R: Candidate>(
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
    fn flip_guard_batch(
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

    /// HubSpot records (pulled or retried) to Salesforce.
    pub(super) async fn sync_hubspot_batch(
        &self,
        spec: &PairSpec,
        mappings: &Mappings,
        records: Vec<HsRecord>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        let direction = format!("{} → Salesforce", spec.name);
        let Some(base) = mappings.get(&spec.name) else {
            return Ok(());
        };
        let target = spec.create_as(&self.settings.new_contacts_as).to_string();
        let state_props = self.hs_state_properties(base, spec);
        let mut included = Vec::new();
        let mut with_activities = Vec::new();
        for r in records {
            report.counts(&direction).pulled += 1;
            let key = ("hubspot", spec.hs_object.as_str(), r.id.as_str());
            match self.include_hs(spec, &r, &target).await {
                Err(msg) => {
                    fail(
                        cp,
                        report,
                        &direction,
                        key,
                        &plugin_error(Provider::Hubspot, &msg),
                    );
                    continue;
                }
                Ok(i) if !i.included => {
                    report.counts(&direction).excluded += 1;
                    continue;
                }
                Ok(_) => {}
            }
            if spec.is_hubspot_contacts()
                && (r.prop("recent_conversion_date").is_some()
                    || r.prop("hs_email_last_open_date").is_some())
            {
                with_activities.push(r.clone());
            }
            let h = mapping::hubspot_state_hash(base, &r.props, &state_props, &self.owners);
            included.push((r, h));
        }
        let work =
            self.without_echoes(("hubspot", &spec.hs_object), included, &direction, report)?;
        if work.is_empty() {
            return self.log_activities(&with_activities, cp, report).await;
        }
        let ids: Vec<&str> = work.iter().map(|r| r.id.as_str()).collect();
        let mut links = self.ledger.linked_sf_many(&spec.name, &ids)?;
        self.hs_merge_survivors(spec, &direction, &work, &mut links, cp, report)
            .await?;
        let mut found: HashMap<String, SfRecord> = HashMap::new();
        for (sobject, ids) in by_sobject(links.values().map(|(id, ty)| (ty.as_str(), id.as_str())))
        {
            let fields = self.sf_field_list(mappings, spec, &sobject);
            for r in lookup::sf_by_ids(self.sf, &sobject, &fields, &ids).await? {
                found.insert(r.id.clone(), r);
            }
        }
        if spec.has_sobject("Lead") && spec.has_sobject("Contact") {
            self.leads_to_contacts(mappings, spec, &mut links, &mut found, cp)
                .await?;
        }
        let fields_of = |o: &str| self.sf_field_list(mappings, spec, o);
        let fates = self
            .missing_in_salesforce(
                (spec, &direction),
                &fields_of,
                &mut links,
                &mut found,
                cp,
                report,
            )
            .await?;
        let unlinked_ids: Vec<&str> = work
            .iter()
            .filter(|r| !links.contains_key(&r.id) && !fates.contains_key(&r.id))
            .map(|r| r.id.as_str())
            .collect();
        let blocked = self.tombstoned(spec, Provider::Salesforce, &unlinked_ids, report)?;
        let unlinked: Vec<&HsRecord> = work
            .iter()
            .filter(|r| unlinked_ids.contains(&r.id.as_str()) && !blocked.contains_key(&r.id))
            .collect();
        let mut candidates = Vec::new();
        if !unlinked.is_empty() {
            let targets: Vec<(&str, Vec<String>)> = spec
                .sobjects()
                .iter()
                .map(|o| (o.as_str(), self.sf_field_list(mappings, spec, o)))
                .collect();
            candidates = lookup::sf_candidates(self.sf, spec, &targets, &unlinked).await?;
        }
        let cand_ids: Vec<&str> = candidates.iter().map(|c| c.id.as_str()).collect();
        let owners = self.ledger.linked_hs_many(&spec.name, &cand_ids)?;
        let mut per_sobject = MappingCache::new(self, mappings, spec);
        let mut claimed: HashSet<String> = HashSet::new();
        let mut items = Vec::new();
        for r in work {
            let key = ("hubspot", spec.hs_object.as_str(), r.id.as_str());
            // Its counterpart is gone (kept or deleted with it), or was deleted earlier and
            // is kept: nothing to write, nothing to re-create.
            if matches!(fates.get(&r.id), Some(Fate::Kept | Fate::Deleted))
                || blocked.contains_key(&r.id)
            {
                report.counts(&direction).skipped += 1;
                continue;
            }
            let linked = links.get(&r.id).map(|(s, _)| (r.id.clone(), s.clone()));
            let sf = match links.get(&r.id).and_then(|(id, _)| found.get(id)) {
                Some(s) => Some(s.clone()),
                None => {
                    let best = lookup::best_sf_match(spec, &r, &candidates);
                    let ctx = Engine::hook_ctx(spec, "hubspot", &target);
                    let owner = |id: &str| Ok(owners.get(id).cloned());
                    match self
                        .choose(&r, best, &candidates, owner, &claimed, &ctx)
                        .await?
                    {
                        Choice::Link(c) => Some(c.clone()),
                        Choice::Create => None,
                        Choice::Skip => {
                            report.counts(&direction).skipped += 1;
                            continue;
                        }
                        Choice::Fail(e) => {
                            fail(cp, report, &direction, key, &e);
                            continue;
                        }
                        Choice::Taken { sobject, id, owner } => {
                            let other = owner
                                .map(|o| format!("HubSpot record {o}"))
                                .unwrap_or_else(|| "another record of this batch".into());
                            let e = ApiError::new(Provider::Salesforce, ErrorClass::Duplicate, format!("matches {sobject} {id}, which is already linked to {other}"))
                                .with_code("DUPLICATE_MATCH")
                                .with_hint("merge the duplicates in HubSpot, or decide with a plugin's resolve hook; `hubforce explain` shows both");
                            fail(cp, report, &direction, key, &e);
                            continue;
                        }
                    }
                }
            };
            if let Some(s) = &sf {
                claimed.insert(s.id.clone());
            }
            let sobject = sf
                .as_ref()
                .map(|s| s.sobject.clone())
                .unwrap_or_else(|| target.clone());
            let Some(mapping) = per_sobject.get(&sobject) else {
                continue;
            };
            let empty = Map::new();
            let times = mapping::Times {
                hs_modified: r.modified,
                sf_modified: sf
                    .as_ref()
                    .map(|s| s.modified)
                    .unwrap_or(DateTime::<Utc>::MIN_UTC),
                first_link: linked.is_none() && sf.is_some(),
            };
            let mut plan = mapping::plan(
                &mapping,
                &r.props,
                sf.as_ref().map(|s| &s.fields).unwrap_or(&empty),
                times,
                &self.owners,
            );
            let ctx = || {
                let mut ctx = Engine::hook_ctx(spec, "hubspot", &sobject);
                ctx["counterpart"] = sf.as_ref().map(|s| s.to_json()).unwrap_or(Value::Null);
                ctx
            };
            match self.transform_hook(&r, ctx).await {
                Err(msg) => {
                    fail(
                        cp,
                        report,
                        &direction,
                        key,
                        &plugin_error(Provider::Hubspot, &msg),
                    );
                    continue;
                }
                Ok(Some(fields)) => {
                    if let Some(bad) = fields.keys().find(|k| !self.has_field(&sobject, k)) {
                        let e = ApiError::new(Provider::Salesforce, ErrorClass::Plugin, format!("transform set {bad}, which {sobject} does not have"))
                            .with_hint(format!("return only fields of {sobject} (see `hubforce api salesforce GET sobjects/{sobject}/describe`)"));
                        fail(cp, report, &direction, key, &e);
                        continue;
                    }
                    for (k, v) in fields {
                        let current = sf
                            .as_ref()
                            .and_then(|s| s.fields.get(&k))
                            .cloned()
                            .unwrap_or(Value::Null);
                        if sf.is_none() || !same(&v, &current) {
                            plan.salesforce_writes.insert(k, v);
                        }
                    }
                }
                Ok(None) => {}
            }
            if let Err(e) = self.record_type_to_sf(spec, &r, sf.as_ref(), &sobject, &mut plan) {
                fail(cp, report, &direction, key, &e);
                continue;
            }
            if sf.is_none()
                && let Some(e) = conversion_failure(&plan, &mapping, Provider::Salesforce)
            {
                fail(cp, report, &direction, key, &e);
                continue;
            }
            if sf.is_none() {
                // Salesforce fills its defaults on create; the next pass brings them back.
                plan.hubspot_writes.clear();
                plan.salesforce_writes
                    .insert(spec.sf_hubspot_id().into(), json!(r.id));
            }
            items.push(Item {
                hs: Some(r),
                sf,
                sobject,
                mapping,
                plan,
                linked,
            });
        }
        self.flip_guard_batch(spec, &mut items, cp, report)?;
        self.link_parents(spec, &mut items).await?;
        self.link_ids(spec, &mut items);
        if report.dry_run {
            self.dry(spec, &direction, &items, report);
            return Ok(());
        }
        let results = self.write(spec, &items).await?;
        self.settle(
            (spec, &direction, "hubspot"),
            items,
            Some(base),
            results,
            cp,
            report,
        );
        self.log_activities(&with_activities, cp, report).await
    }

    /// Salesforce records of one sObject (pulled or retried) to HubSpot.
    pub(super) async fn sync_salesforce_batch(
        &self,
        spec: &PairSpec,
        mappings: &Mappings,
        sobject: &str,
        records: Vec<SfRecord>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        let direction = format!("{sobject} → HubSpot");
        let Some(mapping) = self.mapping(mappings, spec, sobject).map(Arc::new) else {
            return Ok(());
        };
        let state_fields = self.sf_state_fields(&mapping, sobject);
        let ctx = Engine::hook_ctx(spec, "salesforce", sobject);
        let records = self
            .sf_deleted_rows(spec, &direction, records, cp, report)
            .await?;
        let mut included = Vec::new();
        for r in records {
            report.counts(&direction).pulled += 1;
            let key = ("salesforce", sobject, r.id.as_str());
            if self.sf_record_type_inclusion(spec, &r).is_some() {
                report.counts(&direction).excluded += 1;
                continue;
            }
            match self.include_hook(&r, || ctx.clone()).await {
                Err(msg) => {
                    fail(
                        cp,
                        report,
                        &direction,
                        key,
                        &plugin_error(Provider::Salesforce, &msg),
                    );
                    continue;
                }
                Ok(Some(i)) if !i.included => {
                    report.counts(&direction).excluded += 1;
                    continue;
                }
                _ => {}
            }
            let h = values_hash(&r.fields, state_fields.iter().map(String::as_str));
            included.push((r, h));
        }
        let work = self.without_echoes(("salesforce", sobject), included, &direction, report)?;
        if work.is_empty() {
            return Ok(());
        }
        let props = self.hs_properties(mappings, spec);
        let ids: Vec<&str> = work.iter().map(|r| r.id.as_str()).collect();
        let mut links = self.ledger.linked_hs_many(&spec.name, &ids)?;
        // Links this batch made already (a merge's survivor relinked above).
        for id in &ids {
            if let Some(h) = cp.hs_linked_in_batch(&spec.name, id) {
                links.insert(id.to_string(), h.to_string());
            }
        }
        if sobject == "Contact" && spec.has_sobject("Lead") {
            self.follow_conversions(spec, &work, &mut links, cp).await?;
        }
        let ids: Vec<String> = links.values().cloned().collect();
        let found: HashMap<String, HsRecord> = if ids.is_empty() {
            HashMap::new()
        } else {
            lookup::hs_by_ids(self.hs, spec, &props, &ids, None)
                .await?
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect()
        };
        let fates = self
            .missing_in_hubspot((spec, &direction), sobject, &mut links, &found, cp, report)
            .await?;
        let unlinked_ids: Vec<&str> = work
            .iter()
            .filter(|r| !links.contains_key(&r.id) && !fates.contains_key(&r.id))
            .map(|r| r.id.as_str())
            .collect();
        let blocked = self.tombstoned(spec, Provider::Hubspot, &unlinked_ids, report)?;
        let unlinked: Vec<&SfRecord> = work
            .iter()
            .filter(|r| unlinked_ids.contains(&r.id.as_str()) && !blocked.contains_key(&r.id))
            .collect();
        let candidates = if unlinked.is_empty() {
            Vec::new()
        } else {
            lookup::hs_candidates(self.hs, spec, sobject, &props, &unlinked).await?
        };
        let cand_ids: Vec<&str> = candidates.iter().map(|c| c.id.as_str()).collect();
        let owners = self.ledger.linked_sf_many(&spec.name, &cand_ids)?;
        let mut claimed: HashSet<String> = HashSet::new();
        let mut items = Vec::new();
        for r in work {
            let key = ("salesforce", sobject, r.id.as_str());
            if matches!(fates.get(&r.id), Some(Fate::Kept | Fate::Deleted))
                || blocked.contains_key(&r.id)
            {
                report.counts(&direction).skipped += 1;
                continue;
            }
            let linked = links.get(&r.id).map(|h| (h.clone(), r.id.clone()));
            let hs = match links.get(&r.id).and_then(|h| found.get(h)) {
                Some(h) => Some(h.clone()),
                None => {
                    let best = lookup::best_hs_match(spec, &r, &candidates);
                    let owner = |id: &str| Ok(owners.get(id).map(|(sf, _)| sf.clone()));
                    match self
                        .choose(&r, best, &candidates, owner, &claimed, &ctx)
                        .await?
                    {
                        Choice::Link(c) => Some(c.clone()),
                        Choice::Fail(e) => {
                            fail(cp, report, &direction, key, &e);
                            continue;
                        }
                        // The HubSpot record already syncs with another Salesforce record (a
                        // Contact wins over a Lead with the same email): leave this one.
                        Choice::Skip | Choice::Taken { .. } => {
                            report.counts(&direction).skipped += 1;
                            continue;
                        }
                        Choice::Create if !self.settings.create_in_hubspot => {
                            report.counts(&direction).skipped += 1;
                            continue;
                        }
                        Choice::Create => None,
                    }
                }
            };
            if let Some(h) = &hs {
                claimed.insert(h.id.clone());
            }
            let empty = Map::new();
            let times = mapping::Times {
                hs_modified: hs
                    .as_ref()
                    .map(|h| h.modified)
                    .unwrap_or(DateTime::<Utc>::MIN_UTC),
                sf_modified: r.modified,
                first_link: linked.is_none() && hs.is_some(),
            };
            let mut plan = mapping::plan(
                &mapping,
                hs.as_ref().map(|h| &h.props).unwrap_or(&empty),
                &r.fields,
                times,
                &self.owners,
            );
            let tctx = || {
                let mut tctx = ctx.clone();
                tctx["counterpart"] = hs.as_ref().map(|h| h.to_json()).unwrap_or(Value::Null);
                tctx
            };
            match self.transform_hook(&r, tctx).await {
                Err(msg) => {
                    fail(
                        cp,
                        report,
                        &direction,
                        key,
                        &plugin_error(Provider::Salesforce, &msg),
                    );
                    continue;
                }
                Ok(Some(fields)) => {
                    for (k, v) in fields {
                        let v = hs_string(&v);
                        let current = hs
                            .as_ref()
                            .and_then(|h| h.props.get(&k))
                            .cloned()
                            .unwrap_or(Value::Null);
                        if hs.is_none() || !same(&v, &current) {
                            plan.hubspot_writes.insert(k, v);
                        }
                    }
                }
                Ok(None) => {}
            }
            if let Err(e) = self.record_type_to_hs(spec, &r, hs.as_ref(), &mut plan) {
                fail(cp, report, &direction, key, &e);
                continue;
            }
            if hs.is_none()
                && let Some(e) = conversion_failure(&plan, &mapping, Provider::Hubspot)
            {
                fail(cp, report, &direction, key, &e);
                continue;
            }
            if hs.is_none() {
                plan.salesforce_writes.clear();
                plan.hubspot_writes
                    .retain(|_, v| !matches!(v, Value::Null) && v.as_str() != Some(""));
                plan.hubspot_writes
                    .insert(spec.hs_id_property(sobject).into(), json!(r.id));
                // What the pair declares a new record starts with (a person from Salesforce
                // is at least a lead: without a stage the default inclusion would not sync
                // the record back).
                for (k, v) in &spec.decl.hubspot.defaults {
                    plan.hubspot_writes
                        .entry(k.clone())
                        .or_insert_with(|| hs_string(v));
                }
            }
            items.push(Item {
                hs,
                sf: Some(r),
                sobject: sobject.to_string(),
                mapping: mapping.clone(),
                plan,
                linked,
            });
        }
        self.flip_guard_batch(spec, &mut items, cp, report)?;
        self.link_ids(spec, &mut items);
        if report.dry_run {
            self.dry(spec, &direction, &items, report);
            return Ok(());
        }
        let results = self.write(spec, &items).await?;
        let parents = self.sf_parents(spec, &items);
        self.settle(
            (spec, &direction, "salesforce"),
            items,
            mappings.get(&spec.name),
            results,
            cp,
            report,
        );
        self.associate_parents(spec, parents, cp).await
    }
}
