//! One sync pass: for each enabled object pair, retry the records that failed before, pull
//! HubSpot changes and push them to Salesforce, then pull Salesforce changes and push them
//! to HubSpot — batch by batch, each batch checkpointed in one ledger transaction. Plugins
//! are read again before every batch, so a hot reload takes effect at the next batch.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::Utc;
use serde_json::{Value, json};

use super::calls::CallMark;
use super::convert::OwnerMap;
use super::described::Described;
use super::hooks::Hooks;
use super::ledger::{Checkpoint, Ledger, LedgerError};
use super::lookup;
use super::mapping::{Mappings, PairMapping};
use super::pairs::{PairSpec, Pairs, mapping_for};
use super::pull::{Cursor, HS_PAGE, HsPager, SF_PAGE, SfPager};
use super::read_ahead::read_ahead;
use super::records::{HsRecord, SfRecord};
use super::report::{Counts, RunReport};
use super::settings::{BULK_BATCH, SyncSettings};
use crate::api::hubspot::HubspotApi;
use crate::api::salesforce::SalesforceApi;
use crate::budget::{Stage, in_stage, within};
use crate::error::{ApiError, ErrorClass};
use crate::store::PlacedCalls;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{0}\n  fix the plugin; the sync did not start")]
    Mappings(super::hooks::HookError),
    #[error("{0}")]
    Usage(String),
    /// An object or pair the command names that no plugin declares (exit 2, a bad argument).
    #[error("{0}")]
    UnknownObject(String),
    /// A stop was asked (SIGTERM, Ctrl-C): the pass ended at the checkpoint it had reached.
    #[error("stopped at a checkpoint, as asked")]
    Interrupted,
}

impl SyncError {
    pub fn exit_code(&self) -> u8 {
        match self {
            SyncError::Api(e) => e.class.exit_code(),
            SyncError::UnknownObject(_) => 2,
            // A plugin's mappings or pairs that do not hold: the plugin class.
            SyncError::Mappings(_) => ErrorClass::Plugin.exit_code(),
            _ => 1,
        }
    }
}

/// What one pass does.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Read everything again (the incumbent's import of existing records).
    pub full: bool,
    /// Plan without writing.
    pub dry_run: bool,
    /// Only these pairs (empty: the profile's `sync.objects`).
    pub objects: Vec<String>,
    /// Retry every recorded error, not only the retryable ones (`hubforce resync`).
    pub retry_all: bool,
    /// Only retry recorded errors; pull nothing new (`hubforce resync`).
    pub retry_only: bool,
    /// Retry only errors of this class.
    pub retry_class: Option<ErrorClass>,
    /// Only these records, (object, id) as `explain` takes them (`sync --record`).
    pub records: Vec<(String, String)>,
}

/// Called after every batch with the direction and its counts so far.
pub type Progress<'a> = Box<dyn Fn(&str, &Counts, &RunReport) + Send + Sync + 'a>;

pub struct Engine<'a> {
    pub(super) hs: &'a HubspotApi,
    pub(super) sf: &'a SalesforceApi,
    pub(super) ledger: &'a Ledger,
    pub(super) hooks: &'a dyn Hooks,
    pub(super) settings: SyncSettings,
    pub(super) owners: OwnerMap,
    /// What describe says of each synced sObject: fields, record types, lookup targets.
    pub(super) described: HashMap<String, Described>,
    /// Every declared pair, and the order they run in (parents first).
    pub(super) pairs: Pairs,
    pub(super) order: Vec<String>,
    /// Members of the inclusion list, when one is set: read again every pass.
    pub(super) members: std::sync::RwLock<Option<HashSet<String>>>,
    pub(super) progress: Option<Progress<'a>>,
    /// The call counters where the last pass's figures stopped (before `prepare`, for the
    /// first pass), and what preparing cost until the first pass reports it.
    pub(super) counted: std::sync::Mutex<(CallMark, Option<Vec<PlacedCalls>>)>,
    /// Set when a stop is asked: the pass ends at its next checkpoint.
    pub(super) stop: Option<Arc<AtomicBool>>,
}

