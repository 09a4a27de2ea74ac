//! A profile's sync settings (`[profiles.NAME.sync]` in hubforce.toml): which object pairs
//! sync, where new HubSpot contacts go, the inclusion list, and the loop guards.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The object pairs, in the order a pass runs them (companies first so that contacts and
/// deals find their accounts).
pub const PAIRS: &[&str] = &["company", "contact", "deal", "task"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// Object pairs that sync: `company`, `contact`, `deal`, `task`.
    #[serde(default = "all_pairs")]
    pub objects: Vec<String>,
    /// The sObject a new HubSpot contact becomes: `Lead` (the incumbent's default) or `Contact`.
    #[serde(default = "lead")]
    pub new_contacts_as: String,
    /// A HubSpot list id: only its members sync (the incumbent's inclusion list).
    #[serde(default)]
    pub inclusion_list: Option<String>,
    /// Create HubSpot records for Salesforce records that have no match.
    #[serde(default = "yes")]
    pub create_in_hubspot: bool,
    /// `sync --watch`: seconds between passes.
    #[serde(default = "thirty")]
    pub watch_interval_secs: u64,
    /// A field the sync puts back to an earlier value this many times within
    /// `flip_window_hours` is in a loop: it is reported and left alone (the flip detector).
    #[serde(default = "four")]
    pub flip_limit: u64,
    #[serde(default = "day")]
    pub flip_window_hours: i64,
    /// Records synced and checkpointed together. A batch's calls are chunked to what each
    /// API takes (100 HubSpot inputs, 200 Salesforce records, a SOQL `IN` of 200) and sent
    /// together, within the budgets: larger batches wait for fewer round trips.
    #[serde(default = "thousand")]
    pub batch_size: usize,
    /// An import (a first pull, or `--full`) of a Salesforce object with this many records
    /// or more reads them through a Bulk API 2.0 query job after the first page; 0 (the
    /// default until the million-record import is measured with it): never.
    #[serde(default)]
    pub bulk_threshold: u64,
    /// HubSpot activities logged as Salesforce Tasks on the linked Lead or Contact:
    /// `form_submission` (the contact's recent conversion) and `email_open`.
    #[serde(default = "activities")]
    pub activities: Vec<String>,
    /// Per object pair, what a deletion on one side does to the other (`keep` when absent):
    /// `[profiles.NAME.sync.deletes] contact = "propagate"`.
    #[serde(default)]
    pub deletes: BTreeMap<String, DeletePolicy>,
    /// Write the linked Salesforce id to the HubSpot record (`salesforceleadid`, …), as the
    /// incumbent does: one HubSpot call per 100 new links.
    #[serde(default = "yes")]
    pub write_ids_to_hubspot: bool,
}

/// Records per batch of a Bulk import (a pull of `bulk_threshold` records or more): a
/// Bulk job per sObject and operation per batch, seven calls for up to 2,500 records where
/// collections take 13, and an import for its HubSpot updates where batches take 25. A
/// batch costs some 20 kB a record while it syncs: batches of 5,000 took a 50,000-contact
/// import to 170 MB, 2,500 to 116 MB.
pub const BULK_BATCH: usize = 2_500;

/// What a deletion (or a merge that cannot relink) on one side does to the counterpart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeletePolicy {
    /// The counterpart stays; the link becomes a tombstone, and the sync never re-creates
    /// the deleted record from it.
    #[default]
    Keep,
    /// The counterpart is deleted too (archived in HubSpot), in batches.
    Propagate,
    /// The link is dropped; the next change re-creates the record (the incumbent's way).
    Recreate,
}

impl DeletePolicy {
    pub fn parse(s: &str) -> Option<DeletePolicy> {
        match s {
            "keep" => Some(DeletePolicy::Keep),
            "propagate" => Some(DeletePolicy::Propagate),
            "recreate" => Some(DeletePolicy::Recreate),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeletePolicy::Keep => "keep",
            DeletePolicy::Propagate => "propagate",
            DeletePolicy::Recreate => "recreate",
        }
    }
}

pub const ACTIVITIES: &[&str] = &["form_submission", "email_open"];

