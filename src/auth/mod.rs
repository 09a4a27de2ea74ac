//! Connections: the tokens of each provider, kept fresh with exactly one refresh at a time.
//!
//! HubSpot tokens are refreshed ahead of their expiry (HubSpot says a 401 is not the signal
//! to refresh). Salesforce gives no expiry, so its session is refreshed when a call answers
//! 401 INVALID_SESSION_ID and the call is replayed once. Either way, any number of callers
//! that need a refresh at once cause one token request; the others wait for its result. A
//! refused refresh (revoked grant) is remembered: later calls fail at once with
//! `auth.revoked` instead of asking the token endpoint again.

pub mod flow;
pub mod oauth;
pub mod store;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Mutex;

use crate::error::{ApiError, ErrorClass, Provider};
use crate::secret::Secret;
use oauth::OAuthApp;
use store::{HubspotTokens, RevokedMark, SalesforceTokens, TokenFile};

/// Refresh this long before a HubSpot token expires (a quarter of its life at most).
const HUBSPOT_REFRESH_AHEAD: Duration = Duration::from_secs(300);

struct State<T> {
    tokens: Option<T>,
    revoked: Option<ApiError>,
}

fn not_connected(provider: Provider) -> ApiError {
    ApiError::new(
        provider,
        ErrorClass::AuthRevoked,
        format!("not connected to {}", provider.label()),
    )
    .with_hint(format!(
        "run `hubforce connect {}` first",
        provider.as_str()
    ))
}

fn save<T: serde::Serialize>(file: &TokenFile, tokens: &T, provider: Provider) {
    if let Err(e) = file.save(tokens) {
        // The new tokens still serve this process; the next start may need a reconnect.
        tracing::warn!(
            provider = provider.as_str(),
            "could not save refreshed tokens: {e}"
        );
    }
}

/// Remember a refusal that no retry can fix, so the token endpoint is not asked again; a
/// revoked grant is also written down for `status` and the profile's other processes.
fn remember_refusal<T>(st: &mut State<T>, file: &TokenFile, e: &ApiError) {
    if e.class == ErrorClass::AuthRevoked {
        file.mark_revoked(&RevokedMark {
            at: Utc::now(),
            class: e.class.as_str().into(),
            message: e.message.clone(),
            hint: e.hint.clone(),
        });
    }
    if matches!(
        e.class,
        ErrorClass::AuthRevoked | ErrorClass::AuthClient | ErrorClass::Permission
    ) {
        let mut revoked = e.clone();
        revoked.class = ErrorClass::AuthRevoked;
        st.revoked = Some(revoked);
    }
}

fn lock_failed(provider: Provider, e: store::StoreError) -> ApiError {
    ApiError::new(provider, ErrorClass::Transient, e.to_string()).with_hint(
        "another hubforce process on this profile is refreshing the tokens; retry in a moment",
    )
}

/// Tokens a process can tell apart: another process has refreshed (or reconnected) when the
/// file holds a different access token.
trait Grant: Clone + serde::de::DeserializeOwned {
    fn access(&self) -> &Secret;
}

impl Grant for HubspotTokens {
    fn access(&self) -> &Secret {
        &self.access_token
    }
}

impl Grant for SalesforceTokens {
    fn access(&self) -> &Secret {
        &self.access_token
    }
}

/// The tokens in the file when they are not the ones this process holds.
fn newer_on_disk<T: Grant>(file: &TokenFile, held: Option<&T>) -> Option<T> {
    let on_disk: T = file.load().ok().flatten()?;
    (held.map(Grant::access) != Some(on_disk.access())).then_some(on_disk)
}

/// A remembered refusal, unless `hubforce connect` (in any process) has replaced the tokens
/// since: then those are adopted and work goes on.
fn still_refused<T: Grant>(st: &mut State<T>, file: &TokenFile) -> Option<ApiError> {
    let refused = st.revoked.clone()?;
    match newer_on_disk(file, st.tokens.as_ref()) {
        Some(fresh) => {
            st.tokens = Some(fresh);
            st.revoked = None;
            None
        }
        None => Some(refused),
    }
}

pub struct HubspotAuth {
    app: OAuthApp,
    http: reqwest::Client,
    file: TokenFile,
    state: Mutex<State<HubspotTokens>>,
    refreshes: AtomicU64,
}

