//! Gathered creates. In a Bulk import the Salesforce records a HubSpot pull creates are
//! planned batch by batch as always, but written together: each batch's creates (and the
//! activities of its linked contacts) wait in the ledger, checkpointed with the batch's
//! cursor, until `GATHER_MAX` wait or the pull ends. Then one ingest job per sObject writes
//! them, one import tells HubSpot their ids, one Task job logs their activities, and one
//! checkpoint links them and lets them go: some twenty calls for twenty thousand records,
//! where a job per batch cost seven calls and a wait each.
//!
//! A waiting create claims its match keys, so a later record with the same email is refused
//! as the duplicate it would make, as a look-up would refuse it once the create is written.
//! What a crash leaves waiting is written first by the next pass; a job repeated that way
//! upserts on the HubSpot id, so it finds what the first one made.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::direction::Direction;
use super::engine::{Engine, SyncError};
use super::ledger::{Checkpoint, LedgerError};
use super::lookup;
use super::mapping::{PairMapping, RecordPlan};
use super::pairs::PairSpec;
use super::pending::Pending;
use super::records::HsRecord;
use super::report::RunReport;
use super::write::{Item, WriteResult, hs_string};
use super::write_price::{add_price, import_path, write_path};
use crate::api::hubspot::ItemResult;
use crate::api::salesforce::CollectionOp;
use crate::api::salesforce_bulk::BulkOperation;
use crate::error::{ApiError, ErrorClass, Provider};

/// How many gathered creates start their writes before the pull ends.
pub(super) const GATHER_MAX: u64 = 20_000;

/// Records settled together while a gathering is written.
const SETTLE_CHUNK: usize = 1_000;

/// What a gathered record keeps until it is written: the HubSpot record as pulled, and its
/// plan's writes. A record whose Salesforce counterpart exists already has no sObject and
/// waits only for its activities to be logged.
#[derive(Serialize, Deserialize)]
struct Gathered {
    /// `{id, properties, updatedAt}`.
    hs: Value,
    #[serde(default)]
    writes: Map<String, Value>,
    #[serde(default)]
    defaults: Map<String, Value>,
    #[serde(default)]
    hubspot_writes: Map<String, Value>,
}

fn gathered(hs: HsRecord, plan: Option<RecordPlan>) -> Gathered {
    let hs_json =
        json!({"id": hs.id, "properties": hs.props, "updatedAt": hs.modified.to_rfc3339()});
    let plan = plan.unwrap_or_default();
    Gathered {
        hs: hs_json,
        writes: plan.salesforce_writes,
        defaults: plan.salesforce_defaults,
        hubspot_writes: plan.hubspot_writes,
    }
}

/// `n` gathered records as the gatherings a pass writes them in.
fn gatherings(n: u64) -> impl Iterator<Item = usize> {
    let full = n / GATHER_MAX;
    let rest = n % GATHER_MAX;
    std::iter::repeat_n(GATHER_MAX as usize, full as usize)
        .chain((rest > 0).then_some(rest as usize))
}

/// A gathered record's outcome when its write gave none.
fn unanswered() -> ApiError {
    ApiError::new(
        Provider::Salesforce,
        ErrorClass::Transient,
        "the Bulk API job gave no result for this record (unprocessed); it is written again on the next run",
    )
    .with_code("BULK_UNPROCESSED")
}

/// The error of a record whose match key a gathered create of `owner` claims.
fn claimed_by(sobject: &str, owner: &str) -> ApiError {
    ApiError::new(
        Provider::Salesforce,
        ErrorClass::Duplicate,
        format!("matches the {sobject} being created for HubSpot record {owner} (gathered for a Bulk API job)"),
    )
    .with_code("DUPLICATE_MATCH")
    .with_hint("merge the duplicates in HubSpot, or decide with a plugin's resolve hook; `hubforce explain` shows both")
}

