//! The built-in checks of each provider: configuration, redirect URI, tokens, scopes, and
//! Salesforce field permissions.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{CheckOptions, CheckReport, Status};
use crate::error::{ApiError, ErrorClass};
use crate::plugins::PluginSet;
use crate::session::Session;
use crate::sync::hooks::Hooks;
use crate::sync::pairs::{PairSpec, mapping_for};
use crate::sync::settings::SyncSettings;

/// The fix for an API error met while checking: its class's hint, or reconnecting.
fn fix_of(e: &ApiError, provider: &str) -> String {
    match e.class {
        ErrorClass::AuthRevoked | ErrorClass::AuthExpired => {
            format!(
                "run `hubforce connect {provider}` again (the app was removed, or its tokens revoked)"
            )
        }
        _ => e.hint.clone(),
    }
}

/// Does the provider accept the configured redirect URI? The authorize URL is opened without
/// a browser: a redirect back to the URI says yes, an error page about it says no, a sign-in
/// page cannot say (and `hubforce connect` will).
async fn redirect_check(
    session: &Session,
    group: &str,
    app: Result<crate::auth::oauth::OAuthApp, crate::config::ConfigError>,
    scopes: &[String],
    pkce: bool,
    report: &mut CheckReport,
) {
    let app = match app {
        Ok(a) => a,
        Err(_) => return, // the config check reports it
    };
    let url = match crate::auth::oauth::authorize(&app, scopes, &[], pkce) {
        Ok(a) => a.url,
        Err(e) => {
            report.push(
                group,
                "redirect",
                Status::Error,
                e.to_string(),
                Some(e.hint.clone()),
            );
            return;
        }
    };
    // The page is not an API call (no transport, no budget): a passing failure (a 5xx, a
    // dropped connection) is tried again here, so a flaky network does not fail this check.
    let mut tries = 0;
    let answer = loop {
        tries += 1;
        match session.http.get(url.clone()).send().await {
            Ok(r) if r.status().is_server_error() && tries < 4 => {}
            Err(_) if tries < 4 => {}
            other => break other,
        }
        tokio::time::sleep(std::time::Duration::from_millis(100 * tries)).await;
    };
    let answer = match answer {
        Ok(r) => r,
        Err(e) => {
            report.push(
                group,
                "redirect",
                Status::Warn,
                format!("the authorize page did not answer: {e}"),
                Some("check the network and the login host in hubforce.toml".into()),
            );
            return;
        }
    };
    let status = answer.status();
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = answer.text().await.unwrap_or_default().to_lowercase();
    let fix = format!(
        "register exactly {} as a redirect URL in the app's settings, or set `redirect_uri` in hubforce.toml to the one registered",
        app.redirect_uri
    );
    if status.is_redirection()
        && location.starts_with(&app.redirect_uri)
        && !location.contains("error=redirect")
    {
        report.push(
            group,
            "redirect",
            Status::Ok,
            format!("the app accepts {}", app.redirect_uri),
            None,
        );
    } else if location.contains("redirect_uri")
        || (status.is_client_error() && body.contains("redirect"))
    {
        report.push(
            group,
            "redirect",
            Status::Error,
            format!(
                "the app does not accept the redirect URI {}",
                app.redirect_uri
            ),
            Some(fix),
        );
    } else {
        report.push(
            group,
            "redirect",
            Status::Info,
            "cannot be verified without signing in; `hubforce connect` verifies it",
            None,
        );
    }
}

/// HubSpot scopes the enabled pairs need.
fn sync_scopes(settings: &SyncSettings, pairs: &[PairSpec]) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for spec in pairs {
        s.extend(spec.hubspot_scopes());
    }
    s.insert("crm.objects.owners.read".into());
    if settings.inclusion_list.is_some() {
        s.insert("crm.lists.read".into());
    }
    s
}

/// The synced HubSpot objects a one-record read is refused for a scope, with the answer.
async fn refused_reads(
    api: &crate::api::hubspot::HubspotApi,
    pairs: &[PairSpec],
) -> Vec<(String, ApiError)> {
    let mut nouns: Vec<&str> = Vec::new();
    for spec in pairs {
        if !nouns.contains(&spec.hs_object.as_str()) {
            nouns.push(&spec.hs_object);
        }
    }
    let mut out = Vec::new();
    for noun in nouns {
        if let Err(e) = api.list_page(noun, &[], None, 1).await
            && e.class == ErrorClass::AuthScope
        {
            out.push((noun.to_string(), e));
        }
    }
    out
}

