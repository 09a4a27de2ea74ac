//! `hubforce sync --record contact:ID`: just the named records, both ways — the incumbent's
//! per-record "Sync" button, and the way to debug one record. Each is read by id, planned
//! even when its state is our own echo, and written (or, in a dry run, planned) like a
//! record of a pass; its checkpoint is committed on its own.

use super::engine::{Engine, SyncError, SyncOptions};
use super::ledger::Checkpoint;
use super::lookup;
use super::report::RunReport;
use crate::error::{ApiError, ErrorClass, Provider};

/// `OBJECT:ID` as given on the command line.
pub fn parse_record(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((object, id)) if !id.is_empty() && !object.is_empty() && !id.contains(':') => {
            Ok((object.to_string(), id.to_string()))
        }
        _ => Err(format!(
            "`{s}`: give OBJECT:ID — a pair (contact, company, deal, task, or one a plugin declares) and a HubSpot id (contact:101), or an sObject and a Salesforce id (Lead:00Q…)"
        )),
    }
}

impl Engine<'_> {
    pub(super) async fn run_records(
        &self,
        opts: &SyncOptions,
        report: &mut RunReport,
    ) -> Result<(), SyncError> {
        let mappings = self.mappings()?;
        report.plan_echoes = true;
        for (object, id) in &opts.records {
            let (spec, side, object) = self.parse_object(object)?;
            let object = object.as_str();
            let mut cp = Checkpoint::default();
            let ids = [id.clone()];
            if side == "hubspot" {
                let props = self.hs_properties(&mappings, spec);
                let found = lookup::hs_by_ids(self.hs, spec, &props, &ids, None).await?;
                if found.is_empty() {
                    return Err(not_found(Provider::Hubspot, object, id));
                }
                self.sync_hubspot_batch(spec, &mappings, found, &mut cp, report)
                    .await?;
            } else {
                let fields = self.sf_field_list(&mappings, spec, object);
                let found = lookup::sf_by_ids(self.sf, object, &fields, &ids).await?;
                if found.is_empty() {
                    return Err(not_found(Provider::Salesforce, object, id));
                }
                self.sync_salesforce_batch(spec, &mappings, object, found, &mut cp, report)
                    .await?;
            }
            self.commit(opts, cp)?;
        }
        Ok(())
    }
}

fn not_found(provider: Provider, object: &str, id: &str) -> SyncError {
    SyncError::Api(
        ApiError::new(
            provider,
            ErrorClass::NotFound,
            format!("{object} {id} does not exist in {}", provider.label()),
        )
        .with_hint("check the id and the object; `hubforce explain OBJECT ID` says what the ledger knows of it"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_object_and_id() {
        assert_eq!(
            parse_record("contact:101"),
            Ok(("contact".into(), "101".into()))
        );
        assert!(parse_record("Lead:00Q5g00000000GpEAI").is_ok());
        // Which objects exist is the declared pairs' to say (the engine checks it).
        for bad in ["contact", "contact:", ":1", "contact:1:2"] {
            assert!(parse_record(bad).is_err(), "{bad}");
        }
    }
}