fn activities() -> Vec<String> {
    ACTIVITIES.iter().map(|s| s.to_string()).collect()
}

fn all_pairs() -> Vec<String> {
    PAIRS.iter().map(|s| s.to_string()).collect()
}
fn lead() -> String {
    "Lead".into()
}
fn yes() -> bool {
    true
}
fn thirty() -> u64 {
    30
}
fn four() -> u64 {
    4
}
fn day() -> i64 {
    24
}
fn thousand() -> usize {
    1000
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            objects: all_pairs(),
            new_contacts_as: lead(),
            inclusion_list: None,
            create_in_hubspot: true,
            watch_interval_secs: thirty(),
            flip_limit: four(),
            flip_window_hours: day(),
            batch_size: thousand(),
            bulk_threshold: 0,
            activities: activities(),
            deletes: BTreeMap::new(),
            write_ids_to_hubspot: true,
        }
    }
}

impl SyncSettings {
    /// Check values that serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        // Which pairs exist is for the plugins to declare (checked when the profile opens);
        // here only that each is a pair's name.
        let named =
            |o: &String| !o.is_empty() && o.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        for o in self.objects.iter().chain(self.deletes.keys()) {
            if !named(o) {
                return Err(format!(
                    "sync.objects: `{o}` is not an object pair's name (lower-case letters and _: {} or one a plugin declares)",
                    PAIRS.join(", ")
                ));
            }
        }
        if !matches!(self.new_contacts_as.as_str(), "Lead" | "Contact") {
            return Err(format!(
                "sync.new_contacts_as must be \"Lead\" or \"Contact\", not \"{}\"",
                self.new_contacts_as
            ));
        }
        if let Some(a) = self
            .activities
            .iter()
            .find(|a| !ACTIVITIES.contains(&a.as_str()))
        {
            return Err(format!(
                "sync.activities: unknown activity `{a}` (known: {})",
                ACTIVITIES.join(", ")
            ));
        }
        if !(1..=2000).contains(&self.batch_size) {
            return Err("sync.batch_size must be between 1 and 2000".into());
        }
        // 0 is a busy loop of passes; `hubforce check health.budget` says what an interval
        // costs a day.
        if !(1..=86_400).contains(&self.watch_interval_secs) {
            return Err(format!(
                "sync.watch_interval_secs must be between 1 and 86400 (a day), not {}; an idle pass costs API calls, so `hubforce check health.budget` shows what an interval spends a day",
                self.watch_interval_secs
            ));
        }
        if self.flip_limit == 0 || self.flip_window_hours <= 0 {
            return Err("sync.flip_limit and sync.flip_window_hours must be at least 1".into());
        }
        Ok(())
    }

    /// The pair's deletion policy.
    pub fn delete_policy(&self, pair: &str) -> DeletePolicy {
        self.deletes.get(pair).copied().unwrap_or_default()
    }

    pub fn enabled(&self, pair: &str) -> bool {
        self.objects.iter().any(|o| o == pair)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bad_values_are_named() {
        let s: SyncSettings = toml::from_str("").unwrap();
        assert_eq!(s.objects, vec!["company", "contact", "deal", "task"]);
        assert_eq!(s.new_contacts_as, "Lead");
        // A pair a plugin declares is checked when the profile opens; a name that can be
        // no pair's is refused here.
        let s: SyncSettings = toml::from_str("objects = [\"contact\", \"ticket\"]").unwrap();
        assert_eq!(s.validate(), Ok(()));
        let s: SyncSettings = toml::from_str("objects = [\"contact\", \"Tickets\"]").unwrap();
        assert!(s.validate().unwrap_err().contains("`Tickets`"));
        let s: SyncSettings = toml::from_str("new_contacts_as = \"Account\"").unwrap();
        assert!(s.validate().unwrap_err().contains("new_contacts_as"));
        assert!(toml::from_str::<SyncSettings>("colour = 1").is_err());
        let s: SyncSettings = toml::from_str("watch_interval_secs = 0").unwrap();
        assert!(s.validate().unwrap_err().contains("watch_interval_secs"));
    }
}