pub async fn hubspot(
    session: &Session,
    plugins: &PluginSet,
    (settings, pairs): (&SyncSettings, &[PairSpec]),
    opts: &CheckOptions,
    report: &mut CheckReport,
) {
    const G: &str = "hubspot";
    let Some(api) = &session.hubspot else {
        if opts.wants(G, "config") {
            report.push(
                G,
                "config",
                Status::Skipped,
                "no [hubspot] section in this profile",
                None,
            );
        }
        return;
    };
    if opts.wants(G, "config") {
        match session.profile_config().ok().and_then(|p| p.hubspot.clone()) {
            Some(h) => match crate::session::hubspot_app(&session.config, &h) {
                Ok(_) => report.push(G, "config", Status::Ok, format!("client id {}…, secret set, redirect URI {}", h.client_id.chars().take(8).collect::<String>(), h.redirect_uri), None),
                Err(e) => report.push(G, "config", Status::Error, e.to_string(), Some("set the secret where hubforce.toml says (an environment variable or a file)".into())),
            },
            None => report.push(G, "config", Status::Error, "the profile has no HubSpot app", None),
        }
    }
    let redirect = async {
        let mut r = CheckReport::default();
        if opts.wants(G, "redirect")
            && let Some(h) = session
                .profile_config()
                .ok()
                .and_then(|p| p.hubspot.clone())
        {
            let app = crate::session::hubspot_app(&session.config, &h);
            redirect_check(session, G, app, &h.scopes, false, &mut r).await;
        }
        r
    };
    let (redirect, connection) = tokio::join!(
        redirect,
        hubspot_connection(api, plugins, (settings, pairs), opts)
    );
    report.append(redirect);
    report.append(connection);
}

/// Tokens (a real refresh, introspection) and scopes.
async fn hubspot_connection(
    api: &crate::api::hubspot::HubspotApi,
    plugins: &PluginSet,
    (settings, pairs): (&SyncSettings, &[PairSpec]),
    opts: &CheckOptions,
) -> CheckReport {
    const G: &str = "hubspot";
    let mut r = CheckReport::default();
    let report = &mut r;
    let Some(tokens) = api.auth.tokens().await else {
        if opts.wants(G, "tokens") {
            report.push(
                G,
                "tokens",
                Status::Error,
                "not connected: no tokens stored",
                Some("run `hubforce connect hubspot`".into()),
            );
        }
        return r;
    };
    let mut granted: BTreeSet<String> = tokens.scopes.iter().cloned().collect();
    if opts.wants(G, "tokens") {
        let expired = tokens.expires_at <= chrono::Utc::now();
        // A real refresh, keeping the new tokens: it proves the client secret and the refresh
        // token, and it heals an expired access token.
        let refreshed = api.transport.refresh_now().await;
        match refreshed {
            Err(e) => report.push(
                G,
                "tokens",
                Status::Error,
                format!("the refresh failed: {e}"),
                Some(fix_of(&e, "hubspot")),
            ),
            Ok(()) => match api.introspect().await {
                Ok(v) => {
                    if let Some(s) = v["scopes"].as_array() {
                        granted = s
                            .iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect();
                    }
                    let (status, note) = if expired {
                        (
                            Status::Warn,
                            " (the access token had expired; the refresh renewed it)",
                        )
                    } else {
                        (Status::Ok, "")
                    };
                    report.push(
                        G,
                        "tokens",
                        status,
                        format!("valid for portal {}, refresh works{note}", v["hub_id"]),
                        expired.then(|| "nothing to do: hubforce refreshes on its own".into()),
                    );
                }
                Err(e) => report.push(
                    G,
                    "tokens",
                    Status::Error,
                    format!("the token is not valid at HubSpot: {e}"),
                    Some(fix_of(&e, "hubspot")),
                ),
            },
        }
    }
    if opts.wants(G, "scopes") {
        let mut needed: Vec<(String, String)> = sync_scopes(settings, pairs)
            .into_iter()
            .map(|s| (s, "the sync".to_string()))
            .collect();
        for info in plugins.list() {
            if let Some(p) = plugins.get(&info.name) {
                needed.extend(
                    p.manifest
                        .scopes
                        .hubspot
                        .iter()
                        .map(|s| (s.clone(), format!("plugin {}", info.name))),
                );
            }
        }
        let missing: Vec<String> = needed
            .iter()
            .filter(|(s, _)| !granted.contains(s))
            .map(|(s, who)| format!("{s} (for {who})"))
            .collect();
        // The token's own list can pass while HubSpot still refuses (a scope renamed,
        // granular scopes): one read of each synced object asks HubSpot itself.
        let refused = if missing.is_empty() {
            refused_reads(api, pairs).await
        } else {
            Vec::new()
        };
        if let Some((_, first)) = refused.first() {
            let what: Vec<String> = refused
                .iter()
                .map(|(noun, e)| match e.names.len() {
                    0 => noun.to_string(),
                    1 => format!("{noun} (needs {})", e.names[0]),
                    _ => format!("{noun} (needs one of {})", e.names.join(", ")),
                })
                .collect();
            report.push(
                G,
                "scopes",
                Status::Error,
                format!("HubSpot refuses to read {}", what.join("; ")),
                Some(first.hint.clone()),
            );
        } else if missing.is_empty() {
            report.push(
                G,
                "scopes",
                Status::Ok,
                format!(
                    "{} granted scopes cover the sync and every plugin",
                    granted.len()
                ),
                None,
            );
        } else {
            report.push(
                G,
                "scopes",
                Status::Error,
                format!("missing scopes: {}", missing.join(", ")),
                Some("add them to the app's scopes (Auth settings) and to `scopes` in hubforce.toml, then run `hubforce connect hubspot`".into()),
            );
        }
    }
    r
}

