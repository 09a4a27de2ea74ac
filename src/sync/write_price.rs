//! What a pass's large writes cost each way: Salesforce sObject collections of 200 or a Bulk
//! API 2.0 ingest job per sObject and operation of a batch; HubSpot batches of 100 or a CRM
//! import of a batch's updates. The write stage takes the cheaper path; the report and a dry
//! run show both.

use crate::api::hubspot::BATCH_MAX;
use crate::api::salesforce::COLLECTION_MAX;

/// What one HubSpot import costs: start, about two looks, one page of errors.
pub(super) const IMPORT_CALLS: u64 = 4;

/// The path for `n` HubSpot updates: an import when imports are possible (`enabled`) and
/// batches of 100 would cost more than the import.
pub(super) fn import_path(enabled: bool, n: usize) -> WritePath {
    cheaper(enabled, n.div_ceil(BATCH_MAX) as u64, IMPORT_CALLS)
}

/// The bulk way when it is possible and the other way costs more calls than it.
fn cheaper(enabled: bool, rest_calls: u64, bulk_calls: u64) -> WritePath {
    WritePath {
        ingest: enabled && rest_calls > bulk_calls,
        rest_calls,
        bulk_calls,
    }
}

/// What one ingest job costs: create, upload, close, about two polls, and the two results
/// files. Real jobs may be polled more often; the report counts what was made.
pub(super) const INGEST_CALLS: u64 = 7;

/// How one group of a batch's Salesforce writes goes, and what either way costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WritePath {
    pub(super) ingest: bool,
    pub(super) rest_calls: u64,
    pub(super) bulk_calls: u64,
}

/// The path for `n` records of one sObject and operation: an ingest job when Bulk writes
/// are on (`enabled`) and collections would cost more than the job.
pub(super) fn write_path(enabled: bool, n: usize) -> WritePath {
    cheaper(enabled, n.div_ceil(COLLECTION_MAX) as u64, INGEST_CALLS)
}

/// What a pass's Salesforce writes cost, and what the other way would have, summed over its
/// batches by sObject, operation and path (a dry run prices them both ways).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct WritePrice {
    /// `salesforce` or `hubspot`.
    #[serde(default = "salesforce")]
    pub provider: String,
    /// The sObject, or the HubSpot object.
    pub sobject: String,
    /// `create` or `update`.
    pub operation: String,
    pub records: u64,
    /// Written through Bulk API ingest jobs or HubSpot imports (else collections or batches).
    pub bulk: bool,
    pub rest_calls: u64,
    pub bulk_calls: u64,
}

impl WritePath {
    /// The price of `records` of `sobject` written this way to Salesforce.
    pub(super) fn price(self, sobject: &str, operation: &str, records: usize) -> WritePrice {
        WritePrice {
            provider: "salesforce".into(),
            sobject: sobject.to_string(),
            operation: operation.to_string(),
            records: records as u64,
            bulk: self.ingest,
            rest_calls: self.rest_calls,
            bulk_calls: self.bulk_calls,
        }
    }

    /// The price of `records` HubSpot updates of `object` written this way.
    pub(super) fn hubspot_price(self, object: &str, records: usize) -> WritePrice {
        WritePrice {
            provider: "hubspot".into(),
            ..self.price(object, "update", records)
        }
    }

    /// The calls the path taken costs.
    pub(super) fn calls(self) -> u64 {
        if self.ingest {
            self.bulk_calls
        } else {
            self.rest_calls
        }
    }
}

fn salesforce() -> String {
    "salesforce".into()
}

/// Add a group's price to a pass's, summed by sObject, operation and path.
pub(super) fn add_price(prices: &mut Vec<WritePrice>, p: WritePrice) {
    match prices.iter_mut().find(|q| {
        (&q.provider, &q.sobject, &q.operation, q.bulk)
            == (&p.provider, &p.sobject, &p.operation, p.bulk)
    }) {
        Some(q) => {
            q.records += p.records;
            q.rest_calls += p.rest_calls;
            q.bulk_calls += p.bulk_calls;
        }
        None => prices.push(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_is_taken_past_four_batches_of_updates() {
        assert!(!import_path(true, 400).ingest);
        assert!(import_path(true, 401).ingest);
        assert!(!import_path(false, 5_000).ingest);
    }

    #[test]
    fn a_job_is_taken_only_when_it_costs_fewer_calls_than_collections() {
        assert!(!write_path(true, 1_400).ingest); // 7 collections: no better
        assert!(write_path(true, 1_401).ingest);
        assert!(!write_path(false, 5_000).ingest);
        assert_eq!(write_path(true, 5_000).rest_calls, 25);
    }
}
