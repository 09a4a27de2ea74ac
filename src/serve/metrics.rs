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

/// The exposition being written: every sample carries the profile as its first label, and
/// every label value is escaped here.
struct Exposition {
    out: String,
    profile: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let _ = write!(self.out, "{name}{{profile=\"{}\"", self.profile);
        for (k, v) in labels {
            let _ = write!(self.out, ",{k}=\"{}\"", label(v));
        }
        let _ = writeln!(self.out, "}} {value}");
    }
}

pub async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let mut x = Exposition {
        out: String::new(),
        profile: label(&shared.session.profile),
    };
    {
        let c = shared.counters.lock().unwrap_or_else(|e| e.into_inner());
        x.family(
            "hubforce_passes_total",
            "counter",
            "Sync passes run by this process.",
        );
        x.sample("hubforce_passes_total", &[], c.passes);
        x.family(
            "hubforce_passes_stopped_total",
            "counter",
            "Passes that stopped early (budget, grant, outage).",
        );
        x.sample("hubforce_passes_stopped_total", &[], c.passes_stopped);
        x.family(
            "hubforce_records_total",
            "counter",
            "Records by direction and outcome.",
        );
        for ((dir, outcome), n) in &c.records {
            let labels = [("direction", dir.as_str()), ("outcome", *outcome)];
            x.sample("hubforce_records_total", &labels, n);
        }
        x.family(
            "hubforce_record_errors_total",
            "counter",
            "Record errors by class, over the passes of this process.",
        );
        for (class, n) in &c.record_errors {
            x.sample("hubforce_record_errors_total", &[("class", class)], n);
        }
        x.family(
            "hubforce_api_calls_total",
            "counter",
            "API calls by provider, pair and stage, over the passes of this process.",
        );
        for ((provider, pair, stage), n) in &c.calls {
            let labels = [
                ("provider", provider.as_str()),
                ("pair", pair),
                ("stage", stage),
            ];
            x.sample("hubforce_api_calls_total", &labels, n);
        }
        x.family(
            "hubforce_last_pass_seconds",
            "gauge",
            "How long the last pass took.",
        );
        x.sample("hubforce_last_pass_seconds", &[], c.last_pass_seconds);
        x.family(
            "hubforce_last_pass_end_timestamp_seconds",
            "gauge",
            "When the last pass ended (0: none yet).",
        );
        x.sample(
            "hubforce_last_pass_end_timestamp_seconds",
            &[],
            c.last_pass_end,
        );
    }
    let mut open = BTreeMap::<String, u64>::new();
    for e in shared.setup.ledger.errors(None).unwrap_or_default() {
        *open.entry(e.class).or_default() += 1;
    }
    x.family(
        "hubforce_record_errors",
        "gauge",
        "Records in error now, by class (the sync health cards).",
    );
    for (class, n) in &open {
        x.sample("hubforce_record_errors", &[("class", class)], n);
    }
    x.family(
        "hubforce_api_calls_24h",
        "gauge",
        "API calls of the last 24 h by provider, pair, stage and caller (the request log).",
    );
    for p in shared.session.log.by_place(24) {
        let labels = [
            ("provider", p.provider.as_str()),
            ("pair", p.pair.as_deref().unwrap_or("")),
            ("stage", &p.stage),
            ("caller", &p.caller),
        ];
        x.sample("hubforce_api_calls_24h", &labels, p.calls);
    }
    let budgets = crate::sync::status::budgets(&shared.session);
    x.family(
        "hubforce_budget_used",
        "gauge",
        "API calls used today against hubforce's allocation.",
    );
    for b in &budgets {
        x.sample(
            "hubforce_budget_used",
            &[("provider", &b.provider)],
            b.used_today,
        );
    }
    x.family(
        "hubforce_budget_left",
        "gauge",
        "API calls left today in hubforce's allocation.",
    );
    for b in &budgets {
        x.sample("hubforce_budget_left", &[("provider", &b.provider)], b.left);
    }
    let plugins = shared.setup.plugins.list();
    x.family(
        "hubforce_plugin_generation",
        "gauge",
        "The active generation of each plugin (a reload adds one).",
    );
    for p in &plugins {
        x.sample(
            "hubforce_plugin_generation",
            &[("plugin", &p.name)],
            p.generation,
        );
    }
    x.family(
        "hubforce_plugin_broken",
        "gauge",
        "1 when a plugin's last load or reload failed.",
    );
    for p in &plugins {
        let broken = u8::from(p.error.is_some());
        x.sample("hubforce_plugin_broken", &[("plugin", &p.name)], broken);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        x.out,
    )
}