impl Engine<'_> {
    /// Take the Salesforce creates out of a gathering batch's `items` into the checkpoint,
    /// each with the match keys it claims; the other items are written now.
    pub(super) fn gather_creates(
        &self,
        spec: &PairSpec,
        items: Vec<Item>,
        cp: &mut Checkpoint,
    ) -> Vec<Item> {
        let mut now = Vec::with_capacity(items.len());
        for it in items {
            let Item {
                hs: Some(hs),
                sf: None,
                sobject,
                plan,
                ..
            } = it
            else {
                now.push(it);
                continue;
            };
            let keys = lookup::sf_claim_keys(spec, &plan.salesforce_writes);
            let hs_id = hs.id.clone();
            cp.pend(Pending {
                pair: spec.name.clone(),
                hs_id,
                sobject,
                item: serde_json::to_string(&gathered(hs, Some(plan))).unwrap_or_default(),
                keys,
            });
        }
        now
    }

    /// Keep a gathering batch's contacts with activities until the gathering is written (a
    /// contact being created is logged with its create).
    pub(super) fn gather_activities(
        &self,
        spec: &PairSpec,
        noted: Vec<HsRecord>,
        cp: &mut Checkpoint,
        report: &RunReport,
    ) -> Result<(), SyncError> {
        if report.dry_run || self.settings.activities.is_empty() {
            return Ok(());
        }
        let in_batch = cp.links_of(&spec.name);
        for r in noted {
            let linked =
                in_batch.contains_key(&r.id) || self.ledger.linked_sf(&spec.name, &r.id)?.is_some();
            if linked {
                cp.pend(Pending {
                    pair: spec.name.clone(),
                    hs_id: r.id.clone(),
                    sobject: String::new(),
                    item: serde_json::to_string(&gathered(r, None)).unwrap_or_default(),
                    keys: Vec::new(),
                });
            }
        }
        Ok(())
    }

    /// For the unlinked records of a gathering batch: the error of each whose match key
    /// another record's gathered create claims.
    pub(super) fn claims_of_others<D: Direction>(
        &self,
        d: &D,
        unlinked: &[&D::Own],
    ) -> Result<HashMap<String, ApiError>, SyncError> {
        use super::batch::Candidate;
        if !d.gathers() || unlinked.is_empty() {
            return Ok(HashMap::new());
        }
        let keys: Vec<(String, Vec<String>)> = unlinked
            .iter()
            .map(|r| (r.id().to_string(), d.claim_keys(r)))
            .collect();
        let all: BTreeSet<&str> = keys
            .iter()
            .flat_map(|(_, k)| k.iter().map(String::as_str))
            .collect();
        let all: Vec<&str> = all.into_iter().collect();
        let claims = self.ledger.pending_claims(&d.spec().name, &all)?;
        let sobject = d
            .spec()
            .create_as(&self.settings.new_contacts_as)
            .to_string();
        let mut out = HashMap::new();
        for (id, ks) in keys {
            let owner = ks
                .iter()
                .flat_map(|k| claims.get(k).into_iter().flatten())
                .find(|owner| **owner != id);
            if let Some(owner) = owner {
                out.insert(id, claimed_by(&sobject, owner));
            }
        }
        Ok(out)
    }

    /// Write what a gathering pull gathered once `GATHER_MAX` records wait.
    pub(super) async fn flush_if_full(
        &self,
        spec: &PairSpec,
        direction: &str,
        report: &mut RunReport,
    ) -> Result<bool, SyncError> {
        if self.ledger.pending_count(&spec.name)? < GATHER_MAX {
            return Ok(false);
        }
        self.flush_gathered(spec, direction, report).await?;
        Ok(true)
    }

    /// Write every gathered create and activity of `spec`'s pair (see the module's doc), in
    /// one checkpoint; a dry run prices what it gathered instead.
    pub(super) async fn flush_gathered(
        &self,
        spec: &PairSpec,
        direction: &str,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        if report.dry_run {
            self.price_gathered(spec, report).await;
            return Ok(());
        }
        if self.ledger.pending_count(&spec.name)? == 0 {
            return Ok(());
        }
        let created = Box::pin(self.gathered_salesforce(spec, report)).await?;
        let backs = Box::pin(self.gathered_write_backs(spec, &created, report)).await?;
        let mut cp = Checkpoint::default();
        let noted = self.settle_gathered(spec, direction, (created, backs), &mut cp, report)?;
        Box::pin(self.log_activities(&noted, &mut cp, report)).await?;
        self.ledger.commit(cp)?;
        Ok(())
    }

    /// A gathered item, read back from the ledger.
    fn gathered_item(&self, item: &str) -> Result<Gathered, LedgerError> {
        serde_json::from_str(item).map_err(|e| {
            self.ledger.err(rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                Box::new(e),
            ))
        })
    }

    /// The gathered creates written to Salesforce, upserted on the HubSpot id: one ingest
    /// job per sObject when that costs fewer calls than collections. Each outcome by
    /// HubSpot id.
    async fn gathered_salesforce(
        &self,
        spec: &PairSpec,
        report: &mut RunReport,
    ) -> Result<HashMap<String, ItemResult>, SyncError> {
        let key = spec.sf_hubspot_id();
        // Each sObject's creates and the fields they write.
        let mut shape: BTreeMap<String, (usize, BTreeSet<String>)> = BTreeMap::new();
        self.ledger.each_pending(&spec.name, |_, sobject, item| {
            if !sobject.is_empty() {
                let g = self.gathered_item(item)?;
                let (n, fields) = shape.entry(sobject.to_string()).or_default();
                *n += 1;
                fields.extend(g.writes.into_iter().map(|(k, _)| k));
            }
            Ok(())
        })?;
        let mut out = HashMap::new();
        for (sobject, (n, fields)) in shape {
            let path = write_path(true, n);
            add_price(&mut report.writes_priced, path.price(&sobject, "create", n));
            if path.ingest {
                for csv in self.gathered_csv(spec, &sobject, &fields)? {
                    let outcomes = self
                        .sf
                        .bulk_ingest_csv(BulkOperation::Upsert, &sobject, key, csv)
                        .await?;
                    out.extend(outcomes);
                }
            } else {
                let mut ids = Vec::new();
                let mut records = Vec::new();
                self.ledger.each_pending(&spec.name, |hs, so, item| {
                    if so == sobject {
                        let mut writes = self.gathered_item(item)?.writes;
                        writes.insert("attributes".into(), json!({"type": sobject}));
                        ids.push(hs.to_string());
                        records.push(Value::Object(writes));
                    }
                    Ok(())
                })?;
                let op = CollectionOp::Upsert {
                    sobject: sobject.clone(),
                    field: key.to_string(),
                };
                let results = self.sf_write(op, records).await?;
                out.extend(ids.into_iter().zip(results));
            }
        }
        Ok(out)
    }

    /// The ingest jobs' CSV of the gathered creates of `sobject`, row by row from the
    /// ledger: the key column, then every field any of them writes; a new document
    /// whenever one would pass what a job takes.
    fn gathered_csv(
        &self,
        spec: &PairSpec,
        sobject: &str,
        fields: &BTreeSet<String>,
    ) -> Result<Vec<Vec<u8>>, SyncError> {
        use crate::api::salesforce_bulk::{CsvDocument, UPLOAD_MAX};
        let key = spec.sf_hubspot_id();
        let header: Vec<&str> = std::iter::once(key)
            .chain(fields.iter().map(String::as_str).filter(|f| *f != key))
            .collect();
        let mut docs = Vec::new();
        let mut csv = CsvDocument::new(&header)?;
        let mut failed = None;
        self.ledger.each_pending(&spec.name, |_, so, item| {
            if so != sobject || failed.is_some() {
                return Ok(());
            }
            let writes = self.gathered_item(item)?.writes;
            let row: Vec<String> = header
                .iter()
                .map(|f| {
                    writes
                        .get(*f)
                        .map(super::bulk_write::cell)
                        .unwrap_or_default()
                })
                .collect();
            let size: usize = row.iter().map(|c| c.len() + 3).sum();
            let result = if csv.size() + size > UPLOAD_MAX {
                CsvDocument::new(&header)
                    .and_then(|next| std::mem::replace(&mut csv, next).finish())
                    .map(|done| docs.push(done))
            } else {
                Ok(())
            };
            if let Err(e) = result.and_then(|()| csv.row(&row)) {
                failed = Some(e);
            }
            Ok(())
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        docs.push(csv.finish()?);
        Ok(docs)
    }

    /// The ids of the records created, with the values Salesforce gave them by default, to
    /// HubSpot: through one import when that costs fewer calls than batches. Each outcome
    /// by HubSpot id.
    async fn gathered_write_backs(
        &self,
        spec: &PairSpec,
        created: &HashMap<String, ItemResult>,
        report: &mut RunReport,
    ) -> Result<HashMap<String, ItemResult>, SyncError> {
        if !self.settings.write_ids_to_hubspot {
            return Ok(HashMap::new());
        }
        let mut ids = Vec::new();
        let mut inputs = Vec::new();
        self.ledger.each_pending(&spec.name, |hs, sobject, item| {
            let Some(ItemResult::Ok(v)) = created.get(hs) else {
                return Ok(());
            };
            let Some(sf_id) = v["id"].as_str() else {
                return Ok(());
            };
            let mut props: Map<String, Value> = self
                .gathered_item(item)?
                .hubspot_writes
                .iter()
                .map(|(k, v)| (k.clone(), hs_string(v)))
                .collect();
            props.insert(spec.hs_id_property(sobject).into(), json!(sf_id));
            ids.push(hs.to_string());
            inputs.push(json!({"id": hs, "properties": props}));
            Ok(())
        })?;
        if inputs.is_empty() {
            return Ok(HashMap::new());
        }
        let split = self.import_split(&spec.hs_object, &inputs, report).await;
        let results = self.hs_update(&spec.hs_object, inputs, split).await?;
        Ok(ids.into_iter().zip(results).collect())
    }

    /// Links, hashes and outcomes of the gathered records, settled in chunks into `cp`, each
    /// let go; the contacts whose activities are to be logged now.
    fn settle_gathered(
        &self,
        spec: &PairSpec,
        direction: &str,
        (mut created, mut backs): (HashMap<String, ItemResult>, HashMap<String, ItemResult>),
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<Vec<HsRecord>, SyncError> {
        let mappings = self.mappings()?;
        let pair_mapping = mappings.get(&spec.name);
        let mut per_sobject: HashMap<String, Option<Arc<PairMapping>>> = HashMap::new();
        let mut noted = Vec::new();
        let mut chunk: Vec<(Item, WriteResult, WriteResult)> = Vec::new();
        let settle = |chunk: &mut Vec<(Item, WriteResult, WriteResult)>,
                      cp: &mut Checkpoint,
                      report: &mut RunReport| {
            let (items, (sf, hs)): (Vec<Item>, (Vec<WriteResult>, Vec<WriteResult>)) =
                std::mem::take(chunk)
                    .into_iter()
                    .map(|(i, s, h)| (i, (s, h)))
                    .unzip();
            self.settle(
                (spec, direction, "hubspot"),
                items,
                pair_mapping,
                (sf, hs),
                cp,
                report,
            );
        };
        self.ledger
            .each_pending(&spec.name, |hs_id, sobject, item| {
                cp.unpend(&spec.name, hs_id);
                let g = self.gathered_item(item)?;
                let Some(hs) = HsRecord::from_json(g.hs, spec.hs_modified) else {
                    return Ok(());
                };
                if super::activities::has_activities(spec, &hs) {
                    noted.push(super::activities::activity_record(&hs));
                }
                if sobject.is_empty() {
                    return Ok(()); // waited for its activities only
                }
                let mapping = per_sobject
                    .entry(sobject.to_string())
                    .or_insert_with(|| self.mapping(&mappings, spec, sobject).map(Arc::new))
                    .clone();
                let Some(mapping) = mapping else {
                    return Ok(());
                };
                let sf_result = created
                    .remove(hs_id)
                    .unwrap_or_else(|| ItemResult::Failed(unanswered()));
                let hs_result = backs.remove(hs_id).map(Into::into);
                let it = Item {
                    hs: Some(hs),
                    sf: None,
                    sobject: sobject.to_string(),
                    mapping,
                    plan: RecordPlan {
                        salesforce_writes: g.writes,
                        salesforce_defaults: g.defaults,
                        hubspot_writes: g.hubspot_writes,
                        ..RecordPlan::default()
                    },
                    linked: None,
                };
                chunk.push((it, Some(sf_result.into()), hs_result));
                if chunk.len() >= SETTLE_CHUNK {
                    settle(&mut chunk, cp, report);
                }
                Ok(())
            })?;
        settle(&mut chunk, cp, report);
        Ok(noted)
    }

    /// A dry run's gathered creates priced the way a real pass writes them.
    async fn price_gathered(&self, spec: &PairSpec, report: &mut RunReport) {
        let Some(tally) = report.gathered.remove(&spec.name) else {
            return;
        };
        let mut sf_calls = 0;
        for (sobject, &n) in &tally.creates {
            for n in gatherings(n) {
                let path = write_path(true, n);
                add_price(&mut report.writes_priced, path.price(sobject, "create", n));
                sf_calls += path.calls();
            }
        }
        *report
            .write_calls_planned
            .entry("salesforce".into())
            .or_default() += sf_calls;
        let imports = self.imports_granted(&spec.hs_object).await;
        for n in gatherings(tally.write_backs) {
            let path = import_path(imports, n);
            add_price(
                &mut report.writes_priced,
                path.hubspot_price(&spec.hs_object, n),
            );
            *report
                .write_calls_planned
                .entry("hubspot".into())
                .or_default() += path.calls();
        }
    }
}
