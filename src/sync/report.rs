//! What a sync pass did (or, dry, would do): counts per direction, errors by class, API
//! calls, and for dry runs the per-record plans. Rendered for people or as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Map, Value};

use super::mapping::FieldPlan;

/// Counts for one direction of one pair (`contact → Lead`, `Lead → contact`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub pulled: u64,
    pub excluded: u64,
    pub echoes: u64,
    pub unchanged: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Links this direction found ended by a deletion on either side (events, beside the
    /// pulled records' columns: every pulled record is in exactly one of the others).
    pub deleted: u64,
    /// Links it found ended by a merge.
    pub merged: u64,
}

impl Counts {
    pub fn synced(&self) -> u64 {
        self.created + self.updated + self.unchanged
    }
}

/// One record's plan in a dry run.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedRecord {
    pub pair: String,
    pub hubspot_id: Option<String>,
    pub salesforce_id: Option<String>,
    pub sobject: String,
    /// `create in Salesforce`, `update`, `create in HubSpot`, `no change`.
    pub action: String,
    pub fields: Vec<FieldPlan>,
    pub salesforce_writes: Map<String, Value>,
    pub hubspot_writes: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    pub dry_run: bool,
    /// Plan records even when they are our own echo (`hubforce explain`).
    #[serde(skip)]
    pub plan_echoes: bool,
    /// Linked pairs a dry run planned already (the other direction would plan them again).
    #[serde(skip)]
    pub planned_pairs: std::collections::HashSet<(String, String)>,
    pub directions: BTreeMap<String, Counts>,
    pub errors_by_class: BTreeMap<String, u64>,
    /// API calls this pass made, per provider — on a command's first pass, with what
    /// preparing the engine cost (describes, owners, id properties).
    pub calls: BTreeMap<String, u64>,
    /// Salesforce pulls of more than one REST page: read through Bulk or REST, and what
    /// each way costs (a dry run's import is priced both ways).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pulls_priced: Vec<super::pull::PullPrice>,
    /// Salesforce writes: through Bulk ingest jobs or collections, and what each way costs,
    /// by sObject, operation and path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes_priced: Vec<super::write_price::WritePrice>,
    /// `calls` by provider, pair, stage and caller.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls_by: Vec<crate::store::PlacedCalls>,
    /// Of `calls`, the setup's (the first pass of a command only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub setup_calls: BTreeMap<String, u64>,
    /// For dry runs: the calls the writes would cost.
    pub write_calls_planned: BTreeMap<String, u64>,
    pub seconds: f64,
    /// Why the pass stopped before the end (budget spent, revoked token…), with what to do.
    pub stopped: Option<String>,
    pub stopped_class: Option<crate::error::ErrorClass>,
    /// The pass ended early because a stop was asked (SIGTERM, Ctrl-C), at a checkpoint.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Answers that said the schema changed under hubforce (`Lead: INVALID_FIELD`): the
    /// kept describes and properties are forgotten, the next pass reads them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_moved: Vec<String>,
    /// Fields the flip detector left alone.
    pub flips: Vec<String>,
    /// The same, as `pair.field` → records left alone (what an alert is raised for).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub frozen_fields: BTreeMap<String, u64>,
    /// Records found deleted or merged, and what became of their counterparts.
    pub gone: Vec<String>,
    pub plans: Vec<PlannedRecord>,
    /// For dry runs of a Bulk import: the creates and id write-backs planned so far, by pair,
    /// priced together when the pull ends (as a real pass gathers and writes them).
    #[serde(skip)]
    pub gathered: BTreeMap<String, GatheredTally>,
    /// For dry runs: the records that would fail, with their error (the first
    /// `FAILURES_KEPT`; `errors_by_class` counts them all).
    pub failures: Vec<PlannedFailure>,
}

/// A dry run's tally of what a real pass would gather for one pair (see `gather.rs`).
#[derive(Debug, Clone, Default)]
pub struct GatheredTally {
    /// Creates by sObject.
    pub creates: BTreeMap<String, u64>,
    /// Salesforce ids to be written back to HubSpot.
    pub write_backs: u64,
}

/// How many failing records a dry run keeps with their message.
pub const FAILURES_KEPT: usize = 1000;

