//! Salesforce → HubSpot: records of one sObject (pulled or retried) planned against HubSpot.
//! What this direction has of its own: deletions and merges read with the changes, a Contact
//! taking over the link of the Lead it was converted from, `sync.create_in_hubspot`, the
//! pair's `defaults` for a new record, and the parents' associations after the writes.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::batch::conversion_failure;
use super::direction::{Counterparts, Direction};
use super::engine::{Engine, SyncError, plugin_error};
use super::hooks::{HookError, Inclusion};
use super::ledger::Checkpoint;
use super::lookup;
use super::mapping::{self, Mappings, PairMapping, RecordPlan};
use super::pairs::PairSpec;
use super::parents::SfParent;
use super::records::{HsRecord, SfRecord, values_hash};
use super::report::RunReport;
use super::rules::same;
use super::write::{Item, hs_string};
use crate::error::{ApiError, Provider};

pub(super) struct ToHubspot<'d> {
    spec: &'d PairSpec,
    mappings: &'d Mappings,
    sobject: &'d str,
    mapping: Arc<PairMapping>,
    label: String,
    state_fields: Vec<String>,
    ctx: Value,
}

impl<'d> ToHubspot<'d> {
    /// None when no plugin maps the pair for this sObject.
    pub(super) fn new(
        e: &Engine<'_>,
        spec: &'d PairSpec,
        mappings: &'d Mappings,
        sobject: &'d str,
    ) -> Option<ToHubspot<'d>> {
        let mapping = Arc::new(e.mapping(mappings, spec, sobject)?);
        Some(ToHubspot {
            spec,
            mappings,
            sobject,
            label: format!("{sobject} → HubSpot"),
            state_fields: e.sf_state_fields(&mapping, sobject),
            ctx: Engine::hook_ctx(spec, "salesforce", sobject),
            mapping,
        })
    }

    /// A transform's values as HubSpot takes them (strings), only changes.
    fn apply_transform(fields: Map<String, Value>, hs: Option<&HsRecord>, plan: &mut RecordPlan) {
        for (k, v) in fields {
            let v = hs_string(&v);
            let current = hs
                .and_then(|h| h.props.get(&k))
                .cloned()
                .unwrap_or(Value::Null);
            if hs.is_none() || !same(&v, &current) {
                plan.hubspot_writes.insert(k, v);
            }
        }
    }

    /// A new HubSpot record: no blanks, the Salesforce id stamped, the pair's defaults.
    fn for_create(&self, r: &SfRecord, plan: &mut RecordPlan) {
        plan.salesforce_writes.clear();
        plan.hubspot_writes
            .retain(|_, v| !matches!(v, Value::Null) && v.as_str() != Some(""));
        plan.hubspot_writes
            .insert(self.spec.hs_id_property(self.sobject).into(), json!(r.id));
        // What the pair declares a new record starts with (a person from Salesforce is at
        // least a lead: without a stage the default inclusion would not sync it back).
        for (k, v) in &self.spec.decl.hubspot.defaults {
            plan.hubspot_writes
                .entry(k.clone())
                .or_insert_with(|| hs_string(v));
        }
    }
}

