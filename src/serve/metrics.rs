//! `/metrics` in Prometheus' text format (version 0.0.4): counters of the passes the watcher
//! in this process ran, and gauges read from the state at each scrape — record errors by
//! class, API calls of the last 24 h by provider, pair, stage and caller, the daily budget
//! used and left, and each plugin's generation.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::Shared;
use crate::sync::report::RunReport;

/// Totals over the passes of this process.
#[derive(Debug, Default)]
pub struct Counters {
    pub passes: u64,
    pub passes_stopped: u64,
    /// (direction, outcome) → records.
    pub records: BTreeMap<(String, &'static str), u64>,
    pub record_errors: BTreeMap<String, u64>,
    /// (provider, pair, stage) → calls.
    pub calls: BTreeMap<(String, String, String), u64>,
    pub last_pass_seconds: f64,
    pub last_pass_end: i64,
}

impl Counters {
    pub fn add(&mut self, r: &RunReport) {
        if r.dry_run {
            return;
        }
        self.passes += 1;
        self.passes_stopped += u64::from(r.stopped.is_some());
        for (dir, c) in &r.directions {
            for (outcome, n) in [
                ("pulled", c.pulled),
                ("created", c.created),
                ("updated", c.updated),
                ("failed", c.failed),
                ("echoes", c.echoes),
            ] {
                *self.records.entry((dir.clone(), outcome)).or_default() += n;
            }
        }
        for (class, n) in &r.errors_by_class {
            *self.record_errors.entry(class.clone()).or_default() += n;
        }
        for p in &r.calls_by {
            let key = (
                p.provider.clone(),
                p.pair.clone().unwrap_or_default(),
                p.stage.clone(),
            );
            *self.calls.entry(key).or_default() += p.calls;
        }
        self.last_pass_seconds = r.seconds;
        self.last_pass_end = chrono::Utc::now().timestamp();
    }
}

/// A label value, escaped as the format says (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

pub async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let profile = label(&shared.session.profile);
    let mut o = String::new();
    {
        let c = shared.counters.lock().unwrap_or_else(|e| e.into_inner());
        family(
            &mut o,
            "hubforce_passes_total",
            "counter",
            "Sync passes run by this process.",
        );
        let _ = writeln!(
            o,
            "hubforce_passes_total{{profile=\"{profile}\"}} {}",
            c.passes
        );
        family(
            &mut o,
            "hubforce_passes_stopped_total",
            "counter",
            "Passes that stopped early (budget, grant, outage).",
        );
        let _ = writeln!(
            o,
            "hubforce_passes_stopped_total{{profile=\"{profile}\"}} {}",
            c.passes_stopped
        );
        family(
            &mut o,
            "hubforce_records_total",
            "counter",
            "Records by direction and outcome.",
        );
        for ((dir, outcome), n) in &c.records {
            let _ = writeln!(
                o,
                "hubforce_records_total{{profile=\"{profile}\",direction=\"{}\",outcome=\"{outcome}\"}} {n}",
                label(dir)
            );
        }
        family(
            &mut o,
            "hubforce_record_errors_total",
            "counter",
            "Record errors by class, over the passes of this process.",
        );
        for (class, n) in &c.record_errors {
            let _ = writeln!(
                o,
                "hubforce_record_errors_total{{profile=\"{profile}\",class=\"{}\"}} {n}",
                label(class)
            );
        }
        family(
            &mut o,
            "hubforce_api_calls_total",
            "counter",
            "API calls by provider, pair and stage, over the passes of this process.",
        );
        for ((provider, pair, stage), n) in &c.calls {
            let _ = writeln!(
                o,
                "hubforce_api_calls_total{{profile=\"{profile}\",provider=\"{}\",pair=\"{}\",stage=\"{}\"}} {n}",
                label(provider),
                label(pair),
                label(stage)
            );
        }
        family(
            &mut o,
            "hubforce_last_pass_seconds",
            "gauge",
            "How long the last pass took.",
        );
        let _ = writeln!(
            o,
            "hubforce_last_pass_seconds{{profile=\"{profile}\"}} {}",
            c.last_pass_seconds
        );
        family(
            &mut o,
            "hubforce_last_pass_end_timestamp_seconds",
            "gauge",
            "When the last pass ended (0: none yet).",
        );
        let _ = writeln!(
            o,
            "hubforce_last_pass_end_timestamp_seconds{{profile=\"{profile}\"}} {}",
            c.last_pass_end
        );
    }
    let mut open = BTreeMap::<String, u64>::new();
    for e in shared.setup.ledger.errors(None).unwrap_or_default() {
        *open.entry(e.class).or_default() += 1;
    }
    family(
        &mut o,
        "hubforce_record_errors",
        "gauge",
        "Records in error now, by class (the sync health cards).",
    );
    for (class, n) in &open {
        let _ = writeln!(
            o,
            "hubforce_record_errors{{profile=\"{profile}\",class=\"{}\"}} {n}",
            label(class)
        );
    }
    family(
        &mut o,
        "hubforce_api_calls_24h",
        "gauge",
        "API calls of the last 24 h by provider, pair, stage and caller (the request log).",
    );
    for p in shared.session.log.by_place(24) {
        let _ = writeln!(
            o,
            "hubforce_api_calls_24h{{profile=\"{profile}\",provider=\"{}\",pair=\"{}\",stage=\"{}\",caller=\"{}\"}} {}",
            label(&p.provider),
            label(p.pair.as_deref().unwrap_or("")),
            label(&p.stage),
            label(&p.caller),
            p.calls
        );
    }
    let budgets = [
        shared
            .session
            .hubspot
            .as_ref()
            .map(|h| ("hubspot", h.transport.clone())),
        shared
            .session
            .salesforce
            .as_ref()
            .map(|s| ("salesforce", s.transport.clone())),
    ];
    let budgets: Vec<(&str, u64, u64)> = budgets
        .into_iter()
        .flatten()
        .map(|(provider, t)| {
            (
                provider,
                t.budget.report().used_today,
                t.budget.left_today(),
            )
        })
        .collect();
    family(
        &mut o,
        "hubforce_budget_used",
        "gauge",
        "API calls used today against hubforce's allocation.",
    );
    for (provider, used, _) in &budgets {
        let _ = writeln!(
            o,
            "hubforce_budget_used{{profile=\"{profile}\",provider=\"{provider}\"}} {used}"
        );
    }
    family(
        &mut o,
        "hubforce_budget_left",
        "gauge",
        "API calls left today in hubforce's allocation.",
    );
    for (provider, _, left) in &budgets {
        let _ = writeln!(
            o,
            "hubforce_budget_left{{profile=\"{profile}\",provider=\"{provider}\"}} {left}"
        );
    }
    let plugins = shared.setup.plugins.list();
    family(
        &mut o,
        "hubforce_plugin_generation",
        "gauge",
        "The active generation of each plugin (a reload adds one).",
    );
    for p in &plugins {
        let _ = writeln!(
            o,
            "hubforce_plugin_generation{{profile=\"{profile}\",plugin=\"{}\"}} {}",
            label(&p.name),
            p.generation
        );
    }
    family(
        &mut o,
        "hubforce_plugin_broken",
        "gauge",
        "1 when a plugin's last load or reload failed.",
    );
    for p in &plugins {
        let _ = writeln!(
            o,
            "hubforce_plugin_broken{{profile=\"{profile}\",plugin=\"{}\"}} {}",
            label(&p.name),
            u8::from(p.error.is_some())
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        o,
    )
}