pub async fn salesforce(
    session: &Session,
    plugins: &PluginSet,
    pairs: &[PairSpec],
    writes: &super::writes::TransformWrites,
    opts: &CheckOptions,
    report: &mut CheckReport,
) {
    const G: &str = "salesforce";
    let Some(api) = &session.salesforce else {
        if opts.wants(G, "config") {
            report.push(
                G,
                "config",
                Status::Skipped,
                "no [salesforce] section in this profile",
                None,
            );
        }
        return;
    };
    let app = session
        .profile_config()
        .ok()
        .and_then(|p| p.salesforce.clone());
    let tokens = api.auth.tokens().await;
    if opts.wants(G, "config") {
        match (&app, &tokens) {
            (None, _) => report.push(G, "config", Status::Error, "the profile has no Salesforce app", None),
            (Some(a), Some(t)) if a.is_sandbox() != t.sandbox => report.push(
                G,
                "config",
                Status::Error,
                format!(
                    "the profile logs in to {} but the connected org is {}",
                    if a.is_sandbox() { "a sandbox" } else { "production" },
                    if t.sandbox { "a sandbox" } else { "production" }
                ),
                Some("set `login` in hubforce.toml to match, then run `hubforce connect salesforce` (one org per profile)".into()),
            ),
            (Some(a), _) => match crate::session::salesforce_app(&session.config, a) {
                Ok(_) => report.push(G, "config", Status::Ok, format!("login {}, secret set", a.login_url()), None),
                Err(e) => report.push(G, "config", Status::Error, e.to_string(), Some("set the secret where hubforce.toml says".into())),
            },
        }
    }
    let redirect = async {
        let mut r = CheckReport::default();
        if opts.wants(G, "redirect")
            && let Some(a) = &app
        {
            let oauth = crate::session::salesforce_app(&session.config, a);
            let scopes = ["api".to_string(), "refresh_token".to_string()];
            redirect_check(session, G, oauth, &scopes, true, &mut r).await;
        }
        r
    };
    let (redirect, connection) = tokio::join!(
        redirect,
        salesforce_connection(api, tokens.is_some(), (plugins, pairs, writes), opts)
    );
    report.append(redirect);
    report.append(connection);
}

