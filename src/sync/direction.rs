//! One batch of one direction, as stages every direction shares: include → echoes →
//! counterparts (links, deletions, merges) → match (candidates, `resolve`) → plan → write →
//! checkpoint entries. What differs between HubSpot → Salesforce (`to_salesforce.rs`) and
//! Salesforce → HubSpot (`to_hubspot.rs`) is behind [`Direction`]; no stage exists once per
//! direction. A record's failure is recorded against it and the rest of the batch goes on; a
//! failure of a whole call ends the batch without its checkpoint, so the next run repeats it.

use std::collections::{HashMap, HashSet};

use super::batch::{Candidate, Choice};
use super::deletes::Fate;
use super::engine::{Engine, SyncError, plugin_error};
use super::hooks::{HookError, Inclusion};
use super::ledger::Checkpoint;
use super::mapping::Mappings;
use super::pairs::PairSpec;
use super::report::RunReport;
use super::write::{Item, fail};
use crate::budget::{Stage, in_stage};
use crate::error::{ApiError, Provider};

/// What the counterpart stage found for a batch's records.
pub(super) struct Counterparts<T> {
    /// Record id → the id of the record it is linked to.
    pub links: HashMap<String, String>,
    /// The linked records, by id.
    pub found: HashMap<String, T>,
    /// What became of records whose counterpart is gone.
    pub fates: HashMap<String, Fate>,
}

/// The records a direction reads, and what differs about it.
#[allow(async_fn_in_trait)]
pub(super) trait Direction {
    /// The pulled record and its counterpart on the other side.
    type Own: Candidate;
    type Other: Candidate;
    /// Records kept for after the writes (the contacts with activities to log).
    type Noted: Default;
    /// What the writes leave for after the checkpoint entries (the parents to associate).
    type Settled: Default;

