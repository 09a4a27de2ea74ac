//! The ledger's gathered creates: Salesforce records a Bulk import plans batch by batch but
//! writes together, in one ingest job per sObject (see `gather.rs`). Each waits here, with
//! the match keys it claims, from the checkpoint of its batch until the checkpoint that
//! settles it, so a crash between the two loses nothing: the next run writes it first.

use std::collections::HashMap;

use rusqlite::params;

use super::ledger::{Ledger, LedgerError};

impl Ledger {
    /// How many creates of `pair` wait for their Bulk job.
    pub fn pending_count(&self, pair: &str) -> Result<u64, LedgerError> {
        self.lock()
            .query_row(
                "SELECT COUNT(*) FROM pending_creates WHERE pair = ?1",
                params![pair],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(|e| self.err(e))
    }

    /// The sObject a HubSpot record's gathered create makes, if one waits.
    pub fn pending_sobject(&self, pair: &str, hs_id: &str) -> Result<Option<String>, LedgerError> {
        use rusqlite::OptionalExtension;
        self.lock()
            .query_row(
                "SELECT sobject FROM pending_creates WHERE pair = ?1 AND hs_id = ?2 AND sobject <> ''",
                params![pair, hs_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Gathered records waiting, by pair.
    pub fn pending_by_pair(&self) -> Result<Vec<(String, u64)>, LedgerError> {
        let conn = self.lock();
        let mut st = conn
            .prepare("SELECT pair, COUNT(*) FROM pending_creates GROUP BY pair ORDER BY pair")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// For each of `keys`: the HubSpot records whose gathered create claims it.
    pub fn pending_claims(
        &self,
        pair: &str,
        keys: &[&str],
    ) -> Result<HashMap<String, Vec<String>>, LedgerError> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        self.read_rows(
            "SELECT hs_id FROM pending_keys WHERE pair = ?1 AND key = ?2",
            &[pair],
            keys,
            |key, r| {
                out.entry(key.to_string()).or_default().push(r.get(0)?);
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Every gathered create of `pair`, in the order they were gathered: `on_row` gets each
    /// one's HubSpot id, sObject and item.
    pub fn each_pending(
        &self,
        pair: &str,
        mut on_row: impl FnMut(&str, &str, &str) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        let conn = self.lock();
        let mut st = conn
            .prepare_cached(
                "SELECT hs_id, sobject, item FROM pending_creates WHERE pair = ?1 ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = st.query(params![pair]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let get = |i| r.get::<_, String>(i).map_err(|e| self.err(e));
            on_row(&get(0)?, &get(1)?, &get(2)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::ledger::Checkpoint;

    use crate::sync::pending::Pending;

    fn pending(hs: &str, email: &str) -> Pending {
        Pending {
            pair: "contact".into(),
            hs_id: hs.into(),
            sobject: "Lead".into(),
            item: format!("{{\"hs\":\"{hs}\"}}"),
            keys: vec![format!("email:{email}")],
        }
    }

    #[test]
    fn a_gathered_create_waits_with_its_claims_until_it_is_settled() {
        let ledger = Ledger::in_memory().unwrap();
        let mut cp = Checkpoint::default();
        cp.pend(pending("1", "a@x"));
        cp.pend(pending("2", "b@x"));
        ledger.commit(cp).unwrap();
        // A later version of record 1 replaces the first, claims and all.
        let mut cp = Checkpoint::default();
        cp.pend(pending("1", "c@x"));
        ledger.commit(cp).unwrap();
        assert_eq!(ledger.pending_count("contact").unwrap(), 2);
        let claims = ledger
            .pending_claims("contact", &["email:a@x", "email:b@x", "email:c@x"])
            .unwrap();
        assert_eq!(claims.get("email:a@x"), None);
        assert_eq!(claims["email:b@x"], ["2"]);
        assert_eq!(claims["email:c@x"], ["1"]);
        let mut order = Vec::new();
        ledger
            .each_pending("contact", |hs, sobject, _| {
                order.push(format!("{hs}:{sobject}"));
                Ok(())
            })
            .unwrap();
        assert_eq!(order, ["2:Lead", "1:Lead"]);
        let mut cp = Checkpoint::default();
        cp.unpend("contact", "1");
        cp.unpend("contact", "2");
        ledger.commit(cp).unwrap();
        assert_eq!(ledger.pending_count("contact").unwrap(), 0);
        assert!(
            ledger
                .pending_claims("contact", &["email:b@x"])
                .unwrap()
                .is_empty()
        );
    }
}
