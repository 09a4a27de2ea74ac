//! SQLite state. This part: the request log (method, path, status, duration, class,
//! caller, budget left), bounded in size, summarised by `hubforce status`.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use rusqlite::{Connection, params};
use serde::Serialize;

use crate::error::{ErrorClass, Provider};

/// Rows kept; older ones are dropped.
const MAX_ROWS: i64 = 200_000;

#[derive(Debug, thiserror::Error)]
#[error("request log {path}: {source}")]
pub struct StoreError {
    path: String,
    source: rusqlite::Error,
}

/// A file-system failure as SQLite's error type, which the store's errors carry.
fn io_error(e: std::io::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

/// Rows are buffered and written in one transaction per batch: a log write then costs a
/// few microseconds on the request path instead of a SQLite commit.
const FLUSH_EVERY: usize = 256;

struct Row {
    at: String,
    provider: &'static str,
    method: String,
    path: String,
    status: Option<u16>,
    duration_ms: f64,
    class: Option<&'static str>,
    caller: String,
    pair: Option<String>,
    stage: &'static str,
    budget_left: i64,
}

pub struct RequestLog {
    conn: Mutex<Connection>,
    pending: Mutex<Vec<Row>>,
    inserts: Mutex<u64>,
}

/// Calls of one provider and caller over a period.
#[derive(Debug, Clone, Serialize)]
pub struct CallSummary {
    pub provider: String,
    pub caller: String,
    pub calls: u64,
    pub errors: u64,
    pub p95_ms: Option<u64>,
}

/// Calls made from one place: a pair (None: every pair, as setup serves), a stage of the
/// pass and a caller.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlacedCalls {
    pub provider: String,
    pub pair: Option<String>,
    pub stage: String,
    pub caller: String,
    pub calls: u64,
}

/// How one provider's calls went over a period (for `hubforce check`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestHealth {
    pub calls: u64,
    pub timeouts: u64,
    pub auth_errors: u64,
    pub p95_ms: Option<u64>,
}

/// Paths that carry a token in them (HubSpot token introspection) are logged without it.
fn loggable_path(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    match path.find("-tokens/") {
        Some(i) => format!("{}-tokens/[redacted]", &path[..i]),
        None => path.to_string(),
    }
}

/// Logs written before calls had a pair and a stage gain the columns (older rows: `other`).
fn add_place_columns(conn: &Connection) -> rusqlite::Result<()> {
    let mut columns = Vec::new();
    {
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('request_log')")?;
        let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
        columns.extend(names.flatten());
    }
    if !columns.iter().any(|c| c == "pair") {
        conn.execute_batch("ALTER TABLE request_log ADD COLUMN pair TEXT")?;
    }
    if !columns.iter().any(|c| c == "stage") {
        conn.execute_batch(
            "ALTER TABLE request_log ADD COLUMN stage TEXT NOT NULL DEFAULT 'other'",
        )?;
    }
    Ok(())
}

