//! Tombstones: what the sync remembers of a record deleted or merged away on one side, so
//! that its counterpart on the other side is never silently re-created from it (the
//! incumbent's records that "come back after they were deleted").
//!
//! A tombstone names the gone record, how it went (deleted, or merged into another), and
//! what the pair's deletion policy did with its counterpart: `keep` (it stays, and the sync
//! will not re-create the gone one from it), `propagate` (it was deleted too), `recreate`
//! (the link was dropped; the next change creates a new record, as the incumbent does), or
//! `relinked` (a merge: the survivor took over the link).

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tombstone {
    pub pair: String,
    /// Where the record is gone: `hubspot` or `salesforce`.
    pub side: String,
    pub id: String,
    /// The gone record's object (`contacts`, `Lead`).
    pub sobject: String,
    /// The record it was linked to on the other side.
    pub counterpart: String,
    /// `deleted` or `merged`.
    pub how: String,
    pub merged_into: Option<String>,
    /// `keep`, `propagate`, `recreate` or `relinked`.
    pub policy: String,
    /// When it was recorded (RFC 3339); empty before the checkpoint.
    pub at: String,
}

fn provider_label(side: &str) -> &'static str {
    if side == "hubspot" {
        "HubSpot"
    } else {
        "Salesforce"
    }
}

impl Tombstone {
    /// Does it keep the sync from re-creating the gone record from its counterpart?
    pub fn blocks(&self) -> bool {
        self.policy == "keep"
    }

    /// One sentence for `explain`, dry runs and the pass summary.
    pub fn describe(&self) -> String {
        let when = self
            .at
            .get(..10)
            .map(|d| format!(" on {d}"))
            .unwrap_or_default();
        let how = match (&self.how[..], &self.merged_into) {
            ("merged", Some(into)) => format!("merged into {into}"),
            _ => "deleted".into(),
        };
        let other = provider_label(if self.side == "hubspot" {
            "salesforce"
        } else {
            "hubspot"
        });
        let what = match self.policy.as_str() {
            "keep" => format!("{other} {} kept, not re-created", self.counterpart),
            "propagate" => format!("{other} {} deleted too", self.counterpart),
            "relinked" => format!("{other} {} now syncs with the survivor", self.counterpart),
            _ => format!(
                "link to {other} {} dropped; a change re-creates it (policy recreate)",
                self.counterpart
            ),
        };
        format!(
            "{} {} {how} in {}{when}; {what}",
            self.sobject,
            self.id,
            provider_label(&self.side)
        )
    }
}
