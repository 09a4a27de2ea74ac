//! What Salesforce fills in on create, planned ahead. A create leaves unset the mapped
//! fields HubSpot has no value for, and Salesforce gives some of them their describe's
//! default (a Lead's `Status`). Unplanned, the next pass reads each new record back as
//! changed, reads its HubSpot record and writes the default there: a read and a write per
//! 100 creates, and a second pass before the two sides agree. Planned, the defaults are part
//! of the new record's state hash and their HubSpot values go with the id write-back, so the
//! record comes back as our echo. Only with the write-back on: without it nothing would carry
//! them to HubSpot, and the next pass must.

use chrono::Duration;
use serde_json::{Map, Value};

use super::engine::Engine;
use super::mapping::{self, PairMapping, RecordPlan, Times};
use super::records::HsRecord;

impl Engine<'_> {
    /// Fill `plan.salesforce_defaults` with the defaults a create of `sobject` from `r` will
    /// get and the next pass would keep, and add their HubSpot values to `plan.hubspot_writes`.
    pub(super) fn plan_create_defaults(
        &self,
        mapping: &PairMapping,
        sobject: &str,
        r: &HsRecord,
        plan: &mut RecordPlan,
    ) {
        if !self.settings.write_ids_to_hubspot {
            return;
        }
        let Some(described) = self.described.get(sobject) else {
            return;
        };
        let unset: Map<String, Value> = mapping
            .fields
            .iter()
            .filter(|f| !plan.salesforce_writes.contains_key(&f.salesforce))
            .filter_map(|f| {
                let v = described.defaults.get(&f.salesforce)?;
                Some((f.salesforce.clone(), v.clone()))
            })
            .collect();
        if unset.is_empty() {
            return;
        }
        // The next pass plans the new record (changed after the HubSpot one) against it.
        let mut created = plan.salesforce_writes.clone();
        created.extend(unset.clone());
        let times = Times {
            hs_modified: r.modified,
            sf_modified: r.modified + Duration::seconds(1),
            first_link: false,
        };
        let next = mapping::plan(mapping, &r.props, &created, times, &self.owners);
        for f in &mapping.fields {
            let Some(v) = unset.get(&f.salesforce) else {
                continue;
            };
            // A rule that would write HubSpot's blank over the default: left to that pass.
            if next.salesforce_writes.contains_key(&f.salesforce) {
                continue;
            }
            if let Some(hs) = next.hubspot_writes.get(&f.hubspot) {
                plan.hubspot_writes.insert(f.hubspot.clone(), hs.clone());
            }
            plan.salesforce_defaults
                .insert(f.salesforce.clone(), v.clone());
        }
    }
}