impl RequestLog {
    pub fn open(path: &Path) -> Result<RequestLog, StoreError> {
        let err = |source| StoreError {
            path: path.display().to_string(),
            source,
        };
        crate::private::database(path).map_err(|e| err(io_error(e)))?;
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
             CREATE TABLE IF NOT EXISTS request_log (
               id INTEGER PRIMARY KEY, at TEXT NOT NULL, provider TEXT NOT NULL, method TEXT NOT NULL,
               path TEXT NOT NULL, status INTEGER, duration_ms REAL NOT NULL, class TEXT,
               caller TEXT NOT NULL, budget_left INTEGER, pair TEXT, stage TEXT NOT NULL DEFAULT 'other');
             CREATE INDEX IF NOT EXISTS request_log_at ON request_log(at);",
        )
        .map_err(err)?;
        add_place_columns(&conn).map_err(err)?;
        Ok(RequestLog {
            conn: Mutex::new(conn),
            pending: Mutex::new(Vec::new()),
            inserts: Mutex::new(0),
        })
    }

    pub fn in_memory() -> RequestLog {
        // An in-memory database cannot fail to open short of allocation failure.
        match Connection::open_in_memory().and_then(|c| {
            c.execute_batch(
                "CREATE TABLE request_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL, provider TEXT NOT NULL, method TEXT NOT NULL,
                 path TEXT NOT NULL, status INTEGER, duration_ms REAL NOT NULL, class TEXT, caller TEXT NOT NULL, budget_left INTEGER,
                 pair TEXT, stage TEXT NOT NULL DEFAULT 'other');",
            )?;
            Ok(c)
        }) {
            Ok(conn) => RequestLog { conn: Mutex::new(conn), pending: Mutex::new(Vec::new()), inserts: Mutex::new(0) },
            Err(e) => panic!("in-memory SQLite failed: {e}"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        provider: Provider,
        method: &str,
        path: &str,
        status: Option<u16>,
        class: Option<ErrorClass>,
        took: Duration,
        (caller, pair, stage): (&str, Option<&str>, &'static str),
        budget_left: u64,
    ) {
        let row = Row {
            at: Utc::now().to_rfc3339(),
            provider: provider.as_str(),
            method: method.to_string(),
            path: loggable_path(path),
            status,
            duration_ms: took.as_secs_f64() * 1000.0,
            class: class.map(|c| c.as_str()),
            caller: caller.to_string(),
            pair: pair.map(str::to_string),
            stage,
            budget_left: budget_left as i64,
        };
        let full = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.push(row);
            p.len() >= FLUSH_EVERY
        };
        if full {
            self.flush();
        }
    }

    /// Write buffered rows in one transaction, and keep the table bounded.
    pub fn flush(&self) {
        let rows = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if rows.is_empty() {
            return;
        }
        let Ok(mut conn) = self.conn.lock() else {
            return;
        };
        let result = (|| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO request_log (at, provider, method, path, status, duration_ms, class, caller, budget_left, pair, stage) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?;
                for r in &rows {
                    stmt.execute(params![
                        r.at,
                        r.provider,
                        r.method,
                        r.path,
                        r.status,
                        r.duration_ms,
                        r.class,
                        r.caller,
                        r.budget_left,
                        r.pair,
                        r.stage
                    ])?;
                }
            }
            tx.commit()
        })();
        if let Err(e) = result {
            tracing::warn!("request log write failed: {e}");
            return;
        }
        let mut n = self.inserts.lock().unwrap_or_else(|e| e.into_inner());
        *n += rows.len() as u64;
        if *n >= 10_000 {
            *n = 0;
            let _ = conn.execute(
                "DELETE FROM request_log WHERE id <= (SELECT MAX(id) FROM request_log) - ?1",
                params![MAX_ROWS],
            );
        }
    }

    /// Calls per provider and caller since `hours` ago.
    pub fn summary(&self, hours: i64) -> Vec<CallSummary> {
        self.flush();
        let Ok(conn) = self.conn.lock() else {
            return Vec::new();
        };
        let since = (Utc::now() - chrono::Duration::hours(hours)).to_rfc3339();
        let mut out = Vec::new();
        let Ok(mut stmt) = conn.prepare(
            "SELECT provider, caller, COUNT(*), SUM(class IS NOT NULL) FROM request_log WHERE at >= ?1 GROUP BY provider, caller ORDER BY provider, caller",
        ) else {
            return out;
        };
        let rows = stmt.query_map(params![since], |r| {
            Ok(CallSummary {
                provider: r.get(0)?,
                caller: r.get(1)?,
                calls: r.get::<_, i64>(2)? as u64,
                errors: r.get::<_, i64>(3)? as u64,
                p95_ms: None,
            })
        });
        if let Ok(rows) = rows {
            out.extend(rows.flatten());
        }
        for s in out.iter_mut() {
            s.p95_ms = p95_ms(&conn, &since, &s.provider, Some(&s.caller), s.calls);
        }
        out
    }

    /// Calls to `provider` in each of the last `hours` hours, oldest first (the last is the
    /// hour now running).
    pub fn hourly(&self, provider: Provider, hours: usize) -> Vec<u64> {
        self.flush();
        let mut out = vec![0u64; hours];
        let Ok(conn) = self.conn.lock() else {
            return out;
        };
        let now = Utc::now();
        let since = (now - chrono::Duration::hours(hours as i64)).to_rfc3339();
        // Counted by hour in SQLite: a busy day is 100,000 rows, not to be read to be counted.
        let Ok(mut stmt) = conn.prepare(
            "SELECT CAST((julianday(?3) - julianday(at)) * 24 AS INTEGER) AS ago, COUNT(*)
             FROM request_log WHERE at >= ?1 AND provider = ?2 GROUP BY ago",
        ) else {
            return out;
        };
        let rows = stmt.query_map(params![since, provider.as_str(), now.to_rfc3339()], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        });
        for (ago, n) in rows.into_iter().flatten().flatten() {
            let ago = ago.max(0) as usize;
            if ago < hours {
                out[hours - 1 - ago] += n as u64;
            }
        }
        out
    }

    /// Calls per provider, pair, stage and caller since `hours` ago.
    pub fn by_place(&self, hours: i64) -> Vec<PlacedCalls> {
        self.flush();
        let Ok(conn) = self.conn.lock() else {
            return Vec::new();
        };
        let since = (Utc::now() - chrono::Duration::hours(hours)).to_rfc3339();
        let Ok(mut stmt) = conn.prepare(
            "SELECT provider, pair, stage, caller, COUNT(*) FROM request_log WHERE at >= ?1
             GROUP BY provider, pair, stage, caller ORDER BY provider, pair, stage, caller",
        ) else {
            return Vec::new();
        };
        let rows = stmt.query_map(params![since], |r| {
            Ok(PlacedCalls {
                provider: r.get(0)?,
                pair: r.get(1)?,
                stage: r.get(2)?,
                caller: r.get(3)?,
                calls: r.get::<_, i64>(4)? as u64,
            })
        });
        rows.map(|rows| rows.flatten().collect())
            .unwrap_or_default()
    }

    /// How long ago each call to `provider` in the last `within` was answered, and whether
    /// it was a CRM search: a new process's pacer starts from what the last one left in the
    /// provider's windows.
    pub fn recent(&self, provider: Provider, within: Duration) -> Vec<(Duration, bool)> {
        self.flush();
        let Ok(conn) = self.conn.lock() else {
            return Vec::new();
        };
        let now = Utc::now();
        let since = now - chrono::Duration::from_std(within).unwrap_or_default();
        let Ok(mut stmt) = conn.prepare(
            "SELECT at, path FROM request_log WHERE at >= ?1 AND provider = ?2 ORDER BY id",
        ) else {
            return Vec::new();
        };
        let rows = stmt.query_map(params![since.to_rfc3339(), provider.as_str()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        });
        let Ok(rows) = rows else {
            return Vec::new();
        };
        rows.flatten()
            .filter_map(|(at, path)| {
                let at = chrono::DateTime::parse_from_rfc3339(&at).ok()?;
                let ago = (now - at.with_timezone(&Utc)).to_std().unwrap_or_default();
                Some((ago, path.ends_with("/search")))
            })
            .collect()
    }

    /// Calls made to `provider` since `since` (what today's budget has spent already, for a
    /// new process).
    pub fn calls_since(&self, provider: Provider, since: chrono::DateTime<Utc>) -> u64 {
        self.flush();
        let Ok(conn) = self.conn.lock() else {
            return 0;
        };
        conn.query_row(
            "SELECT COUNT(*) FROM request_log WHERE at >= ?1 AND provider = ?2",
            params![since.to_rfc3339(), provider.as_str()],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n as u64)
        .unwrap_or(0)
    }

    /// How the calls to `provider` went since `since`: count, p95 latency, timeouts (no
    /// answer, or a 408/504) and auth failures other than an expired token (which is
    /// refreshed and replayed as designed).
    pub fn health(&self, provider: Provider, since: chrono::DateTime<Utc>) -> RequestHealth {
        self.flush();
        let mut h = RequestHealth::default();
        let Ok(conn) = self.conn.lock() else {
            return h;
        };
        let since = since.to_rfc3339();
        let counts = conn.query_row(
            "SELECT COUNT(*),
                    COALESCE(SUM(class IS NOT NULL AND (status IS NULL OR status IN (408, 504))), 0),
                    COALESCE(SUM(class LIKE 'auth.%' AND class != 'auth.expired'), 0)
             FROM request_log WHERE at >= ?1 AND provider = ?2",
            params![since, provider.as_str()],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)),
        );
        let Ok((calls, timeouts, auth)) = counts else {
            return h;
        };
        h.calls = calls as u64;
        h.timeouts = timeouts as u64;
        h.auth_errors = auth as u64;
        h.p95_ms = p95_ms(&conn, &since, provider.as_str(), None, h.calls);
        h
    }

    /// Every logged path (for tests that check nothing secret was written).
    pub fn paths(&self) -> Vec<String> {
        self.flush();
        let Ok(conn) = self.conn.lock() else {
            return Vec::new();
        };
        let Ok(mut stmt) = conn.prepare("SELECT path FROM request_log") else {
            return Vec::new();
        };
        stmt.query_map([], |r| r.get::<_, String>(0))
            .map(|rows| rows.flatten().collect())
            .unwrap_or_default()
    }
}

