//! `hubforce connect`, `hubforce status` and `hubforce init --from-sim`: establishing and
//! showing connections. Nothing here ever formats a token.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;
use serde_json::Value;

use crate::auth::flow::receive_code;
use crate::auth::oauth::{self, authorize};
use crate::auth::store::{HubspotTokens, SalesforceTokens};
use crate::config::ConfigError;
use crate::error::{ApiError, ErrorClass, Provider};
use crate::session::{Session, SessionError, hubspot_app, password_login, salesforce_app};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not save the tokens: {0}")]
    Store(#[from] crate::auth::store::StoreError),
}

impl ConnectError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ConnectError::Api(e) => e.class.exit_code(),
            _ => 1,
        }
    }
}

/// HubSpot's authorization-code flow through the loopback redirect listener.
pub async fn hubspot(
    session: &Session,
    timeout: Duration,
    open: impl FnOnce(&url::Url),
) -> Result<ConnectionStatus, ConnectError> {
    let api = session.hubspot()?;
    let profile = session.profile_config()?;
    let h = profile
        .hubspot
        .as_ref()
        .ok_or_else(|| SessionError::NotConfigured {
            profile: session.profile.clone(),
            provider: "hubspot",
        })?;
    let app = hubspot_app(&session.config, h)?;
    let authz = authorize(&app, &h.scopes, &h.optional_scopes, false)?;
    let code = receive_code(
        Provider::Hubspot,
        &app.redirect_uri,
        authz.state.secret(),
        &authz.url,
        timeout,
        open,
    )
    .await?;
    let g = oauth::hubspot_exchange(&session.http, &app, &code).await?;
    let refresh = g.refresh_token.ok_or_else(|| {
        ApiError::new(
            Provider::Hubspot,
            ErrorClass::AuthClient,
            "HubSpot returned no refresh token",
        )
    })?;
    let now = Utc::now();
    api.auth
        .install(HubspotTokens {
            access_token: g.access_token,
            refresh_token: refresh,
            expires_at: now + chrono::Duration::seconds(g.expires_in.unwrap_or(1800) as i64),
            scopes: g.scopes,
            hub_id: g.hub_id,
            user_id: g.user_id,
            obtained_at: now,
        })
        .await?;
    // The token response may lack hub id and scopes; introspection has them.
    if let Ok(info) = api.introspect().await
        && let Some(mut t) = api.auth.tokens().await
    {
        t.hub_id = info["hub_id"].as_u64().or(t.hub_id);
        if let Some(scopes) = info["scopes"].as_array() {
            t.scopes = scopes
                .iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect();
        }
        api.auth.install(t).await?;
    }
    let granted = api
        .auth
        .tokens()
        .await
        .map(|t| t.scopes)
        .unwrap_or_default();
    let missing: Vec<&String> = h.scopes.iter().filter(|s| !granted.contains(s)).collect();
    if !missing.is_empty() {
        tracing::warn!("the grant lacks scopes hubforce.toml asks for: {missing:?}");
    }
    Ok(status(session).await.remove(0))
}

async fn install_salesforce(
    session: &Session,
    g: oauth::SalesforceGrant,
    login_url: String,
    sandbox_hint: bool,
) -> Result<(), ConnectError> {
    let api = session.salesforce()?;
    api.auth
        .install(SalesforceTokens {
            access_token: g.access_token,
            refresh_token: g.refresh_token,
            instance_url: g.instance_url,
            id_url: g.id_url,
            org_id: g.org_id,
            user_id: g.user_id,
            scope: g.scope,
            login_url,
            sandbox: sandbox_hint,
            issued_at: g.issued_at,
        })
        .await?;
    // Ask the org itself whether it is a sandbox; the login host is only a hint.
    if let Ok(rows) = api.query("SELECT IsSandbox FROM Organization").await
        && let Some(is) = rows.first().and_then(|r| r["IsSandbox"].as_bool())
        && let Some(mut t) = api.auth.tokens().await
    {
        t.sandbox = is;
        api.auth.install(t).await?;
    }
    Ok(())
}

/// The profile's Salesforce settings; `sandbox` overrides its login host.
fn salesforce_settings(
    session: &Session,
    sandbox: bool,
) -> Result<crate::config::SalesforceApp, ConnectError> {
    let profile = session.profile_config()?;
    let mut s = profile
        .salesforce
        .clone()
        .ok_or_else(|| SessionError::NotConfigured {
            profile: session.profile.clone(),
            provider: "salesforce",
        })?;
    if sandbox {
        s.login = "sandbox".into();
    }
    Ok(s)
}