impl HubspotAuth {
    pub fn load(
        app: OAuthApp,
        http: reqwest::Client,
        file: TokenFile,
    ) -> Result<HubspotAuth, store::StoreError> {
        let tokens = file.load()?;
        Ok(HubspotAuth {
            app,
            http,
            file,
            state: Mutex::new(State {
                tokens,
                revoked: None,
            }),
            refreshes: AtomicU64::new(0),
        })
    }

    /// How many refresh grants this connection has made.
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    pub async fn tokens(&self) -> Option<HubspotTokens> {
        self.state.lock().await.tokens.clone()
    }

    /// A valid access token, refreshed first when it is close to expiry.
    pub async fn access_token(&self) -> Result<Secret, ApiError> {
        let mut st = self.state.lock().await;
        if let Some(e) = still_refused(&mut st, &self.file) {
            return Err(e);
        }
        let t = st
            .tokens
            .as_ref()
            .ok_or_else(|| not_connected(Provider::Hubspot))?;
        let life = (t.expires_at - t.obtained_at).to_std().unwrap_or_default();
        let ahead = HUBSPOT_REFRESH_AHEAD.min(life / 4);
        if t.expires_at - chrono::Duration::from_std(ahead).unwrap_or_default() > Utc::now() {
            return Ok(t.access_token.clone());
        }
        self.refresh(&mut st).await
    }

    /// A call answered 401 with `used`: refresh unless someone already did.
    pub async fn rejected(&self, used: &Secret) -> Result<Secret, ApiError> {
        let mut st = self.state.lock().await;
        if let Some(e) = still_refused(&mut st, &self.file) {
            return Err(e);
        }
        match &st.tokens {
            Some(t) if t.access_token != *used => Ok(t.access_token.clone()),
            Some(_) => self.refresh(&mut st).await,
            None => Err(not_connected(Provider::Hubspot)),
        }
    }

    async fn refresh(&self, st: &mut State<HubspotTokens>) -> Result<Secret, ApiError> {
        let Some(mut current) = st.tokens.clone() else {
            return Err(not_connected(Provider::Hubspot));
        };
        let _lock = self
            .file
            .lock()
            .await
            .map_err(|e| lock_failed(Provider::Hubspot, e))?;
        // Another process may have refreshed while this one waited: its tokens are the
        // ones to use (a rotated refresh token makes this process's copy useless).
        if let Some(on_disk) = newer_on_disk(&self.file, Some(&current)) {
            if on_disk.expires_at - chrono::Duration::seconds(30) > Utc::now() {
                let token = on_disk.access_token.clone();
                st.tokens = Some(on_disk);
                return Ok(token);
            }
            current = on_disk;
        }
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        match oauth::hubspot_refresh(&self.http, &self.app, &current.refresh_token).await {
            Ok(g) => {
                let now = Utc::now();
                let t = HubspotTokens {
                    access_token: g.access_token,
                    // Persist whatever comes back: rotation is undocumented but possible.
                    refresh_token: g.refresh_token.unwrap_or(current.refresh_token),
                    expires_at: now
                        + chrono::Duration::seconds(g.expires_in.unwrap_or(1800) as i64),
                    scopes: if g.scopes.is_empty() {
                        current.scopes
                    } else {
                        g.scopes
                    },
                    hub_id: g.hub_id.or(current.hub_id),
                    user_id: g.user_id.or(current.user_id),
                    obtained_at: now,
                };
                save(&self.file, &t, Provider::Hubspot);
                self.file.clear_revoked();
                let token = t.access_token.clone();
                st.tokens = Some(t);
                Ok(token)
            }
            Err(e) => {
                remember_refusal(st, &self.file, &e);
                Err(e)
            }
        }
    }

    /// A refused grant another process (or an earlier run) saw, until tokens change.
    pub fn revoked_mark(&self) -> Option<RevokedMark> {
        self.file.revoked()
    }

    /// Store tokens from a fresh connect.
    pub async fn install(&self, t: HubspotTokens) -> Result<(), store::StoreError> {
        self.file.save(&t)?;
        self.file.clear_revoked();
        let mut st = self.state.lock().await;
        st.tokens = Some(t);
        st.revoked = None;
        Ok(())
    }
}

/// The username + password + security token, for re-login when there is no refresh token.
#[derive(Clone)]
pub struct PasswordLogin {
    pub username: String,
    pub password: Secret,
    pub security_token: Secret,
}

