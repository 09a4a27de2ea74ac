//! Work asked from outside a pass — the sync health page's **Resync** (of a card or a
//! record) and **Sync this record now** — kept in the ledger until a pass does it, so that a
//! page served apart from the watcher, or a watcher that restarts, loses no ask.
//!
//! A resync ask makes the next pass retry a record in error whatever its class (as
//! `hubforce resync` does); a sync ask makes the next pass sync the record first (as
//! `hubforce sync --record` does). Asks are removed when the pass that did them ends.

use rusqlite::params;

use super::ledger::{Ledger, LedgerError};

/// What is asked of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskKind {
    Resync,
    Sync,
}

impl AskKind {
    fn as_str(self) -> &'static str {
        match self {
            AskKind::Resync => "resync",
            AskKind::Sync => "sync",
        }
    }
}

/// One asked record: (side, object, id) as the ledger keys record errors.
pub type Asked = (String, String, String);

impl Ledger {
    /// Ask for records; asking twice is asking once. Returns how many are newly asked.
    pub fn ask(&self, kind: AskKind, records: &[Asked]) -> Result<u64, LedgerError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let at = chrono::Utc::now().to_rfc3339();
        let mut added = 0;
        for (side, object, id) in records {
            added += tx
                .execute(
                    "INSERT OR IGNORE INTO asks (kind, side, object, id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![kind.as_str(), side, object, id, at],
                )
                .map_err(|e| self.err(e))? as u64;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(added)
    }

    /// The records asked, oldest first.
    pub fn asked(&self, kind: AskKind) -> Result<Vec<Asked>, LedgerError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT side, object, id FROM asks WHERE kind = ?1 ORDER BY at, object, id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![kind.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Done: these asks are removed (an ask made since stays).
    pub fn asks_done(&self, kind: AskKind, records: &[Asked]) -> Result<(), LedgerError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        for (side, object, id) in records {
            tx.execute(
                "DELETE FROM asks WHERE kind = ?1 AND side = ?2 AND object = ?3 AND id = ?4",
                params![kind.as_str(), side, object, id],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_are_kept_once_until_done() {
        let ledger = Ledger::in_memory().unwrap();
        let r = |id: &str| {
            (
                "hubspot".to_string(),
                "contacts".to_string(),
                id.to_string(),
            )
        };
        assert_eq!(ledger.ask(AskKind::Resync, &[r("1"), r("2")]).unwrap(), 2);
        assert_eq!(ledger.ask(AskKind::Resync, &[r("1")]).unwrap(), 0);
        assert_eq!(ledger.ask(AskKind::Sync, &[r("1")]).unwrap(), 1);
        assert_eq!(ledger.asked(AskKind::Resync).unwrap().len(), 2);
        ledger.asks_done(AskKind::Resync, &[r("1")]).unwrap();
        assert_eq!(ledger.asked(AskKind::Resync).unwrap(), vec![r("2")]);
        assert_eq!(ledger.asked(AskKind::Sync).unwrap(), vec![r("1")]);
    }
}
