//! Salesforce writes through Bulk API 2.0 ingest jobs. An import of `bulk_threshold`
//! records or more runs in batches of `BULK_BATCH`; a batch's creates of one sObject
//! (upserted on the HubSpot id field, so a job repeated after a crash finds its records) or
//! its updates of one sObject go through one ingest job when collections of 200 would cost
//! more calls than the job. The job's results become the same per-record outcomes as a
//! collection's: links for the records written, errors with their class for the others.
//! A batch waits for its jobs before it is checkpointed, so the ordering and crash-safety of
//! REST batches hold: the next batch's look-ups run after these records exist.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};

use super::engine::Engine;
use super::report::RunReport;
use super::write_price::{WritePath, add_price, write_path};
use crate::api::hubspot::ItemResult;
use crate::api::salesforce::CollectionOp;
use crate::api::salesforce_bulk::BulkOperation;
use crate::error::{ApiError, ErrorClass, Provider};

/// A value as a Bulk API CSV cell. An empty cell leaves a field as it is, so a value that
/// empties the field (null, or the empty text a REST write empties it with) is `#N/A`.
pub(super) fn cell(v: &Value) -> String {
    match v {
        Value::Null => "#N/A".into(),
        Value::String(s) if s.is_empty() => "#N/A".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The CSV of `records`: the key column first, then every field any record writes. A
/// field a record does not write stays an empty cell, which leaves it alone.
fn ingest_rows(key: &str, records: &[Map<String, Value>]) -> (Vec<String>, Vec<Vec<String>>) {
    let fields: BTreeSet<&str> = records
        .iter()
        .flat_map(|r| r.keys().map(String::as_str))
        .filter(|f| *f != key && *f != "attributes")
        .collect();
    let header: Vec<String> = std::iter::once(key)
        .chain(fields.iter().copied())
        .map(str::to_string)
        .collect();
    let rows = records
        .iter()
        .map(|r| {
            header
                .iter()
                .map(|f| r.get(f).map(cell).unwrap_or_default())
                .collect()
        })
        .collect();
    (header, rows)
}

/// Each record's key value, or None when two records share one (a job's results are keyed
/// by it, so such a group goes through collections instead).
fn distinct_keys(key: &str, records: &[Map<String, Value>]) -> Option<Vec<String>> {
    let keys: Vec<String> = records
        .iter()
        .map(|r| r.get(key).map(cell).unwrap_or_default())
        .collect();
    let mut seen = HashSet::new();
    keys.iter()
        .all(|k| !k.is_empty() && seen.insert(k.as_str()))
        .then_some(keys)
}

impl Engine<'_> {
    /// The keys of `records` (keyed by `key`) for one ingest job, when Bulk writes are on,
    /// the job costs fewer calls than collections and every key is distinct; None for
    /// collections. The group's price, the way it goes, is added to the report.
    pub(super) fn ingest_keys(
        &self,
        (sobject, operation, key): (&str, &str, &str),
        records: &[Map<String, Value>],
        report: &mut RunReport,
    ) -> Option<Vec<String>> {
        let path = write_path(self.settings.bulk_threshold > 0, records.len());
        let keys = path.ingest.then(|| distinct_keys(key, records)).flatten();
        let path = WritePath {
            ingest: keys.is_some(),
            ..path
        };
        add_price(
            &mut report.writes_priced,
            path.price(sobject, operation, records.len()),
        );
        keys
    }

    /// Upsert `records` of `sobject` on the external id `key`: through an ingest job when
    /// that costs fewer calls, else collections. The outcomes in order; the price in the
    /// report.
    pub(super) async fn sf_upsert(
        &self,
        (sobject, key): (&str, &str),
        records: Vec<Value>,
        report: &mut RunReport,
    ) -> Result<Vec<ItemResult>, ApiError> {
        let maps: Vec<Map<String, Value>> = records
            .into_iter()
            .map(|v| match v {
                Value::Object(m) => m,
                _ => Map::new(),
            })
            .collect();
        match self.ingest_keys((sobject, "create", key), &maps, report) {
            Some(keys) => {
                self.sf_ingest(BulkOperation::Upsert, (sobject, key), maps, keys)
                    .await
            }
            None => {
                let op = CollectionOp::Upsert {
                    sobject: sobject.to_string(),
                    field: key.to_string(),
                };
                let records = maps.into_iter().map(Value::Object).collect();
                self.sf.collection(op, records, false).await
            }
        }
    }

    /// One ingest job over `records` of `sobject`, keyed by `key` (the external id of an
    /// upsert, `Id` of an update), whose keys are `keys`: the outcomes in their order.
    pub(super) async fn sf_ingest(
        &self,
        operation: BulkOperation,
        (sobject, key): (&str, &str),
        records: Vec<Map<String, Value>>,
        keys: Vec<String>,
    ) -> Result<Vec<ItemResult>, ApiError> {
        let (header, rows) = ingest_rows(key, &records);
        drop(records);
        let mut outcomes = self
            .sf
            .bulk_ingest(operation, sobject, key, (&header, &rows))
            .await?;
        Ok(keys
            .iter()
            .map(|k| {
                outcomes.remove(k).unwrap_or_else(|| {
                    ItemResult::Failed(
                        ApiError::new(
                            Provider::Salesforce,
                            ErrorClass::Transient,
                            "the Bulk API job gave no result for this record (unprocessed); \
                             it is written again on the next run",
                        )
                        .with_code("BULK_UNPROCESSED"),
                    )
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn blanks_empty_a_field_and_fields_a_record_does_not_write_stay_empty_cells() {
        let records = [
            record(json!({"HubSpot_Id__c": "7", "LastName": "Ng", "Title": ""})),
            record(
                json!({"HubSpot_Id__c": "8", "Phone": null, "NumberOfEmployees": 12, "HasOptedOutOfEmail": true}),
            ),
        ];
        let (header, rows) = ingest_rows("HubSpot_Id__c", &records);
        assert_eq!(
            header,
            [
                "HubSpot_Id__c",
                "HasOptedOutOfEmail",
                "LastName",
                "NumberOfEmployees",
                "Phone",
                "Title"
            ]
        );
        assert_eq!(rows[0], ["7", "", "Ng", "", "", "#N/A"]);
        assert_eq!(rows[1], ["8", "true", "", "12", "#N/A", ""]);
    }

    #[test]
    fn a_shared_or_missing_key_keeps_a_group_out_of_a_job() {
        let a = record(json!({"Id": "00Q1"}));
        let b = record(json!({"Id": "00Q2"}));
        assert_eq!(
            distinct_keys("Id", &[a.clone(), b]),
            Some(vec!["00Q1".to_string(), "00Q2".to_string()])
        );
        assert_eq!(distinct_keys("Id", &[a.clone(), a.clone()]), None);
        assert_eq!(distinct_keys("Id", &[a, record(json!({"X": 1}))]), None);
    }
}
