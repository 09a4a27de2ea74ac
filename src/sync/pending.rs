//! A gathered create as the ledger keeps it, and how a checkpoint writes gathered creates
//! (the ledger's queries of them are in `ledger_pending.rs`; `gather.rs` gathers them).

use rusqlite::{Transaction, params};

/// One gathered create.
#[derive(Debug, Clone)]
pub struct Pending {
    pub pair: String,
    pub hs_id: String,
    pub sobject: String,
    /// What the write needs (see `gather::Gathered`), as JSON.
    pub item: String,
    /// The match keys the record to be created claims (`email:…`).
    pub keys: Vec<String>,
}

/// A checkpoint's gathered creates: the settled ones dropped first, then each new one
/// replacing any earlier version of itself.
pub(super) fn commit(
    tx: &Transaction<'_>,
    unpended: &[(String, String)],
    pending: &[Pending],
    now: &str,
) -> rusqlite::Result<()> {
    let drop = |pair: &str, hs: &str| -> rusqlite::Result<()> {
        tx.prepare_cached("DELETE FROM pending_creates WHERE pair = ?1 AND hs_id = ?2")?
            .execute(params![pair, hs])?;
        tx.prepare_cached("DELETE FROM pending_keys WHERE pair = ?1 AND hs_id = ?2")?
            .execute(params![pair, hs])?;
        Ok(())
    };
    for (pair, hs) in unpended {
        drop(pair, hs)?;
    }
    for p in pending {
        drop(&p.pair, &p.hs_id)?;
        tx.prepare_cached(
            "INSERT INTO pending_creates (pair, hs_id, sobject, item, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![p.pair, p.hs_id, p.sobject, p.item, now])?;
        for k in &p.keys {
            tx.prepare_cached("INSERT INTO pending_keys (pair, key, hs_id) VALUES (?1, ?2, ?3)")?
                .execute(params![p.pair, k, p.hs_id])?;
        }
    }
    Ok(())
}