impl<'a> Engine<'a> {
    pub fn on_progress(&mut self, f: Progress<'a>) {
        self.progress = Some(f);
    }

    /// End passes at their next checkpoint once `flag` is set (a stop asked by a signal).
    pub fn stop_on(&mut self, flag: Arc<AtomicBool>) {
        self.stop = Some(flag);
    }

    /// After a checkpoint: Interrupted when a stop was asked, so nothing more is begun.
    fn checkpoint_reached(&self) -> Result<(), SyncError> {
        match &self.stop {
            Some(flag) if flag.load(Ordering::SeqCst) => Err(SyncError::Interrupted),
            _ => Ok(()),
        }
    }

    pub(super) fn has_field(&self, sobject: &str, field: &str) -> bool {
        self.described
            .get(sobject)
            .is_none_or(|d| d.fields.contains(field))
    }

    pub(super) fn mapping(
        &self,
        mappings: &Mappings,
        spec: &PairSpec,
        sobject: &str,
    ) -> Option<PairMapping> {
        mapping_for(mappings, &spec.name, sobject, |f| {
            self.has_field(sobject, f)
        })
    }

    /// HubSpot properties to read for a pair.
    pub(super) fn hs_properties(&self, mappings: &Mappings, spec: &PairSpec) -> Vec<String> {
        self.hs_properties_for(mappings.get(&spec.name), spec)
    }

    fn hs_properties_for(&self, pair: Option<&PairMapping>, spec: &PairSpec) -> Vec<String> {
        let mut v: Vec<String> = spec.hs_extra_properties();
        if let Some(m) = pair {
            v.extend(m.fields.iter().map(|f| f.hubspot.clone()));
        }
        if let Some(read) = self.hooks.reads().remove(&spec.hs_object) {
            v.extend(read);
        }
        v.sort();
        v.dedup();
        v
    }

    /// The properties of a HubSpot record's state: all a pull reads but what moves with every
    /// write. The same list hashes a pulled record and what we wrote, so an echo is exactly a
    /// record whose every pulled property is as we left it — a change to a property only a
    /// hook reads (a computed field's input) is not mistaken for one.
    pub(super) fn hs_state_properties(&self, pair: &PairMapping, spec: &PairSpec) -> Vec<String> {
        let mut v = self.hs_properties_for(Some(pair), spec);
        v.retain(|p| !super::records::HS_VOLATILE.contains(&p.as_str()));
        v
    }

    /// The fields of a Salesforce record's state: its mapped fields and those a plugin
    /// `reads`, but not the ones the engine pulls for its own bookkeeping (conversion,
    /// external id, deletion, timestamps) — a create cannot know those, and a new record
    /// must hash as what we wrote.
    pub(super) fn sf_state_fields(&self, mapping: &PairMapping, sobject: &str) -> Vec<String> {
        let mut v: Vec<String> = mapping
            .fields
            .iter()
            .map(|f| f.salesforce.clone())
            .collect();
        if let Some(read) = self.hooks.reads().remove(sobject) {
            v.extend(read.into_iter().filter(|f| self.has_field(sobject, f)));
        }
        v.retain(|f| !super::records::SF_VOLATILE.contains(&f.as_str()));
        v.sort();
        v.dedup();
        v
    }

    /// Salesforce fields to read for an sObject.
    pub(super) fn sf_field_list(
        &self,
        mappings: &Mappings,
        spec: &PairSpec,
        sobject: &str,
    ) -> Vec<String> {
        let mut v: Vec<String> = spec
            .sf_extra_fields(sobject)
            .into_iter()
            .filter(|f| self.has_field(sobject, f))
            .collect();
        if let Some(m) = self.mapping(mappings, spec, sobject) {
            v.extend(m.fields.iter().map(|f| f.salesforce.clone()));
        }
        if let Some(read) = self.hooks.reads().remove(sobject) {
            v.extend(read.into_iter().filter(|f| self.has_field(sobject, f)));
        }
        let mut seen = HashSet::new();
        v.retain(|f| seen.insert(f.clone()));
        v
    }

