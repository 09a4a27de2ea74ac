//! Executing a batch's plans: the batched writes on both sides (creates upserted by an
//! external id or e-mail, so a repeat after a lost answer finds the record instead of making
//! a second one), a dry run's report of what they would be, and the checkpoint entries and
//! counts for what the writes answered.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::engine::Engine;
use super::ledger::Checkpoint;
use super::mapping::{self, PairMapping, RecordPlan};
use super::pairs::PairSpec;
use super::records::{HsRecord, SfRecord, values_hash_by};
use super::report::{PlannedRecord, RunReport};
use super::write_price;
use crate::api::hubspot::{BATCH_MAX, ItemResult};
use crate::api::salesforce::{COLLECTION_MAX, CollectionOp};
use crate::api::salesforce_bulk::BulkOperation;
use crate::error::{ApiError, ErrorClass, Provider};

/// One record on its way through a batch.
pub(super) struct Item {
    pub(super) hs: Option<HsRecord>,
    pub(super) sf: Option<SfRecord>,
    pub(super) sobject: String,
    pub(super) mapping: Arc<PairMapping>,
    pub(super) plan: RecordPlan,
    /// The ledger's link before this batch (hs id, sf id), if any.
    pub(super) linked: Option<(String, String)>,
}

pub(super) type WriteResult = Option<Result<Value, ApiError>>;

fn calls_for(n: usize, per_call: usize) -> u64 {
    n.div_ceil(per_call) as u64
}

/// A value as HubSpot properties hold it: text, and "" for none.
pub(super) fn hs_string(v: &Value) -> Value {
    match v {
        Value::Null => Value::String(String::new()),
        Value::String(_) => v.clone(),
        other => Value::String(other.to_string()),
    }
}

/// Whether HubSpot writes could go through an import: they write something, and every
/// value they write is set (an import cannot empty a property).
pub(super) fn sets_every_value(properties: &Map<String, Value>) -> bool {
    !properties.is_empty()
        && properties
            .values()
            .all(|v| hs_string(v).as_str().is_some_and(|s| !s.is_empty()))
}

