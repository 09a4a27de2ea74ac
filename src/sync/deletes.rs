//! Deletions and merges, the incumbent's "Deleting contacts" setting done properly: a
//! linked record gone on one side is never silently re-created from its counterpart.
//!
//! Found where they show: Salesforce's pull reads with `queryAll`, so a deleted row comes
//! with `IsDeleted` (and a merge's loser with `MasterRecordId`); a HubSpot merge's survivor
//! comes with `hs_merged_object_ids`, and a merged-away id reads through to it; a linked
//! record that a batch no longer finds is gone; pairs that propagate deletions also scan
//! HubSpot's archived records each pass. Then:
//! - a merge relinks: the survivor inherits the link (nothing is created) — unless the
//!   survivor syncs with another record already, when the loser's counterpart is kept;
//! - a deletion follows the pair's policy (`sync.deletes`), or a plugin's `on_delete`:
//!   `keep` (a tombstone keeps the counterpart from re-creating the deleted record),
//!   `propagate` (the counterpart is deleted too, in batches) or `recreate`.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::engine::{Engine, SyncError};
use super::ledger::Checkpoint;
use super::pairs::PairSpec;
use super::report::{PlannedRecord, RunReport};
use super::settings::DeletePolicy;
use super::tombstones::Tombstone;
use crate::api::hubspot::ItemResult;
use crate::api::salesforce::CollectionOp;
use crate::error::{ApiError, Provider};

/// A linked record found gone on one side.
#[derive(Debug, Clone)]
pub(super) struct Gone {
    /// Where it is gone.
    pub side: Provider,
    pub id: String,
    /// Its object: `contacts`, `Lead`…
    pub object: String,
    /// The record it was linked to on the other side, and that record's object.
    pub counterpart: String,
    pub counterpart_object: String,
    /// The survivor of a merge (`MasterRecordId`, or the record a HubSpot id reads through to).
    pub merged_into: Option<String>,
    /// What is known of it, for `on_delete`.
    pub record: Value,
}

/// What became of a gone record's counterpart.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Fate {
    /// It stays and is not synced into a new record.
    Kept,
    /// It was deleted (or archived) too.
    Deleted,
    /// Its link is dropped; it syncs as an unlinked record (policy `recreate`).
    Freed,
    /// A merge's survivor (this id) took over the link.
    Relinked(String),
}

fn side_name(p: Provider) -> &'static str {
    p.as_str()
}

