//! A profile opened for work: its connections, budgets, transports and request log, built
//! from `hubforce.toml`. Everything that talks to an API starts here.

use std::sync::Arc;
use std::time::Duration;

use crate::api::hubspot::HubspotApi;
use crate::api::salesforce::SalesforceApi;
use crate::api::transport::{Credentials, Transport};
use crate::auth::oauth::OAuthApp;
use crate::auth::store::TokenFile;
use crate::auth::{HubspotAuth, PasswordLogin, SalesforceAuth};
use crate::budget::{Budget, BudgetConfig};
use crate::config::{Config, ConfigError, HubspotApp, Profile, SalesforceApp};
use crate::error::{ApiError, ErrorClass, Provider};
use crate::store::RequestLog;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Tokens(#[from] crate::auth::store::StoreError),
    #[error(transparent)]
    Log(#[from] crate::store::StoreError),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    #[error("the state folder {path}: {source}")]
    State {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "profile `{profile}` has no [{provider}] section in hubforce.toml; add one (see `hubforce init`)"
    )]
    NotConfigured {
        profile: String,
        provider: &'static str,
    },
}

pub struct Session {
    pub profile: String,
    pub config: Config,
    pub log: Arc<RequestLog>,
    pub http: reqwest::Client,
    pub hubspot: Option<HubspotApi>,
    pub salesforce: Option<SalesforceApi>,
    /// Why a provider is `None` when it is not for want of a section (no config at all, a
    /// secret that is not set): what its first use from Lua says.
    pub unavailable: Vec<ApiError>,
    /// No hubforce.toml: plain Lua only, nothing written (no state folder).
    pub scratch: bool,
}

/// A provider's section was there but could not be opened: the error its first use raises.
fn unavailable(provider: Provider, e: &SessionError) -> ApiError {
    ApiError::new(
        provider,
        ErrorClass::AuthClient,
        format!("{} cannot be used: {e}", provider.label()),
    )
    .with_hint(format!(
        "set what the message names (hubforce.toml, its env_file or the environment), then `hubforce connect {}`",
        provider.as_str()
    ))
}

/// The shared HTTP client: no redirects (OAuth endpoints must not be followed blindly),
/// bounded timeouts.
pub fn http_client() -> Result<reqwest::Client, SessionError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .user_agent(concat!("hubforce/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SessionError::Http(e.to_string()))
}

pub fn hubspot_app(config: &Config, h: &HubspotApp) -> Result<OAuthApp, ConfigError> {
    Ok(OAuthApp {
        provider: Provider::Hubspot,
        client_id: h.client_id.clone(),
        client_secret: config.resolve("hubspot client_secret", &h.client_secret)?,
        authorize_url: h.authorize_url.clone(),
        token_url: h.token_url.clone(),
        redirect_uri: h.redirect_uri.clone(),
    })
}

pub fn salesforce_app(config: &Config, s: &SalesforceApp) -> Result<OAuthApp, ConfigError> {
    let login = s.login_url();
    Ok(OAuthApp {
        provider: Provider::Salesforce,
        client_id: s.client_id.clone(),
        client_secret: config.resolve("salesforce client_secret", &s.client_secret)?,
        authorize_url: format!("{login}/services/oauth2/authorize"),
        token_url: format!("{login}/services/oauth2/token"),
        redirect_uri: s.redirect_uri.clone(),
    })
}

pub fn password_login(
    config: &Config,
    s: &SalesforceApp,
) -> Result<Option<PasswordLogin>, ConfigError> {
    match (&s.username, &s.password, &s.security_token) {
        (Some(u), Some(p), Some(t)) => Ok(Some(PasswordLogin {
            username: u.clone(),
            password: config.resolve("salesforce password", p)?,
            security_token: config.resolve("salesforce security_token", t)?,
        })),
        _ => Ok(None),
    }
}

pub fn hubspot_budget(h: &HubspotApp) -> Budget {
    let (burst, daily) = h.tier.limits();
    Budget::new(BudgetConfig {
        provider: Provider::Hubspot,
        window_max: Some(h.burst_per_10s.unwrap_or(burst)),
        window: Duration::from_secs(10),
        search_per_second: Some(h.search_per_second),
        daily_max: h.daily_limit.unwrap_or(daily),
        max_in_flight: h.max_in_flight,
    })
}

pub fn salesforce_budget(s: &SalesforceApp) -> Budget {
    Budget::new(BudgetConfig {
        provider: Provider::Salesforce,
        window_max: None,
        window: Duration::from_secs(1),
        search_per_second: None,
        daily_max: s.allocated_to_hubforce(),
        max_in_flight: s.max_in_flight,
    })
}

/// Midnight UTC today: where the daily allocations (as hubforce counts them) restart.
fn today_utc() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
        .date_naive()
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
}

/// What opening a provider shares: the HTTP client, the state folder, the request log.
type Shared<'a> = (
    &'a reqwest::Client,
    &'a std::path::Path,
    &'a Arc<RequestLog>,
);

fn open_hubspot(
    config: &Config,
    h: &HubspotApp,
    (http, state, log): Shared<'_>,
    caller: &str,
) -> Result<HubspotApi, SessionError> {
    let auth = Arc::new(HubspotAuth::load(
        hubspot_app(config, h)?,
        http.clone(),
        TokenFile::new(state, "hubspot"),
    )?);
    let creds = Credentials::Hubspot {
        auth: auth.clone(),
        api_base: h.api_base.clone(),
    };
    let budget = Arc::new(hubspot_budget(h));
    budget.preload_today(log.calls_since(Provider::Hubspot, today_utc()));
    budget.preload_window(&log.recent(Provider::Hubspot, budget.config.window));
    let transport = Arc::new(Transport::new(
        http.clone(),
        creds,
        budget,
        Some(log.clone()),
    ));
    Ok(HubspotApi {
        transport,
        auth,
        caller: caller.to_string(),
    })
}

