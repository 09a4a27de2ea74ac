//! The sync's health: record errors in the last 24 h by class, each provider's budget left
//! against what the configured sync needs a day, and how the calls went (p95 latency,
//! timeouts, auth failures) from the request log.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use serde_json::Value;

use super::{CheckOptions, CheckReport, Status};
use crate::api::transport::Transport;
use crate::error::Provider;
use crate::session::Session;
use crate::store::RequestHealth;
use crate::sync::ledger::Ledger;
use crate::sync::pairs::PairSpec;
use crate::sync::settings::SyncSettings;

const G: &str = "health";

/// Below this many calls a rate says nothing.
const MIN_CALLS: u64 = 10;

pub fn run(
    session: &Session,
    ledger: &Ledger,
    (settings, pairs): (&SyncSettings, &[PairSpec]),
    opts: &CheckOptions,
    report: &mut CheckReport,
) {
    if opts.wants(G, "errors") {
        record_errors(ledger, report);
    }
    let transports = [
        (
            Provider::Hubspot,
            session.hubspot.as_ref().map(|a| a.transport.clone()),
        ),
        (
            Provider::Salesforce,
            session.salesforce.as_ref().map(|a| a.transport.clone()),
        ),
    ];
    if opts.wants(G, "budget") {
        // The recorded passes, read once for both providers.
        let runs: Vec<Value> = ledger
            .runs(20)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        for (provider, transport) in &transports {
            if let Some(t) = transport {
                budget(*provider, t, &runs, (settings, pairs), report);
            }
        }
    }
    for (provider, transport) in &transports {
        if transport.is_some() && opts.wants(G, "requests") {
            let h = session
                .log
                .health(*provider, Utc::now() - Duration::hours(24));
            requests(*provider, &h, report);
        }
    }
}

fn record_errors(ledger: &Ledger, report: &mut CheckReport) {
    let errors = ledger.errors(None).unwrap_or_default();
    let since = (Utc::now() - Duration::hours(24)).to_rfc3339();
    let mut by_class = BTreeMap::<&str, usize>::new();
    for e in errors.iter().filter(|e| e.last_at >= since) {
        *by_class.entry(e.class.as_str()).or_default() += 1;
    }
    if by_class.is_empty() {
        report.push(
            G,
            "errors",
            Status::Ok,
            "no record errors in the last 24 h",
            None,
        );
    } else {
        let list: Vec<String> = by_class.iter().map(|(k, v)| format!("{k} {v}")).collect();
        report.push(
            G,
            "errors",
            Status::Warn,
            format!("record errors in the last 24 h: {}", list.join(", ")),
            Some(
                "`hubforce errors` lists them with what to do; `hubforce resync` retries them"
                    .into(),
            ),
        );
    }
}

/// Calls one watch pass costs on `provider`: the median of the recorded passes without
/// what preparing cost (a watch prepares once; an import is a one-off and must not count),
/// or, before any pass, the least a pass can cost (one read per pair on each side: a pair's
/// Salesforce pulls share one Composite call).
fn calls_per_pass(provider: Provider, runs: &[Value], pairs: &[PairSpec]) -> (u64, bool) {
    let key = provider.as_str();
    let mut measured: Vec<u64> = runs
        .iter()
        .filter_map(|r| {
            let setup = r["setup_calls"][key].as_u64().unwrap_or(0);
            Some(r["calls"][key].as_u64()?.saturating_sub(setup))
        })
        .collect();
    if !measured.is_empty() {
        measured.sort_unstable();
        return (measured[measured.len() / 2], true);
    }
    (pairs.len() as u64, false)
}