impl Engine<'_> {
    /// Decide and carry out what each gone record means for its counterpart; the fate of
    /// each counterpart, by its id.
    pub(super) async fn bury(
        &self,
        spec: &PairSpec,
        direction: &str,
        gone: Vec<Gone>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<HashMap<String, Fate>, SyncError> {
        let mut fates = HashMap::new();
        let mut propagate = Vec::new();
        for g in gone {
            if let Some(survivor) = g.merged_into.clone() {
                let fate = self.merged(spec, &g, &survivor, cp)?;
                report.counts(direction).merged += 1;
                let policy = if fate == Fate::Kept {
                    "keep"
                } else {
                    "relinked"
                };
                self.note(spec, report, &g, policy, None);
                fates.insert(g.counterpart.clone(), fate);
                continue;
            }
            let policy = self.policy_for(spec, &g).await?;
            report.counts(direction).deleted += 1;
            match policy {
                DeletePolicy::Propagate => propagate.push(g),
                DeletePolicy::Keep | DeletePolicy::Recreate => {
                    let fate = if policy == DeletePolicy::Keep {
                        Fate::Kept
                    } else {
                        Fate::Freed
                    };
                    self.note(spec, report, &g, policy.as_str(), None);
                    cp.tombstone(tombstone(spec, &g, policy.as_str()));
                    fates.insert(g.counterpart.clone(), fate);
                }
            }
        }
        for (id, fate) in self.propagate(spec, propagate, cp, report).await? {
            fates.insert(id, fate);
        }
        Ok(fates)
    }

    /// The pair's policy, unless a plugin's `on_delete` decides for this record.
    async fn policy_for(&self, spec: &PairSpec, g: &Gone) -> Result<DeletePolicy, SyncError> {
        let default = self.settings.delete_policy(&spec.name);
        if !self.hooks.wants("on_delete") {
            return Ok(default);
        }
        let ctx = json!({
            "pair": spec.name, "side": side_name(g.side), "object": g.object,
            "counterpart_id": g.counterpart, "counterpart_object": g.counterpart_object,
            "policy": default.as_str(),
        });
        match self.hooks.on_delete(&g.record, &ctx).await {
            Ok(p) => Ok(p.unwrap_or(default)),
            // A broken hook must not delete anything: the record is kept.
            Err(msg) => {
                tracing::warn!("{msg}; the counterpart of {} {} is kept", g.object, g.id);
                Ok(DeletePolicy::Keep)
            }
        }
    }

    /// A merge: the survivor takes over the link if it has none of its own (checked in the
    /// ledger and in this batch); otherwise the loser's counterpart is kept as it is.
    fn merged(
        &self,
        spec: &PairSpec,
        g: &Gone,
        survivor: &str,
        cp: &mut Checkpoint,
    ) -> Result<Fate, SyncError> {
        let taken = match g.side {
            Provider::Salesforce => {
                cp.hs_linked_in_batch(&spec.name, survivor).is_some()
                    || self.ledger.linked_hs(&spec.name, survivor)?.is_some()
            }
            Provider::Hubspot => {
                cp.linked_in_batch(&spec.name, survivor).is_some()
                    || self.ledger.linked_sf(&spec.name, survivor)?.is_some()
            }
        };
        let policy = if taken { "keep" } else { "relinked" };
        cp.tombstone(tombstone(spec, g, policy));
        if taken {
            return Ok(Fate::Kept);
        }
        match g.side {
            Provider::Salesforce => cp.link(&spec.name, &g.counterpart, survivor, &g.object),
            Provider::Hubspot => {
                cp.link(&spec.name, survivor, &g.counterpart, &g.counterpart_object)
            }
        }
        Ok(Fate::Relinked(survivor.to_string()))
    }

    /// Delete (archive) the counterparts of `gone`, in batches; a dry run only counts them.
    async fn propagate(
        &self,
        spec: &PairSpec,
        gone: Vec<Gone>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<Vec<(String, Fate)>, SyncError> {
        if gone.is_empty() {
            return Ok(Vec::new());
        }
        let (in_hubspot, in_salesforce): (Vec<Gone>, Vec<Gone>) = gone
            .into_iter()
            .partition(|g| g.side == Provider::Salesforce);
        let mut out = Vec::new();
        if report.dry_run {
            let hs_calls = in_hubspot.len().div_ceil(crate::api::hubspot::BATCH_MAX) as u64;
            let sf_calls = in_salesforce
                .len()
                .div_ceil(crate::api::salesforce::COLLECTION_MAX) as u64;
            *report
                .write_calls_planned
                .entry("hubspot".into())
                .or_default() += hs_calls;
            *report
                .write_calls_planned
                .entry("salesforce".into())
                .or_default() += sf_calls;
            for g in in_hubspot.iter().chain(&in_salesforce) {
                self.note(spec, report, g, "propagate", None);
                out.push((g.counterpart.clone(), Fate::Deleted));
            }
            return Ok(out);
        }
        if !in_hubspot.is_empty() {
            let inputs = in_hubspot
                .iter()
                .map(|g| json!({"id": g.counterpart}))
                .collect();
            let results = self
                .hs
                .batch(&spec.hs_object, "archive", inputs, json!({}))
                .await?;
            out.extend(self.settle_propagation(spec, &in_hubspot, results, cp, report));
        }
        if !in_salesforce.is_empty() {
            let ids = in_salesforce
                .iter()
                .map(|g| Value::String(g.counterpart.clone()))
                .collect();
            let results = self.sf.collection(CollectionOp::Delete, ids, false).await?;
            out.extend(self.settle_propagation(spec, &in_salesforce, results, cp, report));
        }
        Ok(out)
    }

    /// Tombstones for the counterparts deleted; a refusal is the counterpart's record error
    /// and the deletion is kept (nothing is re-created, nothing more deleted).
    fn settle_propagation(
        &self,
        spec: &PairSpec,
        gone: &[Gone],
        results: Vec<ItemResult>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Vec<(String, Fate)> {
        let mut out = Vec::new();
        for (g, r) in gone.iter().zip(results) {
            let other = match g.side {
                Provider::Salesforce => Provider::Hubspot,
                Provider::Hubspot => Provider::Salesforce,
            };
            match r {
                ItemResult::Ok(_) => {
                    self.note(spec, report, g, "propagate", None);
                    cp.tombstone(tombstone(spec, g, "propagate"));
                    out.push((g.counterpart.clone(), Fate::Deleted));
                }
                ItemResult::Failed(e) => {
                    let mut e: ApiError = e;
                    e.message = format!(
                        "deleting it because its counterpart {} {} was deleted: {}",
                        g.object, g.id, e.message
                    );
                    cp.failed(side_name(other), &g.counterpart_object, &g.counterpart, &e);
                    report.failure(
                        (side_name(other), &g.counterpart_object, &g.counterpart),
                        &e,
                    );
                    self.note(spec, report, g, "keep", Some(&e.message));
                    cp.tombstone(tombstone(spec, g, "keep"));
                    out.push((g.counterpart.clone(), Fate::Kept));
                }
            }
        }
        out
    }

    /// The pass summary's line for a gone record (and a dry run's plan).
    fn note(
        &self,
        spec: &PairSpec,
        report: &mut RunReport,
        g: &Gone,
        policy: &str,
        failure: Option<&str>,
    ) {
        let mut text = tombstone_for(g, policy).describe();
        if let Some(f) = failure {
            text.push_str(&format!(" ({f})"));
        }
        if report.dry_run {
            let (hubspot_id, salesforce_id) = match g.side {
                Provider::Hubspot => (g.id.clone(), g.counterpart.clone()),
                Provider::Salesforce => (g.counterpart.clone(), g.id.clone()),
            };
            report.plans.push(PlannedRecord {
                pair: spec.name.clone(),
                hubspot_id: Some(hubspot_id),
                salesforce_id: Some(salesforce_id),
                sobject: g.object.clone(),
                action: text.clone(),
                fields: Vec::new(),
                salesforce_writes: Default::default(),
                hubspot_writes: Default::default(),
            });
        }
        report.gone.push(text);
    }
}

fn tombstone_for(g: &Gone, policy: &str) -> Tombstone {
    Tombstone {
        pair: String::new(),
        side: side_name(g.side).into(),
        id: g.id.clone(),
        sobject: g.object.clone(),
        counterpart: g.counterpart.clone(),
        how: if g.merged_into.is_some() {
            "merged"
        } else {
            "deleted"
        }
        .into(),
        merged_into: g.merged_into.clone(),
        policy: policy.into(),
        at: String::new(),
    }
}

fn tombstone(spec: &PairSpec, g: &Gone, policy: &str) -> Tombstone {
    Tombstone {
        pair: spec.name.clone(),
        ..tombstone_for(g, policy)
    }
}

/// The ids a HubSpot record says were merged into it.
pub(super) fn merged_ids(r: &super::records::HsRecord) -> Vec<String> {
    r.prop("hs_merged_object_ids")
        .map(|m| {
            m.split(';')
                .map(str::trim)
                .filter(|id| !id.is_empty() && *id != r.id)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

impl Engine<'_> {
    /// A Salesforce page's deleted rows (queryAll brings them, with `MasterRecordId` for a
    /// merge's losers): the linked ones are buried; the live rows are returned.
    pub(super) async fn sf_deleted_rows(
        &self,
        spec: &PairSpec,
        direction: &str,
        records: Vec<super::records::SfRecord>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<Vec<super::records::SfRecord>, SyncError> {
        let (deleted, live): (Vec<_>, Vec<_>) = records
            .into_iter()
            .partition(|r| r.fields.get("IsDeleted") == Some(&json!(true)));
        if deleted.is_empty() {
            return Ok(live);
        }
        let ids: Vec<&str> = deleted.iter().map(|r| r.id.as_str()).collect();
        let links = self.ledger.linked_hs_many(&spec.name, &ids)?;
        let gone: Vec<Gone> = deleted
            .iter()
            .filter_map(|r| {
                Some(Gone {
                    side: Provider::Salesforce,
                    id: r.id.clone(),
                    object: r.sobject.clone(),
                    counterpart: links.get(&r.id)?.clone(),
                    counterpart_object: spec.hs_object.clone(),
                    merged_into: r.field("MasterRecordId").map(String::from),
                    record: r.to_json(),
                })
            })
            .collect();
        // A deleted row is news, not a record to sync: not `pulled`, but `deleted` or
        // `merged` when it ends a link.
        self.bury(spec, direction, gone, cp, report).await?;
        Ok(live)
    }

    /// HubSpot records that are the survivors of merges (`hs_merged_object_ids`): each takes
    /// over the link of a merged-away record, unless it has one of its own.
    pub(super) async fn hs_merge_survivors(
        &self,
        spec: &PairSpec,
        direction: &str,
        records: &[super::records::HsRecord],
        links: &mut HashMap<String, (String, String)>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        let merged: Vec<(&str, String)> = records
            .iter()
            .flat_map(|r| merged_ids(r).into_iter().map(move |m| (r.id.as_str(), m)))
            .collect();
        if merged.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = merged.iter().map(|(_, m)| m.as_str()).collect();
        let old_links = self.ledger.linked_sf_many(&spec.name, &ids)?;
        let mut gone = Vec::new();
        for (survivor, m) in &merged {
            if let Some((sf, ty)) = old_links.get(m) {
                gone.push(Gone {
                    side: Provider::Hubspot,
                    id: m.clone(),
                    object: spec.hs_object.clone(),
                    counterpart: sf.clone(),
                    counterpart_object: ty.clone(),
                    merged_into: Some(survivor.to_string()),
                    record: json!({"id": m}),
                });
            }
        }
        for (sf, fate) in self.bury(spec, direction, gone, cp, report).await? {
            if let Fate::Relinked(survivor) = fate
                && let Some((_, ty)) = old_links.values().find(|(s, _)| *s == sf)
            {
                links.insert(survivor, (sf, ty.clone()));
            }
        }
        Ok(())
    }

    /// Linked Salesforce records a HubSpot batch no longer finds: deleted, or merged (asked
    /// of queryAll, one query per sObject). A merge's survivor is read so that the HubSpot
    /// record syncs with it in this batch. The fate of each, by HubSpot id.
    pub(super) async fn missing_in_salesforce(
        &self,
        (spec, direction): (&PairSpec, &str),
        fields_of: &(dyn Fn(&str) -> Vec<String> + Sync),
        links: &mut HashMap<String, (String, String)>,
        found: &mut HashMap<String, super::records::SfRecord>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<HashMap<String, Fate>, SyncError> {
        let missing: Vec<(String, String, String)> = links
            .iter()
            .filter(|(_, (sf, _))| !found.contains_key(sf))
            .map(|(hs, (sf, ty))| (hs.clone(), sf.clone(), ty.clone()))
            .collect();
        if missing.is_empty() {
            return Ok(HashMap::new());
        }
        let mut masters = HashMap::new();
        for (sobject, ids) in
            super::engine::by_sobject(missing.iter().map(|(_, sf, ty)| (ty.as_str(), sf.as_str())))
        {
            let master = if self.has_field(&sobject, "MasterRecordId") {
                ", MasterRecordId"
            } else {
                ""
            };
            let soql = format!(
                "SELECT Id, IsDeleted{master} FROM {sobject} WHERE Id IN ({})",
                ids.iter()
                    .map(|i| super::pull::soql_string(i))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut rows = Vec::new();
            self.sf
                .query_pages(&soql, true, |page| {
                    rows.extend(page);
                    true
                })
                .await?;
            for r in rows {
                if let (Some(id), Some(m)) = (r["Id"].as_str(), r["MasterRecordId"].as_str()) {
                    masters.insert(id.to_string(), m.to_string());
                }
            }
        }
        let gone: Vec<Gone> = missing
            .iter()
            .map(|(hs, sf, ty)| Gone {
                side: Provider::Salesforce,
                id: sf.clone(),
                object: ty.clone(),
                counterpart: hs.clone(),
                counterpart_object: spec.hs_object.clone(),
                merged_into: masters.get(sf).cloned(),
                record: json!({"Id": sf, "attributes": {"type": ty}}),
            })
            .collect();
        let fates = self.bury(spec, direction, gone, cp, report).await?;
        for (hs, fate) in &fates {
            links.remove(hs);
            if let Fate::Relinked(survivor) = fate
                && let Some((_, _, ty)) = missing.iter().find(|(h, _, _)| h == hs)
            {
                for r in super::lookup::sf_by_ids(
                    self.sf,
                    ty,
                    &fields_of(ty),
                    std::slice::from_ref(survivor),
                )
                .await?
                {
                    found.insert(r.id.clone(), r);
                }
                links.insert(hs.clone(), (survivor.clone(), ty.clone()));
            }
        }
        Ok(fates)
    }

    /// Linked HubSpot records a Salesforce batch no longer finds: merged (the old id read
    /// through to a survivor that lists it in `hs_merged_object_ids`) or deleted. The fate
    /// of each, by Salesforce id.
    pub(super) async fn missing_in_hubspot(
        &self,
        (spec, direction): (&PairSpec, &str),
        sobject: &str,
        links: &mut HashMap<String, String>,
        found: &HashMap<String, super::records::HsRecord>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<HashMap<String, Fate>, SyncError> {
        let missing: Vec<(String, String)> = links
            .iter()
            .filter(|(_, hs)| !found.contains_key(*hs))
            .map(|(sf, hs)| (sf.clone(), hs.clone()))
            .collect();
        if missing.is_empty() {
            return Ok(HashMap::new());
        }
        let survivor_of = |old: &str| {
            found
                .values()
                .find(|r| merged_ids(r).iter().any(|m| m == old))
                .map(|r| r.id.clone())
        };
        let gone: Vec<Gone> = missing
            .iter()
            .map(|(sf, hs)| Gone {
                side: Provider::Hubspot,
                id: hs.clone(),
                object: spec.hs_object.clone(),
                counterpart: sf.clone(),
                counterpart_object: sobject.into(),
                merged_into: survivor_of(hs),
                record: json!({"id": hs}),
            })
            .collect();
        let fates = self.bury(spec, direction, gone, cp, report).await?;
        for (sf, fate) in &fates {
            links.remove(sf);
            if let Fate::Relinked(survivor) = fate {
                links.insert(sf.clone(), survivor.clone());
            }
        }
        Ok(fates)
    }

    /// Of these unlinked records (on the side that is not `gone_side`), the ones whose
    /// counterpart was deleted and kept: the sync does not re-create it from them.
    pub(super) fn tombstoned(
        &self,
        spec: &PairSpec,
        gone_side: Provider,
        unlinked: &[&str],
        report: &mut RunReport,
    ) -> Result<HashMap<String, Tombstone>, SyncError> {
        let blocking =
            self.ledger
                .blocking_tombstones(&spec.name, side_name(gone_side), unlinked)?;
        if report.dry_run || report.plan_echoes {
            for t in blocking.values() {
                let (hubspot_id, salesforce_id) = match gone_side {
                    Provider::Hubspot => (t.id.clone(), t.counterpart.clone()),
                    Provider::Salesforce => (t.counterpart.clone(), t.id.clone()),
                };
                report.plans.push(PlannedRecord {
                    pair: spec.name.clone(),
                    hubspot_id: Some(hubspot_id),
                    salesforce_id: Some(salesforce_id),
                    sobject: t.sobject.clone(),
                    action: t.describe(),
                    fields: Vec::new(),
                    salesforce_writes: Default::default(),
                    hubspot_writes: Default::default(),
                });
            }
        }
        Ok(blocking)
    }
}

impl Engine<'_> {
    /// HubSpot records archived since they were linked, for pairs that propagate deletions
    /// (or whose plugins decide with `on_delete`): HubSpot's search does not see archived
    /// records, so they are listed (one call per 100 archived records) and the linked ones
    /// buried. A merged-away record reads through to its survivor: that is a merge.
    pub(super) async fn scan_hubspot_archived(
        &self,
        spec: &PairSpec,
        direction: &str,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        let policy = self.settings.delete_policy(&spec.name);
        if policy != DeletePolicy::Propagate && !self.hooks.wants("on_delete") {
            return Ok(());
        }
        let mut archived = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (page, next) = self
                .hs
                .archived_page(&spec.hs_object, &[], after.as_deref())
                .await?;
            archived.extend(
                page.iter()
                    .filter_map(|r| r["id"].as_str().map(String::from)),
            );
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let ids: Vec<&str> = archived.iter().map(String::as_str).collect();
        let links = self.ledger.linked_sf_many(&spec.name, &ids)?;
        if links.is_empty() {
            return Ok(());
        }
        let linked: Vec<String> = links.keys().cloned().collect();
        let props = vec!["hs_merged_object_ids".to_string()];
        let survivors = super::lookup::hs_by_ids(self.hs, spec, &props, &linked, None).await?;
        let gone = links
            .iter()
            .map(|(hs, (sf, ty))| Gone {
                side: Provider::Hubspot,
                id: hs.clone(),
                object: spec.hs_object.clone(),
                counterpart: sf.clone(),
                counterpart_object: ty.clone(),
                merged_into: survivors
                    .iter()
                    .find(|r| merged_ids(r).iter().any(|m| m == hs))
                    .map(|r| r.id.clone()),
                record: json!({"id": hs, "archived": true}),
            })
            .collect();
        self.bury(spec, direction, gone, cp, report).await?;
        Ok(())
    }
}