    pub(super) fn mappings(&self) -> Result<Mappings, SyncError> {
        self.hooks.mappings().map_err(SyncError::Mappings)
    }

    /// One pass over every enabled pair. API failures that stop the pass (a spent budget, a
    /// revoked token) end it cleanly: what was checkpointed stays, the report says why.
    pub async fn run(&self, opts: &SyncOptions) -> Result<RunReport, SyncError> {
        let started = Instant::now();
        let started_at = Utc::now();
        let mut report = RunReport {
            dry_run: opts.dry_run,
            ..RunReport::default()
        };
        let wanted = self.wanted_pairs(opts)?;
        let joined = match within(None, Stage::Pull, self.refresh_inclusion(opts)).await {
            Ok(j) => j,
            Err(SyncError::Api(e)) => {
                self.stop(e, &mut report).await;
                return Ok(report);
            }
            Err(other) => return Err(other),
        };
        // What a pass that stopped left gathered is written before anything is read.
        if let Err(e) = self.flush_all_gathered(&mut report).await {
            return match e {
                SyncError::Api(e) => {
                    self.stop(e, &mut report).await;
                    Ok(report)
                }
                other => Err(other),
            };
        }
        if !opts.records.is_empty() {
            within(None, Stage::Pull, self.run_records(opts, &mut report)).await?;
        }
        for spec in wanted.iter().filter(|_| opts.records.is_empty()) {
            let pair = async {
                self.checkpoint_reached()?;
                self.run_pair(spec, opts, &joined, &mut report).await
            };
            match within(Some(&spec.name), Stage::Pull, pair).await {
                Ok(()) => {}
                Err(SyncError::Api(e)) => {
                    self.stop(e, &mut report).await;
                    break;
                }
                Err(SyncError::Interrupted) => {
                    report.interrupted = true;
                    report.stopped = Some(
                        "a stop was asked (SIGTERM or Ctrl-C): the pass ended at the checkpoint after its last batch; the next run resumes from there".into(),
                    );
                    break;
                }
                Err(other) => return Err(other),
            }
        }
        self.count_calls(&mut report);
        if !report.schema_moved.is_empty() {
            self.ledger.forget_cache()?;
            self.sf.forget_describes();
        }
        report.seconds = started.elapsed().as_secs_f64();
        // Plugins' per-pass caps count from here: the hooks around the next pass
        // (on_sync_end of this one, on_sync_start of the next) and its records.
        self.hs.transport.budget.start_pass();
        self.sf.transport.budget.start_pass();
        if !opts.dry_run {
            let mut kept = serde_json::to_value(&report).unwrap_or_default();
            kept["plans"] = json!([]);
            self.ledger.record_run(started_at, &kept)?;
        }
        Ok(report)
    }

    /// The pass's calls since the last pass's figures, by place; on a command's first pass,
    /// what preparing cost (describes, owners, id properties) is among them and named.
    fn count_calls(&self, report: &mut RunReport) {
        let now = CallMark::now(self.hs, self.sf);
        let mut counted = self.counted.lock().unwrap_or_else(|p| p.into_inner());
        report.calls_by = now.since(&counted.0);
        report.calls = super::calls::per_provider(&report.calls_by);
        if let Some(setup) = counted.1.take() {
            report.setup_calls = super::calls::per_provider(&setup);
        }
        counted.0 = now;
    }