/// Salesforce's web-server flow with PKCE; `sandbox` overrides the profile's login host.
pub async fn salesforce(
    session: &Session,
    sandbox: bool,
    timeout: Duration,
    open: impl FnOnce(&url::Url),
) -> Result<ConnectionStatus, ConnectError> {
    let s = salesforce_settings(session, sandbox)?;
    let app = salesforce_app(&session.config, &s)?;
    let authz = authorize(&app, &["api".into(), "refresh_token".into()], &[], true)?;
    let code = receive_code(
        Provider::Salesforce,
        &app.redirect_uri,
        authz.state.secret(),
        &authz.url,
        timeout,
        open,
    )
    .await?;
    let verifier = authz.pkce.ok_or_else(|| {
        ApiError::new(
            Provider::Salesforce,
            ErrorClass::AuthClient,
            "PKCE verifier missing",
        )
    })?;
    let g = oauth::salesforce_exchange(&session.http, &app, &code, verifier).await?;
    install_salesforce(session, g, s.login_url(), s.is_sandbox()).await?;
    Ok(status(session).await.remove(1))
}

/// The username + password + security token grant (what the incumbent's setup asks for).
pub async fn salesforce_password(
    session: &Session,
    sandbox: bool,
) -> Result<ConnectionStatus, ConnectError> {
    let s = salesforce_settings(session, sandbox)?;
    let login = password_login(&session.config, &s)?.ok_or_else(|| {
        ApiError::new(Provider::Salesforce, ErrorClass::AuthClient, "the password login needs username, password and security_token")
            .with_hint("set username, password = { env = … } and security_token = { env = … } in the profile's [salesforce] section")
    })?;
    let app = salesforce_app(&session.config, &s)?;
    let g = oauth::salesforce_password(
        &session.http,
        &app,
        &login.username,
        &login.password,
        &login.security_token,
    )
    .await?;
    install_salesforce(session, g, s.login_url(), s.is_sandbox()).await?;
    Ok(status(session).await.remove(1))
}

/// What `hubforce status` shows for one provider.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionStatus {
    pub provider: Provider,
    pub configured: bool,
    pub connected: bool,
    pub expires_in_secs: Option<i64>,
    pub scopes: Vec<String>,
    pub hub_id: Option<u64>,
    pub org_id: Option<String>,
    pub instance_url: Option<String>,
    pub sandbox: Option<bool>,
    pub refresh_token: bool,
    /// A refused grant seen since the tokens were stored: when, and what to do.
    pub revoked: Option<crate::auth::store::RevokedMark>,
}

pub async fn status(session: &Session) -> Vec<ConnectionStatus> {
    let mut out = Vec::new();
    let hs = match &session.hubspot {
        Some(api) => api.auth.tokens().await,
        None => None,
    };
    out.push(ConnectionStatus {
        provider: Provider::Hubspot,
        configured: session.hubspot.is_some(),
        connected: hs.is_some(),
        expires_in_secs: hs
            .as_ref()
            .map(|t| (t.expires_at - Utc::now()).num_seconds()),
        scopes: hs.as_ref().map(|t| t.scopes.clone()).unwrap_or_default(),
        hub_id: hs.as_ref().and_then(|t| t.hub_id),
        org_id: None,
        instance_url: None,
        sandbox: None,
        refresh_token: hs.is_some(),
        revoked: session.hubspot.as_ref().and_then(|a| a.auth.revoked_mark()),
    });
    let sf = match &session.salesforce {
        Some(api) => api.auth.tokens().await,
        None => None,
    };
    out.push(ConnectionStatus {
        provider: Provider::Salesforce,
        configured: session.salesforce.is_some(),
        connected: sf.is_some(),
        expires_in_secs: None,
        scopes: sf
            .as_ref()
            .and_then(|t| t.scope.clone())
            .map(|s| s.split_whitespace().map(String::from).collect())
            .unwrap_or_default(),
        hub_id: None,
        org_id: sf.as_ref().map(|t| t.org_id.clone()),
        instance_url: sf.as_ref().map(|t| t.instance_url.clone()),
        sandbox: sf.as_ref().map(|t| t.sandbox),
        refresh_token: sf.as_ref().is_some_and(|t| t.refresh_token.is_some()),
        revoked: session
            .salesforce
            .as_ref()
            .and_then(|a| a.auth.revoked_mark()),
    });
    out
}