/// A record a dry run found would fail, and why.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedFailure {
    pub side: String,
    pub object: String,
    pub id: String,
    pub class: String,
    /// The error as `hubforce errors` prints it.
    pub error: String,
}

impl RunReport {
    pub fn counts(&mut self, direction: &str) -> &mut Counts {
        self.directions.entry(direction.to_string()).or_default()
    }

    pub fn error(&mut self, class: &str) {
        *self.errors_by_class.entry(class.to_string()).or_default() += 1;
    }

    /// A record that fails: counted, and in a dry run kept with its error.
    /// An answer that says a kept schema no longer holds (see `provider_cache`).
    pub fn note_schema(&mut self, object: &str, e: &crate::error::ApiError) {
        if super::provider_cache::schema_moved(e) {
            let what = format!("{object}: {}", e.code.as_deref().unwrap_or_default());
            if !self.schema_moved.contains(&what) {
                self.schema_moved.push(what);
            }
        }
    }

    pub fn failure(&mut self, (side, object, id): (&str, &str, &str), e: &crate::error::ApiError) {
        self.error(e.class.as_str());
        self.note_schema(object, e);
        if self.dry_run && self.failures.len() < FAILURES_KEPT {
            self.failures.push(PlannedFailure {
                side: side.into(),
                object: object.into(),
                id: id.into(),
                class: e.class.as_str().into(),
                error: e.to_string(),
            });
        }
    }

    pub fn synced(&self) -> u64 {
        self.directions.values().map(Counts::synced).sum()
    }

    pub fn written(&self) -> u64 {
        self.directions
            .values()
            .map(|c| c.created + c.updated)
            .sum()
    }

    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    /// API calls per record that was created, updated or confirmed unchanged.
    pub fn calls_per_record(&self) -> f64 {
        let n = self.synced();
        if n == 0 {
            0.0
        } else {
            self.total_calls() as f64 / n as f64
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let title = if self.dry_run {
            "Dry run (nothing written)"
        } else {
            "Sync"
        };
        let _ = writeln!(out, "{title}: {:.1} s", self.seconds);
        self.render_table(&mut out);
        for g in self.gone.iter().take(10) {
            let _ = writeln!(out, "  gone: {g}");
        }
        if self.gone.len() > 10 {
            let _ = writeln!(
                out,
                "  … and {} more deleted or merged (`hubforce explain` shows one)",
                self.gone.len() - 10
            );
        }
        if !self.errors_by_class.is_empty() {
            let list: Vec<String> = self
                .errors_by_class
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(
                out,
                "  record errors: {} (see `hubforce errors`)",
                list.join(", ")
            );
        }
        let calls: Vec<String> = self.calls.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let setup: Vec<String> = self
            .setup_calls
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            out,
            "  API calls: {}{} — {:.4} per synced record",
            if calls.is_empty() {
                "none".into()
            } else {
                calls.join(", ")
            },
            if setup.is_empty() {
                String::new()
            } else {
                format!(" (of them setting up: {})", setup.join(", "))
            },
            self.calls_per_record()
        );
        if !self.schema_moved.is_empty() {
            let _ = writeln!(
                out,
                "  the schema changed ({}): describes and properties are read again before the next pass",
                self.schema_moved.join(", ")
            );
        }
        for p in &self.pulls_priced {
            let (used, other) = if p.bulk {
                (
                    format!("a Bulk API 2.0 query job, about {} calls", p.bulk_calls),
                    format!("REST pages: {}", p.rest_calls),
                )
            } else {
                (
                    format!("REST pages, {} calls", p.rest_calls),
                    format!("a Bulk API 2.0 query job: about {}", p.bulk_calls),
                )
            };
            let _ = writeln!(
                out,
                "  {}: {} records read through {used} ({other})",
                p.sobject, p.records
            );
        }
        // Writes of more than one collection are worth a line.
        for p in self.writes_priced.iter().filter(|p| p.rest_calls > 1) {
            let (bulk, rest, what) = if p.provider == "hubspot" {
                ("CRM imports", "batches of 100", "updates")
            } else {
                ("Bulk API 2.0 ingest jobs", "collections of 200", "")
            };
            let (used, other) = if p.bulk {
                (
                    format!("{bulk}, about {} calls", p.bulk_calls),
                    format!("{rest}: {}", p.rest_calls),
                )
            } else {
                (
                    format!("{rest}, {} calls", p.rest_calls),
                    format!("{bulk}: about {}", p.bulk_calls),
                )
            };
            let what = if what.is_empty() {
                format!("{}s", p.operation)
            } else {
                what.to_string()
            };
            let _ = writeln!(
                out,
                "  {} {what}: {} records written through {used} ({other})",
                p.sobject, p.records
            );
        }
        for line in super::calls::render(&self.calls_by) {
            let _ = writeln!(out, "    {line}");
        }
        if self.dry_run {
            let planned: Vec<String> = self
                .write_calls_planned
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(
                out,
                "  the writes would cost: {}",
                if planned.is_empty() {
                    "no calls".into()
                } else {
                    planned.join(", ")
                }
            );
        }
        for f in &self.flips {
            let _ = writeln!(out, "  flip detector: {f}");
        }
        if let Some(s) = &self.stopped {
            let _ = writeln!(out, "  stopped early: {s}");
        }
        out
    }

