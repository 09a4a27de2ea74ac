//! `hubforce check`: the seed guide's post-connection checklist, run in seconds — the
//! configuration, the tokens (valid at the provider, refresh working), the scopes and
//! Salesforce field permissions the sync needs, a round trip of a test contact, the sync's
//! health, and every plugin's own checks — each failure with its fix, in the style of Neovim's `:checkhealth`.

mod builtin;
mod health;
mod report;
mod roundtrip;
mod schema;
pub mod writes;

pub use report::{CheckReport, Finding, Status};

use std::time::Instant;

use crate::plugins::PluginSet;
use crate::session::Session;
use crate::sync::hooks::Hooks;
use crate::sync::ledger::Ledger;
use crate::sync::settings::SyncSettings;

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Only checks whose `group.check` name starts with this (`hubspot`, `hubspot.tokens`,
    /// `plugin:northwind`, a plugin's name).
    pub only: Option<String>,
    /// Skip the round trip (it writes a test contact to both sides).
    pub no_roundtrip: bool,
}

impl CheckOptions {
    fn wants(&self, group: &str, check: &str) -> bool {
        match &self.only {
            None => true,
            Some(o) => {
                let full = format!("{group}.{check}");
                full.starts_with(o.as_str())
                    || group == o.as_str()
                    || group.strip_prefix("plugin:") == Some(o.as_str())
            }
        }
    }
}

/// Run the checks of one profile.
pub async fn run(
    session: &Session,
    plugins: &PluginSet,
    ledger: &Ledger,
    settings: &SyncSettings,
    opts: &CheckOptions,
) -> CheckReport {
    let started = Instant::now();
    let mut report = CheckReport::default();
    // The providers' checks are independent: they run side by side, reported in order.
    // What the plugins' transforms write: checked for permissions and against the schemas.
    let mappings = plugins.mappings().unwrap_or_default();
    let pairs = crate::sync::pairs::enabled(plugins, settings);
    let writes = if opts.wants("salesforce", "permissions") || opts.wants("sync", "schema") {
        writes::discover(session, plugins, &pairs, &mappings).await
    } else {
        writes::TransformWrites::default()
    };
    let (mut hubspot, mut salesforce) = (CheckReport::default(), CheckReport::default());
    tokio::join!(
        builtin::hubspot(session, plugins, (settings, &pairs), opts, &mut hubspot),
        builtin::salesforce(session, plugins, &pairs, &writes, opts, &mut salesforce),
    );
    report.append(hubspot);
    report.append(salesforce);
    roundtrip::mappings(plugins, settings, opts, &mut report);
    schema::run(session, &mappings, &writes, &pairs, opts, &mut report).await;
    roundtrip::run(session, plugins, ledger, settings, opts, &mut report).await;
    health::run(session, ledger, (settings, &pairs), opts, &mut report);
    plugin_checks(plugins, opts, &mut report).await;
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// Each plugin's `checks(report)` hook; a hook that throws is that plugin's error, with
/// the file and line.
async fn plugin_checks(plugins: &PluginSet, opts: &CheckOptions, report: &mut CheckReport) {
    for info in plugins.list() {
        let group = format!("plugin:{}", info.name);
        if !opts.wants(&group, "checks") {
            continue;
        }
        if let Some(e) = &info.error {
            report.push(
                &group,
                "load",
                Status::Error,
                e.clone(),
                Some(
                    "fix the plugin at the file:line shown; `hubforce plugin list` shows its state"
                        .into(),
                ),
            );
            continue;
        }
        let Some(p) = plugins.get(&info.name) else {
            continue;
        };
        if !p.has("checks") {
            continue;
        }
        match p.run_checks().await {
            Err(e) => report.push(
                &group,
                "checks",
                Status::Error,
                e.message().to_string(),
                Some(format!(
                    "the check itself failed: fix plugins/{}/init.lua at the line shown",
                    info.name
                )),
            ),
            Ok(v) => {
                let items = v["items"].as_array().cloned().unwrap_or_default();
                for (i, item) in items.iter().enumerate() {
                    let status = match item["status"].as_str() {
                        Some("ok") => Status::Ok,
                        Some("warn") => Status::Warn,
                        Some("error") => Status::Error,
                        _ => Status::Info,
                    };
                    report.push(
                        &group,
                        &format!("check {}", i + 1),
                        status,
                        item["message"].as_str().unwrap_or_default().to_string(),
                        item["hint"].as_str().map(String::from),
                    );
                }
                if items.is_empty() && !v["returned"].is_null() {
                    report.push(
                        &group,
                        "checks",
                        Status::Info,
                        v["returned"].to_string(),
                        None,
                    );
                }
            }
        }
    }
}
