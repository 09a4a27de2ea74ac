//! What the providers said of their schema and users, kept beside the sync state so that a
//! new process does not ask again: describes, owners, hubforce's id properties. Each entry
//! carries when it was read; [`super::provider_cache`] decides when that is too old.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use super::ledger::{Ledger, LedgerError};

/// One kept answer and when the provider gave it (or last confirmed it unchanged).
#[derive(Debug, Clone)]
pub struct Cached {
    pub fetched_at: DateTime<Utc>,
    pub value: Value,
}

impl Ledger {
    pub fn cached(&self, key: &str) -> Result<Option<Cached>, LedgerError> {
        let row: Option<(String, String)> = self
            .lock()
            .query_row(
                "SELECT fetched_at, value FROM provider_cache WHERE key = ?1",
                params![key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        // An entry that does not parse is as good as none: it is read again.
        Ok(row.and_then(|(at, value)| {
            Some(Cached {
                fetched_at: DateTime::parse_from_rfc3339(&at).ok()?.with_timezone(&Utc),
                value: serde_json::from_str(&value).ok()?,
            })
        }))
    }

    pub fn cache(&self, key: &str, value: &Value, at: DateTime<Utc>) -> Result<(), LedgerError> {
        self.lock()
            .execute(
                "INSERT INTO provider_cache (key, fetched_at, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET fetched_at = ?2, value = ?3",
                params![key, at.to_rfc3339(), value.to_string()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The provider confirmed an entry unchanged (a 304): it is fresh again.
    pub fn cache_confirmed(&self, key: &str, at: DateTime<Utc>) -> Result<(), LedgerError> {
        self.lock()
            .execute(
                "UPDATE provider_cache SET fetched_at = ?2 WHERE key = ?1",
                params![key, at.to_rfc3339()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Forget every kept answer: the next preparation reads them all again.
    pub fn forget_cache(&self) -> Result<(), LedgerError> {
        self.lock()
            .execute("DELETE FROM provider_cache", [])
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
