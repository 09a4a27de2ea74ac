//! The two ways into a batch: HubSpot records to Salesforce, and Salesforce records of one
//! sObject to HubSpot — the same stages (`direction.rs`) over each direction.

use super::engine::{Engine, SyncError};
use super::ledger::Checkpoint;
use super::mapping::Mappings;
use super::pairs::PairSpec;
use super::records::{HsRecord, SfRecord};
use super::report::RunReport;
use super::to_hubspot::ToHubspot;
use super::to_salesforce::ToSalesforce;

impl Engine<'_> {
    /// HubSpot records (pulled or retried) to Salesforce.
    pub(super) async fn sync_hubspot_batch(
        &self,
        spec: &PairSpec,
        mappings: &Mappings,
        records: Vec<HsRecord>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        self.sync_hubspot_batch_gathering(spec, mappings, (records, false), cp, report)
            .await
    }

    /// [`Engine::sync_hubspot_batch`], with its Salesforce creates and activities gathered
    /// for a later Bulk job when `gather` (see `gather.rs`).
    pub(super) async fn sync_hubspot_batch_gathering(
        &self,
        spec: &PairSpec,
        mappings: &Mappings,
        (records, gather): (Vec<HsRecord>, bool),
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        match ToSalesforce::new(self, spec, mappings, gather) {
            Some(d) => self.sync_batch(&d, records, cp, report).await,
            None => Ok(()),
        }
    }

    /// Salesforce records of one sObject (pulled or retried) to HubSpot.
    pub(super) async fn sync_salesforce_batch(
        &self,
        spec: &PairSpec,
        mappings: &Mappings,
        sobject: &str,
        records: Vec<SfRecord>,
        cp: &mut Checkpoint,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        match ToHubspot::new(self, spec, mappings, sobject) {
            Some(d) => self.sync_batch(&d, records, cp, report).await,
            None => Ok(()),
        }
    }
}
