//! HubSpot updates through the CRM imports API: a batch's updates whose every value is set
//! (the write-backs of new Salesforce ids above all) go through one import when 100-input
//! batch calls would cost more calls than the import (start, about two looks, its errors).
//! An import cannot empty a property, so an update that blanks one stays on the batch API.
//! Used when Bulk writes are on (`bulk_threshold`) and the connection has `crm.import`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::engine::Engine;
use crate::api::hubspot::{BATCH_MAX, ItemResult};
use crate::api::hubspot_imports::{IMPORT_SCOPE, import_type_id};
use crate::error::{ApiError, ErrorClass, Provider};

/// What one import costs: start, about two looks, one page of errors.
pub(super) const IMPORT_CALLS: u64 = 4;

/// Whether an update input can go through an import: every value it writes is set.
fn importable(input: &Value) -> bool {
    input["properties"].as_object().is_some_and(|p| {
        !p.is_empty()
            && p.values()
                .all(|v| v.as_str().is_some_and(|s| !s.is_empty()))
    })
}

/// Whether `n` updates are worth an import rather than batches of 100.
pub(super) fn worth_importing(n: usize) -> bool {
    n.div_ceil(BATCH_MAX) as u64 > IMPORT_CALLS
}

impl Engine<'_> {
    /// Which of `inputs` (batch update inputs) go through an import: None when none do.
    pub(super) async fn import_split(&self, object: &str, inputs: &[Value]) -> Option<Vec<bool>> {
        if self.settings.bulk_threshold == 0 || import_type_id(object).is_none() {
            return None;
        }
        let split: Vec<bool> = inputs.iter().map(importable).collect();
        if !worth_importing(split.iter().filter(|b| **b).count()) {
            return None;
        }
        let granted = self
            .hs
            .auth
            .tokens()
            .await
            .is_some_and(|t| t.scopes.iter().any(|s| s == IMPORT_SCOPE));
        granted.then_some(split)
    }

    /// Update `inputs` through one import; the outcomes in their order.
    pub(super) async fn hs_import(
        &self,
        object: &str,
        inputs: Vec<Value>,
    ) -> Result<Vec<ItemResult>, ApiError> {
        let properties: Vec<String> = inputs
            .iter()
            .flat_map(|i| {
                i["properties"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.clone())
            })
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        let rows: Vec<(String, Vec<String>)> = inputs
            .iter()
            .map(|i| {
                let id = i["id"].as_str().unwrap_or_default().to_string();
                let values = properties
                    .iter()
                    .map(|p| i["properties"][p].as_str().unwrap_or_default().to_string())
                    .collect();
                (id, values)
            })
            .collect();
        let mut outcomes = self.hs.import_updates(object, &properties, &rows).await?;
        Ok(rows
            .iter()
            .map(|(id, _)| {
                outcomes.remove(id).unwrap_or_else(|| {
                    ItemResult::Failed(ApiError::new(
                        Provider::Hubspot,
                        ErrorClass::Transient,
                        "the import gave no outcome for this record; written again on the next run",
                    ))
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_updates_that_set_every_value_are_importable() {
        assert!(importable(
            &json!({"id": "1", "properties": {"salesforceleadid": "00Q1"}})
        ));
        assert!(!importable(
            &json!({"id": "1", "properties": {"phone": ""}})
        ));
        assert!(!importable(&json!({"id": "1", "properties": {}})));
    }

    #[test]
    fn an_import_is_worth_it_past_four_batches() {
        assert!(!worth_importing(400));
        assert!(worth_importing(401));
    }
}
