//! HubSpot → Salesforce: HubSpot records (pulled or retried) planned against the sObjects
//! of their pair. What this direction has of its own: the inclusion list and lifecycle
//! stages, HubSpot merges, converted Leads followed to their Contacts, a record made as the
//! pair's `create_as` sObject, the parents' lookups, and activities logged as Tasks.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::batch::conversion_failure;
use super::direction::{Counterparts, Direction};
use super::engine::{Engine, SyncError, by_sobject, plugin_error};
use super::hooks::{HookError, Inclusion};
use super::ledger::Checkpoint;
use super::lookup;
use super::mapping::{self, Mappings, PairMapping, RecordPlan};
use super::pairs::PairSpec;
use super::records::{HsRecord, SfRecord};
use super::report::RunReport;
use super::rules::same;
use super::write::Item;
use crate::error::{ApiError, ErrorClass, Provider};

pub(super) struct ToSalesforce<'d> {
    spec: &'d PairSpec,
    mappings: &'d Mappings,
    base: &'d PairMapping,
    label: String,
    /// The sObject a new record becomes.
    target: String,
    state_props: Vec<String>,
    match_ctx: Value,
    /// A Bulk import: creates and activities wait for one job (`gather.rs`).
    gather: bool,
    per_sobject: std::sync::Mutex<HashMap<String, Option<Arc<PairMapping>>>>,
}

impl<'d> ToSalesforce<'d> {
    /// None when no plugin maps the pair.
    pub(super) fn new(
        e: &Engine<'_>,
        spec: &'d PairSpec,
        mappings: &'d Mappings,
        gather: bool,
    ) -> Option<ToSalesforce<'d>> {
        let base = mappings.get(&spec.name)?;
        let target = spec.create_as(&e.settings.new_contacts_as).to_string();
        Some(ToSalesforce {
            spec,
            mappings,
            base,
            label: format!("{} → Salesforce", spec.name),
            state_props: e.hs_state_properties(base, spec),
            match_ctx: Engine::hook_ctx(spec, "hubspot", &target),
            target,
            gather,
            per_sobject: Default::default(),
        })
    }

    fn mapping_for(&self, e: &Engine<'_>, sobject: &str) -> Option<Arc<PairMapping>> {
        // Made once per batch and sObject, not once per record.
        let mut made = self.per_sobject.lock().unwrap_or_else(|p| p.into_inner());
        made.entry(sobject.to_string())
            .or_insert_with(|| e.mapping(self.mappings, self.spec, sobject).map(Arc::new))
            .clone()
    }

    /// A transform's values for the sObject: only fields it has, and only changes.
    fn apply_transform(
        &self,
        fields: Map<String, Value>,
        sobject: &str,
        e: &Engine<'_>,
        sf: Option<&SfRecord>,
        plan: &mut RecordPlan,
    ) -> Result<(), ApiError> {
        if let Some(bad) = fields.keys().find(|k| !e.has_field(sobject, k)) {
            return Err(ApiError::new(Provider::Salesforce, ErrorClass::Plugin, format!("transform set {bad}, which {sobject} does not have"))
                .with_hint(format!("return only fields of {sobject} (see `hubforce api salesforce GET sobjects/{sobject}/describe`)")));
        }
        for (k, v) in fields {
            let current = sf
                .and_then(|s| s.fields.get(&k))
                .cloned()
                .unwrap_or(Value::Null);
            if sf.is_none() || !same(&v, &current) {
                plan.salesforce_writes.insert(k, v);
            }
        }
        Ok(())
    }
}

