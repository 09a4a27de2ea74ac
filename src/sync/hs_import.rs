//! HubSpot updates through the CRM imports API: a batch's updates whose every value is set
//! (the write-backs of new Salesforce ids above all) go through one import when 100-input
//! batch calls would cost more calls than the import (start, about two looks, its errors).
//! An import cannot empty a property, so an update that blanks one stays on the batch API.
//! Used when Bulk writes are on (`bulk_threshold`) and the connection has `crm.import`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::engine::Engine;
use super::report::RunReport;
use super::write::sets_every_value;
use super::write_price::{add_price, import_path};
use crate::api::hubspot::ItemResult;
use crate::api::hubspot_imports::{IMPORT_SCOPE, import_type_id};
use crate::error::{ApiError, ErrorClass, Provider};

/// Whether an update input can go through an import.
fn importable(input: &Value) -> bool {
    input["properties"]
        .as_object()
        .is_some_and(sets_every_value)
}

/// Whether an import of `object` is possible at all: Bulk writes on, an object imports
/// take. (The scope is the connection's, checked by `imports_granted`.)
fn may_import(e: &Engine<'_>, object: &str) -> bool {
    e.settings.bulk_threshold > 0 && import_type_id(object).is_some()
}

/// How many of `inputs` (batch update inputs) an import could take.
pub(super) fn importable_count(inputs: &[Value]) -> usize {
    inputs.iter().filter(|i| importable(i)).count()
}

impl Engine<'_> {
    /// Whether this connection may start imports (it was granted `crm.import`) of `object`.
    pub(super) async fn imports_granted(&self, object: &str) -> bool {
        may_import(self, object)
            && self
                .hs
                .auth
                .tokens()
                .await
                .is_some_and(|t| t.scopes.iter().any(|s| s == IMPORT_SCOPE))
    }

    /// Which of `inputs` (batch update inputs) go through an import: None when none do.
    /// The large groups' prices both ways go in the report.
    pub(super) async fn import_split(
        &self,
        object: &str,
        inputs: &[Value],
        report: &mut RunReport,
    ) -> Option<Vec<bool>> {
        let n = importable_count(inputs);
        let path = import_path(self.imports_granted(object).await, n);
        if n > 0 {
            add_price(&mut report.writes_priced, path.hubspot_price(object, n));
        }
        path.ingest.then(|| inputs.iter().map(importable).collect())
    }

    /// Update records of `object` with `inputs` (batch update inputs): those `split` marks
    /// through one import, the rest in batches of 100, together; the outcomes in order.
    pub(super) async fn hs_update(
        &self,
        object: &str,
        inputs: Vec<Value>,
        split: Option<Vec<bool>>,
    ) -> Result<Vec<ItemResult>, ApiError> {
        let Some(split) = split else {
            return self.hs_write(object, "update", inputs).await;
        };
        let n = inputs.len();
        let (imported, imports, batched, batch_inputs) =
            split_imports((0..n).collect(), inputs, &split);
        let by_import = async {
            if imports.is_empty() {
                Ok(Vec::new())
            } else {
                Box::pin(self.hs_import(object, imports)).await
            }
        };
        // Both answers are awaited before either failure is reported.
        let (a, b) =
            futures_util::future::join(by_import, self.hs_write(object, "update", batch_inputs))
                .await;
        let (a, b) = (a?, b?);
        let mut out: Vec<Option<ItemResult>> = vec![None; n];
        for (i, r) in imported
            .into_iter()
            .zip(a)
            .chain(batched.into_iter().zip(b))
        {
            out[i] = Some(r);
        }
        Ok(out.into_iter().flatten().collect())
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
        drop(inputs);
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

/// Update indices and inputs split by `split` (true: through an import) into the imported
/// and the rest: (imported, their inputs, the rest, their inputs).
fn split_imports(
    updates: Vec<usize>,
    inputs: Vec<Value>,
    split: &[bool],
) -> (Vec<usize>, Vec<Value>, Vec<usize>, Vec<Value>) {
    let (mut imported, mut imports, mut rest, mut rest_inputs) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((i, input), &by_import) in updates.into_iter().zip(inputs).zip(split) {
        if by_import {
            imported.push(i);
            imports.push(input);
        } else {
            rest.push(i);
            rest_inputs.push(input);
        }
    }
    (imported, imports, rest, rest_inputs)
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
}
