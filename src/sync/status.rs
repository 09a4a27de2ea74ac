//! The sync part of `hubforce status`: the last runs, linked records per object, record
//! errors by class, and the budget left today on each side.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::ledger::ledger_path;
use super::ledger::{Ledger, LedgerError};
use crate::session::Session;

#[derive(Debug, Serialize)]
pub struct LastRun {
    pub started_at: String,
    pub seconds: f64,
    pub dry_run: bool,
    pub created: u64,
    pub updated: u64,
    pub failed: u64,
    pub calls: u64,
    pub stopped: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct BudgetLeft {
    pub provider: String,
    pub used_today: u64,
    pub allocation: u64,
    pub left: u64,
}

#[derive(Debug, Serialize)]
pub struct SyncStatus {
    pub runs: Vec<LastRun>,
    /// (pair, sObject) → linked records.
    pub linked: Vec<(String, String, u64)>,
    /// Pair → records a Bulk import gathered that wait for their job (a pass stopped
    /// before writing them; the next pass writes them first).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub waiting: BTreeMap<String, u64>,
    pub errors_by_class: BTreeMap<String, u64>,
    pub budgets: Vec<BudgetLeft>,
}

fn sum(report: &Value, key: &str) -> u64 {
    report["directions"]
        .as_object()
        .map(|d| d.values().map(|c| c[key].as_u64().unwrap_or(0)).sum())
        .unwrap_or(0)
}

/// What each connected provider's daily budget has used and has left.
pub fn budgets(session: &Session) -> Vec<BudgetLeft> {
    let transports = [
        session
            .hubspot
            .as_ref()
            .map(|h| ("hubspot", h.transport.clone())),
        session
            .salesforce
            .as_ref()
            .map(|s| ("salesforce", s.transport.clone())),
    ];
    transports
        .into_iter()
        .flatten()
        .map(|(name, t)| {
            let r = t.budget.report();
            BudgetLeft {
                provider: name.into(),
                used_today: r.used_today,
                allocation: r.daily_max,
                left: t.budget.left_today(),
            }
        })
        .collect()
}

impl SyncStatus {
    pub fn read(session: &Session) -> Result<SyncStatus, LedgerError> {
        SyncStatus::of(session, &Ledger::open(&ledger_path(session))?)
    }

    /// The status from a ledger already open (the sync health page's).
    pub fn of(session: &Session, ledger: &Ledger) -> Result<SyncStatus, LedgerError> {
        let runs = ledger
            .runs(5)?
            .into_iter()
            .map(|(at, r)| LastRun {
                started_at: at,
                seconds: r["seconds"].as_f64().unwrap_or(0.0),
                dry_run: r["dry_run"].as_bool().unwrap_or(false),
                created: sum(&r, "created"),
                updated: sum(&r, "updated"),
                failed: sum(&r, "failed"),
                calls: r["calls"]
                    .as_object()
                    .map(|c| c.values().filter_map(Value::as_u64).sum())
                    .unwrap_or(0),
                stopped: r["stopped"].as_str().map(String::from),
            })
            .collect();
        let mut errors_by_class = BTreeMap::new();
        for e in ledger.errors(None)? {
            *errors_by_class.entry(e.class).or_default() += 1;
        }
        let budgets = budgets(session);
        let mut waiting = BTreeMap::new();
        for (pair, n) in ledger.pending_by_pair()? {
            waiting.insert(pair, n);
        }
        Ok(SyncStatus {
            runs,
            linked: ledger.link_counts()?,
            waiting,
            errors_by_class,
            budgets,
        })
    }

    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "sync");
        if self.runs.is_empty() {
            let _ = writeln!(
                o,
                "  no sync has run yet: `hubforce sync --dry-run` shows what the first one would do"
            );
        }
        for r in &self.runs {
            let _ = writeln!(
                o,
                "  {} {:>6.1} s{} created {} updated {} failed {} calls {}{}",
                r.started_at.get(..19).unwrap_or(&r.started_at),
                r.seconds,
                if r.dry_run { " (dry run)" } else { "" },
                r.created,
                r.updated,
                r.failed,
                r.calls,
                r.stopped
                    .as_ref()
                    .map(|s| format!(" — stopped: {s}"))
                    .unwrap_or_default()
            );
        }
        if !self.linked.is_empty() {
            let list: Vec<String> = self
                .linked
                .iter()
                .map(|(pair, sobject, n)| format!("{pair} ⇄ {sobject} {n}"))
                .collect();
            let _ = writeln!(o, "  linked records: {}", list.join(", "));
        }
        for (pair, n) in &self.waiting {
            let _ = writeln!(
                o,
                "  waiting for a Bulk job: {n} {pair} records a stopped import gathered; the next `hubforce sync` writes them first"
            );
        }
        if self.errors_by_class.is_empty() {
            let _ = writeln!(o, "  record errors: none");
        } else {
            let list: Vec<String> = self
                .errors_by_class
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(
                o,
                "  record errors: {} (`hubforce errors` lists them)",
                list.join(", ")
            );
        }
        for b in &self.budgets {
            let _ = writeln!(
                o,
                "  budget today: {} {} of {} used, {} left",
                b.provider, b.used_today, b.allocation, b.left
            );
        }
        o
    }
}
