//! HubSpot OAuth: the install (authorize) page, the token endpoint and token metadata.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;

use super::errors::{HsError, oauth_error};
use crate::sim::SimState;

const CODE_TTL_SECS: i64 = 600;

#[derive(Debug, Clone)]
struct AuthCode {
    redirect_uri: String,
    scopes: Vec<String>,
    expires: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub scopes: Vec<String>,
    pub expires: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct RefreshToken {
    scopes: Vec<String>,
}

/// Issued codes and tokens. Tokens are opaque random strings; nothing about them is derived
/// from the client's request.
pub struct OAuthState {
    codes: HashMap<String, AuthCode>,
    pub access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    rng: fastrand::Rng,
    pub deny_consent: bool,
    pub rotate_refresh_tokens: bool,
    /// Scopes refused at call time although granted (control API `withheld_scopes`).
    pub withheld_scopes: Vec<String>,
}

impl OAuthState {
    pub fn new(seed: u64, rotate: bool) -> OAuthState {
        OAuthState {
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            rng: fastrand::Rng::with_seed(seed ^ 0x0A07),
            deny_consent: false,
            rotate_refresh_tokens: rotate,
            withheld_scopes: Vec::new(),
        }
    }

    fn random(&mut self, len: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..len)
            .map(|_| A[self.rng.usize(..A.len())] as char)
            .collect()
    }

    /// Every access token now past its expiry (control API).
    pub fn expire_all(&mut self) {
        let past = Utc::now() - Duration::seconds(1);
        for t in self.access.values_mut() {
            t.expires = past;
        }
    }

    /// Revoke every refresh token, as an app uninstall does (control API).
    pub fn revoke_all_refresh(&mut self) {
        self.refresh.clear();
    }

    fn issue(
        &mut self,
        scopes: Vec<String>,
        ttl: i64,
        refresh: Option<String>,
    ) -> (String, String) {
        let access = format!("C{}", self.random(150));
        self.access.insert(
            access.clone(),
            AccessToken {
                scopes: scopes.clone(),
                expires: Utc::now() + Duration::seconds(ttl),
            },
        );
        let refresh = match refresh {
            Some(r) => r,
            None => {
                let r = format!(
                    "na1-{}-{}-{}",
                    self.random(4),
                    self.random(4),
                    self.random(24)
                );
                self.refresh.insert(r.clone(), RefreshToken { scopes });
                r
            }
        };
        (access, refresh)
    }
}

#[derive(Deserialize)]
pub struct AuthorizeQuery {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    optional_scope: Option<String>,
    state: Option<String>,
}

fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html><head><title>HubSpot - {title}</title></head><body><h1>{title}</h1><p>{detail}</p></body></html>"
    );
    (status, Html(body)).into_response()
}

/// `GET /oauth/authorize`: HubSpot's install page. The simulator approves on the user's
/// behalf (unless consent denial is switched on) and redirects with a code.
pub async fn authorize(
    State(sim): State<Arc<SimState>>,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    let mut hs = sim.hubspot();
    let app = hs.settings.clone();
    if q.client_id.as_deref() != Some(app.client_id.as_str()) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Couldn't complete the connection",
            "Invalid client_id: no app with this client id exists.",
        );
    }
    let Some(redirect) = q.redirect_uri.filter(|r| *r == app.redirect_uri) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Authorization failed",
            "Authorization failed as the redirect URL doesn't match the app's registered redirect URL.",
        );
    };
    let requested: Vec<String> = q
        .scope
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    let missing: Vec<&String> = app
        .required_scopes
        .iter()
        .filter(|s| !requested.contains(s))
        .collect();
    let unknown: Vec<&String> = requested
        .iter()
        .filter(|s| !app.required_scopes.contains(s) && !app.optional_scopes.contains(s))
        .collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let detail = if !missing.is_empty() {
            format!(
                "The scope parameter is missing scopes this app requires: {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        } else {
            format!(
                "The scope parameter asks for scopes this app does not have configured as required: {}",
                unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        };
        return error_page(
            StatusCode::BAD_REQUEST,
            "Couldn't complete the connection",
            &detail,
        );
    }
    let mut url = match url::Url::parse(&redirect) {
        Ok(u) => u,
        Err(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Authorization failed",
                "Invalid redirect URL.",
            );
        }
    };
    if hs.oauth.deny_consent {
        url.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair(
                "error_description",
                "The user denied the request to install the app.",
            );
    } else {
        let mut scopes = requested;
        for s in q.optional_scope.unwrap_or_default().split_whitespace() {
            if app.optional_scopes.iter().any(|o| o == s) {
                scopes.push(s.to_string());
            }
        }
        let code = hs.oauth.random(36);
        hs.oauth.codes.insert(
            code.clone(),
            AuthCode {
                redirect_uri: redirect.clone(),
                scopes,
                expires: Utc::now() + Duration::seconds(CODE_TTL_SECS),
            },
        );
        url.query_pairs_mut().append_pair("code", &code);
    }
    if let Some(state) = q.state {
        url.query_pairs_mut().append_pair("state", &state);
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
    refresh_token: Option<String>,
}