/// The text of `hubforce status`.
pub fn render_status(
    profile: &str,
    statuses: &[ConnectionStatus],
    calls: &[crate::store::CallSummary],
) -> String {
    let mut s = format!("profile {profile}\n");
    for c in statuses {
        let line = match (c.configured, c.connected) {
            (false, _) => "not configured in hubforce.toml".to_string(),
            (true, true) if c.revoked.is_some() => {
                let r = c.revoked.as_ref().map(|r| (r.at, r.message.as_str()));
                let (at, why) = r.unwrap_or_default();
                format!(
                    "the grant was refused at {} ({why}) — run `hubforce connect {}`",
                    at.format("%Y-%m-%d %H:%M:%S UTC"),
                    c.provider
                )
            }
            (true, false) => format!("not connected — run `hubforce connect {}`", c.provider),
            (true, true) => match c.provider {
                Provider::Hubspot => format!(
                    "connected to portal {} — access token {}, {} scopes",
                    c.hub_id
                        .map(|h| h.to_string())
                        .unwrap_or_else(|| "?".into()),
                    match c.expires_in_secs {
                        Some(s) if s > 0 => format!(
                            "expires in {}m{:02}s (refreshed automatically)",
                            s / 60,
                            s % 60
                        ),
                        _ => "expired (refreshed on the next call)".into(),
                    },
                    c.scopes.len()
                ),
                Provider::Salesforce => format!(
                    "connected to org {} at {}{} — {}",
                    c.org_id.clone().unwrap_or_default(),
                    c.instance_url.clone().unwrap_or_default(),
                    if c.sandbox == Some(true) {
                        " (sandbox)"
                    } else {
                        " (production)"
                    },
                    if c.refresh_token {
                        "refresh token stored"
                    } else {
                        "password login (no refresh token)"
                    }
                ),
            },
        };
        s.push_str(&format!("  {:<11} {line}\n", c.provider.label()));
    }
    if calls.is_empty() {
        return s;
    }
    {
        s.push_str("  calls in the last 24 h:\n");
        for c in calls {
            s.push_str(&format!(
                "    {:<11} {:<24} {:>7} calls  {:>5} errors  p95 {} ms\n",
                c.provider,
                c.caller,
                c.calls,
                c.errors,
                c.p95_ms
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "—".into())
            ));
        }
    }
    s
}

/// The last 24 h of calls by pair and stage: where the allocation went.
pub fn render_places(placed: &[crate::store::PlacedCalls]) -> String {
    let mut s = String::from("  calls in the last 24 h by pair and stage:\n");
    for p in placed {
        s.push_str(&format!(
            "    {:<11} {:<14} {:<8} {:<20} {:>7}\n",
            p.provider,
            p.pair.as_deref().unwrap_or("(all pairs)"),
            p.stage,
            p.caller,
            p.calls
        ));
    }
    s
}

/// Write a profile named `sim` pointing at a running `hubforce sim` (from its ready file),
/// with the simulator's secrets in a 0600 env file beside the state.
/// Enable `plugins/default` in the `sim` profile `init_from_sim` wrote, writing the folder
/// from the binary if it is not there: the first `check` then has the standard mappings.
/// What it did, for the user.
pub fn enable_default_plugin(dir: &Path) -> Result<String, std::io::Error> {
    let plugins = dir.join("plugins");
    let wrote = crate::plugins::bundled::write(&plugins, crate::plugins::bundled::DEFAULT)?;
    let cfg = dir.join(crate::config::FILE_NAME);
    let text = std::fs::read_to_string(&cfg)?;
    std::fs::write(
        &cfg,
        text.replacen("plugins = []", "plugins = [\"default\"]", 1),
    )?;
    Ok(if wrote {
        format!(
            "enabled plugins/default (the standard mappings), written to {}",
            plugins.join("default").display()
        )
    } else {
        "enabled plugins/default (the folder was there already; left as it is)".into()
    })
}

