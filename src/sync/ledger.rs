//! The sync ledger (SQLite): links between HubSpot and Salesforce ids per object pair, the
//! hash of what we last wrote to each record (echo suppression), per-object cursors, record
//! errors, and field flips. Everything a batch changes is collected in a [`Checkpoint`] and
//! committed in one transaction, so a crash at any moment leaves the ledger at the previous
//! batch or the next one, never in between.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ErrorClass};

/// Where a profile's ledger lives (its state folder).
pub fn ledger_path(session: &crate::session::Session) -> std::path::PathBuf {
    session
        .config
        .state_dir(&session.profile)
        .join("ledger.sqlite")
}

#[derive(Debug, thiserror::Error)]
#[error("sync ledger {path}: {source}")]
pub struct LedgerError {
    path: String,
    source: rusqlite::Error,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS links (
  pair TEXT NOT NULL, hs_id TEXT NOT NULL, sf_id TEXT NOT NULL, sf_type TEXT NOT NULL, linked_at TEXT NOT NULL,
  PRIMARY KEY (pair, hs_id), UNIQUE (pair, sf_id));
CREATE TABLE IF NOT EXISTS write_hashes (
  side TEXT NOT NULL, object TEXT NOT NULL, id TEXT NOT NULL, hash TEXT NOT NULL, written_at TEXT NOT NULL,
  PRIMARY KEY (side, object, id));
CREATE TABLE IF NOT EXISTS cursors (
  side TEXT NOT NULL, object TEXT NOT NULL, cursor TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (side, object));
CREATE TABLE IF NOT EXISTS record_errors (
  side TEXT NOT NULL, object TEXT NOT NULL, id TEXT NOT NULL, class TEXT NOT NULL, code TEXT, message TEXT NOT NULL,
  hint TEXT NOT NULL, retryable INTEGER NOT NULL, attempts INTEGER NOT NULL, first_at TEXT NOT NULL, last_at TEXT NOT NULL,
  PRIMARY KEY (side, object, id));
CREATE TABLE IF NOT EXISTS field_writes (
  object TEXT NOT NULL, id TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,
  reverted INTEGER NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS field_writes_key ON field_writes (object, id, field, at);
CREATE TABLE IF NOT EXISTS tombstones (
  pair TEXT NOT NULL, side TEXT NOT NULL, id TEXT NOT NULL, sobject TEXT NOT NULL,
  counterpart TEXT NOT NULL, how TEXT NOT NULL, merged_into TEXT, policy TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (pair, side, id));
CREATE INDEX IF NOT EXISTS tombstones_counterpart ON tombstones (pair, side, counterpart);
CREATE TABLE IF NOT EXISTS inclusion_lists (list_id TEXT PRIMARY KEY, read_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inclusion_members (
  list_id TEXT NOT NULL, hs_id TEXT NOT NULL, PRIMARY KEY (list_id, hs_id));
CREATE TABLE IF NOT EXISTS provider_cache (
  key TEXT PRIMARY KEY, fetched_at TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_creates (
  pair TEXT NOT NULL, hs_id TEXT NOT NULL, sobject TEXT NOT NULL, item TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (pair, hs_id));
CREATE TABLE IF NOT EXISTS pending_keys (pair TEXT NOT NULL, key TEXT NOT NULL, hs_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pending_keys_key ON pending_keys (pair, key);
CREATE INDEX IF NOT EXISTS pending_keys_record ON pending_keys (pair, hs_id);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, report TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS asks (
  kind TEXT NOT NULL, side TEXT NOT NULL, object TEXT NOT NULL, id TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (kind, side, object, id));
";

/// The stable hash of a set of field values (keys sorted, JSON text).
pub fn hash_fields(fields: &serde_json::Map<String, serde_json::Value>) -> String {
    let sorted: std::collections::BTreeMap<&String, &serde_json::Value> = fields.iter().collect();
    let text = serde_json::to_string(&sorted).unwrap_or_default();
    super::records::hex_prefix(&Sha256::digest(text.as_bytes()), 16)
}

/// One record's field writes within the flip window (see [`Ledger::field_history`]).
#[derive(Debug, Default)]
pub struct FieldHistory {
    reverted: HashMap<String, u64>,
    written: HashMap<String, HashSet<String>>,
}

impl FieldHistory {
    /// Writes that put `field` back to a value written before.
    pub fn flips(&self, field: &str) -> u64 {
        self.reverted.get(field).copied().unwrap_or(0)
    }

    /// Whether `value_hash` was written to `field` before.
    pub fn wrote(&self, field: &str, value_hash: &str) -> bool {
        self.written
            .get(field)
            .is_some_and(|values| values.contains(value_hash))
    }
}

/// One record error as the ledger keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordError {
    pub side: String,
    pub object: String,
    pub id: String,
    pub class: String,
    pub code: Option<String>,
    pub message: String,
    pub hint: String,
    pub retryable: bool,
    pub attempts: u32,
    pub first_at: String,
    pub last_at: String,
}

/// Everything one batch changes, committed together.
#[derive(Debug, Default)]
pub struct Checkpoint {
    links: Vec<(String, String, String, String)>,
    unlinks: Vec<(String, String)>,
    hashes: Vec<(String, String, String, String)>,
    cursors: Vec<(String, String, String)>,
    errors: Vec<(String, String, String, ApiError)>,
    cleared: Vec<(String, String, String)>,
    writes: Vec<(String, String, String, String, bool)>,
    tombstones: Vec<super::tombstones::Tombstone>,
    /// Salesforce creates gathered for a later Bulk job (see `gather.rs`), and those settled.
    pending: Vec<super::pending::Pending>,
    unpended: Vec<(String, String)>,
}

impl Checkpoint {
    /// A record gone on one side (deleted or merged): its link ends and the tombstone says
    /// what became of its counterpart (see [`super::tombstones`]).
    pub fn tombstone(&mut self, t: super::tombstones::Tombstone) {
        let hs = match t.side.as_str() {
            "hubspot" => t.id.clone(),
            _ => t.counterpart.clone(),
        };
        self.unlink(&t.pair, &hs);
        self.tombstones.push(t);
    }
    pub fn tombstones_in_batch(&self) -> &[super::tombstones::Tombstone] {
        &self.tombstones
    }
    /// A Salesforce create gathered for a later Bulk job: kept in the ledger until then.
    pub fn pend(&mut self, p: super::pending::Pending) {
        self.pending.push(p);
    }
    /// A gathered create that is no longer waiting (written, or planned otherwise now).
    pub fn unpend(&mut self, pair: &str, hs_id: &str) {
        self.unpended.push((pair.into(), hs_id.into()));
    }
    pub fn link(&mut self, pair: &str, hs_id: &str, sf_id: &str, sf_type: &str) {
        self.links
            .push((pair.into(), hs_id.into(), sf_id.into(), sf_type.into()));
    }
    pub fn unlink(&mut self, pair: &str, hs_id: &str) {
        self.unlinks.push((pair.into(), hs_id.into()));
    }
    /// We wrote `hash` to this record: the next time we read it back with this hash, it is
    /// our own echo.
    pub fn wrote(&mut self, side: &str, object: &str, id: &str, hash: &str) {
        self.hashes
            .push((side.into(), object.into(), id.into(), hash.into()));
    }
    pub fn cursor(&mut self, side: &str, object: &str, cursor: &str) {
        self.cursors
            .push((side.into(), object.into(), cursor.into()));
    }
    /// A record failed. Within one checkpoint the last word on a record wins: a contact
    /// written fine whose activity Task then failed keeps that error.
    pub fn failed(&mut self, side: &str, object: &str, id: &str, e: &ApiError) {
        self.cleared
            .retain(|(s, o, i)| (s.as_str(), o.as_str(), i.as_str()) != (side, object, id));
        self.errors
            .push((side.into(), object.into(), id.into(), e.clone()));
    }
    pub fn succeeded(&mut self, side: &str, object: &str, id: &str) {
        self.errors
            .retain(|(s, o, i, _)| (s.as_str(), o.as_str(), i.as_str()) != (side, object, id));
        self.cleared.push((side.into(), object.into(), id.into()));
    }
    /// The sync wrote `value_hash` to this field; `reverted` when the field had that value
    /// written before within the flip window (the field is going back and forth).
    pub fn wrote_field(
        &mut self,
        object: &str,
        id: &str,
        field: &str,
        value_hash: &str,
        reverted: bool,
    ) {
        self.writes.push((
            object.into(),
            id.into(),
            field.into(),
            value_hash.into(),
            reverted,
        ));
    }
    /// The Salesforce record this batch linked a HubSpot record to, if it did.
    pub fn linked_in_batch(&self, pair: &str, hs_id: &str) -> Option<(&str, &str)> {
        self.links
            .iter()
            .rev()
            .find(|(p, h, _, _)| p == pair && h == hs_id)
            .map(|(_, _, sf, ty)| (sf.as_str(), ty.as_str()))
    }

    /// The links this batch made for `pair`, HubSpot id → Salesforce id (the last wins).
    pub fn links_of(&self, pair: &str) -> HashMap<String, String> {
        self.links
            .iter()
            .filter(|(p, ..)| p == pair)
            .map(|(_, h, s, _)| (h.clone(), s.clone()))
            .collect()
    }

    /// The HubSpot record this batch linked a Salesforce record to, if it did.
    pub fn hs_linked_in_batch(&self, pair: &str, sf_id: &str) -> Option<&str> {
        self.links
            .iter()
            .rev()
            .find(|(p, _, s, _)| p == pair && s == sf_id)
            .map(|(_, h, _, _)| h.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
            && self.unlinks.is_empty()
            && self.hashes.is_empty()
            && self.cursors.is_empty()
            && self.errors.is_empty()
            && self.cleared.is_empty()
            && self.writes.is_empty()
            && self.tombstones.is_empty()
            && self.pending.is_empty()
            && self.unpended.is_empty()
    }
}

pub struct Ledger {
    conn: Mutex<Connection>,
    path: String,
}

impl Ledger {
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        let label = path.display().to_string();
        let err = |source| LedgerError {
            path: label.clone(),
            source,
        };
        crate::private::database(path)
            .map_err(|e| err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))?;
        let conn = Connection::open(path).map_err(err)?;
        // WAL + FULL: a committed checkpoint survives a crash or power loss.
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Ledger {
            conn: Mutex::new(conn),
            path: label,
        })
    }

    pub fn in_memory() -> Result<Ledger, LedgerError> {
        let conn = Connection::open_in_memory().map_err(|source| LedgerError {
            path: ":memory:".into(),
            source,
        })?;
        conn.execute_batch(SCHEMA).map_err(|source| LedgerError {
            path: ":memory:".into(),
            source,
        })?;
        Ok(Ledger {
            conn: Mutex::new(conn),
            path: ":memory:".into(),
        })
    }

    pub(super) fn err(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError {
            path: self.path.clone(),
            source,
        }
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Commit a batch's changes in one transaction (all or nothing).
    pub fn commit(&self, cp: Checkpoint) -> Result<(), LedgerError> {
        if cp.is_empty() {
            return Ok(());
        }
        let now = Utc::now().to_rfc3339();
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let run = || -> rusqlite::Result<()> {
            for (pair, hs) in &cp.unlinks {
                tx.prepare_cached("DELETE FROM links WHERE pair = ?1 AND hs_id = ?2")?
                    .execute(params![pair, hs])?;
            }
            for (pair, hs, sf, ty) in &cp.links {
                tx.prepare_cached(
                    "INSERT INTO links (pair, hs_id, sf_id, sf_type, linked_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(pair, hs_id) DO UPDATE SET sf_id = excluded.sf_id, sf_type = excluded.sf_type",
                    )?
                    .execute(params![pair, hs, sf, ty, now])?;
            }
            for (side, object, id, hash) in &cp.hashes {
                tx.prepare_cached(
                    "INSERT INTO write_hashes (side, object, id, hash, written_at) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(side, object, id) DO UPDATE SET hash = excluded.hash, written_at = excluded.written_at",
                    )?
                    .execute(params![side, object, id, hash, now])?;
            }
            for (side, object, cursor) in &cp.cursors {
                tx.prepare_cached(
                    "INSERT INTO cursors (side, object, cursor, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(side, object) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                    )?
                    .execute(params![side, object, cursor, now])?;
            }
            for (side, object, id, e) in &cp.errors {
                tx.prepare_cached(
                    "INSERT INTO record_errors (side, object, id, class, code, message, hint, retryable, attempts, first_at, last_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?9)
                     ON CONFLICT(side, object, id) DO UPDATE SET class = excluded.class, code = excluded.code, message = excluded.message,
                       hint = excluded.hint, retryable = excluded.retryable, attempts = attempts + 1, last_at = excluded.last_at",
                    )?
                    .execute(params![side, object, id, e.class.as_str(), e.code, e.message, e.hint, e.retryable(), now])?;
            }
            // Most records never failed: skip a delete per record when no error is kept.
            let any_errors = !cp.cleared.is_empty()
                && tx.query_row("SELECT EXISTS (SELECT 1 FROM record_errors)", [], |r| {
                    r.get::<_, bool>(0)
                })?;
            for (side, object, id) in cp.cleared.iter().filter(|_| any_errors) {
                tx.prepare_cached(
                    "DELETE FROM record_errors WHERE side = ?1 AND object = ?2 AND id = ?3",
                )?
                .execute(params![side, object, id])?;
            }
            for t in &cp.tombstones {
                tx.prepare_cached(
                    "INSERT INTO tombstones (pair, side, id, sobject, counterpart, how, merged_into, policy, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT(pair, side, id) DO UPDATE SET counterpart = excluded.counterpart, how = excluded.how,
                       merged_into = excluded.merged_into, policy = excluded.policy, at = excluded.at",
                )?
                .execute(params![t.pair, t.side, t.id, t.sobject, t.counterpart, t.how, t.merged_into, t.policy, now])?;
            }
            super::pending::commit(&tx, &cp.unpended, &cp.pending, &now)?;
            for (object, id, field, value, reverted) in &cp.writes {
                tx.prepare_cached(
                    "INSERT INTO field_writes (object, id, field, value, reverted, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![object, id, field, value, reverted, now])?;
            }
            Ok(())
        };
        run().map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// The Salesforce (id, type) linked to a HubSpot record.
    pub fn linked_sf(
        &self,
        pair: &str,
        hs_id: &str,
    ) -> Result<Option<(String, String)>, LedgerError> {
        Ok(self.linked_sf_many(pair, &[hs_id])?.remove(hs_id))
    }

    /// One statement run for many keys in one read transaction: a batch takes the database's
    /// read lock once instead of once per record (which cost a quarter of a sync's time).
    /// `fixed` are the leading parameters, the key is the last; `on_row` sees every row.
    pub(super) fn read_rows(
        &self,
        sql: &str,
        fixed: &[&str],
        keys: &[&str],
        mut on_row: impl FnMut(&str, &rusqlite::Row<'_>) -> rusqlite::Result<()>,
    ) -> Result<(), LedgerError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut conn = self.lock();
        let mut run = || -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            {
                let mut st = tx.prepare_cached(sql)?;
                for key in keys {
                    let params =
                        rusqlite::params_from_iter(fixed.iter().chain(std::iter::once(key)));
                    let mut rows = st.query(params)?;
                    while let Some(row) = rows.next()? {
                        on_row(key, row)?;
                    }
                }
            }
            tx.commit()
        };
        run().map_err(|e| self.err(e))
    }

    /// [`Ledger::read_rows`] of a statement that finds at most one row per key.
    fn read_many<T>(
        &self,
        sql: &str,
        fixed: &[&str],
        keys: &[&str],
        row: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<HashMap<String, T>, LedgerError> {
        let mut out = HashMap::with_capacity(keys.len());
        self.read_rows(sql, fixed, keys, |key, r| {
            out.insert(key.to_string(), row(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The Salesforce (id, type) linked to each of these HubSpot records that has one.
    pub fn linked_sf_many(
        &self,
        pair: &str,
        hs_ids: &[&str],
    ) -> Result<HashMap<String, (String, String)>, LedgerError> {
        self.read_many(
            "SELECT sf_id, sf_type FROM links WHERE pair = ?1 AND hs_id = ?2",
            &[pair],
            hs_ids,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// The HubSpot id linked to each of these Salesforce records that has one.
    pub fn linked_hs_many(
        &self,
        pair: &str,
        sf_ids: &[&str],
    ) -> Result<HashMap<String, String>, LedgerError> {
        self.read_many(
            "SELECT hs_id FROM links WHERE pair = ?1 AND sf_id = ?2",
            &[pair],
            sf_ids,
            |r| r.get(0),
        )
    }

    /// The hash we last wrote to each of these records that has one (see [`Ledger::is_echo`]).
    pub fn written_hashes(
        &self,
        side: &str,
        object: &str,
        ids: &[&str],
    ) -> Result<HashMap<String, String>, LedgerError> {
        self.read_many(
            "SELECT hash FROM write_hashes WHERE side = ?1 AND object = ?2 AND id = ?3",
            &[side, object],
            ids,
            |r| r.get(0),
        )
    }

    /// The HubSpot id linked to a Salesforce record.
    pub fn linked_hs(&self, pair: &str, sf_id: &str) -> Result<Option<String>, LedgerError> {
        Ok(self.linked_hs_many(pair, &[sf_id])?.remove(sf_id))
    }

    pub fn link_count(&self, pair: &str) -> Result<u64, LedgerError> {
        self.lock()
            .query_row(
                "SELECT COUNT(*) FROM links WHERE pair = ?1",
                params![pair],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Is this state of the record the one we wrote last (our own echo)?
    pub fn is_echo(
        &self,
        side: &str,
        object: &str,
        id: &str,
        hash: &str,
    ) -> Result<bool, LedgerError> {
        let stored = self.written_hashes(side, object, &[id])?;
        Ok(stored.get(id).map(String::as_str) == Some(hash))
    }

    pub fn cursor(&self, side: &str, object: &str) -> Result<Option<String>, LedgerError> {
        self.lock()
            .query_row(
                "SELECT cursor FROM cursors WHERE side = ?1 AND object = ?2",
                params![side, object],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Record errors, optionally of one class, oldest first.
    pub fn errors(&self, class: Option<ErrorClass>) -> Result<Vec<RecordError>, LedgerError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT side, object, id, class, code, message, hint, retryable, attempts, first_at, last_at FROM record_errors
                 WHERE ?1 IS NULL OR class = ?1 ORDER BY first_at, side, object, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![class.map(|c| c.as_str())], |r| {
                Ok(RecordError {
                    side: r.get(0)?,
                    object: r.get(1)?,
                    id: r.get(2)?,
                    class: r.get(3)?,
                    code: r.get(4)?,
                    message: r.get(5)?,
                    hint: r.get(6)?,
                    retryable: r.get(7)?,
                    attempts: r.get::<_, i64>(8)? as u32,
                    first_at: r.get(9)?,
                    last_at: r.get(10)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Keep a finished pass's report (for `hubforce status`); the last 200 are kept.
    pub fn record_run(
        &self,
        started_at: DateTime<Utc>,
        report: &serde_json::Value,
    ) -> Result<(), LedgerError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO runs (started_at, report) VALUES (?1, ?2)",
            params![started_at.to_rfc3339(), report.to_string()],
        )
        .and_then(|_| {
            conn.execute(
                "DELETE FROM runs WHERE id <= (SELECT MAX(id) FROM runs) - 200",
                [],
            )
        })
        .map(|_| ())
        .map_err(|e| self.err(e))
    }

    /// Remove every trace of a linked pair of records (the check's round trip deletes its
    /// test records and must not leave links, hashes or errors pointing at them).
    pub fn forget(
        &self,
        pair: &str,
        hubspot: (&str, &str),
        salesforce: Option<(&str, &str)>,
    ) -> Result<(), LedgerError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let run = || -> rusqlite::Result<()> {
            tx.execute(
                "DELETE FROM links WHERE pair = ?1 AND hs_id = ?2",
                params![pair, hubspot.1],
            )?;
            let mut records = vec![("hubspot", hubspot.0, hubspot.1)];
            if let Some((object, id)) = salesforce {
                records.push(("salesforce", object, id));
            }
            for (side, object, id) in records {
                for table in ["write_hashes", "record_errors"] {
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE side = ?1 AND object = ?2 AND id = ?3"),
                        params![side, object, id],
                    )?;
                }
                tx.execute(
                    "DELETE FROM field_writes WHERE object = ?1 AND id = ?2",
                    params![object, id],
                )?;
            }
            Ok(())
        };
        run().map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// The last `n` runs, newest first: (started at, report).
    pub fn runs(&self, n: usize) -> Result<Vec<(String, serde_json::Value)>, LedgerError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT started_at, report FROM runs ORDER BY id DESC LIMIT ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![n as i64], |r| {
                let text: String = r.get(1)?;
                Ok((
                    r.get::<_, String>(0)?,
                    serde_json::from_str(&text).unwrap_or_default(),
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Linked records per pair.
    pub fn link_counts(&self) -> Result<Vec<(String, String, u64)>, LedgerError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT pair, sf_type, COUNT(*) FROM links GROUP BY pair, sf_type ORDER BY pair, sf_type")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// The flip detector's view of these records' field writes within `window`, read in one
    /// transaction for a whole batch: per field, how often a write put it back to a value
    /// written before (the signature of a loop: two sides, or two integrations, undoing each
    /// other; a field that only moves forward never counts), and the values written.
    pub fn field_history(
        &self,
        object: &str,
        ids: &[&str],
        window: Duration,
    ) -> Result<HashMap<String, FieldHistory>, LedgerError> {
        let mut out: HashMap<String, FieldHistory> = HashMap::new();
        let since = (Utc::now() - window).to_rfc3339();
        self.read_rows(
            "SELECT field, value, reverted FROM field_writes WHERE object = ?1 AND at >= ?2 AND id = ?3",
            &[object, &since],
            ids,
            |id, r| {
                let (field, value): (String, String) = (r.get(0)?, r.get(1)?);
                let h = out.entry(id.to_string()).or_default();
                if r.get::<_, bool>(2)? {
                    *h.reverted.entry(field.clone()).or_default() += 1;
                }
                h.written.entry(field).or_default().insert(value);
                Ok(())
            },
        )?;
        Ok(out)
    }
}

/// One field write through sync, as `explain` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FieldWrite {
    pub at: String,
    pub field: String,
    /// It put the field back to a value written before (what the flip detector counts).
    pub reverted: bool,
}

impl Ledger {
    /// The last `n` field writes of a pair's record (by its HubSpot id), newest first.
    pub fn field_writes_of(
        &self,
        pair: &str,
        hs_id: &str,
        n: usize,
    ) -> Result<Vec<FieldWrite>, LedgerError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT at, field, reverted FROM field_writes WHERE object = ?1 AND id = ?2 ORDER BY at DESC LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![pair, hs_id, n as i64], |r| {
                Ok(FieldWrite {
                    at: r.get(0)?,
                    field: r.get(1)?,
                    reverted: r.get(2)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}

/// A short stable hash of one field value (for the flip detector's history).
pub fn hash_value(v: &serde_json::Value) -> String {
    super::records::hex_prefix(&Sha256::digest(v.to_string().as_bytes()), 8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Provider;
    use serde_json::json;

    #[test]
    fn a_checkpoint_commits_links_hashes_cursors_and_errors_together() {
        let l = Ledger::in_memory().unwrap();
        let mut cp = Checkpoint::default();
        cp.link("contact", "501", "00Q1", "Lead");
        let fields = json!({"Email": "a@b.c", "LastName": "A"});
        let h = hash_fields(fields.as_object().unwrap());
        cp.wrote("salesforce", "Lead", "00Q1", &h);
        cp.cursor("hubspot", "contacts", "2026-01-01T00:00:00.000Z|501");
        let e = ApiError::new(
            Provider::Salesforce,
            ErrorClass::Validation,
            "Required fields are missing: [Company]",
        )
        .with_code("REQUIRED_FIELD_MISSING");
        cp.failed("salesforce", "Lead", "hs:502", &e);
        l.commit(cp).unwrap();
        assert_eq!(
            l.linked_sf("contact", "501").unwrap(),
            Some(("00Q1".into(), "Lead".into()))
        );
        assert_eq!(
            l.linked_hs("contact", "00Q1").unwrap().as_deref(),
            Some("501")
        );
        assert!(l.is_echo("salesforce", "Lead", "00Q1", &h).unwrap());
        assert!(!l.is_echo("salesforce", "Lead", "00Q1", "other").unwrap());
        assert_eq!(
            l.cursor("hubspot", "contacts").unwrap().as_deref(),
            Some("2026-01-01T00:00:00.000Z|501")
        );
        let errs = l.errors(Some(ErrorClass::Validation)).unwrap();
        assert_eq!(
            (errs.len(), errs[0].attempts, errs[0].code.as_deref()),
            (1, 1, Some("REQUIRED_FIELD_MISSING"))
        );
        let mut cp = Checkpoint::default();
        cp.failed("salesforce", "Lead", "hs:502", &e);
        l.commit(cp).unwrap();
        assert_eq!(l.errors(None).unwrap()[0].attempts, 2);
        let mut cp = Checkpoint::default();
        cp.succeeded("salesforce", "Lead", "hs:502");
        l.commit(cp).unwrap();
        assert!(l.errors(None).unwrap().is_empty());
    }

    #[test]
    fn a_batch_read_answers_as_one_read_per_record_would() {
        let l = Ledger::in_memory().unwrap();
        let mut cp = Checkpoint::default();
        cp.link("contact", "501", "00Q1", "Lead");
        cp.link("contact", "502", "0031", "Contact");
        cp.link("company", "501", "0011", "Account");
        cp.wrote("hubspot", "contacts", "501", "h501");
        cp.wrote("salesforce", "contacts", "502", "not hubspot's");
        l.commit(cp).unwrap();
        let links = l.linked_sf_many("contact", &["501", "502", "503"]).unwrap();
        assert_eq!(links.len(), 2);
        assert_eq!(links["502"], ("0031".to_string(), "Contact".to_string()));
        let back = l
            .linked_hs_many("contact", &["00Q1", "0011", "0031"])
            .unwrap();
        assert_eq!(
            (back.len(), back["00Q1"].as_str(), back["0031"].as_str()),
            (2, "501", "502")
        );
        let hashes = l
            .written_hashes("hubspot", "contacts", &["501", "502"])
            .unwrap();
        assert_eq!(hashes.len(), 1);
        assert_eq!(hashes["501"], "h501");
        assert!(
            l.written_hashes("hubspot", "contacts", &[])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn clearing_a_record_error_still_deletes_it_beside_new_errors() {
        let l = Ledger::in_memory().unwrap();
        let e = ApiError::new(Provider::Hubspot, ErrorClass::Validation, "bad");
        let mut cp = Checkpoint::default();
        cp.failed("hubspot", "contacts", "1", &e);
        l.commit(cp).unwrap();
        // Nothing kept for these: the deletes are skipped, nothing else changes.
        let mut cp = Checkpoint::default();
        cp.failed("hubspot", "contacts", "2", &e);
        cp.succeeded("hubspot", "contacts", "1");
        cp.succeeded("hubspot", "contacts", "3");
        l.commit(cp).unwrap();
        let ids: Vec<String> = l.errors(None).unwrap().into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["2"]);
        let mut cp = Checkpoint::default();
        cp.succeeded("hubspot", "contacts", "2");
        l.commit(cp).unwrap();
        assert!(l.errors(None).unwrap().is_empty());
    }

    #[test]
    fn a_batch_that_fails_midway_leaves_nothing_behind() {
        let l = Ledger::in_memory().unwrap();
        let mut cp = Checkpoint::default();
        cp.link("contact", "1", "00Q1", "Lead");
        l.commit(cp).unwrap();
        // The second batch links another HubSpot record to the same Salesforce id: the
        // UNIQUE constraint fails inside the transaction, after its cursor was written.
        let mut cp = Checkpoint::default();
        cp.cursor("hubspot", "contacts", "later");
        cp.link("contact", "2", "00Q1", "Lead");
        assert!(l.commit(cp).is_err());
        assert_eq!(
            l.cursor("hubspot", "contacts").unwrap(),
            None,
            "the cursor did not move"
        );
        assert_eq!(l.link_count("contact").unwrap(), 1);
    }

    #[test]
    fn the_ledger_survives_reopening_and_counts_flips() {
        let dir = std::env::temp_dir().join(format!("hubforce-ledger-{}", std::process::id()));
        let path = dir.join("ledger.sqlite");
        {
            let l = Ledger::open(&path).unwrap();
            let mut cp = Checkpoint::default();
            cp.link("company", "9", "0011", "Account");
            cp.wrote_field("contacts", "9", "jobtitle", "a", false);
            cp.wrote_field("contacts", "9", "jobtitle", "b", false);
            cp.wrote_field("contacts", "9", "jobtitle", "a", true);
            cp.wrote_field("contacts", "9", "phone", "1", false);
            l.commit(cp).unwrap();
        }
        let l = Ledger::open(&path).unwrap();
        assert_eq!(
            l.linked_sf("company", "9").unwrap().map(|x| x.0).as_deref(),
            Some("0011")
        );
        let hour = Duration::hours(1);
        // Only the write that put jobtitle back to "a" counts as a flip.
        let history = l.field_history("contacts", &["9", "10"], hour).unwrap();
        assert!(!history.contains_key("10"));
        let h = &history["9"];
        assert_eq!((h.flips("jobtitle"), h.flips("phone")), (1, 0));
        assert!(h.wrote("jobtitle", "b") && h.wrote("phone", "1"));
        assert!(!h.wrote("jobtitle", "c") && !h.wrote("phone", "a"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn hashes_ignore_key_order() {
        let a = json!({"a": 1, "b": "x"});
        let b = json!({"b": "x", "a": 1});
        assert_eq!(
            hash_fields(a.as_object().unwrap()),
            hash_fields(b.as_object().unwrap())
        );
        assert_ne!(
            hash_fields(a.as_object().unwrap()),
            hash_fields(json!({"a": 2, "b": "x"}).as_object().unwrap())
        );
    }
}
