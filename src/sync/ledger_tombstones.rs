//! The ledger's tombstone queries: which gone records block a re-creation, which name a
//! record, which were recorded since a time.

use std::collections::HashMap;

use rusqlite::params;

use super::ledger::{Ledger, LedgerError};
use super::tombstones::Tombstone;

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Tombstone> {
    Ok(Tombstone {
        pair: r.get(0)?,
        side: r.get(1)?,
        id: r.get(2)?,
        sobject: r.get(3)?,
        counterpart: r.get(4)?,
        how: r.get(5)?,
        merged_into: r.get(6)?,
        policy: r.get(7)?,
        at: r.get(8)?,
    })
}

const COLUMNS: &str = "pair, side, id, sobject, counterpart, how, merged_into, policy, at";

impl Ledger {
    /// For surviving records (ids on the side that is not `gone_side`): the tombstone of
    /// their gone counterpart, if one keeps them from re-creating it.
    pub fn blocking_tombstones(
        &self,
        pair: &str,
        gone_side: &str,
        survivors: &[&str],
    ) -> Result<HashMap<String, Tombstone>, LedgerError> {
        let mut out = HashMap::new();
        self.read_rows(
            &format!(
                "SELECT {COLUMNS} FROM tombstones WHERE pair = ?1 AND side = ?2 AND counterpart = ?3 AND policy = 'keep'"
            ),
            &[pair, gone_side],
            survivors,
            |key, r| {
                out.insert(key.to_string(), row(r)?);
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Every tombstone that names `id`, as the gone record or as its counterpart (explain).
    pub fn tombstones_naming(&self, pair: &str, id: &str) -> Result<Vec<Tombstone>, LedgerError> {
        let conn = self.lock();
        let mut st = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM tombstones WHERE pair = ?1 AND (id = ?2 OR counterpart = ?2) ORDER BY at DESC"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![pair, id], row)
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Tombstones recorded since `since` (RFC 3339), newest first.
    pub fn tombstones_since(&self, since: &str) -> Result<Vec<Tombstone>, LedgerError> {
        let conn = self.lock();
        let mut st = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM tombstones WHERE at >= ?1 ORDER BY at DESC"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st.query_map(params![since], row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::ledger::Checkpoint;

    fn stone(policy: &str) -> Tombstone {
        Tombstone {
            pair: "contact".into(),
            side: "salesforce".into(),
            id: "00Q000000000001AAA".into(),
            sobject: "Lead".into(),
            counterpart: "101".into(),
            how: "merged".into(),
            merged_into: Some("00Q000000000002AAA".into()),
            policy: policy.into(),
            at: String::new(),
        }
    }

    #[test]
    fn a_kept_tombstone_blocks_and_ends_the_link() {
        let l = Ledger::in_memory().unwrap();
        let mut cp = Checkpoint::default();
        cp.link("contact", "101", "00Q000000000001AAA", "Lead");
        l.commit(cp).unwrap();
        let mut cp = Checkpoint::default();
        cp.tombstone(stone("keep"));
        l.commit(cp).unwrap();
        assert!(
            l.linked_sf("contact", "101").unwrap().is_none(),
            "the link ended"
        );
        let b = l
            .blocking_tombstones("contact", "salesforce", &["101", "102"])
            .unwrap();
        assert_eq!(b.len(), 1);
        let text = b["101"].describe();
        assert!(
            text.starts_with(
                "Lead 00Q000000000001AAA merged into 00Q000000000002AAA in Salesforce on "
            ),
            "{text}"
        );
        assert!(text.ends_with("HubSpot 101 kept, not re-created"), "{text}");
        let mut cp = Checkpoint::default();
        cp.tombstone(stone("recreate"));
        l.commit(cp).unwrap();
        assert!(
            l.blocking_tombstones("contact", "salesforce", &["101"])
                .unwrap()
                .is_empty(),
            "recreate does not block"
        );
        assert_eq!(l.tombstones_naming("contact", "101").unwrap().len(), 1);
    }
}