impl Engine<'_> {
    /// A HubSpot batch call. HubSpot refuses a whole batch for one bad input, so on a data
    /// error the batch is split in halves until the bad inputs stand alone: one bad record
    /// in 100 costs about 14 calls, not 100, and cannot sink the other 99.
    pub(super) async fn hs_write(
        &self,
        object: &str,
        op: &str,
        inputs: Vec<Value>,
    ) -> Result<Vec<ItemResult>, ApiError> {
        let mut out: Vec<Option<ItemResult>> = vec![None; inputs.len()];
        // (start, end) ranges still to send, each at most one batch; a round's go together.
        let mut todo: Vec<(usize, usize)> = (0..inputs.len())
            .step_by(BATCH_MAX)
            .map(|s| (s, (s + BATCH_MAX).min(inputs.len())))
            .collect();
        while !todo.is_empty() {
            let calls = todo.iter().map(|&(start, end)| {
                self.hs
                    .batch(object, op, inputs[start..end].to_vec(), json!({}))
            });
            let answers = futures_util::future::join_all(calls).await;
            let mut halves = Vec::new();
            let mut stop = None;
            for (&(start, end), answer) in todo.iter().zip(answers) {
                match answer {
                    Ok(results) => {
                        for (slot, r) in out[start..end].iter_mut().zip(results) {
                            *slot = Some(r);
                        }
                    }
                    Err(e)
                        if matches!(
                            e.class,
                            ErrorClass::Validation | ErrorClass::Duplicate | ErrorClass::NotFound
                        ) =>
                    {
                        if end - start == 1 {
                            out[start] = Some(ItemResult::Failed(e));
                        } else {
                            let mid = start + (end - start) / 2;
                            halves.extend([(start, mid), (mid, end)]);
                        }
                    }
                    Err(e) => {
                        stop.get_or_insert(e);
                    }
                }
            }
            // A failure of the whole call stops the batch once every answer is in.
            if let Some(e) = stop {
                return Err(e);
            }
            todo = halves;
        }
        Ok(out
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    ItemResult::Failed(ApiError::new(
                        Provider::Hubspot,
                        ErrorClass::Transient,
                        "no answer for this input; retried on the next run",
                    ))
                })
            })
            .collect())
    }

    pub(super) async fn sf_write(
        &self,
        op: CollectionOp,
        records: Vec<Value>,
    ) -> Result<Vec<ItemResult>, ApiError> {
        self.sf.collection(op, records, false).await
    }

    /// A dry run of a batch: what each item would become, and what the writes would cost
    /// the way a real pass would send them (`imports`: the connection may start HubSpot
    /// imports).
    pub(super) fn dry(
        &self,
        spec: &PairSpec,
        (direction, imports, gathered): (&str, bool, bool),
        items: &[Item],
        report: &mut RunReport,
    ) {
        let mut sf_creates: BTreeMap<&str, usize> = BTreeMap::new();
        let mut sf_updates: BTreeMap<&str, usize> = BTreeMap::new();
        let mut hs_creates = 0;
        let mut hs_updates = 0;
        let mut hs_importable = 0;
        let mut hs_write_backs = 0;
        for it in items {
            if let (Some(h), Some(s)) = (&it.hs, &it.sf)
                && !report.planned_pairs.insert((h.id.clone(), s.id.clone()))
            {
                // Planned by the other direction already: a real pass would pull it back as
                // the echo of that write.
                report.counts(direction).echoes += 1;
                continue;
            }
            let (action, counted) = match (&it.hs, &it.sf) {
                (None, _) => {
                    hs_creates += 1;
                    ("create in HubSpot".to_string(), "created")
                }
                (_, None) => {
                    *sf_creates.entry(it.sobject.as_str()).or_default() += 1;
                    hs_write_backs += usize::from(self.settings.write_ids_to_hubspot);
                    (
                        format!("create in Salesforce as a {}", it.sobject),
                        "created",
                    )
                }
                _ if it.plan.is_noop() => ("no change".to_string(), "unchanged"),
                _ => {
                    if !it.plan.salesforce_writes.is_empty() {
                        *sf_updates.entry(it.sobject.as_str()).or_default() += 1;
                    }
                    hs_updates += usize::from(!it.plan.hubspot_writes.is_empty());
                    hs_importable += usize::from(sets_every_value(&it.plan.hubspot_writes));
                    ("update".to_string(), "updated")
                }
            };
            let c = report.counts(direction);
            match counted {
                "created" => c.created += 1,
                "updated" => c.updated += 1,
                _ => c.unchanged += 1,
            }
            report.plans.push(PlannedRecord {
                pair: spec.name.to_string(),
                hubspot_id: it.hs.as_ref().map(|r| r.id.clone()),
                salesforce_id: it.sf.as_ref().map(|r| r.id.clone()),
                sobject: it.sobject.clone(),
                action,
                fields: it.plan.fields.clone(),
                salesforce_writes: it.plan.salesforce_writes.clone(),
                hubspot_writes: it.plan.hubspot_writes.clone(),
            });
        }
        if gathered {
            // Priced with the pull's other creates, the way they would be written together.
            let tally = report.gathered.entry(spec.name.clone()).or_default();
            for (sobject, n) in std::mem::take(&mut sf_creates) {
                *tally.creates.entry(sobject.to_string()).or_default() += n as u64;
            }
            tally.write_backs += hs_write_backs as u64;
            hs_write_backs = 0;
        }
        let sf_calls = self.price_sf_writes(&sf_creates, &sf_updates, report);
        *report
            .write_calls_planned
            .entry("salesforce".into())
            .or_default() += sf_calls;
        // The write-backs set a value, so an import may take them with the updates that
        // set every value; the rest go in batches.
        let importable = hs_importable + hs_write_backs;
        let path = write_price::import_path(imports, importable);
        if importable > 0 {
            write_price::add_price(
                &mut report.writes_priced,
                path.hubspot_price(&spec.hs_object, importable),
            );
        }
        let batched = if path.ingest {
            hs_updates - hs_importable
        } else {
            hs_updates + hs_write_backs
        };
        *report
            .write_calls_planned
            .entry("hubspot".into())
            .or_default() += calls_for(hs_creates, BATCH_MAX)
            + calls_for(batched, BATCH_MAX)
            + if path.ingest { path.bulk_calls } else { 0 };
    }

    /// The calls a batch's Salesforce writes would cost (`creates` and `updates` counted by
    /// sObject), each group the way a real pass would send it; the large groups' prices
    /// both ways go in the report.
    fn price_sf_writes(
        &self,
        creates: &BTreeMap<&str, usize>,
        updates: &BTreeMap<&str, usize>,
        report: &mut RunReport,
    ) -> u64 {
        let bulk = self.settings.bulk_threshold > 0;
        let mut calls = 0;
        let mut collection_updates = 0;
        for (groups, operation) in [(creates, "create"), (updates, "update")] {
            for (sobject, &n) in groups {
                let path = write_price::write_path(bulk, n);
                write_price::add_price(
                    &mut report.writes_priced,
                    path.price(sobject, operation, n),
                );
                match (path.ingest, operation) {
                    (false, "update") => collection_updates += n,
                    _ => calls += path.calls(),
                }
            }
        }
        calls + calls_for(collection_updates, COLLECTION_MAX)
    }

    /// Write every item's plan: Salesforce creates (upsert by the HubSpot id, so a repeat
    /// after a crash finds the record instead of duplicating it) and updates, HubSpot creates
    /// (stamped with the Salesforce id, for the same reason) and updates.
    pub(super) async fn write(
        &self,
        spec: &PairSpec,
        items: &[Item],
        report: &mut RunReport,
    ) -> Result<(Vec<WriteResult>, Vec<WriteResult>), ApiError> {
        let plan = WritePlan::of(items);
        let sf_res = self.write_salesforce(spec, items, &plan, report).await?;
        let hs_res = self
            .write_hubspot(spec, items, (plan, &sf_res), report)
            .await?;
        Ok((sf_res, hs_res))
    }

    /// Salesforce creates (upserts on the external id, per sObject) and updates, each group
    /// through an ingest job or collections, whichever costs fewer calls; the prices of the
    /// large groups go in the report.
    async fn write_salesforce(
        &self,
        spec: &PairSpec,
        items: &[Item],
        plan: &WritePlan<'_>,
        report: &mut RunReport,
    ) -> Result<Vec<WriteResult>, ApiError> {
        let mut sf_res: Vec<WriteResult> = vec![None; items.len()];
        let groups = self.sf_groups(spec, items, plan, report);
        let (targets, calls): (Vec<Vec<usize>>, Vec<_>) = groups
            .into_iter()
            .map(|(idx, write)| (idx, self.send_sf(write)))
            .unzip();
        for (idx, results) in targets.into_iter().zip(crate::api::all(calls).await?) {
            for (i, r) in idx.into_iter().zip(results) {
                sf_res[i] = Some(r.into());
            }
        }
        Ok(sf_res)
    }

    /// A batch's Salesforce writes in groups that go together: each sObject's creates, and
    /// its updates through a job or, with the other sObjects' small ones, one collection.
    fn sf_groups(
        &self,
        spec: &PairSpec,
        items: &[Item],
        plan: &WritePlan<'_>,
        report: &mut RunReport,
    ) -> Vec<(Vec<usize>, SfWrite)> {
        let writes = |i: usize, id: bool| {
            let mut m = items[i].plan.salesforce_writes.clone();
            if id && let Some(s) = &items[i].sf {
                m.insert("Id".into(), json!(s.id));
            }
            m
        };
        let mut groups = Vec::new();
        let mut collection_updates: Vec<usize> = Vec::new();
        let hs_id = spec.sf_hubspot_id();
        let creates = plan
            .sf_creates
            .iter()
            .map(|(o, idx)| (*o, idx.clone(), true));
        let updates = plan.sf_updates_by_sobject().into_iter();
        for (sobject, idx, create) in creates.chain(updates.map(|(o, idx)| (o, idx, false))) {
            let records: Vec<Map<String, Value>> =
                idx.iter().map(|&i| writes(i, !create)).collect();
            let key = if create { hs_id } else { "Id" };
            let operation = if create { "create" } else { "update" };
            match self.ingest_keys((sobject, operation, key), &records, report) {
                Some(keys) => {
                    let op = if create {
                        BulkOperation::Upsert
                    } else {
                        BulkOperation::Update
                    };
                    let job =
                        SfWrite::Ingest(op, (sobject.to_string(), key.to_string()), records, keys);
                    groups.push((idx, job));
                }
                None if create => {
                    let op = CollectionOp::Upsert {
                        sobject: sobject.to_string(),
                        field: hs_id.to_string(),
                    };
                    groups.push((idx, SfWrite::Collection(op, typed(sobject, records))));
                }
                None => collection_updates.extend(idx),
            }
        }
        if !collection_updates.is_empty() {
            let records = collection_updates
                .iter()
                .map(|&i| {
                    let mut m = writes(i, true);
                    m.insert("attributes".into(), json!({"type": items[i].sobject}));
                    Value::Object(m)
                })
                .collect();
            groups.push((
                collection_updates,
                SfWrite::Collection(CollectionOp::Update, records),
            ));
        }
        groups
    }

    async fn send_sf(&self, write: SfWrite) -> Result<Vec<ItemResult>, ApiError> {
        match write {
            SfWrite::Collection(op, records) => self.sf_write(op, records).await,
            SfWrite::Ingest(op, (sobject, key), records, keys) => {
                Box::pin(self.sf_ingest(op, (&sobject, &key), records, keys)).await
            }
        }
    }

    /// HubSpot upserts (people by email), creates and updates; the updates also carry the
    /// ids of Salesforce records `sf_res` just created (one call per 100, not one more).
    async fn write_hubspot(
        &self,
        spec: &PairSpec,
        items: &[Item],
        (plan, sf_res): (WritePlan<'_>, &[WriteResult]),
        report: &mut RunReport,
    ) -> Result<Vec<WriteResult>, ApiError> {
        let mut hs_res: Vec<WriteResult> = vec![None; items.len()];
        // People with an email are upserted by it: a create repeated after a lost answer
        // (or a crash) finds the contact instead of making a second one.
        let email_of = |i: usize| {
            items[i]
                .plan
                .hubspot_writes
                .get("email")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
                .map(str::to_lowercase)
        };
        let (upserts, creates): (Vec<usize>, Vec<usize>) = plan
            .hs_creates
            .into_iter()
            .partition(|&i| spec.is_hubspot_contacts() && email_of(i).is_some());
        let upsert_inputs: Vec<Value> = upserts
            .iter()
            .map(|&i| {
                let mut input = hs_input(&items[i], None);
                input["id"] = json!(email_of(i));
                input["idProperty"] = json!("email");
                input
            })
            .collect();
        let create_inputs: Vec<Value> =
            creates.iter().map(|&i| hs_input(&items[i], None)).collect();
        let mut updates = plan.hs_updates;
        let mut backs: BTreeMap<usize, (String, String)> = BTreeMap::new();
        for (i, it) in items.iter().enumerate() {
            if let Some(Ok(v)) = &sf_res[i]
                && let Some(sf_id) = v["id"].as_str()
                && let Some(b) = self.write_back_after_create(spec, it, sf_id)
            {
                backs.insert(i, (b.property, b.sf_id));
                updates.push(i);
            }
        }
        let update_inputs: Vec<Value> = updates
            .iter()
            .map(|&i| {
                let mut input = hs_input(&items[i], items[i].hs.as_ref().map(|h| h.id.as_str()));
                if let Some((property, sf_id)) = backs.get(&i) {
                    input["properties"][property.as_str()] = json!(sf_id);
                }
                input
            })
            .collect();
        // Updates that set every value may go through one import instead of batches.
        let split = self
            .import_split(&spec.hs_object, &update_inputs, report)
            .await;
        // Upserts, creates and updates touch different records: sent together.
        let object = spec.hs_object.as_str();
        type Call<'f> =
            std::pin::Pin<Box<dyn Future<Output = Result<Vec<ItemResult>, ApiError>> + Send + 'f>>;
        let calls: [(Vec<usize>, Call<'_>); 3] = [
            (
                upserts,
                Box::pin(self.hs_write(object, "upsert", upsert_inputs)),
            ),
            (
                creates,
                Box::pin(self.hs_write(object, "create", create_inputs)),
            ),
            (
                updates,
                Box::pin(self.hs_update(object, update_inputs, split)),
            ),
        ];
        let (targets, calls): (Vec<Vec<usize>>, Vec<_>) =
            calls.into_iter().filter(|(idx, _)| !idx.is_empty()).unzip();
        for (idx, results) in targets.into_iter().zip(crate::api::all(calls).await?) {
            for (i, r) in idx.into_iter().zip(results) {
                hs_res[i] = Some(r.into());
            }
        }
        Ok(hs_res)
    }

    /// Checkpoint entries and counts for written items. `source` is the side the batch was
    /// pulled from: record errors are kept against the source record.
    pub(super) fn settle(
        &self,
        (spec, direction, source): (&PairSpec, &str, &str),
        items: Vec<Item>,
        pair_mapping: Option<&PairMapping>,
        results: (Vec<WriteResult>, Vec<WriteResult>),
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) {
        let (sf_res, hs_res) = results;
        // The state lists, once per sObject: a hash covers the fields a pull reads back.
        let mut sf_fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let hs_props = pair_mapping.map(|pair| self.hs_state_properties(pair, spec));
        for ((it, sf_r), hs_r) in items.into_iter().zip(sf_res).zip(hs_res) {
            let sf_id = written_id(it.sf.as_ref().map(|s| s.id.as_str()), &sf_r);
            let hs_id = written_id(it.hs.as_ref().map(|h| h.id.as_str()), &hs_r);
            if let (Some(h), Some(s)) = (&hs_id, &sf_id)
                && it.linked.as_ref() != Some(&(h.clone(), s.clone()))
            {
                cp.link(&spec.name, h, s, &it.sobject);
            }
            // Hashes only for a record that synced completely: a hash makes the next pull
            // skip the record as our echo, which must never hide a failed write.
            let ok = !matches!(sf_r, Some(Err(_))) && !matches!(hs_r, Some(Err(_)));
            if ok && let Some(s) = &sf_id {
                self.hash_salesforce(&it, s, &mut sf_fields, cp);
            }
            if ok && let Some(h) = &hs_id {
                let keys = HubspotKeys {
                    pair: pair_mapping,
                    shared: hs_props.as_deref(),
                };
                self.hash_hubspot(spec, &it, (h, sf_id.as_deref()), keys, cp);
            }
            let (object, source_id) = if source == "hubspot" {
                (spec.hs_object.to_string(), hs_id.unwrap_or_default())
            } else {
                (it.sobject.clone(), sf_id.unwrap_or_default())
            };
            let key = (source, object.as_str(), source_id.as_str());
            record_outcome(cp, report, direction, key, &it, (&sf_r, &hs_r));
        }
    }

    /// The Salesforce state hash of a record written completely.
    fn hash_salesforce(
        &self,
        it: &Item,
        sf_id: &str,
        sf_fields: &mut BTreeMap<String, Vec<String>>,
        cp: &mut Checkpoint,
    ) {
        let base = it.sf.as_ref().map(|r| &r.fields);
        let (writes, defaults) = (&it.plan.salesforce_writes, &it.plan.salesforce_defaults);
        let state = |k: &str| {
            writes
                .get(k)
                .or_else(|| defaults.get(k))
                .or_else(|| base?.get(k))
        };
        let keys = sf_fields
            .entry(it.sobject.clone())
            .or_insert_with(|| self.sf_state_fields(&it.mapping, &it.sobject));
        cp.wrote(
            "salesforce",
            &it.sobject,
            sf_id,
            &values_hash_by(state, keys.iter().map(String::as_str)),
        );
    }

    /// The HubSpot state hash of a record written completely. A Salesforce record created
    /// just now had its id written to HubSpot with the batch's updates: the state includes it.
    fn hash_hubspot(
        &self,
        spec: &PairSpec,
        it: &Item,
        (hs_id, sf_id): (&str, Option<&str>),
        keys: HubspotKeys<'_>,
        cp: &mut Checkpoint,
    ) {
        let back = sf_id.and_then(|s| self.write_back_after_create(spec, it, s));
        let base = it.hs.as_ref().map(|r| &r.props);
        let mut writes: Map<String, Value> = it
            .plan
            .hubspot_writes
            .iter()
            .map(|(k, v)| (k.clone(), hs_string(v)))
            .collect();
        if let Some(b) = &back {
            writes.insert(b.property.clone(), json!(b.sf_id));
        }
        let state = |k: &str| writes.get(k).or_else(|| base?.get(k));
        let pair = keys.pair.unwrap_or(&it.mapping);
        let own_keys;
        let keys = match keys.shared {
            Some(k) => k,
            None => {
                own_keys = self.hs_state_properties(pair, spec);
                &own_keys
            }
        };
        cp.wrote(
            "hubspot",
            &spec.hs_object,
            hs_id,
            &mapping::hubspot_state_hash_by(pair, state, keys, &self.owners),
        );
    }
}

impl From<ItemResult> for Result<Value, ApiError> {
    fn from(r: ItemResult) -> Self {
        match r {
            ItemResult::Ok(v) => Ok(v),
            ItemResult::Failed(e) => Err(e),
        }
    }
}

/// The keys a HubSpot state hash covers: the batch's pair mapping and its state properties
/// when the batch has one, else each item's own.
#[derive(Clone, Copy)]
struct HubspotKeys<'a> {
    pair: Option<&'a PairMapping>,
    shared: Option<&'a [String]>,
}

