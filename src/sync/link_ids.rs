//! The Salesforce id of a linked record written back to its HubSpot record, as the
//! incumbent does (`salesforceleadid`, `salesforcecontactid`, `salesforceaccountid`,
//! `salesforceopportunityid`), so HubSpot users, lists and workflows can see the link.
//! A record linked to an existing one gets it with its other HubSpot writes; one whose
//! Salesforce record was just created gets it after the create, in the batch's HubSpot
//! update (100 a call, with the other updates). A refusal is that record's error, retried
//! with it; the link stands.
//! `sync.write_ids_to_hubspot = false` turns it off.

use serde_json::json;

use super::engine::Engine;
use super::pairs::PairSpec;
use super::write::Item;

/// What a HubSpot record is told once its Salesforce record exists.
pub(super) struct WriteBack {
    pub property: String,
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
        it.hs.as_ref()?;
        (self.settings.write_ids_to_hubspot && it.sf.is_none()).then(|| WriteBack {
            property: spec.hs_id_property(&it.sobject).to_string(),
            sf_id: sf_id.to_string(),
        })
    }
}
