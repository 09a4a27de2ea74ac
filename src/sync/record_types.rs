//! Record types ⇄ pipelines, as a pair declares them: a Salesforce record type (by
//! developer name) is one HubSpot pipeline, with its own stage map. A record in a pipeline
//! or record type the pair does not declare is excluded, with the reason `explain` shows.
//! The record type and stage follow the side changed last (a create takes its side's).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::engine::Engine;
use super::hooks::Inclusion;
use super::mapping::RecordPlan;
use super::pair_decl::RecordTypeDecl;
use super::pairs::PairSpec;
use super::records::{HsRecord, SfRecord};
use crate::error::{ApiError, ErrorClass, Provider};

fn declared(spec: &PairSpec) -> String {
    spec.record_types()
        .iter()
        .map(|r| format!("{} ⇄ pipeline {}", r.record_type, r.pipeline))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unmapped_stage(spec: &PairSpec, i: usize, what: String, target: Provider) -> ApiError {
    ApiError::new(target, ErrorClass::Validation, what)
        .with_code("UNMAPPED_STAGE")
        .with_hint(format!(
            "add the stage to pairs.{}.record_types[{}].stages in the plugin, then run `hubforce resync --class validation`",
            spec.name,
            i + 1
        ))
}

/// The Salesforce value of a HubSpot stage.
fn stage_to_sf<'r>(rt: &'r RecordTypeDecl, stage: &str) -> Option<&'r str> {
    rt.stages.get(stage).map(String::as_str)
}

/// The HubSpot stage a Salesforce value comes back as: the declared way back, else the first
/// stage mapped to it.
fn stage_to_hs<'r>(rt: &'r RecordTypeDecl, value: &str) -> Option<&'r str> {
    rt.salesforce_stages
        .get(value)
        .or_else(|| {
            rt.stages
                .iter()
                .find(|(_, v)| v.as_str() == value)
                .map(|(k, _)| k)
        })
        .map(String::as_str)
}

/// The declared record type whose id (in this org's `ids` by developer name) is `id`.
fn by_id<'r>(
    types: &'r [RecordTypeDecl],
    ids: &BTreeMap<String, String>,
    id: &str,
) -> Option<(usize, &'r RecordTypeDecl)> {
    types
        .iter()
        .enumerate()
        .find(|(_, r)| ids.get(&r.record_type).map(String::as_str) == Some(id))
}