/// The id of a record after a write: the one it had, or the one its create answered.
fn written_id(existing: Option<&str>, result: &WriteResult) -> Option<String> {
    existing.map(String::from).or_else(|| match result {
        Some(Ok(v)) => v["id"].as_str().map(String::from),
        _ => None,
    })
}

/// The record's outcome in the checkpoint and the report: its error, or created / updated /
/// unchanged.
fn record_outcome(
    cp: &mut Checkpoint,
    report: &mut RunReport,
    direction: &str,
    key: (&str, &str, &str),
    it: &Item,
    (sf_r, hs_r): (&WriteResult, &WriteResult),
) {
    let error = [sf_r.as_ref(), hs_r.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|r| r.as_ref().err().cloned());
    if let Some(e) = error {
        fail(cp, report, direction, key, &e);
        return;
    }
    cp.succeeded(key.0, key.1, key.2);
    let created = (it.hs.is_none() && hs_r.is_some()) || (it.sf.is_none() && sf_r.is_some());
    let c = report.counts(direction);
    if created {
        c.created += 1;
    } else if sf_r.is_some() || hs_r.is_some() {
        c.updated += 1;
    } else {
        c.unchanged += 1;
    }
}

/// One group of a batch's Salesforce writes.
enum SfWrite {
    Collection(CollectionOp, Vec<Value>),
    /// An ingest job on (sObject, key column), with each record's key.
    Ingest(
        BulkOperation,
        (String, String),
        Vec<Map<String, Value>>,
        Vec<String>,
    ),
}