impl Direction for ToSalesforce<'_> {
    type Own = HsRecord;
    type Other = SfRecord;
    type Noted = Vec<HsRecord>;
    type Settled = ();

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
        ("hubspot", &self.spec.hs_object)
    }
    fn target(&self) -> Provider {
        Provider::Salesforce
    }
    fn match_ctx(&self) -> &Value {
        &self.match_ctx
    }

    async fn include(&self, e: &Engine<'_>, r: &HsRecord) -> Result<Option<Inclusion>, HookError> {
        e.include_hs(self.spec, r, &self.target).await.map(Some)
    }

    fn state_hash(&self, e: &Engine<'_>, r: &HsRecord) -> String {
        mapping::hubspot_state_hash(self.base, &r.props, &self.state_props, &e.owners)
    }

    /// Contacts with a form submission or an email open: their activities become Tasks.
    fn note(&self, noted: &mut Vec<HsRecord>, r: &HsRecord) {
        if super::activities::has_activities(self.spec, r) {
            noted.push(super::activities::activity_record(r));
        }
    }

    fn gathers(&self) -> bool {
        self.gather
    }

    fn claim_keys(&self, r: &HsRecord) -> Vec<String> {
        lookup::hs_claim_keys(self.spec, r)
    }

    async fn counterparts(
        &self,
        e: &Engine<'_>,
        work: &[HsRecord],
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<Counterparts<SfRecord>, SyncError> {
        let spec = self.spec;
        let ids: Vec<&str> = work.iter().map(|r| r.id.as_str()).collect();
        let mut links = e.ledger.linked_sf_many(&spec.name, &ids)?;
        e.hs_merge_survivors(spec, &self.label, work, &mut links, cp, report)
            .await?;
        let mut found: HashMap<String, SfRecord> = HashMap::new();
        for (sobject, ids) in by_sobject(links.values().map(|(id, ty)| (ty.as_str(), id.as_str())))
        {
            let fields = e.sf_field_list(self.mappings, spec, &sobject);
            for r in lookup::sf_by_ids(e.sf, &sobject, &fields, &ids).await? {
                found.insert(r.id.clone(), r);
            }
        }
        if spec.has_sobject("Lead") && spec.has_sobject("Contact") {
            e.leads_to_contacts(self.mappings, spec, &mut links, &mut found, cp)
                .await?;
        }
        let fields_of = |o: &str| e.sf_field_list(self.mappings, spec, o);
        let fates = e
            .missing_in_salesforce(
                (spec, &self.label),
                &fields_of,
                &mut links,
                &mut found,
                cp,
                report,
            )
            .await?;
        Ok(Counterparts {
            links: links.into_iter().map(|(hs, (sf, _))| (hs, sf)).collect(),
            found,
            fates,
        })
    }

    async fn candidates(
        &self,
        e: &Engine<'_>,
        unlinked: &[&HsRecord],
    ) -> Result<Vec<SfRecord>, SyncError> {
        let targets: Vec<(&str, Vec<String>)> = self
            .spec
            .sobjects()
            .iter()
            .map(|o| (o.as_str(), e.sf_field_list(self.mappings, self.spec, o)))
            .collect();
        Ok(lookup::sf_candidates(e.sf, self.spec, &targets, unlinked).await?)
    }

    fn owners(&self, e: &Engine<'_>, ids: &[&str]) -> Result<HashMap<String, String>, SyncError> {
        Ok(e.ledger.linked_hs_many(&self.spec.name, ids)?)
    }

    fn best<'c>(&self, r: &HsRecord, candidates: &'c [SfRecord]) -> Vec<&'c SfRecord> {
        lookup::best_sf_match(self.spec, r, candidates)
    }

    fn taken(&self, sobject: &str, id: &str, owner: Option<String>) -> Option<ApiError> {
        let other = owner
            .map(|o| format!("HubSpot record {o}"))
            .unwrap_or_else(|| "another record of this batch".into());
        Some(ApiError::new(Provider::Salesforce, ErrorClass::Duplicate, format!("matches {sobject} {id}, which is already linked to {other}"))
            .with_code("DUPLICATE_MATCH")
            .with_hint("merge the duplicates in HubSpot, or decide with a plugin's resolve hook; `hubforce explain` shows both"))
    }

    fn may_create(&self, _e: &Engine<'_>) -> bool {
        true
    }

    async fn plan(
        &self,
        e: &Engine<'_>,
        r: HsRecord,
        sf: Option<SfRecord>,
        linked_to: Option<String>,
    ) -> Result<Option<Item>, ApiError> {
        let spec = self.spec;
        let linked = linked_to.map(|s| (r.id.clone(), s));
        let sobject = sf
            .as_ref()
            .map(|s| s.sobject.clone())
            .unwrap_or_else(|| self.target.clone());
        let Some(mapping) = self.mapping_for(e, &sobject) else {
            return Ok(None);
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
            &e.owners,
        );
        let ctx = || {
            let mut ctx = Engine::hook_ctx(spec, "hubspot", &sobject);
            ctx["counterpart"] = sf.as_ref().map(|s| s.to_json()).unwrap_or(Value::Null);
            ctx
        };
        match e.transform_hook(&r, ctx).await {
            Err(msg) => return Err(plugin_error(Provider::Hubspot, &msg)),
            Ok(Some(fields)) => {
                self.apply_transform(fields, &sobject, e, sf.as_ref(), &mut plan)?
            }
            Ok(None) => {}
        }
        e.record_type_to_sf(spec, &r, sf.as_ref(), &sobject, &mut plan)?;
        if sf.is_none() {
            if let Some(err) = conversion_failure(&plan, &mapping, Provider::Salesforce) {
                return Err(err);
            }
            plan.hubspot_writes.clear();
            e.plan_create_defaults(&mapping, &sobject, &r, &mut plan);
            plan.salesforce_writes
                .insert(spec.sf_hubspot_id().into(), json!(r.id));
        }
        Ok(Some(Item {
            hs: Some(r),
            sf,
            sobject,
            mapping,
            plan,
            linked,
        }))
    }

    async fn before_write(&self, e: &Engine<'_>, items: &mut [Item]) -> Result<(), SyncError> {
        e.link_parents(self.spec, items).await
    }

    async fn after_write(
        &self,
        e: &Engine<'_>,
        noted: Vec<HsRecord>,
        _settled: (),
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        if self.gather {
            e.gather_activities(self.spec, noted, cp, report)
        } else {
            e.log_activities(&noted, cp, report).await
        }
    }
}