impl Engine<'_> {
    fn by_pipeline<'s>(
        &self,
        spec: &'s PairSpec,
        hs: &HsRecord,
    ) -> Option<(usize, &'s RecordTypeDecl)> {
        let pipeline = hs.prop(spec.hs_pipeline_property())?;
        spec.record_types()
            .iter()
            .enumerate()
            .find(|(_, r)| r.pipeline == pipeline)
    }

    fn by_record_type<'s>(
        &self,
        spec: &'s PairSpec,
        sf: &SfRecord,
    ) -> Option<(usize, &'s RecordTypeDecl)> {
        let id = sf.field("RecordTypeId")?;
        by_id(
            spec.record_types(),
            &self.described.get(&sf.sobject)?.record_types,
            id,
        )
    }

    /// The record type's id in this org.
    fn record_type_id(&self, sobject: &str, rt: &RecordTypeDecl) -> Option<&str> {
        self.described
            .get(sobject)?
            .record_types
            .get(&rt.record_type)
            .map(String::as_str)
    }

    /// A HubSpot record in a pipeline the pair maps to no record type stays out.
    pub(super) fn hs_pipeline_inclusion(
        &self,
        spec: &PairSpec,
        hs: &HsRecord,
    ) -> Option<Inclusion> {
        if spec.record_types().is_empty() || self.by_pipeline(spec, hs).is_some() {
            return None;
        }
        Some(Inclusion {
            included: false,
            reason: format!(
                "pipeline {} has no record type in pairs.{}.record_types ({})",
                hs.prop(spec.hs_pipeline_property()).unwrap_or("(none)"),
                spec.name,
                declared(spec)
            ),
        })
    }

    /// Why a record in a declared pipeline syncs, for `explain`.
    pub(super) fn hs_pipeline_reason(&self, spec: &PairSpec, hs: &HsRecord) -> Option<String> {
        let (i, rt) = self.by_pipeline(spec, hs)?;
        Some(format!(
            "pipeline {} is record type {} (pairs.{}.record_types[{}])",
            rt.pipeline,
            rt.record_type,
            spec.name,
            i + 1
        ))
    }

    /// A Salesforce record of a record type the pair maps to no pipeline stays out.
    pub(super) fn sf_record_type_inclusion(
        &self,
        spec: &PairSpec,
        sf: &SfRecord,
    ) -> Option<Inclusion> {
        if spec.record_types().is_empty() || self.by_record_type(spec, sf).is_some() {
            return None;
        }
        Some(Inclusion {
            included: false,
            reason: format!(
                "record type {} has no pipeline in pairs.{}.record_types ({})",
                sf.field("RecordTypeId").unwrap_or("(none)"),
                spec.name,
                declared(spec)
            ),
        })
    }

    /// HubSpot → Salesforce: the pipeline's record type and the stage's value, when HubSpot
    /// changed last (or the Salesforce record is new).
    pub(super) fn record_type_to_sf(
        &self,
        spec: &PairSpec,
        hs: &HsRecord,
        sf: Option<&SfRecord>,
        sobject: &str,
        plan: &mut RecordPlan,
    ) -> Result<(), ApiError> {
        let Some((i, rt)) = self.by_pipeline(spec, hs) else {
            return Ok(());
        };
        if sf.is_some_and(|s| s.modified > hs.modified) {
            return Ok(());
        }
        let stage = hs.prop(spec.hs_stage_property()).unwrap_or_default();
        let Some(value) = stage_to_sf(rt, stage) else {
            return Err(unmapped_stage(
                spec,
                i,
                format!(
                    "{} {stage} of pipeline {} has no {} value",
                    spec.hs_stage_property(),
                    rt.pipeline,
                    rt.stage_field
                ),
                Provider::Salesforce,
            ));
        };
        let mut set = |field: &str, v: &str| {
            if sf.and_then(|s| s.field(field)) != Some(v) {
                plan.salesforce_writes.insert(field.to_string(), json!(v));
            }
        };
        if let Some(id) = self.record_type_id(sobject, rt) {
            set("RecordTypeId", id);
        }
        set(&rt.stage_field, value);
        Ok(())
    }

    /// Salesforce → HubSpot: the record type's pipeline and the stage it maps the value to,
    /// when Salesforce changed last (or the HubSpot record is new).
    pub(super) fn record_type_to_hs(
        &self,
        spec: &PairSpec,
        sf: &SfRecord,
        hs: Option<&HsRecord>,
        plan: &mut RecordPlan,
    ) -> Result<(), ApiError> {
        let Some((i, rt)) = self.by_record_type(spec, sf) else {
            return Ok(());
        };
        let hs_modified = hs.map(|h| h.modified).unwrap_or(DateTime::<Utc>::MIN_UTC);
        if hs_modified > sf.modified {
            return Ok(());
        }
        let value = sf.field(&rt.stage_field).unwrap_or_default();
        let Some(stage) = stage_to_hs(rt, value) else {
            return Err(unmapped_stage(
                spec,
                i,
                format!(
                    "{} {value} of record type {} has no stage of pipeline {}",
                    rt.stage_field, rt.record_type, rt.pipeline
                ),
                Provider::Hubspot,
            ));
        };
        let mut set = |prop: &str, v: &str| {
            if hs.and_then(|h| h.prop(prop)) != Some(v) {
                plan.hubspot_writes.insert(prop.to_string(), json!(v));
            }
        };
        set(spec.hs_pipeline_property(), &rt.pipeline);
        set(spec.hs_stage_property(), stage);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn billing() -> RecordTypeDecl {
        serde_json::from_value(json!({
            "record_type": "Billing", "pipeline": "billing", "stage_field": "Status",
            "stages": {"billing_new": "New", "billing_review": "Working", "billing_closed": "Closed"},
            "salesforce_stages": {"Escalated": "billing_review"},
        }))
        .unwrap()
    }

    #[test]
    fn stages_map_both_ways_and_the_way_back_wins() {
        let rt = billing();
        assert_eq!(stage_to_sf(&rt, "billing_review"), Some("Working"));
        assert_eq!(stage_to_sf(&rt, "1"), None);
        assert_eq!(stage_to_hs(&rt, "Working"), Some("billing_review"));
        assert_eq!(stage_to_hs(&rt, "Escalated"), Some("billing_review"));
        assert_eq!(stage_to_hs(&rt, "On Hold"), None);
    }

    #[test]
    fn a_record_type_is_found_by_its_id_in_this_org() {
        let types = vec![billing()];
        let ids: BTreeMap<String, String> = [
            ("Billing".to_string(), "012B".to_string()),
            ("Support".into(), "012S".into()),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            by_id(&types, &ids, "012B").map(|(i, r)| (i, r.pipeline.as_str())),
            Some((0, "billing"))
        );
        // Support exists in the org but the pair does not declare it: excluded.
        assert!(by_id(&types, &ids, "012S").is_none());
    }
}