pub struct SalesforceAuth {
    app: OAuthApp,
    http: reqwest::Client,
    file: TokenFile,
    state: Mutex<State<SalesforceTokens>>,
    password: Option<PasswordLogin>,
    refreshes: AtomicU64,
}

impl SalesforceAuth {
    pub fn load(
        app: OAuthApp,
        http: reqwest::Client,
        file: TokenFile,
        password: Option<PasswordLogin>,
    ) -> Result<SalesforceAuth, store::StoreError> {
        let tokens = file.load()?;
        Ok(SalesforceAuth {
            app,
            http,
            file,
            state: Mutex::new(State {
                tokens,
                revoked: None,
            }),
            password,
            refreshes: AtomicU64::new(0),
        })
    }

    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    pub async fn tokens(&self) -> Option<SalesforceTokens> {
        self.state.lock().await.tokens.clone()
    }

    /// The session token and the instance URL to send it to.
    pub async fn session(&self) -> Result<(Secret, String), ApiError> {
        let mut st = self.state.lock().await;
        if let Some(e) = still_refused(&mut st, &self.file) {
            return Err(e);
        }
        let t = st
            .tokens
            .as_ref()
            .ok_or_else(|| not_connected(Provider::Salesforce))?;
        Ok((t.access_token.clone(), t.instance_url.clone()))
    }

    /// A call answered 401 INVALID_SESSION_ID with `used`: refresh unless someone already did.
    pub async fn rejected(&self, used: &Secret) -> Result<(Secret, String), ApiError> {
        let mut st = self.state.lock().await;
        if let Some(e) = still_refused(&mut st, &self.file) {
            return Err(e);
        }
        let Some(current) = st.tokens.clone() else {
            return Err(not_connected(Provider::Salesforce));
        };
        if current.access_token != *used {
            return Ok((current.access_token, current.instance_url));
        }
        let _lock = self
            .file
            .lock()
            .await
            .map_err(|e| lock_failed(Provider::Salesforce, e))?;
        // Another process refreshed while this one waited: use its session (with rotation,
        // the refresh token this process holds is spent).
        if let Some(on_disk) = newer_on_disk(&self.file, Some(&current)) {
            let out = (on_disk.access_token.clone(), on_disk.instance_url.clone());
            st.tokens = Some(on_disk);
            return Ok(out);
        }
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        // Refresh at the login host the session came from (`connect --sandbox` may differ
        // from the profile's default host).
        let mut app = self.app.clone();
        if !current.login_url.is_empty() {
            app.token_url = format!(
                "{}/services/oauth2/token",
                current.login_url.trim_end_matches('/')
            );
        }
        let result = match (&current.refresh_token, &self.password) {
            (Some(r), _) => oauth::salesforce_refresh(&self.http, &app, r).await,
            (None, Some(p)) => oauth::salesforce_password(&self.http, &app, &p.username, &p.password, &p.security_token).await,
            (None, None) => Err(ApiError::new(Provider::Salesforce, ErrorClass::AuthRevoked, "the session expired and there is no refresh token (password login)")
                .with_hint("run `hubforce connect salesforce` again, or set username, password and security_token in hubforce.toml so hubforce can log in again")),
        };
        match result {
            Ok(g) => {
                let t = SalesforceTokens {
                    access_token: g.access_token,
                    refresh_token: g.refresh_token.or(current.refresh_token),
                    instance_url: g.instance_url,
                    id_url: g.id_url,
                    org_id: g.org_id,
                    user_id: g.user_id,
                    scope: g.scope.or(current.scope),
                    login_url: current.login_url,
                    sandbox: current.sandbox,
                    issued_at: g.issued_at,
                };
                save(&self.file, &t, Provider::Salesforce);
                self.file.clear_revoked();
                let out = (t.access_token.clone(), t.instance_url.clone());
                st.tokens = Some(t);
                Ok(out)
            }
            Err(e) => {
                remember_refusal(&mut st, &self.file, &e);
                Err(e)
            }
        }
    }

    pub fn revoked_mark(&self) -> Option<RevokedMark> {
        self.file.revoked()
    }

    pub async fn install(&self, t: SalesforceTokens) -> Result<(), store::StoreError> {
        self.file.save(&t)?;
        self.file.clear_revoked();
        let mut st = self.state.lock().await;
        st.tokens = Some(t);
        st.revoked = None;
        Ok(())
    }
}