/// Tokens (a real refresh, userinfo) and field permissions.
async fn salesforce_connection(
    api: &crate::api::salesforce::SalesforceApi,
    connected: bool,
    (plugins, pairs, writes): (&PluginSet, &[PairSpec], &super::writes::TransformWrites),
    opts: &CheckOptions,
) -> CheckReport {
    const G: &str = "salesforce";
    let mut r = CheckReport::default();
    let report = &mut r;
    if !connected {
        if opts.wants(G, "tokens") {
            report.push(
                G,
                "tokens",
                Status::Error,
                "not connected: no tokens stored",
                Some("run `hubforce connect salesforce`".into()),
            );
        }
        return r;
    }
    if opts.wants(G, "tokens") {
        let refreshed = api.transport.refresh_now().await;
        match refreshed {
            Err(e) => report.push(
                G,
                "tokens",
                Status::Error,
                format!("the refresh failed: {e}"),
                Some(fix_of(&e, "salesforce")),
            ),
            Ok(()) => match api.userinfo().await {
                Ok(v) => report.push(
                    G,
                    "tokens",
                    Status::Ok,
                    format!(
                        "valid for {} in org {}, refresh works",
                        v["preferred_username"].as_str().unwrap_or("the user"),
                        v["organization_id"].as_str().unwrap_or("?")
                    ),
                    None,
                ),
                Err(e) => report.push(
                    G,
                    "tokens",
                    Status::Error,
                    format!("the session is not valid: {e}"),
                    Some(fix_of(&e, "salesforce")),
                ),
            },
        }
    }
    if opts.wants(G, "permissions") {
        permissions(api, plugins, pairs, writes, report).await;
    }
    r
}

/// Every Salesforce field the mappings write must be createable and updateable for the
/// connected user (field-level security), per describe.
async fn permissions(
    api: &crate::api::salesforce::SalesforceApi,
    plugins: &PluginSet,
    pairs: &[PairSpec],
    writes: &super::writes::TransformWrites,
    report: &mut CheckReport,
) {
    const G: &str = "salesforce";
    let mappings = match plugins.mappings() {
        Ok(m) => m,
        Err(e) => {
            report.push(
                G,
                "permissions",
                Status::Error,
                e.to_string(),
                Some("fix the plugin's mappings".into()),
            );
            return;
        }
    };
    let mut blocked = Vec::new();
    let mut checked = 0;
    let sobjects: Vec<(&str, &str)> = pairs
        .iter()
        .flat_map(|spec| {
            spec.sobjects()
                .iter()
                .map(|o| (spec.name.as_str(), o.as_str()))
        })
        .collect();
    // The describes are independent: one round trip's wait instead of one per sObject.
    let describes =
        futures_util::future::join_all(sobjects.iter().map(|(_, o)| api.describe(o))).await;
    for ((pair, sobject), described) in sobjects.into_iter().zip(describes) {
        let d = match described {
            Ok(d) => d,
            Err(e) => {
                report.push(
                    G,
                    "permissions",
                    Status::Error,
                    format!("cannot describe {sobject}: {e}"),
                    Some(e.hint.clone()),
                );
                return;
            }
        };
        let fields: Vec<Value> = d["fields"].as_array().cloned().unwrap_or_default();
        let by_name = |n: &str| fields.iter().find(|f| f["name"] == n);
        let Some(m) = mapping_for(&mappings, pair, sobject, |f| by_name(f).is_some()) else {
            continue;
        };
        for f in &m.fields {
            if f.rule == crate::sync::rules::Rule::AlwaysSalesforce
                || f.rule == crate::sync::rules::Rule::DontSync
            {
                continue; // hubforce never writes these
            }
            checked += 1;
            if let Some(def) = by_name(&f.salesforce)
                && !(def["updateable"] == true && def["createable"] == true)
            {
                blocked.push(format!("{sobject}.{}", f.salesforce));
            }
        }
        // And every field a plugin's transform writes: it must exist, too.
        for field in writes.salesforce.get(sobject).into_iter().flatten() {
            if m.fields.iter().any(|f| &f.salesforce == field) {
                continue;
            }
            checked += 1;
            match by_name(field) {
                None => blocked.push(format!(
                    "{sobject}.{field} (written by a transform; no such field)"
                )),
                Some(def) if !(def["updateable"] == true && def["createable"] == true) => {
                    blocked.push(format!("{sobject}.{field} (written by a transform)"));
                }
                Some(_) => {}
            }
        }
    }
    if blocked.is_empty() {
        report.push(
            G,
            "permissions",
            Status::Ok,
            format!(
                "the connected user can write all {checked} mapped and transform-written fields"
            ),
            None,
        );
    } else {
        report.push(
            G,
            "permissions",
            Status::Error,
            format!("the connected user cannot write {}", blocked.join(", ")),
            Some("grant the integration user Edit access to these fields (field-level security in its profile or a permission set), or set their rule to `always_salesforce`".into()),
        );
    }
}
