//! Salesforce OAuth on the login host: authorize (code + PKCE), token (authorization_code,
//! refresh_token, password), revoke, introspect, userinfo and the identity URL.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::errors::{SfError, oauth_error};
use crate::sim::SimState;
use crate::sim::http::bearer;

const CODE_TTL: Duration = Duration::from_secs(900);
/// What the connected app grants when the request names no scope.
const APP_SCOPES: &str = "api refresh_token offline_access id openid";

struct AuthCode {
    redirect_uri: String,
    challenge: Option<String>,
    scope: String,
    issued: Instant,
}

#[derive(Debug, Clone)]
struct Session {
    scope: String,
    last_used: Instant,
    issued_ms: i64,
    refresh: Option<String>,
}

#[derive(Debug, Clone)]
struct Refresh {
    scope: String,
    /// Rotated tokens share a family; reusing a rotated-out token kills the family.
    family: u64,
    current: bool,
}

pub struct OAuthState {
    codes: HashMap<String, AuthCode>,
    sessions: HashMap<String, Session>,
    refresh: HashMap<String, Refresh>,
    in_process: HashSet<String>,
    next_family: u64,
    rng: fastrand::Rng,
    pub deny_consent: bool,
}

impl OAuthState {
    pub fn new(seed: u64) -> OAuthState {
        OAuthState {
            codes: HashMap::new(),
            sessions: HashMap::new(),
            refresh: HashMap::new(),
            in_process: HashSet::new(),
            next_family: 1,
            rng: fastrand::Rng::with_seed(seed ^ 0x5F0A),
            deny_consent: false,
        }
    }

    fn random(&mut self, len: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
        (0..len)
            .map(|_| A[self.rng.usize(..A.len())] as char)
            .collect()
    }

    /// A live session for this token (restarting its inactivity timer), or None.
    pub fn touch_session(&mut self, token: &str, ttl: Duration) -> Option<()> {
        let s = self.sessions.get_mut(token)?;
        if s.last_used.elapsed() >= ttl {
            self.sessions.remove(token);
            return None;
        }
        s.last_used = Instant::now();
        Some(())
    }

    fn session_live(&self, token: &str, ttl: Duration) -> Option<&Session> {
        self.sessions
            .get(token)
            .filter(|s| s.last_used.elapsed() < ttl)
    }

    pub fn expire_all(&mut self) {
        self.sessions.clear();
    }

    pub fn revoke_all_refresh(&mut self) {
        self.refresh.clear();
    }

    fn new_session(&mut self, org15: &str, scope: &str, refresh: Option<String>) -> (String, i64) {
        let token = format!("{org15}!{}", self.random(96));
        let issued_ms = Utc::now().timestamp_millis();
        self.sessions.insert(
            token.clone(),
            Session {
                scope: scope.into(),
                last_used: Instant::now(),
                issued_ms,
                refresh,
            },
        );
        (token, issued_ms)
    }

    fn new_refresh(&mut self, scope: &str, family: Option<u64>) -> String {
        let family = family.unwrap_or_else(|| {
            self.next_family += 1;
            self.next_family
        });
        let token = format!("5Aep861{}", self.random(80));
        self.refresh.insert(
            token.clone(),
            Refresh {
                scope: scope.into(),
                family,
                current: true,
            },
        );
        token
    }

    /// Revoke a refresh token and everything issued from it, or one session.
    fn revoke(&mut self, token: &str) -> bool {
        if let Some(r) = self.refresh.remove(token) {
            let family = r.family;
            let dead: Vec<String> = self
                .refresh
                .iter()
                .filter(|(_, x)| x.family == family)
                .map(|(k, _)| k.clone())
                .collect();
            for k in dead {
                self.refresh.remove(&k);
            }
            self.sessions
                .retain(|_, s| s.refresh.as_deref() != Some(token));
            return true;
        }
        self.sessions.remove(token).is_some()
    }
}

fn error_page(code: &str, description: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html><head><title>OAuth Error</title></head><body><h1>OAuth Error</h1>\
         <p>We can't authorize you because of an OAuth error. For more information, contact your Salesforce administrator.</p>\
         <p>{code}: {description}</p></body></html>"
    );
    (StatusCode::BAD_REQUEST, Html(body)).into_response()
}

#[derive(Deserialize)]
pub struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    scope: Option<String>,
    code_challenge: Option<String>,
}