    /// The counts per direction, one row each.
    fn render_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "  {:<24} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
            "direction",
            "pulled",
            "excluded",
            "echoes",
            "same",
            "created",
            "updated",
            "skipped",
            "failed",
            "deleted",
            "merged"
        );
        for (d, c) in &self.directions {
            let _ = writeln!(
                out,
                "  {:<24} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}",
                d,
                c.pulled,
                c.excluded,
                c.echoes,
                c.unchanged,
                c.created,
                c.updated,
                c.skipped,
                c.failed,
                c.deleted,
                c.merged
            );
        }
    }

    /// The dry-run diff: per record, per field that would change, both values, the rule,
    /// the winner and the write.
    pub fn render_plans(&self, limit: usize) -> String {
        let mut out = String::new();
        let changing: Vec<&PlannedRecord> = self
            .plans
            .iter()
            .filter(|p| p.action != "no change")
            .collect();
        for p in changing.iter().take(limit) {
            let _ = writeln!(
                out,
                "{} {} — HubSpot {} ⇄ {} {}: {}",
                p.pair,
                p.hubspot_id.as_deref().unwrap_or("(new)"),
                p.hubspot_id.as_deref().unwrap_or("-"),
                p.sobject,
                p.salesforce_id.as_deref().unwrap_or("(new)"),
                p.action
            );
            for f in &p.fields {
                let write = match (&f.decision.write_hubspot, &f.decision.write_salesforce) {
                    (Some(v), _) => format!("HubSpot {} := {}", f.hubspot, short(v)),
                    (_, Some(v)) => format!("Salesforce {} := {}", f.salesforce, short(v)),
                    _ => continue,
                };
                let _ = writeln!(
                    out,
                    "    {:<18} HubSpot {:<24} Salesforce {:<24} {:<30} → {write}",
                    f.hubspot,
                    short(&f.hubspot_value),
                    short(&f.salesforce_value),
                    f.rule,
                );
            }
            for (k, v) in &p.hubspot_writes {
                if !p.fields.iter().any(|f| &f.hubspot == k) {
                    let why = if k.starts_with("salesforce") && k.ends_with("id") {
                        "(the link's id)"
                    } else {
                        "(plugin transform)"
                    };
                    let _ = writeln!(
                        out,
                        "    {:<18} {why:<19} → HubSpot {k} := {}",
                        "",
                        short(v)
                    );
                }
            }
            for (k, v) in &p.salesforce_writes {
                if !p.fields.iter().any(|f| &f.salesforce == k) {
                    let _ = writeln!(
                        out,
                        "    {:<18} (plugin transform)  → Salesforce {k} := {}",
                        "",
                        short(v)
                    );
                }
            }
        }
        if changing.len() > limit {
            let _ = writeln!(
                out,
                "… and {} more records (use --json for all)",
                changing.len() - limit
            );
        }
        for f in self.failures.iter().take(limit) {
            let _ = writeln!(out, "would fail: {} {}: {}", f.object, f.id, f.error);
        }
        if self.failures.len() > limit {
            let _ = writeln!(
                out,
                "… and {} more that would fail (use --json for all)",
                self.failures.len() - limit
            );
        }
        out
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::Null => "—".to_string(),
        Value::String(s) if s.is_empty() => "—".to_string(),
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    };
    if s.chars().count() > 24 {
        format!("{}…", s.chars().take(23).collect::<String>())
    } else {
        s
    }
}