/// Records as a collection takes them, typed by `attributes`.
fn typed(sobject: &str, records: Vec<Map<String, Value>>) -> Vec<Value> {
    records
        .into_iter()
        .map(|mut m| {
            m.insert("attributes".into(), json!({"type": sobject}));
            Value::Object(m)
        })
        .collect()
}

struct WritePlan<'i> {
    sf_creates: BTreeMap<&'i str, Vec<usize>>,
    sf_updates: Vec<usize>,
    hs_creates: Vec<usize>,
    hs_updates: Vec<usize>,
    /// Each item's sObject.
    sobjects: Vec<&'i str>,
}

impl<'i> WritePlan<'i> {
    /// The updates grouped by sObject, in the order of the batch within each.
    fn sf_updates_by_sobject(&self) -> BTreeMap<&'i str, Vec<usize>> {
        let mut by: BTreeMap<&'i str, Vec<usize>> = BTreeMap::new();
        for &i in &self.sf_updates {
            by.entry(self.sobjects[i]).or_default().push(i);
        }
        by
    }

    fn of(items: &'i [Item]) -> WritePlan<'i> {
        let mut plan = WritePlan {
            sf_creates: BTreeMap::new(),
            sf_updates: Vec::new(),
            hs_creates: Vec::new(),
            hs_updates: Vec::new(),
            sobjects: items.iter().map(|it| it.sobject.as_str()).collect(),
        };
        for (i, it) in items.iter().enumerate() {
            match (&it.hs, &it.sf) {
                (Some(_), None) => plan
                    .sf_creates
                    .entry(it.sobject.as_str())
                    .or_default()
                    .push(i),
                (None, Some(_)) => plan.hs_creates.push(i),
                _ => {
                    if !it.plan.salesforce_writes.is_empty() {
                        plan.sf_updates.push(i);
                    }
                    if !it.plan.hubspot_writes.is_empty() {
                        plan.hs_updates.push(i);
                    }
                }
            }
        }
        plan
    }
}

/// A HubSpot batch input of an item's HubSpot writes (with its id for an update).
fn hs_input(it: &Item, id: Option<&str>) -> Value {
    let props: Map<String, Value> = it
        .plan
        .hubspot_writes
        .iter()
        .map(|(k, v)| (k.clone(), hs_string(v)))
        .collect();
    match id {
        Some(id) => json!({"id": id, "properties": props}),
        None => json!({"properties": props}),
    }
}

/// A record that could not be written: its error in the checkpoint and the report.
pub(super) fn fail(
    cp: &mut Checkpoint,
    report: &mut RunReport,
    direction: &str,
    key: (&str, &str, &str),
    e: &ApiError,
) {
    cp.failed(key.0, key.1, key.2, e);
    report.counts(direction).failed += 1;
    report.failure(key, e);
}