/// The 95th-percentile duration of the `calls` rows of `provider` (and `caller`, if given)
/// logged since `since`, in whole milliseconds.
fn p95_ms(
    conn: &Connection,
    since: &str,
    provider: &str,
    caller: Option<&str>,
    calls: u64,
) -> Option<u64> {
    if calls == 0 {
        return None;
    }
    let offset = ((calls as f64 * 0.95).floor() as i64).min(calls as i64 - 1);
    conn.query_row(
        "SELECT duration_ms FROM request_log WHERE at >= ?1 AND provider = ?2 AND (?3 IS NULL OR caller = ?3) ORDER BY duration_ms LIMIT 1 OFFSET ?4",
        params![since, provider, caller, offset],
        |r| r.get::<_, f64>(0),
    )
    .ok()
    .map(|ms| ms.round() as u64)
}

impl Drop for RequestLog {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Plugin-scoped persistent key/value (Lua's `store`): the only plugin state that survives a
/// reload. Values are JSON.
pub struct PluginStore {
    conn: Mutex<Connection>,
}

impl PluginStore {
    pub fn open(path: &Path) -> Result<PluginStore, StoreError> {
        let err = |source| StoreError {
            path: path.display().to_string(),
            source,
        };
        crate::private::database(path).map_err(|e| err(io_error(e)))?;
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE IF NOT EXISTS plugin_store (plugin TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
               updated_at TEXT NOT NULL, PRIMARY KEY (plugin, key));",
        )
        .map_err(err)?;
        Ok(PluginStore {
            conn: Mutex::new(conn),
        })
    }

    pub fn in_memory() -> PluginStore {
        match Connection::open_in_memory().and_then(|c| {
            c.execute_batch("CREATE TABLE plugin_store (plugin TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (plugin, key));")?;
            Ok(c)
        }) {
            Ok(conn) => PluginStore { conn: Mutex::new(conn) },
            Err(e) => panic!("in-memory SQLite failed: {e}"),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Move the keys of namespace `old` to `new`, once: only while `new` has none, and never
    /// from the REPL's or a script's namespace.
    pub fn adopt(&self, old: &str, new: &str) -> rusqlite::Result<()> {
        if old == "repl" || old.starts_with("script:") || old.starts_with("plugin:") {
            return Ok(());
        }
        self.lock().execute(
            "UPDATE plugin_store SET plugin = ?2 WHERE plugin = ?1
             AND NOT EXISTS (SELECT 1 FROM plugin_store WHERE plugin = ?2)",
            params![old, new],
        )?;
        Ok(())
    }

    pub fn get(&self, plugin: &str, key: &str) -> rusqlite::Result<Option<serde_json::Value>> {
        let conn = self.lock();
        let text: Option<String> = conn
            .query_row(
                "SELECT value FROM plugin_store WHERE plugin = ?1 AND key = ?2",
                params![plugin, key],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| {
                if e == rusqlite::Error::QueryReturnedNoRows {
                    Ok(None)
                } else {
                    Err(e)
                }
            })?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    pub fn set(&self, plugin: &str, key: &str, value: &serde_json::Value) -> rusqlite::Result<()> {
        self.lock().execute(
            "INSERT INTO plugin_store (plugin, key, value, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![plugin, key, value.to_string(), Utc::now().to_rfc3339()],
        )?;
        Ok(())
    }

    pub fn delete(&self, plugin: &str, key: &str) -> rusqlite::Result<()> {
        self.lock().execute(
            "DELETE FROM plugin_store WHERE plugin = ?1 AND key = ?2",
            params![plugin, key],
        )?;
        Ok(())
    }

    pub fn keys(&self, plugin: &str) -> rusqlite::Result<Vec<String>> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare("SELECT key FROM plugin_store WHERE plugin = ?1 ORDER BY key")?;
        let rows = stmt.query_map(params![plugin], |r| r.get::<_, String>(0))?;
        rows.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_summarise_by_provider_and_caller_and_hide_tokens_in_paths() {
        let log = RequestLog::in_memory();
        for i in 0..20 {
            log.record(
                Provider::Hubspot,
                "GET",
                "/crm/v3/objects/contacts?after=5",
                Some(200),
                None,
                Duration::from_millis(i),
                ("host", Some("contact"), "pull"),
                100,
            );
        }
        log.record(
            Provider::Hubspot,
            "GET",
            "/oauth/v1/access-tokens/CJSP5qf1KhICAQEY",
            Some(200),
            None,
            Duration::from_millis(1),
            ("host", None, "other"),
            99,
        );
        log.record(
            Provider::Salesforce,
            "GET",
            "/services/data/v62.0/query",
            Some(400),
            Some(ErrorClass::Validation),
            Duration::from_millis(5),
            ("plugin:x", Some("contact"), "write"),
            9,
        );
        let s = log.summary(24);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].calls, s[0].errors), (21, 0));
        assert_eq!(s[0].p95_ms, Some(18));
        assert_eq!((s[1].caller.as_str(), s[1].errors), ("plugin:x", 1));
        let placed = log.by_place(24);
        let row = |pair: Option<&str>, stage: &str| {
            placed
                .iter()
                .find(|p| p.pair.as_deref() == pair && p.stage == stage)
                .map(|p| p.calls)
        };
        assert_eq!(row(Some("contact"), "pull"), Some(20));
        assert_eq!(row(None, "other"), Some(1));
        assert_eq!(row(Some("contact"), "write"), Some(1));
        let paths = log.paths();
        assert!(
            paths
                .iter()
                .all(|p| !p.contains("CJSP5") && !p.contains('?')),
            "{paths:?}"
        );
    }

    #[test]
    fn calls_are_counted_by_the_hour_they_were_made_in() {
        let log = RequestLog::in_memory();
        for _ in 0..3 {
            log.record(
                Provider::Hubspot,
                "GET",
                "/x",
                Some(200),
                None,
                Duration::from_millis(1),
                ("sync", None, "pull"),
                100,
            );
        }
        {
            log.flush();
            let conn = log.conn.lock().unwrap();
            let two_hours_ago = (Utc::now() - chrono::Duration::minutes(150)).to_rfc3339();
            let old_day = (Utc::now() - chrono::Duration::hours(30)).to_rfc3339();
            for at in [two_hours_ago, old_day] {
                conn.execute(
                    "INSERT INTO request_log (at, provider, method, path, duration_ms, caller, stage)
                     VALUES (?1, 'hubspot', 'GET', '/x', 1, 'sync', 'pull')",
                    params![at],
                )
                .unwrap();
            }
        }
        let hours = log.hourly(Provider::Hubspot, 24);
        assert_eq!(hours.len(), 24);
        assert_eq!((hours[23], hours[21], hours.iter().sum::<u64>()), (3, 1, 4));
        assert_eq!(log.hourly(Provider::Salesforce, 24).iter().sum::<u64>(), 0);
    }

    #[test]
    fn a_log_from_before_places_gains_the_columns() {
        let dir = std::env::temp_dir().join(format!("hubforce-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("requests.sqlite");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE request_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL, provider TEXT NOT NULL,
             method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER, duration_ms REAL NOT NULL,
             class TEXT, caller TEXT NOT NULL, budget_left INTEGER);
             INSERT INTO request_log (at, provider, method, path, duration_ms, caller)
             VALUES ('2999-01-01T00:00:00Z', 'hubspot', 'GET', '/x', 1, 'sync');",
        )
        .unwrap();
        drop(old);
        let log = RequestLog::open(&path).unwrap();
        log.record(
            Provider::Hubspot,
            "GET",
            "/y",
            Some(200),
            None,
            Duration::from_millis(1),
            ("sync", Some("deal"), "write"),
            1,
        );
        let placed = log.by_place(24);
        assert_eq!(placed.len(), 2, "{placed:?}");
        assert!(
            placed
                .iter()
                .any(|p| p.pair.is_none() && p.stage == "other")
        );
        assert!(placed.iter().any(|p| p.pair.as_deref() == Some("deal")));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn health_counts_timeouts_and_auth_failures_but_not_expired_tokens() {
        let log = RequestLog::in_memory();
        let call = |status: Option<u16>, class: Option<ErrorClass>, ms: u64| {
            log.record(
                Provider::Salesforce,
                "GET",
                "/q",
                status,
                class,
                Duration::from_millis(ms),
                ("sync", None, "pull"),
                1,
            )
        };
        for i in 0..16 {
            call(Some(200), None, 10 + i);
        }
        call(Some(504), Some(ErrorClass::Transient), 900);
        call(None, Some(ErrorClass::Transient), 1000);
        call(Some(401), Some(ErrorClass::AuthExpired), 3);
        call(Some(401), Some(ErrorClass::AuthRevoked), 3);
        call(Some(503), Some(ErrorClass::Transient), 4);
        let h = log.health(
            Provider::Salesforce,
            Utc::now() - chrono::Duration::hours(1),
        );
        assert_eq!((h.calls, h.timeouts, h.auth_errors), (21, 2, 1));
        assert_eq!(h.p95_ms, Some(900));
        assert_eq!(
            log.health(Provider::Hubspot, Utc::now() - chrono::Duration::hours(1))
                .calls,
            0
        );
    }
}