    /// The pairs this pass syncs, parents first. Fails before any work if a pair is unknown,
    /// a plugin's mappings do not load, or no plugin maps a wanted pair.
    fn wanted_pairs(&self, opts: &SyncOptions) -> Result<Vec<&PairSpec>, SyncError> {
        let mappings = self.mappings()?;
        if let Some(unknown) = opts.objects.iter().find(|o| !self.pairs.contains_key(*o)) {
            return Err(SyncError::UnknownObject(super::pairs::unknown_pair(
                unknown,
                &self.pairs,
            )));
        }
        let wanted: Vec<&PairSpec> = self
            .order
            .iter()
            .filter(|p| {
                if opts.objects.is_empty() {
                    self.settings.enabled(p)
                } else {
                    opts.objects.iter().any(|o| o == *p)
                }
            })
            .filter_map(|p| self.pairs.get(p))
            .collect();
        if !wanted.iter().any(|s| mappings.contains_key(&s.name)) {
            return Err(SyncError::Usage(format!(
                "no enabled plugin maps {}: add \"default\" to the profile's `plugins` in hubforce.toml (plugins/default has the standard mappings)",
                wanted
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(wanted)
    }

    /// A failure that stops the pass (a spent budget, a refused grant): the report says why.
    async fn stop(&self, e: ApiError, report: &mut RunReport) {
        report.note_schema(e.request.as_deref().unwrap_or("a request"), &e);
        let e = every_refused_grant(self.hs, self.sf, e).await;
        report.stopped = Some(stop_reason(&e));
        report.stopped_class = Some(e.class);
    }

    pub(super) fn commit(&self, opts: &SyncOptions, cp: Checkpoint) -> Result<(), SyncError> {
        if !opts.dry_run {
            self.ledger.commit(cp)?;
        }
        Ok(())
    }

    fn tick(&self, direction: &str, report: &mut RunReport) {
        if let Some(p) = &self.progress {
            let c = report.counts(direction).clone();
            p(direction, &c, report);
        }
    }

    async fn run_pair(
        &self,
        spec: &PairSpec,
        opts: &SyncOptions,
        joined: &[String],
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        if !self.mappings()?.contains_key(&spec.name) {
            return Ok(()); // no plugin maps this pair
        }
        self.retry_errors(spec, opts, report).await?;
        if opts.retry_only {
            return Ok(());
        }
        self.sync_joined(spec, joined, opts, report).await?;

        // HubSpot → Salesforce. The next page is fetched while this one is processed.
        let direction = format!("{} → Salesforce", spec.name);
        let key = ("hubspot", spec.hs_object.as_str());
        let mut cursor = Cursor::parse(self.ledger.cursor(key.0, key.1)?.as_deref())
            .begin(opts.full, Utc::now());
        let props = self.hs_properties(&self.mappings()?, spec);
        let mut pager = HsPager::new(self.hs, &spec.hs_object, spec.hs_modified, props, &cursor)
            .with_filters(&spec.decl.hubspot.filters);
        let (batch_size, gather) = self.hubspot_batch_size(&mut pager, &cursor).await?;
        let (reading, mut batches) = read_ahead(&mut pager, HS_PAGE, batch_size);
        let (at, out) = (&mut cursor, &mut *report);
        let syncing = async move {
            while let Some(batch) = batches.next().await? {
                let records: Vec<HsRecord> = batch
                    .into_iter()
                    .filter_map(|r| HsRecord::from_json(r, spec.hs_modified))
                    .collect();
                self.hubspot_page(spec, (records, gather), at, opts, out, &direction)
                    .await?;
                // What was gathered waits in the ledger for the next run.
                self.checkpoint_reached()?;
                if gather
                    && in_stage(Stage::Write, self.flush_if_full(spec, &direction, out)).await?
                {
                    self.tick(&direction, out);
                }
            }
            Ok::<(), SyncError>(())
        };
        tokio::join!(reading, syncing).1?;
        let direction = format!("{} → Salesforce", spec.name);
        if gather {
            in_stage(Stage::Write, self.flush_gathered(spec, &direction, report)).await?;
            self.tick(&direction, report);
        }
        let mut cp = Checkpoint::default();
        cp.cursor(key.0, key.1, &cursor.finished().text());
        self.scan_hubspot_archived(spec, &direction, &mut cp, report)
            .await?;
        self.commit(opts, cp)?;

        self.pull_salesforce(spec, opts, report).await
    }

    /// Salesforce → HubSpot, one sObject after the other. Their first pages come in one
    /// Composite call: each cursor begins before it, and this direction writes only to
    /// HubSpot, so no page is older than what it plans against.
    async fn pull_salesforce(
        &self,
        spec: &PairSpec,
        opts: &SyncOptions,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        let mappings = self.mappings()?;
        let mut pulls = Vec::new();
        for sobject in spec.sobjects() {
            let cursor = Cursor::parse(self.ledger.cursor("salesforce", sobject)?.as_deref())
                .begin(opts.full, Utc::now());
            let fields = self.sf_field_list(&mappings, spec, sobject);
            let pager = SfPager::new(self.sf, sobject, &fields, spec.sf_filter(sobject), &cursor)
                .with_bulk(self.bulk_read(sobject, &cursor));
            pulls.push((sobject.as_str(), cursor, pager));
        }
        let mut pagers: Vec<&mut SfPager<'_>> = pulls.iter_mut().map(|(_, _, p)| p).collect();
        super::pull::prefetch_first_pages(self.sf, &mut pagers).await?;
        for (sobject, mut cursor, mut pager) in pulls {
            let direction = format!("{sobject} → HubSpot");
            let page = if pager.may_go_bulk() {
                crate::api::salesforce_bulk::QUERY_PAGE.max(SF_PAGE)
            } else {
                SF_PAGE
            };
            // A Bulk import's batches are large, so that its HubSpot updates go by import.
            let batch_size = if pager.goes_bulk() {
                BULK_BATCH.max(self.settings.batch_size)
            } else {
                self.settings.batch_size
            };
            let (reading, mut batches) = read_ahead(&mut pager, page, batch_size);
            let (at, out) = (&mut cursor, &mut *report);
            let syncing = async move {
                while let Some(batch) = batches.next().await? {
                    let records: Vec<SfRecord> = batch
                        .into_iter()
                        .filter_map(|r| SfRecord::from_json(r, sobject))
                        .collect();
                    self.salesforce_page(spec, sobject, records, at, opts, out, &direction)
                        .await?;
                    self.checkpoint_reached()?;
                }
                Ok::<(), SyncError>(())
            };
            tokio::join!(reading, syncing).1?;
            report.pulls_priced.extend(pager.priced());
            let mut cp = Checkpoint::default();
            cp.cursor("salesforce", sobject, &cursor.finished().text());
            self.commit(opts, cp)?;
        }
        Ok(())
    }

    /// Records per batch of a HubSpot pull, and whether it is a Bulk import: an import of
    /// `bulk_threshold` records or more runs in batches of `BULK_BATCH` and gathers its
    /// Salesforce creates for Bulk API ingest jobs across batches (`gather.rs`).
    async fn hubspot_batch_size(
        &self,
        pager: &mut HsPager<'_>,
        cursor: &Cursor,
    ) -> Result<(usize, bool), ApiError> {
        let (threshold, normal) = (self.settings.bulk_threshold, self.settings.batch_size);
        if threshold == 0 || cursor.since.is_some() {
            return Ok((normal, false));
        }
        Ok(if pager.total().await? >= threshold {
            (BULK_BATCH.max(normal), true)
        } else {
            (normal, false)
        })
    }

    /// Write what earlier passes left gathered, pair by pair.
    async fn flush_all_gathered(&self, report: &mut RunReport) -> Result<(), SyncError> {
        if report.dry_run {
            return Ok(());
        }
        for name in &self.order {
            let Some(spec) = self.pairs.get(name) else {
                continue;
            };
            if self.ledger.pending_count(name)? > 0 {
                let direction = format!("{name} → Salesforce");
                let flush = self.flush_gathered(spec, &direction, report);
                within(Some(name), Stage::Write, flush).await?;
            }
        }
        Ok(())
    }

    /// For an import (no `since`): the rest of a large pull through a Bulk API query job.
    fn bulk_read(&self, sobject: &str, cursor: &Cursor) -> Option<super::pull::BulkRead> {
        let threshold = self.settings.bulk_threshold;
        if threshold == 0 || cursor.since.is_some() {
            return None;
        }
        let types = self.described.get(sobject)?.types.clone();
        Some(super::pull::BulkRead::new(threshold, types))
    }

    /// One batch of a HubSpot pull (gathering its creates when `gather`), checkpointed
    /// with the cursor after it.
    async fn hubspot_page(
        &self,
        spec: &PairSpec,
        (records, gather): (Vec<HsRecord>, bool),
        cursor: &mut Cursor,
        opts: &SyncOptions,
        report: &mut RunReport,
        direction: &str,
    ) -> Result<(), SyncError> {
        let mappings = self.mappings()?;
        let mut cp = Checkpoint::default();
        let last = records.last().map(|r| r.id.clone());
        self.sync_hubspot_batch_gathering(spec, &mappings, (records, gather), &mut cp, report)
            .await?;
        if let Some(last) = last {
            *cursor = cursor.at(&last);
            cp.cursor("hubspot", &spec.hs_object, &cursor.text());
        }
        self.commit(opts, cp)?;
        self.tick(direction, report);
        Ok(())
    }

    /// One batch of a Salesforce pull, checkpointed with the cursor after it.
    #[allow(clippy::too_many_arguments)]
    async fn salesforce_page(
        &self,
        spec: &PairSpec,
        sobject: &str,
        records: Vec<SfRecord>,
        cursor: &mut Cursor,
        opts: &SyncOptions,
        report: &mut RunReport,
        direction: &str,
    ) -> Result<(), SyncError> {
        let mappings = self.mappings()?;
        let mut cp = Checkpoint::default();
        let last = records.last().map(|r| r.id.clone());
        self.sync_salesforce_batch(spec, &mappings, sobject, records, &mut cp, report)
            .await?;
        if let Some(last) = last {
            *cursor = cursor.at(&last);
            cp.cursor("salesforce", sobject, &cursor.text());
        }
        self.commit(opts, cp)?;
        self.tick(direction, report);
        Ok(())
    }

    /// Records that failed on an earlier pass: read them again and sync them first.
    async fn retry_errors(
        &self,
        spec: &PairSpec,
        opts: &SyncOptions,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        use super::ledger_asks::{AskKind, Asked};
        let errors = self.ledger.errors(None)?;
        // Records the sync health page asked to resync are retried whatever their class.
        let asked: std::collections::HashSet<Asked> = if opts.dry_run {
            Default::default()
        } else {
            self.ledger.asked(AskKind::Resync)?.into_iter().collect()
        };
        let handed = std::sync::Mutex::new(Vec::<Asked>::new());
        let due = |side: &str, object: &str| -> Vec<String> {
            let mut ids = Vec::new();
            for e in errors
                .iter()
                .filter(|e| e.side == side && e.object == object)
            {
                let key = (e.side.clone(), e.object.clone(), e.id.clone());
                let was_asked = asked.contains(&key);
                let wanted = (e.retryable || opts.retry_all)
                    && opts.retry_class.is_none_or(|c| c.as_str() == e.class);
                if wanted || was_asked {
                    ids.push(e.id.clone());
                }
                if was_asked {
                    handed.lock().unwrap_or_else(|p| p.into_inner()).push(key);
                }
            }
            ids
        };
        let mappings = self.mappings()?;
        // A record in error is retried even if its values look like our last write.
        let plan_echoes = std::mem::replace(&mut report.plan_echoes, true);
        let result = self.retry_due(spec, opts, &mappings, &due, report).await;
        report.plan_echoes = plan_echoes;
        result?;
        let mut handed = handed.into_inner().unwrap_or_else(|p| p.into_inner());
        // An ask for a record no longer in error has nothing left to do.
        handed.extend(asked.into_iter().filter(|(side, object, id)| {
            !errors
                .iter()
                .any(|e| &e.side == side && &e.object == object && &e.id == id)
        }));
        self.ledger.asks_done(AskKind::Resync, &handed)?;
        Ok(())
    }

    async fn retry_due(
        &self,
        spec: &PairSpec,
        opts: &SyncOptions,
        mappings: &Mappings,
        due: &(dyn Fn(&str, &str) -> Vec<String> + Sync),
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        let hs_ids = due("hubspot", &spec.hs_object);
        if !hs_ids.is_empty() {
            let props = self.hs_properties(mappings, spec);
            let found = lookup::hs_by_ids(self.hs, spec, &props, &hs_ids, None).await?;
            let mut cp = Checkpoint::default();
            forget_missing(
                &mut cp,
                "hubspot",
                &spec.hs_object,
                &hs_ids,
                found.iter().map(|r| r.id.as_str()),
            );
            for chunk in found.chunks(self.settings.batch_size) {
                self.sync_hubspot_batch(spec, mappings, chunk.to_vec(), &mut cp, report)
                    .await?;
            }
            self.commit(opts, cp)?;
        }
        for sobject in spec.sobjects() {
            let ids = due("salesforce", sobject);
            if ids.is_empty() {
                continue;
            }
            let fields = self.sf_field_list(mappings, spec, sobject);
            let found = lookup::sf_by_ids(self.sf, sobject, &fields, &ids).await?;
            let mut cp = Checkpoint::default();
            forget_missing(
                &mut cp,
                "salesforce",
                sobject,
                &ids,
                found.iter().map(|r| r.id.as_str()),
            );
            for chunk in found.chunks(self.settings.batch_size) {
                self.sync_salesforce_batch(
                    spec,
                    mappings,
                    sobject,
                    chunk.to_vec(),
                    &mut cp,
                    report,
                )
                .await?;
            }
            self.commit(opts, cp)?;
        }
        Ok(())
    }

    /// The context table hooks receive.
    pub(super) fn hook_ctx(spec: &PairSpec, side: &str, sobject: &str) -> Value {
        json!({
            "pair": spec.name,
            "side": side,
            "object": spec.hs_object,
            "sobject": sobject,
            "direction": if side == "hubspot" { "to_salesforce" } else { "to_hubspot" },
        })
    }
}

/// A record that failed before and is gone now has nothing left to retry.
fn forget_missing<'r>(
    cp: &mut Checkpoint,
    side: &str,
    object: &str,
    wanted: &[String],
    found: impl Iterator<Item = &'r str>,
) {
    let found: HashSet<&str> = found.collect();
    for id in wanted {
        if !found.contains(id.as_str()) {
            cp.succeeded(side, object, id);
        }
    }
}

/// A refused grant stops the sync. The other provider's grant is tried too (one token
/// refresh), so that the message names every `hubforce connect` needed at once, not one
/// per run.
pub(super) async fn every_refused_grant(
    hs: &HubspotApi,
    sf: &SalesforceApi,
    mut e: ApiError,
) -> ApiError {
    if e.class != ErrorClass::AuthRevoked {
        return e;
    }
    let other = match e.provider {
        crate::error::Provider::Hubspot => sf.transport.refresh_now().await,
        crate::error::Provider::Salesforce => hs.transport.refresh_now().await,
    };
    if let Err(o) = other
        && o.class == ErrorClass::AuthRevoked
    {
        e.message = format!(
            "{}; the {} grant is refused too ({})",
            e.message,
            o.provider.label(),
            o.message
        );
        e.hint = "run `hubforce connect hubspot` and `hubforce connect salesforce`, then sync again: the next run resumes from the last checkpoint".into();
    }
    e
}

fn stop_reason(e: &ApiError) -> String {
    match e.class {
        ErrorClass::RateDaily => format!(
            "{} — the API call allocation is spent; the next run resumes from the last checkpoint after the reset",
            e
        ),
        _ => format!("{e} — the next run resumes from the last checkpoint"),
    }
}

/// A plugin hook's failure as a record error.
pub(super) fn plugin_error(
    provider: crate::error::Provider,
    e: &super::hooks::HookError,
) -> ApiError {
    ApiError::new(provider, ErrorClass::Plugin, e.to_string())
        .with_hint("fix the plugin at the file:line shown, then run `hubforce resync`")
}

pub(super) fn by_sobject<'r>(
    items: impl Iterator<Item = (&'r str, &'r str)>,
) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (sobject, id) in items {
        m.entry(sobject.to_string())
            .or_default()
            .push(id.to_string());
    }
    m
}