fn budget(
    provider: Provider,
    t: &Transport,
    runs: &[Value],
    (settings, pairs): (&SyncSettings, &[PairSpec]),
    report: &mut CheckReport,
) {
    let name = provider.label();
    let daily_max = t.budget.report().daily_max.max(1);
    let left = t.budget.left_today();
    let interval = settings.watch_interval_secs.max(1);
    let (per_pass, measured) = calls_per_pass(provider, runs, pairs);
    let need = per_pass * (86_400 / interval);
    let how = format!(
        "a watch pass every {interval} s costs {}{per_pass} calls: about {need} a day, {:.1} % of the {daily_max} hubforce may use",
        if measured { "" } else { "at least " },
        percent(need, daily_max)
    );
    let mut problems: Vec<(String, String)> = Vec::new();
    if need > daily_max {
        // The interval at which the passes fit in the allocation.
        let fits = (86_400 * per_pass).div_ceil(daily_max);
        problems.push((
            format!("{how}: more than allocated"),
            format!("set `watch_interval_secs = {fits}` (or more) in the profile's [sync], or raise the allocation (`share`, `daily_limit`) in hubforce.toml"),
        ));
    }
    if (left as f64) < 0.1 * daily_max as f64 {
        problems.push((
            format!("only {left} of {daily_max} calls left today"),
            "syncs pause when it is spent and resume after the reset; raise the allocation (`share`, `daily_limit`) if this is every day".into(),
        ));
    }
    if problems.is_empty() {
        report.push(
            G,
            "budget",
            Status::Ok,
            format!("{name}: {left} of {daily_max} calls left today; {how}"),
            None,
        );
    } else {
        let (what, fix): (Vec<String>, Vec<String>) = problems.into_iter().unzip();
        report.push(
            G,
            "budget",
            Status::Warn,
            format!("{name}: {}", what.join("; ")),
            Some(fix.join("; ")),
        );
    }
}

fn percent(n: u64, of: u64) -> f64 {
    100.0 * n as f64 / of.max(1) as f64
}

fn requests(provider: Provider, h: &RequestHealth, report: &mut CheckReport) {
    let name = provider.label();
    if h.calls < MIN_CALLS {
        report.push(
            G,
            "requests",
            Status::Info,
            format!(
                "{name}: {} calls in the last 24 h, too few to judge",
                h.calls
            ),
            None,
        );
        return;
    }
    let p95 = h.p95_ms.unwrap_or_default();
    let timeouts = percent(h.timeouts, h.calls);
    let auth = percent(h.auth_errors, h.calls);
    let summary = format!(
        "{name}: {} calls in the last 24 h, p95 {p95} ms, {timeouts:.1}% timed out or unanswered, {auth:.1}% refused authentication",
        h.calls
    );
    let host = match provider {
        Provider::Hubspot => "api.hubapi.com (status.hubspot.com)",
        Provider::Salesforce => "your instance (status.salesforce.com)",
    };
    if timeouts >= 10.0 {
        report.push(
            G,
            "requests",
            Status::Error,
            summary,
            Some(format!(
                "frequent timeouts point at the network or the API: check the proxy, firewall or VPN between this machine and {host}; hubforce retries them, but each costs time and a call"
            )),
        );
    } else if h.auth_errors > 0 {
        report.push(
            G,
            "requests",
            Status::Warn,
            summary,
            Some(format!(
                "the token checks above say whether the connection is broken now; if it is, run `hubforce connect {provider}`"
            )),
        );
    } else if timeouts >= 2.0 || p95 > 5_000 {
        report.push(
            G,
            "requests",
            Status::Warn,
            summary,
            Some(format!(
                "the API is slow or the network drops calls: check the way to {host}; lower the sync's `batch_size` if large batches time out"
            )),
        );
    } else {
        report.push(G, "requests", Status::Ok, summary, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(h: RequestHealth) -> (Status, String) {
        let mut r = CheckReport::default();
        requests(Provider::Salesforce, &h, &mut r);
        let f = &r.findings[0];
        (f.status, f.fix.clone().unwrap_or_default())
    }

    #[test]
    fn rates_decide_the_status_and_few_calls_say_nothing() {
        let h = |calls, timeouts, auth_errors, p95| RequestHealth {
            calls,
            timeouts,
            auth_errors,
            p95_ms: Some(p95),
        };
        assert_eq!(one(h(5, 5, 0, 10)).0, Status::Info);
        assert_eq!(one(h(100, 0, 0, 80)).0, Status::Ok);
        let (s, hint) = one(h(100, 30, 0, 80));
        assert_eq!(s, Status::Error);
        assert!(hint.contains("proxy, firewall or VPN"), "{hint}");
        assert_eq!(one(h(100, 3, 0, 80)).0, Status::Warn);
        assert_eq!(one(h(100, 0, 0, 9_000)).0, Status::Warn);
        let (s, hint) = one(h(100, 0, 2, 80));
        assert_eq!(s, Status::Warn);
        assert!(hint.contains("hubforce connect salesforce"), "{hint}");
    }
}