/// `GET /services/oauth2/authorize`: approves on the user's behalf unless denial is on.
pub async fn authorize(
    State(sim): State<Arc<SimState>>,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    let mut sf = sim.salesforce();
    let app = sf.settings.clone();
    if q.client_id.as_deref() != Some(app.client_id.as_str()) {
        return error_page("invalid_client_id", "client identifier invalid");
    }
    let Some(redirect) = q.redirect_uri.clone() else {
        return error_page("redirect_uri_missing", "redirect_uri must be provided");
    };
    if redirect != app.redirect_uri {
        return error_page(
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        );
    }
    let Ok(mut url) = url::Url::parse(&redirect) else {
        return error_page(
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        );
    };
    let mut fail = |code: &str, desc: &str| {
        url.query_pairs_mut()
            .append_pair("error", code)
            .append_pair("error_description", desc);
        if let Some(s) = &q.state {
            url.query_pairs_mut().append_pair("state", s);
        }
        (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
    };
    if q.response_type.as_deref() != Some("code") {
        return fail("unsupported_response_type", "response type not supported");
    }
    let scope = q.scope.clone().unwrap_or_else(|| APP_SCOPES.to_string());
    if let Some(bad) = scope
        .split_whitespace()
        .find(|s| !APP_SCOPES.split(' ').any(|a| a == *s) && *s != "full" && *s != "web")
    {
        return fail(
            "invalid_scope",
            &format!("the requested scope is not allowed: {bad}"),
        );
    }
    if sf.oauth.deny_consent {
        return fail("access_denied", "end-user denied authorization");
    }
    let code = format!("aPrx{}", sf.oauth.random(60));
    sf.oauth.codes.insert(
        code.clone(),
        AuthCode {
            redirect_uri: redirect,
            challenge: q.code_challenge.clone(),
            scope,
            issued: Instant::now(),
        },
    );
    url.query_pairs_mut().append_pair("code", &code);
    if let Some(s) = &q.state {
        url.query_pairs_mut().append_pair("state", s);
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    redirect_uri: Option<String>,
    code: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

fn signature(secret: &str, id: &str, issued: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(issued.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn bad(code: &str, desc: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, code, desc)
}

/// A refused grant: the OAuth `error` and `error_description`.
struct Refusal(&'static str, &'static str);

impl Refusal {
    fn response(&self) -> Response {
        bad(self.0, self.1)
    }
}

/// `POST /services/oauth2/token`
pub async fn token(
    State(sim): State<Arc<SimState>>,
    form: Result<Form<TokenForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return bad("invalid_request", "grant type is missing");
    };
    let Some(grant) = f.grant_type.clone() else {
        return bad("invalid_request", "grant type is missing");
    };
    let processing = {
        let sf = sim.salesforce();
        if f.client_id.as_deref() != Some(sf.settings.client_id.as_str()) {
            return bad("invalid_client_id", "client identifier invalid");
        }
        if f.client_secret.as_deref() != Some(sf.settings.client_secret.as_str()) {
            return bad("invalid_client", "invalid client credentials");
        }
        if !sf.settings.consumer_approved && grant != "password" {
            return bad("invalid_grant", "user hasn't approved this consumer");
        }
        Duration::from_millis(sf.settings.refresh_processing_ms)
    };
    let response = match grant.as_str() {
        "authorization_code" => code_grant(&sim, &f),
        "refresh_token" => refresh_grant(&sim, &f, processing).await,
        "password" => password_grant(&sim, &f),
        _ => return bad("unsupported_grant_type", "grant type not supported"),
    };
    match response {
        Ok(body) => {
            sim.stats.record_grant("salesforce", &grant);
            axum::Json(body).into_response()
        }
        Err(r) => r.response(),
    }
}

fn token_body(
    sim: &SimState,
    access: &str,
    issued_ms: i64,
    scope: &str,
    refresh: Option<&str>,
) -> Value {
    let sf = sim.salesforce();
    let id = format!(
        "{}/id/{}/{}",
        sim.urls.sf_login, sf.org_id, sf.store.user_id
    );
    let issued = issued_ms.to_string();
    let mut v = json!({
        "access_token": access,
        "signature": signature(&sf.settings.client_secret, &id, &issued),
        "scope": scope,
        "instance_url": sim.urls.sf_instance,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued,
    });
    if let Some(r) = refresh {
        v["refresh_token"] = json!(r);
    }
    v
}

fn org15(org_id: &str) -> String {
    org_id.chars().take(15).collect()
}

fn code_grant(sim: &SimState, f: &TokenForm) -> Result<Value, Refusal> {
    let (access, issued, scope, refresh) = {
        let mut sf = sim.salesforce();
        let code = f.code.as_deref().unwrap_or_default();
        let Some(c) = sf.oauth.codes.remove(code) else {
            return Err(Refusal("invalid_grant", "expired authorization code"));
        };
        if c.issued.elapsed() >= CODE_TTL {
            return Err(Refusal("invalid_grant", "expired authorization code"));
        }
        if f.redirect_uri.as_deref() != Some(c.redirect_uri.as_str()) {
            return Err(Refusal(
                "redirect_uri_mismatch",
                "redirect_uri must match configuration",
            ));
        }
        match (&c.challenge, &f.code_verifier) {
            (Some(_), None) => return Err(Refusal("invalid_grant", "invalid code verifier")),
            (Some(challenge), Some(verifier)) => {
                let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                if &computed != challenge {
                    return Err(Refusal("invalid_request", "invalid code verifier"));
                }
            }
            _ => {}
        }
        let wants_refresh = c
            .scope
            .split_whitespace()
            .any(|s| matches!(s, "refresh_token" | "offline_access" | "full"));
        let refresh = wants_refresh.then(|| sf.oauth.new_refresh(&c.scope, None));
        let org = org15(&sf.org_id);
        let (access, issued) = sf.oauth.new_session(&org, &c.scope, refresh.clone());
        (access, issued, c.scope, refresh)
    };
    Ok(token_body(sim, &access, issued, &scope, refresh.as_deref()))
}

async fn refresh_grant(
    sim: &SimState,
    f: &TokenForm,
    processing: Duration,
) -> Result<Value, Refusal> {
    let token = f.refresh_token.clone().unwrap_or_default();
    {
        let mut sf = sim.salesforce();
        if !sf.oauth.in_process.insert(token.clone()) {
            // Summer '24: simultaneous requests with one refresh token are refused.
            return Err(Refusal(
                "invalid_grant",
                "token request is already being processed",
            ));
        }
    }
    if !processing.is_zero() {
        tokio::time::sleep(processing).await;
    }
    let mut sf = sim.salesforce();
    sf.oauth.in_process.remove(&token);
    let Some(r) = sf.oauth.refresh.get(&token).cloned() else {
        return Err(Refusal("invalid_grant", "expired access/refresh token"));
    };
    if !r.current {
        // A rotated-out token was replayed: revoke the whole family.
        sf.oauth.revoke(&token);
        return Err(Refusal("invalid_grant", "expired access/refresh token"));
    }
    let rotated = if sf.settings.rotate_refresh_tokens {
        if let Some(old) = sf.oauth.refresh.get_mut(&token) {
            old.current = false;
        }
        Some(sf.oauth.new_refresh(&r.scope, Some(r.family)))
    } else {
        None
    };
    let org = org15(&sf.org_id);
    let (access, issued) =
        sf.oauth
            .new_session(&org, &r.scope, Some(rotated.clone().unwrap_or(token)));
    drop(sf);
    Ok(token_body(
        sim,
        &access,
        issued,
        &r.scope,
        rotated.as_deref(),
    ))
}

fn password_grant(sim: &SimState, f: &TokenForm) -> Result<Value, Refusal> {
    let (access, issued) = {
        let mut sf = sim.salesforce();
        let expected = format!("{}{}", sf.settings.password, sf.settings.security_token);
        let user_ok = f
            .username
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case(&sf.settings.username()));
        if !user_ok || f.password.as_deref() != Some(expected.as_str()) {
            return Err(Refusal("invalid_grant", "authentication failure"));
        }
        let org = org15(&sf.org_id);
        sf.oauth.new_session(&org, "api", None)
    };
    // The password flow supports neither scopes nor refresh tokens.
    let mut body = token_body(sim, &access, issued, "api", None);
    if let Some(m) = body.as_object_mut() {
        m.remove("scope");
    }
    Ok(body)
}

#[derive(Deserialize)]
pub struct RevokeForm {
    token: Option<String>,
}

fn do_revoke(sim: &SimState, token: Option<String>) -> Response {
    let ok = token.is_some_and(|t| sim.salesforce().oauth.revoke(&t));
    if ok {
        StatusCode::OK.into_response()
    } else {
        bad("invalid_token", "invalid token")
    }
}

/// `POST /services/oauth2/revoke` (form `token=`)
pub async fn revoke(
    State(sim): State<Arc<SimState>>,
    form: Result<Form<RevokeForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    do_revoke(&sim, form.ok().and_then(|Form(f)| f.token))
}

/// `GET /services/oauth2/revoke?token=`
pub async fn revoke_get(State(sim): State<Arc<SimState>>, Query(q): Query<RevokeForm>) -> Response {
    do_revoke(&sim, q.token)
}

#[derive(Deserialize)]
pub struct IntrospectForm {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `POST /services/oauth2/introspect`
pub async fn introspect(
    State(sim): State<Arc<SimState>>,
    Form(f): Form<IntrospectForm>,
) -> Response {
    let sf = sim.salesforce();
    if f.client_id.as_deref() != Some(sf.settings.client_id.as_str())
        || f.client_secret.as_deref() != Some(sf.settings.client_secret.as_str())
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "invalid client credentials",
        );
    }
    let token = f.token.unwrap_or_default();
    let ttl = Duration::from_secs(sf.settings.session_ttl_secs);
    let username = sf.settings.username();
    if let Some(s) = sf.oauth.session_live(&token, ttl) {
        let iat = s.issued_ms / 1000;
        let left = ttl.saturating_sub(s.last_used.elapsed()).as_secs() as i64;
        return axum::Json(json!({
            "active": true, "scope": s.scope, "client_id": sf.settings.client_id, "username": username,
            "sub": format!("{}/id/{}/{}", sim.urls.sf_login, sf.org_id, sf.store.user_id),
            "token_type": "access_token", "exp": Utc::now().timestamp() + left, "iat": iat, "nbf": iat,
        }))
        .into_response();
    }
    if let Some(r) = sf.oauth.refresh.get(&token).filter(|r| r.current) {
        return axum::Json(
            json!({"active": true, "scope": r.scope, "client_id": sf.settings.client_id,
                                 "username": username, "token_type": "refresh_token"}),
        )
        .into_response();
    }
    axum::Json(json!({"active": false})).into_response()
}

fn identity_json(sim: &SimState) -> Value {
    let sf = sim.salesforce();
    let user = sf.store.get(&sf.store.user_id);
    let field = |k: &str| {
        user.and_then(|u| u.get(k).as_str().map(String::from))
            .unwrap_or_default()
    };
    let version = &sf.settings.api_version;
    let inst = &sim.urls.sf_instance;
    json!({
        "id": format!("{}/id/{}/{}", sim.urls.sf_login, sf.org_id, sf.store.user_id),
        "asserted_user": true,
        "user_id": sf.store.user_id,
        "organization_id": sf.org_id,
        "username": field("Username"),
        "nick_name": field("FirstName"),
        "display_name": field("Name"),
        "email": field("Email"),
        "email_verified": true,
        "first_name": field("FirstName"),
        "last_name": field("LastName"),
        "timezone": "GMT",
        "active": true,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "is_lightning_login_user": false,
        "urls": {
            "rest": format!("{inst}/services/data/v{{version}}/"),
            "sobjects": format!("{inst}/services/data/v{{version}}/sobjects/"),
            "query": format!("{inst}/services/data/v{{version}}/query/"),
            "limits": format!("{inst}/services/data/v{{version}}/limits/"),
            "custom_domain": inst,
        },
        "api_version_hint": version,
    })
}

fn authorized(sim: &SimState, headers: &HeaderMap) -> bool {
    let mut sf = sim.salesforce();
    let ttl = Duration::from_secs(sf.settings.session_ttl_secs);
    bearer(headers)
        .and_then(|t| sf.oauth.touch_session(t, ttl))
        .is_some()
}

/// `GET /id/{orgId}/{userId}`: the identity URL from the token response.
pub async fn identity(
    State(sim): State<Arc<SimState>>,
    Path((org, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&sim, &headers) {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    }
    let v = identity_json(&sim);
    if v["organization_id"] != json!(org) || v["user_id"] != json!(user) {
        return SfError::not_found().into_response();
    }
    axum::Json(v).into_response()
}

/// `GET /services/oauth2/userinfo` (OpenID Connect).
pub async fn userinfo(State(sim): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    if !authorized(&sim, &headers) {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    }
    let i = identity_json(&sim);
    axum::Json(json!({
        "sub": i["id"], "user_id": i["user_id"], "organization_id": i["organization_id"],
        "preferred_username": i["username"], "nickname": i["nick_name"], "name": i["display_name"],
        "email": i["email"], "email_verified": true, "given_name": i["first_name"], "family_name": i["last_name"],
        "zoneinfo": "GMT", "locale": "en_US", "active": true, "user_type": "STANDARD", "urls": i["urls"],
        "is_salesforce_integration_user": false,
    }))
    .into_response()
}
