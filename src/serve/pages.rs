//! The page frame, the overview and the plugins page.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{Shared, Watcher, chart};
use crate::connect::ConnectionStatus;
use crate::error::Provider;
use crate::sync::status::SyncStatus;

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#23304a;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}
header a{color:#cfe0ff;text-decoration:none}header a.on{color:#fff;font-weight:600}
header .who{margin-left:auto;color:#9fb2d4}
main{padding:18px 24px;max-width:1180px}
h1{font-size:20px;margin:4px 0 14px}h2{font-size:16px;margin:20px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:12px}
.card{background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:12px 14px}
.card h3{margin:0 0 6px;font-size:15px}.card .n{font-size:22px;font-weight:600}
.class{display:inline-block;padding:1px 7px;border-radius:9px;background:#e8ecf3;font-size:12px}
.class.validation,.class.duplicate,.class.permission,.class.plugin{background:#fde8e8;color:#8a1c1c}
.class.transient,.class.rate\.burst,.class.rate\.daily{background:#fff3d6;color:#7a5200}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde2ea}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eef0f4;vertical-align:top}
th{background:#f0f2f6;font-weight:600}td.num,th.num{text-align:right}
.ok{color:#17693a}.bad{color:#a11d1d}.muted{color:#6b7385}
.banner{background:#fde8e8;border:1px solid #f2b8b8;padding:8px 12px;border-radius:6px;margin:8px 0}
.note{background:#e9f3ff;border:1px solid #bcd7f7;padding:8px 12px;border-radius:6px;margin:8px 0}
form.inline{display:inline}button{font:inherit;padding:3px 10px;border:1px solid #8797b3;border-radius:4px;background:#fff;cursor:pointer}
a.button{padding:3px 10px;border:1px solid #8797b3;border-radius:4px;text-decoration:none;color:inherit;background:#fff}
input[type=search]{font:inherit;padding:4px 8px;width:320px}
svg.chart{width:100%;max-width:480px;height:120px;background:#fff;border:1px solid #dde2ea}
svg.chart rect{fill:#5b7bd5}svg.chart line.pace{stroke:#c0392b;stroke-dasharray:4 3}svg.chart text{font-size:10px;fill:#6b7385}
svg.bar{width:300px;height:14px}svg.bar .track{fill:#e8ecf3}svg.bar .fill{fill:#3f9d63}
svg.bar.warn .fill{fill:#d49a1a}svg.bar.bad .fill{fill:#c0392b}
pre{background:#fff;border:1px solid #dde2ea;padding:10px;white-space:pre-wrap}
"#;

/// The frame of every page.
pub fn page(shared: &Shared, title: &str, on: &str, body: Markup) -> Html<String> {
    let tabs = [
        ("/", "Overview"),
        ("/health", "Sync health"),
        ("/record", "Record"),
        ("/plugins", "Plugins"),
    ];
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width";
                    title { (title) " · hubforce " (shared.session.profile) }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    header {
                        strong { "hubforce" }
                        @for (href, label) in tabs {
                            a href=(href) class=[(on == href).then_some("on")] { (label) }
                        }
                        span class="who" { "profile " (shared.session.profile) " · " (watcher_line(shared)) }
                    }
                    main { (body) }
                }
            }
        }
        .into_string(),
    )
}

fn watcher_line(shared: &Shared) -> &'static str {
    match shared.watcher {
        Watcher::Here(_) => "watcher running here",
        Watcher::Elsewhere if crate::profile::watcher_running(&shared.session) => {
            "a watcher runs in another process"
        }
        Watcher::Elsewhere => "no watcher: read-only, asks wait for the next sync",
    }
}

fn connection(c: &ConnectionStatus) -> Markup {
    let name = match c.provider {
        Provider::Hubspot => "HubSpot",
        Provider::Salesforce => "Salesforce",
    };
    html! {
        div class="card" {
            h3 { (name) }
            @if !c.configured {
                p class="muted" { "not configured in hubforce.toml" }
            } @else if let Some(r) = &c.revoked {
                p class="bad" { "grant refused at " (r.at.format("%Y-%m-%d %H:%M UTC")) ": " (r.message) }
                p { "run " code { "hubforce connect " (c.provider.as_str()) } }
            } @else if !c.connected {
                p class="bad" { "not connected — run " code { "hubforce connect " (c.provider.as_str()) } }
            } @else {
                @match c.provider {
                    Provider::Hubspot => p class="ok" {
                        "connected to portal " (c.hub_id.map(|h| h.to_string()).unwrap_or_else(|| "?".into()))
                    },
                    Provider::Salesforce => p class="ok" {
                        "connected to org " (c.org_id.clone().unwrap_or_default())
                        @if c.sandbox == Some(true) { " (sandbox)" } @else { " (production)" }
                    },
                }
                p class="muted" {
                    "token: " @match c.expires_in_secs {
                        Some(s) if s > 0 => { "valid for " (s / 60) " min, refreshed automatically" }
                        _ => { "expired, refreshed on the next call" }
                    }
                    @if !c.scopes.is_empty() { br; "scopes: " (c.scopes.join(", ")) }
                }
            }
        }
    }
}

fn passes(runs: &[(String, serde_json::Value)]) -> Markup {
    html! {
        @if runs.is_empty() {
            p class="muted" { "no pass yet" }
        } @else {
            table {
                tr { th { "started" } th { "direction" } th class="num" { "pulled" } th class="num" { "created" }
                     th class="num" { "updated" } th class="num" { "failed" } th class="num" { "calls HubSpot / Salesforce" } th { "" } }
                @for (at, r) in runs {
                    @let dirs = r["directions"].as_object().cloned().unwrap_or_default();
                    @let calls = |p: &str| r["calls"][p].as_u64().unwrap_or(0);
                    @for (i, (dir, c)) in dirs.iter().enumerate() {
                        tr {
                            td { @if i == 0 { (crate::sync::error_groups::human_time(at)) @if r["dry_run"] == true { " (dry run)" } } }
                            td { (dir) }
                            td class="num" { (c["pulled"].as_u64().unwrap_or(0)) }
                            td class="num" { (c["created"].as_u64().unwrap_or(0)) }
                            td class="num" { (c["updated"].as_u64().unwrap_or(0)) }
                            td class="num" { (c["failed"].as_u64().unwrap_or(0)) }
                            td class="num" { @if i == 0 { (calls("hubspot")) " / " (calls("salesforce")) } }
                            td { @if i == 0 { @if let Some(s) = r["stopped"].as_str() { span class="bad" { "stopped: " (s) } } } }
                        }
                    }
                }
            }
        }
    }
}

pub async fn overview(State(shared): State<Arc<Shared>>) -> Html<String> {
    let statuses = crate::connect::status(&shared.session).await;
    let status = SyncStatus::of(&shared.session, &shared.setup.ledger).ok();
    let runs = shared.setup.ledger.runs(8).unwrap_or_default();
    let placed = shared.session.log.by_place(24);
    let errors: u64 = status
        .as_ref()
        .map_or(0, |s| s.errors_by_class.values().sum());
    let body = html! {
        h1 { "Overview" }
        @for c in statuses.iter().filter(|c| c.revoked.is_some()) {
            div class="banner" { "Sync suspended: the " (c.provider.as_str()) " grant was refused. Reconnect with "
                code { "hubforce connect " (c.provider.as_str()) } "." }
        }
        div class="cards" {
            @for c in &statuses { (connection(c)) }
            div class="card" {
                h3 { "Records" }
                @if let Some(s) = &status {
                    @for (pair, sobject, n) in &s.linked { div { span class="n" { (n) } " " (pair) " ⇄ " (sobject) " linked" } }
                    @for (pair, n) in &s.waiting { div class="muted" { (n) " " (pair) " records wait for a Bulk job" } }
                }
                div { a href="/health" { span class="n" id="error-count" { (errors) } " record errors" } }
            }
        }
        h2 { "API calls, last 24 h" }
        div class="cards" {
            @if let Some(s) = &status {
                @for b in &s.budgets {
                    @let provider = if b.provider == "hubspot" { Provider::Hubspot } else { Provider::Salesforce };
                    div class="card" {
                        h3 { (b.provider) }
                        p { span class="n" { (chart::grouped(b.used_today)) } " of " (chart::grouped(b.allocation)) " today (hubforce's share), " (chart::grouped(b.left)) " left" }
                        (chart::used_bar(b.used_today, b.allocation))
                        (chart::hourly_bars(&b.provider, &shared.session.log.hourly(provider, 24), b.allocation))
                    }
                }
            }
        }
        h2 { "Calls by pair, stage and caller (24 h)" }
        @if placed.is_empty() { p class="muted" { "no API calls in the last 24 h" } } @else {
            table {
                tr { th { "provider" } th { "pair" } th { "stage" } th { "caller" } th class="num" { "calls" } }
                @for p in &placed {
                    tr { td { (p.provider) } td { (p.pair.clone().unwrap_or_else(|| "—".into())) } td { (p.stage) } td { (p.caller) } td class="num" { (p.calls) } }
                }
            }
        }
        h2 { "Last passes" }
        (passes(&runs))
    };
    super::pages::page(&shared, "Overview", "/", body)
}

pub async fn plugins(State(shared): State<Arc<Shared>>) -> Html<String> {
    let list = shared.setup.plugins.list();
    let used = shared.session.log.summary(24);
    let calls = |name: &str, provider: &str| crate::plugins::calls_of(&used, name, provider);
    let body = html! {
        h1 { "Plugins" }
        @if list.is_empty() { p class="muted" { "the profile enables no plugin" } } @else {
            table {
                tr { th { "plugin" } th { "version" } th class="num" { "generation" } th { "status" } th { "hooks" }
                     th class="num" { "calls 24 h (HubSpot / Salesforce)" } th { "budget per pass" } }
                @for p in &list {
                    tr {
                        td { strong { (p.name) } }
                        td { (p.version.clone().unwrap_or_else(|| "—".into())) }
                        td class="num" { (p.generation) }
                        td {
                            @if p.error.is_some() { span class="bad" { (p.status) } } @else { span class="ok" { (p.status) } }
                            @if let Some(e) = &p.error { pre { (e) } }
                        }
                        td { (p.hooks.join(", ")) }
                        td class="num" { (calls(&p.name, "hubspot")) " / " (calls(&p.name, "salesforce")) }
                        td { (p.budget_hubspot.map(|b| b.to_string()).unwrap_or_else(|| "default".into())) " / "
                             (p.budget_salesforce.map(|b| b.to_string()).unwrap_or_else(|| "default".into())) }
                    }
                }
            }
        }
    };
    page(&shared, "Plugins", "/plugins", body)
}