/// `POST /oauth/v1/token` (and the v3 / date-versioned twins).
pub async fn token(
    State(sim): State<Arc<SimState>>,
    form: Result<Form<TokenForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return oauth_error(
            "BAD_REQUEST",
            "invalid_request",
            "Any of the listed authentication credentials are missing",
        );
    };
    let mut hs = sim.hubspot();
    let app = hs.settings.clone();
    let (Some(grant), Some(client_id), Some(secret)) = (
        f.grant_type.as_deref(),
        f.client_id.as_deref(),
        f.client_secret.as_deref(),
    ) else {
        return oauth_error(
            "BAD_REQUEST",
            "invalid_request",
            "Any of the listed authentication credentials are missing",
        );
    };
    if client_id != app.client_id {
        return oauth_error(
            "BAD_CLIENT_ID",
            "invalid_client",
            "missing or unknown client id",
        );
    }
    if secret != app.client_secret {
        return oauth_error(
            "BAD_CLIENT_SECRET",
            "invalid_client",
            "missing or invalid client secret",
        );
    }
    let ttl = app.access_token_ttl_secs as i64;
    let issued = match grant {
        "authorization_code" => {
            let Some(code) = f.code.as_deref() else {
                return oauth_error(
                    "BAD_AUTH_CODE",
                    "invalid_grant",
                    "missing or invalid auth code",
                );
            };
            let Some(c) = hs.oauth.codes.remove(code) else {
                return oauth_error(
                    "BAD_AUTH_CODE",
                    "invalid_grant",
                    "missing or invalid auth code",
                );
            };
            if c.expires < Utc::now() {
                return oauth_error("EXPIRED_AUTH_CODE", "invalid_grant", "auth code is expired");
            }
            if f.redirect_uri.as_deref() != Some(c.redirect_uri.as_str()) {
                return oauth_error(
                    "BAD_REDIRECT_URI",
                    "invalid_grant",
                    "redirect_uri does not match the redirect_uri used to obtain the auth code",
                );
            }
            hs.oauth.issue(c.scopes, ttl, None)
        }
        "refresh_token" => {
            let Some(rt) = f.refresh_token.as_deref() else {
                return oauth_error(
                    "BAD_REFRESH_TOKEN",
                    "invalid_grant",
                    "missing or invalid refresh token",
                );
            };
            let Some(r) = hs.oauth.refresh.get(rt).cloned() else {
                return oauth_error(
                    "BAD_REFRESH_TOKEN",
                    "invalid_grant",
                    "missing or invalid refresh token",
                );
            };
            if hs.oauth.rotate_refresh_tokens {
                hs.oauth.refresh.remove(rt);
                hs.oauth.issue(r.scopes, ttl, None)
            } else {
                hs.oauth.issue(r.scopes, ttl, Some(rt.to_string()))
            }
        }
        other => {
            return oauth_error(
                "BAD_GRANT_TYPE",
                "unsupported_grant_type",
                &format!("grant_type {other} is not supported"),
            );
        }
    };
    let scopes = hs
        .oauth
        .access
        .get(&issued.0)
        .map(|t| t.scopes.clone())
        .unwrap_or_default();
    let (portal, user_id) = (app.portal_id, 1_000_000 + app.portal_id % 1000);
    drop(hs);
    sim.stats.record_grant("hubspot", grant);
    axum::Json(json!({
        "token_type": "bearer",
        "refresh_token": issued.1,
        "access_token": issued.0,
        "expires_in": ttl,
        "hub_id": portal,
        "user_id": user_id,
        "scopes": scopes,
        "token_use": "access_token",
    }))
    .into_response()
}

fn metadata_base(sim: &SimState) -> serde_json::Value {
    let app = &sim.config.hubspot;
    json!({
        "user": "sim-admin@acme-sim.example.com",
        "hub_domain": format!("acme-sim-{}.hubspot.example", app.portal_id),
        "hub_id": app.portal_id,
        "user_id": 1_000_000 + app.portal_id % 1000,
    })
}

/// `GET /oauth/v1/access-tokens/{token}`
pub async fn access_token_info(
    State(sim): State<Arc<SimState>>,
    Path(token): Path<String>,
) -> Response {
    let info = sim.hubspot().oauth.access.get(&token).cloned();
    let Some(t) = info else {
        return HsError::not_found("Token not found").into_response();
    };
    let mut v = metadata_base(&sim);
    v["token"] = json!(token);
    v["scopes"] = json!(t.scopes);
    v["token_type"] = json!("access");
    v["app_id"] = json!(sim.config.hubspot.portal_id % 100_000 + 3_000_000);
    v["expires_in"] = json!((t.expires - Utc::now()).num_seconds().max(0));
    axum::Json(v).into_response()
}

/// `GET /oauth/v1/refresh-tokens/{token}`
pub async fn refresh_token_info(
    State(sim): State<Arc<SimState>>,
    Path(token): Path<String>,
) -> Response {
    let info = sim.hubspot().oauth.refresh.get(&token).cloned();
    let Some(t) = info else {
        return HsError::not_found("Token not found").into_response();
    };
    let mut v = metadata_base(&sim);
    v["token"] = json!(token);
    v["scopes"] = json!(t.scopes);
    v["token_type"] = json!("refresh");
    v["client_id"] = json!(sim.config.hubspot.client_id);
    axum::Json(v).into_response()
}

/// `DELETE /oauth/v1/refresh-tokens/{token}`: deletes the refresh token only; access tokens
/// already issued keep working until they expire.
pub async fn delete_refresh_token(
    State(sim): State<Arc<SimState>>,
    Path(token): Path<String>,
) -> Response {
    if sim.hubspot().oauth.refresh.remove(&token).is_some() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        HsError::not_found("Token not found").into_response()
    }
}
