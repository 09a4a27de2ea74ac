//! The Salesforce id of a linked record written back to its HubSpot record, as the
//! incumbent does (`salesforceleadid`, `salesforcecontactid`, `salesforceaccountid`,
//! `salesforceopportunityid`), so HubSpot users, lists and workflows can see the link.
//! A record linked to an existing one gets it with its other HubSpot writes; one whose
//! Salesforce record was just created gets it after the create, batched (one call per 100).
//! `sync.write_ids_to_hubspot = false` turns it off.

use serde_json::json;

use super::engine::{Engine, SyncError};
use super::ledger::Checkpoint;
use super::pairs::PairSpec;
use super::write::Item;
use crate::api::hubspot::ItemResult;

/// A HubSpot record to be told its Salesforce id once that id exists.
pub(super) struct WriteBack {
    pub hs_id: String,
    pub property: &'static str,
    pub sf_id: String,
}

impl Engine<'_> {
    /// For items linked to an existing Salesforce record: the id, if HubSpot does not have it.
    pub(super) fn link_ids(&self, spec: &PairSpec, items: &mut [Item]) {
        if !self.settings.write_ids_to_hubspot {
            return;
        }
        for it in items {
            if let (Some(hs), Some(sf)) = (&it.hs, &it.sf) {
                let property = spec.hs_id_property(&it.sobject);
                if hs.prop(property) != Some(sf.id.as_str()) {
                    it.plan.hubspot_writes.insert(property.into(), json!(sf.id));
                }
            }
        }
    }

    /// The write-back an item needs after its Salesforce record was created as `sf_id`.
    pub(super) fn write_back_after_create(
        &self,
        spec: &PairSpec,
        it: &Item,
        sf_id: &str,
    ) -> Option<WriteBack> {
        let hs = it.hs.as_ref()?;
        (self.settings.write_ids_to_hubspot && it.sf.is_none()).then(|| WriteBack {
            hs_id: hs.id.clone(),
            property: spec.hs_id_property(&it.sobject),
            sf_id: sf_id.to_string(),
        })
    }

    /// Write the ids back, batched. A refusal is that HubSpot record's error, retried with it
    /// (its next plan adds the id again); the link itself stands.
    pub(super) async fn write_back_ids(
        &self,
        spec: &PairSpec,
        backs: Vec<WriteBack>,
        cp: &mut Checkpoint,
    ) -> Result<(), SyncError> {
        if backs.is_empty() {
            return Ok(());
        }
        let inputs = backs
            .iter()
            .map(|b| json!({"id": b.hs_id, "properties": {b.property: b.sf_id}}))
            .collect();
        let results = self.hs_write(spec.hs_object, "update", inputs).await?;
        for (b, r) in backs.iter().zip(results) {
            if let ItemResult::Failed(mut e) = r {
                e.message = format!(
                    "writing its Salesforce id {} to {}: {}",
                    b.sf_id, b.property, e.message
                );
                cp.failed("hubspot", spec.hs_object, &b.hs_id, &e);
            }
        }
        Ok(())
    }
}