impl Direction for ToHubspot<'_> {
    type Own = SfRecord;
    type Other = HsRecord;
    type Noted = ();
    type Settled = Vec<Vec<SfParent>>;

    fn spec(&self) -> &PairSpec {
        self.spec
    }
    fn mappings(&self) -> &Mappings {
        self.mappings
    }
    fn label(&self) -> &str {
        &self.label
    }
    fn side(&self) -> (&'static str, &str) {
        ("salesforce", self.sobject)
    }
    fn target(&self) -> Provider {
        Provider::Hubspot
    }
    fn match_ctx(&self) -> &Value {
        &self.ctx
    }

    async fn live(
        &self,
        e: &Engine<'_>,
        records: Vec<SfRecord>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<Vec<SfRecord>, SyncError> {
        e.sf_deleted_rows(self.spec, &self.label, records, cp, report)
            .await
    }

    async fn include(&self, e: &Engine<'_>, r: &SfRecord) -> Result<Option<Inclusion>, HookError> {
        if let Some(out) = e.sf_record_type_inclusion(self.spec, r) {
            return Ok(Some(out));
        }
        e.include_hook(r, || self.ctx.clone()).await
    }

    fn state_hash(&self, _e: &Engine<'_>, r: &SfRecord) -> String {
        values_hash(&r.fields, self.state_fields.iter().map(String::as_str))
    }

    async fn counterparts(
        &self,
        e: &Engine<'_>,
        work: &[SfRecord],
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<Counterparts<HsRecord>, SyncError> {
        let spec = self.spec;
        let ids: Vec<&str> = work.iter().map(|r| r.id.as_str()).collect();
        let mut links = e.ledger.linked_hs_many(&spec.name, &ids)?;
        // Links this batch made already (a merge's survivor relinked above).
        for id in &ids {
            if let Some(h) = cp.hs_linked_in_batch(&spec.name, id) {
                links.insert(id.to_string(), h.to_string());
            }
        }
        if self.sobject == "Contact" && spec.has_sobject("Lead") {
            e.follow_conversions(spec, work, &mut links, cp).await?;
        }
        let ids: Vec<String> = links.values().cloned().collect();
        let found: HashMap<String, HsRecord> = if ids.is_empty() {
            HashMap::new()
        } else {
            let props = e.hs_properties(self.mappings, spec);
            lookup::hs_by_ids(e.hs, spec, &props, &ids, None)
                .await?
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect()
        };
        let fates = e
            .missing_in_hubspot(
                (spec, &self.label),
                self.sobject,
                &mut links,
                &found,
                cp,
                report,
            )
            .await?;
        Ok(Counterparts {
            links,
            found,
            fates,
        })
    }

    async fn candidates(
        &self,
        e: &Engine<'_>,
        unlinked: &[&SfRecord],
    ) -> Result<Vec<HsRecord>, SyncError> {
        let props = e.hs_properties(self.mappings, self.spec);
        Ok(lookup::hs_candidates(e.hs, self.spec, self.sobject, &props, unlinked).await?)
    }

    fn owners(&self, e: &Engine<'_>, ids: &[&str]) -> Result<HashMap<String, String>, SyncError> {
        Ok(e.ledger
            .linked_sf_many(&self.spec.name, ids)?
            .into_iter()
            .map(|(hs, (sf, _))| (hs, sf))
            .collect())
    }

    fn best<'c>(&self, r: &SfRecord, candidates: &'c [HsRecord]) -> Vec<&'c HsRecord> {
        lookup::best_hs_match(self.spec, r, candidates)
    }

    /// The HubSpot record already syncs with another Salesforce record (a Contact wins over
    /// a Lead with the same email): this one is left alone.
    fn taken(&self, _sobject: &str, _id: &str, _owner: Option<String>) -> Option<ApiError> {
        None
    }

    fn may_create(&self, e: &Engine<'_>) -> bool {
        e.settings.create_in_hubspot
    }

    async fn plan(
        &self,
        e: &Engine<'_>,
        r: SfRecord,
        hs: Option<HsRecord>,
        linked_to: Option<String>,
    ) -> Result<Option<Item>, ApiError> {
        let linked = linked_to.map(|h| (h, r.id.clone()));
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
            &self.mapping,
            hs.as_ref().map(|h| &h.props).unwrap_or(&empty),
            &r.fields,
            times,
            &e.owners,
        );
        let tctx = || {
            let mut tctx = self.ctx.clone();
            tctx["counterpart"] = hs.as_ref().map(|h| h.to_json()).unwrap_or(Value::Null);
            tctx
        };
        match e.transform_hook(&r, tctx).await {
            Err(msg) => return Err(plugin_error(Provider::Salesforce, &msg)),
            Ok(Some(fields)) => Self::apply_transform(fields, hs.as_ref(), &mut plan),
            Ok(None) => {}
        }
        e.record_type_to_hs(self.spec, &r, hs.as_ref(), &mut plan)?;
        if hs.is_none() {
            if let Some(err) = conversion_failure(&plan, &self.mapping, Provider::Hubspot) {
                return Err(err);
            }
            self.for_create(&r, &mut plan);
        }
        Ok(Some(Item {
            hs,
            sf: Some(r),
            sobject: self.sobject.to_string(),
            mapping: self.mapping.clone(),
            plan,
            linked,
        }))
    }

    fn settled(&self, e: &Engine<'_>, items: &[Item]) -> Vec<Vec<SfParent>> {
        e.sf_parents(self.spec, items)
    }

    async fn after_write(
        &self,
        e: &Engine<'_>,
        _noted: (),
        parents: Vec<Vec<SfParent>>,
        cp: &mut Checkpoint,
        _report: &mut RunReport,
    ) -> Result<(), SyncError> {
        e.associate_parents(self.spec, parents, cp).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transform_writes_strings_and_only_what_changed() {
        let hs = HsRecord::from_json(
            serde_json::json!({"id": "7", "properties": {"plan": "pro", "seats": "5"}}),
            "x",
        )
        .unwrap();
        let mut plan = RecordPlan::default();
        let fields = serde_json::json!({"plan": "pro", "seats": 6, "renewal": true});
        let Value::Object(fields) = fields else {
            unreachable!()
        };
        ToHubspot::apply_transform(fields.clone(), Some(&hs), &mut plan);
        let written: Vec<(&str, &Value)> = plan
            .hubspot_writes
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        assert_eq!(
            written,
            [("renewal", &json!("true")), ("seats", &json!("6"))],
            "HubSpot takes strings; an unchanged value is no write"
        );
        // A new record takes every value.
        let mut new = RecordPlan::default();
        ToHubspot::apply_transform(fields, None, &mut new);
        assert_eq!(new.hubspot_writes.len(), 3);
    }
}