fn open_salesforce(
    config: &Config,
    s: &SalesforceApp,
    (http, state, log): Shared<'_>,
    caller: &str,
) -> Result<SalesforceApi, SessionError> {
    let auth = Arc::new(SalesforceAuth::load(
        salesforce_app(config, s)?,
        http.clone(),
        TokenFile::new(state, "salesforce"),
        password_login(config, s)?,
    )?);
    let budget = Arc::new(salesforce_budget(s));
    budget.preload_today(log.calls_since(Provider::Salesforce, today_utc()));
    let transport = Arc::new(Transport::new(
        http.clone(),
        Credentials::Salesforce(auth.clone()),
        budget,
        Some(log.clone()),
    ));
    Ok(SalesforceApi::new(
        transport,
        auth,
        s.api_version.clone(),
        caller.to_string(),
    ))
}

/// A provider that opened, or — leniently, for a secret that is not set — its reason.
fn keep<T>(
    provider: Provider,
    opened: Result<T, SessionError>,
    lenient: bool,
    missing: &mut Vec<ApiError>,
) -> Result<Option<T>, SessionError> {
    match opened {
        Ok(v) => Ok(Some(v)),
        Err(e @ SessionError::Config(ConfigError::Secret { .. })) if lenient => {
            missing.push(unavailable(provider, &e));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

impl Session {
    /// Open a profile. Providers without a section stay `None`; providers with a section
    /// load their stored tokens (connecting is `hubforce connect`).
    pub fn open(
        config: Config,
        profile: Option<&str>,
        caller: &str,
    ) -> Result<Session, SessionError> {
        Session::open_with(config, profile, caller, false)
    }

    /// Open for a script or the REPL, where plain Lua needs no provider: a provider whose
    /// section cannot be opened (a secret not set) is left out, and its first use says why.
    pub fn open_lenient(
        config: Config,
        profile: Option<&str>,
        caller: &str,
    ) -> Result<Session, SessionError> {
        Session::open_with(config, profile, caller, true)
    }

    /// No hubforce.toml at `config_path`: a session with no provider and no state, whose
    /// `hubspot` and `salesforce` say to run `hubforce init`.
    pub fn scratch(config_path: &std::path::Path) -> Result<Session, SessionError> {
        let why = |provider: Provider| {
            ApiError::new(
                provider,
                ErrorClass::AuthClient,
                format!("no {} here, so no {} to call", config_path.display(), provider.label()),
            )
            .with_hint(format!(
                "run `hubforce init` (or `hubforce init --from-sim READY_FILE`), then `hubforce connect {}`",
                provider.as_str()
            ))
        };
        Ok(Session {
            profile: "no profile".into(),
            config: Config::empty(config_path),
            log: Arc::new(RequestLog::in_memory()),
            http: http_client()?,
            hubspot: None,
            salesforce: None,
            unavailable: vec![why(Provider::Hubspot), why(Provider::Salesforce)],
            scratch: true,
        })
    }

    fn open_with(
        config: Config,
        profile: Option<&str>,
        caller: &str,
        lenient: bool,
    ) -> Result<Session, SessionError> {
        let (name, p) = config.profile(profile)?;
        let (name, p): (String, Profile) = (name.to_string(), p.clone());
        let state = config.state_dir(&name);
        // The state folder holds tokens and data: the user's alone (a new root too).
        crate::private::dir(&state).map_err(|source| SessionError::State {
            path: state.display().to_string(),
            source,
        })?;
        let log = Arc::new(RequestLog::open(&state.join("requests.sqlite"))?);
        let http = http_client()?;
        let mut missing = Vec::new();
        let hubspot = match &p.hubspot {
            Some(h) => keep(
                Provider::Hubspot,
                open_hubspot(&config, h, (&http, &state, &log), caller),
                lenient,
                &mut missing,
            )?,
            None => None,
        };
        let salesforce = match &p.salesforce {
            Some(s) => keep(
                Provider::Salesforce,
                open_salesforce(&config, s, (&http, &state, &log), caller),
                lenient,
                &mut missing,
            )?,
            None => None,
        };
        Ok(Session {
            profile: name,
            config,
            log,
            http,
            hubspot,
            salesforce,
            unavailable: missing,
            scratch: false,
        })
    }

    /// The profile's key-value store for scripts and the REPL; none without a profile.
    pub fn store(
        &self,
    ) -> Result<Option<Arc<crate::store::PluginStore>>, crate::store::StoreError> {
        if self.scratch {
            return Ok(None);
        }
        let path = self.config.state_dir(&self.profile).join("store.sqlite");
        Ok(Some(Arc::new(crate::store::PluginStore::open(&path)?)))
    }

    pub fn profile_config(&self) -> Result<&Profile, SessionError> {
        Ok(self.config.profile(Some(&self.profile))?.1)
    }

    pub fn hubspot(&self) -> Result<&HubspotApi, SessionError> {
        self.hubspot
            .as_ref()
            .ok_or_else(|| SessionError::NotConfigured {
                profile: self.profile.clone(),
                provider: "hubspot",
            })
    }

    pub fn salesforce(&self) -> Result<&SalesforceApi, SessionError> {
        self.salesforce
            .as_ref()
            .ok_or_else(|| SessionError::NotConfigured {
                profile: self.profile.clone(),
                provider: "salesforce",
            })
    }
}