pub fn init_from_sim(dir: &Path, ready: &Value, force: bool) -> Result<String, std::io::Error> {
    let cfg = dir.join(crate::config::FILE_NAME);
    if cfg.exists() && !force {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists; pass --force to replace it", cfg.display()),
        ));
    }
    let hs = &ready["hubspot"];
    let sf = &ready["salesforce"];
    let field = |v: &Value, k: &str| -> Result<String, std::io::Error> {
        v[k].as_str().map(String::from).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the ready file lacks {k}"),
            )
        })
    };
    let scopes: Vec<String> = hs["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(|s| format!("\"{s}\"")))
        .collect();
    let api_base = field(hs, "api_base")?;
    let text = format!(
        "# Written by `hubforce init --from-sim`: a profile for the local simulator.\n\
         default_profile = \"sim\"\nenv_file = \".hubforce/sim.env\"\n\n\
         [profiles.sim]\nplugins = []\n\n\
         [profiles.sim.hubspot]\nclient_id = \"{}\"\nclient_secret = {{ env = \"SIM_HUBSPOT_CLIENT_SECRET\" }}\nredirect_uri = \"{}\"\nscopes = [{}]\noptional_scopes = [\"crm.import\"]\n\
         api_base = \"{api_base}\"\nauthorize_url = \"{}\"\ntoken_url = \"{}\"\n\n\
         [profiles.sim.salesforce]\nlogin = \"{}\"\nclient_id = \"{}\"\nclient_secret = {{ env = \"SIM_SALESFORCE_CLIENT_SECRET\" }}\nredirect_uri = \"{}\"\n\
         api_version = \"{}\"\nedition = \"enterprise\"\nseats = 50\nshare = 0.5\nusername = \"{}\"\n\
         password = {{ env = \"SIM_SALESFORCE_PASSWORD\" }}\nsecurity_token = {{ env = \"SIM_SALESFORCE_SECURITY_TOKEN\" }}\n",
        field(hs, "client_id")?,
        field(hs, "redirect_uri")?,
        scopes.join(", "),
        field(hs, "authorize_url")?,
        field(hs, "token_url")?,
        field(sf, "login_url")?,
        field(sf, "client_id")?,
        field(sf, "redirect_uri")?,
        field(sf, "api_version")?,
        field(sf, "username")?,
    );
    let env = format!(
        "SIM_HUBSPOT_CLIENT_SECRET={}\nSIM_SALESFORCE_CLIENT_SECRET={}\nSIM_SALESFORCE_PASSWORD={}\nSIM_SALESFORCE_SECURITY_TOKEN={}\n",
        field(hs, "client_secret")?,
        field(sf, "client_secret")?,
        field(sf, "password")?,
        field(sf, "security_token")?,
    );
    let state = dir.join(".hubforce");
    crate::private::dir(&state)?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    std::io::Write::write_all(&mut opts.open(state.join("sim.env"))?, env.as_bytes())?;
    std::fs::write(&cfg, &text)?;
    Ok(cfg.display().to_string())
}

/// A profile in `dir` for a simulator started in process, connected to both sides (the
/// browser step of HubSpot's flow is played by following the redirect): for `demo`, plugin
/// tests and integration tests.
pub async fn sim_session(sim: &crate::sim::Simulator, dir: &Path) -> Result<Session, String> {
    sim_session_as(sim, dir, "test").await
}

/// [`sim_session`] with calls logged under `caller`.
pub async fn sim_session_as(
    sim: &crate::sim::Simulator,
    dir: &Path,
    caller: &str,
) -> Result<Session, String> {
    let ready = serde_json::to_value(sim.ready_info()).map_err(|e| e.to_string())?;
    init_from_sim(dir, &ready, true).map_err(|e| e.to_string())?;
    let config = crate::config::Config::load(&dir.join(crate::config::FILE_NAME))
        .map_err(|e| e.to_string())?;
    let session = Session::open(config, None, caller).map_err(|e| e.to_string())?;
    connect_sim_both(&session).await?;
    Ok(session)
}

/// Connect both providers of a simulator profile through their browser flows, playing the
/// browser by following the authorize redirect back to the loopback listener.
pub async fn connect_sim_both(session: &Session) -> Result<(), String> {
    let browser = |http: reqwest::Client| {
        move |u: &url::Url| {
            let u = u.clone();
            tokio::spawn(async move {
                if let Ok(r) = http.get(u).send().await
                    && let Some(loc) = r
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|l| l.to_str().ok())
                {
                    let _ = http.get(loc).send().await;
                }
            });
        }
    };
    hubspot(
        session,
        Duration::from_secs(10),
        browser(session.http.clone()),
    )
    .await
    .map_err(|e| e.to_string())?;
    salesforce(
        session,
        false,
        Duration::from_secs(10),
        browser(session.http.clone()),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}