    fn spec(&self) -> &PairSpec;
    fn mappings(&self) -> &Mappings;
    /// `contact → Salesforce`, `Lead → HubSpot`.
    fn label(&self) -> &str;
    /// Where the pulled records live, and their object: the ledger's key.
    fn side(&self) -> (&'static str, &str);
    /// The provider the writes go to.
    fn target(&self) -> Provider;
    /// The hook context of the match stage.
    fn match_ctx(&self) -> &serde_json::Value;

    /// Drop what is not a live record (a deletion read with the changes).
    async fn live(
        &self,
        _e: &Engine<'_>,
        records: Vec<Self::Own>,
        _cp: &mut Checkpoint,
        _report: &mut RunReport,
    ) -> Result<Vec<Self::Own>, SyncError> {
        Ok(records)
    }
    /// Some(decision) when something decides (a list, a pipeline, a hook); None: it syncs.
    async fn include(&self, e: &Engine<'_>, r: &Self::Own) -> Result<Option<Inclusion>, HookError>;
    fn state_hash(&self, e: &Engine<'_>, r: &Self::Own) -> String;
    fn note(&self, _noted: &mut Self::Noted, _r: &Self::Own) {}
    /// Whether this direction gathers its Salesforce creates for a later Bulk job.
    fn gathers(&self) -> bool {
        false
    }
    /// The match keys a record claims against gathered creates (`email:…`).
    fn claim_keys(&self, _r: &Self::Own) -> Vec<String> {
        Vec::new()
    }
    async fn counterparts(
        &self,
        e: &Engine<'_>,
        work: &[Self::Own],
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<Counterparts<Self::Other>, SyncError>;
    async fn candidates(
        &self,
        e: &Engine<'_>,
        unlinked: &[&Self::Own],
    ) -> Result<Vec<Self::Other>, SyncError>;
    /// For each candidate, the record of this side it is linked to.
    fn owners(&self, e: &Engine<'_>, ids: &[&str]) -> Result<HashMap<String, String>, SyncError>;
    fn best<'c>(&self, r: &Self::Own, candidates: &'c [Self::Other]) -> Vec<&'c Self::Other>;
    /// The best match belongs to another record: an error to record, or None to skip.
    fn taken(&self, sobject: &str, id: &str, owner: Option<String>) -> Option<ApiError>;
    fn may_create(&self, e: &Engine<'_>) -> bool;
    /// The record's item: its plan after mappings, transform, record type and the create
    /// rules; None when there is nothing to plan with (no mapping for the sObject).
    async fn plan(
        &self,
        e: &Engine<'_>,
        r: Self::Own,
        other: Option<Self::Other>,
        linked_to: Option<String>,
    ) -> Result<Option<Item>, ApiError>;
    /// Between planning and writing (the parents' lookups).
    async fn before_write(&self, _e: &Engine<'_>, _items: &mut [Item]) -> Result<(), SyncError> {
        Ok(())
    }
    /// What must be read from the items before they are settled.
    fn settled(&self, _e: &Engine<'_>, _items: &[Item]) -> Self::Settled {
        Self::Settled::default()
    }
    /// After the checkpoint entries (activities, associations).
    async fn after_write(
        &self,
        e: &Engine<'_>,
        noted: Self::Noted,
        settled: Self::Settled,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<(), SyncError>;
}

impl Engine<'_> {
    /// One batch of one direction, every stage in order.
    pub(super) async fn sync_batch<D: Direction>(
        &self,
        d: &D,
        records: Vec<D::Own>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        if d.gathers() && !report.dry_run {
            // A record pulled again replaces what was gathered of it (or is planned otherwise).
            for r in &records {
                cp.unpend(&d.spec().name, r.id());
            }
        }
        let records = in_stage(Stage::Pull, d.live(self, records, cp, report)).await?;
        let mut noted = D::Noted::default();
        let include = self.include_stage(d, records, &mut noted, cp, report);
        let included = in_stage(Stage::Include, include).await;
        let work = self.without_echoes(d.side(), included, d.label(), report)?;
        if work.is_empty() {
            let settled = D::Settled::default();
            return in_stage(
                Stage::Write,
                d.after_write(self, noted, settled, cp, report),
            )
            .await;
        }
        let items = in_stage(Stage::Match, self.match_and_plan(d, work, cp, report)).await?;
        in_stage(Stage::Write, self.write_stage(d, items, noted, cp, report)).await
    }

    /// Each record in or out, and its state's hash for the echo check.
    async fn include_stage<D: Direction>(
        &self,
        d: &D,
        records: Vec<D::Own>,
        noted: &mut D::Noted,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Vec<(D::Own, String)> {
        let (side, object) = d.side();
        let mut included = Vec::with_capacity(records.len());
        for r in records {
            report.counts(d.label()).pulled += 1;
            match d.include(self, &r).await {
                Err(e) => {
                    let e = plugin_error(source_of(d.target()), &e);
                    fail(cp, report, d.label(), (side, object, r.id()), &e);
                    continue;
                }
                Ok(Some(i)) if !i.included => {
                    report.counts(d.label()).excluded += 1;
                    continue;
                }
                Ok(_) => {}
            }
            d.note(noted, &r);
            let h = d.state_hash(self, &r);
            included.push((r, h));
        }
        included
    }

    /// Counterparts by link, then by match for the unlinked; each record's item.
    async fn match_and_plan<D: Direction>(
        &self,
        d: &D,
        work: Vec<D::Own>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<Vec<Item>, SyncError> {
        let found = d.counterparts(self, &work, cp, report).await?;
        let unlinked_ids: Vec<&str> = work
            .iter()
            .filter(|r| !found.links.contains_key(r.id()) && !found.fates.contains_key(r.id()))
            .map(|r| r.id())
            .collect();
        let blocked = self.tombstoned(d.spec(), d.target(), &unlinked_ids, report)?;
        let unlinked: Vec<&D::Own> = work
            .iter()
            .filter(|r| unlinked_ids.contains(&r.id()) && !blocked.contains_key(r.id()))
            .collect();
        let candidates = if unlinked.is_empty() {
            Vec::new()
        } else {
            d.candidates(self, &unlinked).await?
        };
        let claims = self.claims_of_others(d, &unlinked)?;
        let cand_ids: Vec<&str> = candidates.iter().map(|c| c.id()).collect();
        let owners = d.owners(self, &cand_ids)?;
        let (side, object) = d.side();
        let mut claimed: HashSet<String> = HashSet::new();
        let mut items = Vec::new();
        for r in work {
            let id = r.id().to_string();
            let key = (side, object, id.as_str());
            // Its counterpart is gone (kept or deleted with it), or was deleted earlier and
            // is kept: nothing to write, nothing to re-create.
            if matches!(found.fates.get(&id), Some(Fate::Kept | Fate::Deleted))
                || blocked.contains_key(&id)
            {
                report.counts(d.label()).skipped += 1;
                continue;
            }
            let linked_to = found.links.get(&id).cloned();
            let other = match linked_to.as_ref().and_then(|o| found.found.get(o)) {
                Some(o) => Some(o.clone()),
                None => {
                    let best = d.best(&r, &candidates);
                    let owner = |c: &str| Ok(owners.get(c).cloned());
                    let choice = self
                        .choose(&r, best, &candidates, owner, &claimed, d.match_ctx())
                        .await?;
                    match choice {
                        Choice::Link(c) => Some(c.clone()),
                        Choice::Create if d.may_create(self) => match claims.get(&id) {
                            // A gathered create claims its match key: it is the duplicate
                            // a look-up would find once it is written.
                            Some(e) => {
                                fail(cp, report, d.label(), key, e);
                                continue;
                            }
                            None => None,
                        },
                        Choice::Fail(e) => {
                            fail(cp, report, d.label(), key, &e);
                            continue;
                        }
                        Choice::Taken { sobject, id, owner } => {
                            if let Some(e) = d.taken(&sobject, &id, owner) {
                                fail(cp, report, d.label(), key, &e);
                            } else {
                                report.counts(d.label()).skipped += 1;
                            }
                            continue;
                        }
                        Choice::Create | Choice::Skip => {
                            report.counts(d.label()).skipped += 1;
                            continue;
                        }
                    }
                }
            };
            if let Some(o) = &other {
                claimed.insert(o.id().to_string());
            }
            match d.plan(self, r, other, linked_to).await {
                Ok(Some(item)) => items.push(item),
                Ok(None) => {}
                Err(e) => fail(cp, report, d.label(), key, &e),
            }
        }
        Ok(items)
    }

    /// Loops held back, parents and ids filled in, then the writes (or, in a dry run, their
    /// plan) and each item's checkpoint entries.
    async fn write_stage<D: Direction>(
        &self,
        d: &D,
        mut items: Vec<Item>,
        noted: D::Noted,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        let spec = d.spec();
        self.flip_guard_batch(spec, &mut items, cp, report)?;
        d.before_write(self, &mut items).await?;
        self.link_ids(spec, &mut items);
        if report.dry_run {
            let imports = self.imports_granted(&spec.hs_object).await;
            self.dry(spec, (d.label(), imports, d.gathers()), &items, report);
            return Ok(());
        }
        if d.gathers() {
            items = self.gather_creates(spec, items, cp);
        }
        // Boxed: the writes' futures (jobs, imports, collections) are large for a task's stack.
        let results = Box::pin(self.write(spec, &items, report)).await?;
        let settled = d.settled(self, &items);
        self.settle(
            (spec, d.label(), d.side().0),
            items,
            d.mappings().get(&spec.name),
            results,
            cp,
            report,
        );
        d.after_write(self, noted, settled, cp, report).await
    }
}

/// The side a direction's records come from.
fn source_of(target: Provider) -> Provider {
    match target {
        Provider::Hubspot => Provider::Salesforce,
        Provider::Salesforce => Provider::Hubspot,
    }
}
