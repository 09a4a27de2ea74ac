//! Token endpoint calls for both providers, through the `oauth2` crate: the authorize URL
//! (with `state`, and PKCE for Salesforce), code exchange, refresh and the Salesforce
//! password grant. The HTTP exchange goes through our own function so that the raw answer is
//! kept for classification and plain http is refused for anything but loopback.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, HttpRequest, HttpResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername,
    Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::classify::{Grant, classify_network, classify_oauth};
use crate::config::token_safe_url;
use crate::error::{ApiError, ErrorClass, Provider};
use crate::secret::Secret;

/// One provider's OAuth app as hubforce uses it.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    pub provider: Provider,
    pub client_id: String,
    pub client_secret: Secret,
    pub authorize_url: String,
    pub token_url: String,
    pub redirect_uri: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HubspotExtra {
    #[serde(default)]
    pub hub_id: Option<u64>,
    #[serde(default)]
    pub user_id: Option<u64>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}
impl ExtraTokenFields for HubspotExtra {}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SalesforceExtra {
    pub instance_url: String,
    pub id: String,
    #[serde(default)]
    pub issued_at: Option<String>,
}
impl ExtraTokenFields for SalesforceExtra {}

type ProviderClient<EF> = oauth2::Client<
    BasicErrorResponse,
    StandardTokenResponse<EF, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A HubSpot token grant.
#[derive(Debug, Clone)]
pub struct HubspotGrant {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_in: Option<u64>,
    pub hub_id: Option<u64>,
    pub user_id: Option<u64>,
    pub scopes: Vec<String>,
}

/// A Salesforce token grant (no expiry: sessions end by inactivity).
#[derive(Debug, Clone)]
pub struct SalesforceGrant {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub instance_url: String,
    pub id_url: String,
    pub org_id: String,
    pub user_id: String,
    pub scope: Option<String>,
    pub issued_at: DateTime<Utc>,
}

fn config_error(provider: Provider, message: impl Into<String>) -> ApiError {
    ApiError::new(provider, ErrorClass::AuthClient, message)
}

fn client<EF: ExtraTokenFields>(app: &OAuthApp) -> Result<ProviderClient<EF>, ApiError> {
    let p = app.provider;
    let auth = AuthUrl::new(app.authorize_url.clone())
        .map_err(|e| config_error(p, format!("authorize URL: {e}")))?;
    let token = TokenUrl::new(app.token_url.clone())
        .map_err(|e| config_error(p, format!("token URL: {e}")))?;
    let redirect = RedirectUrl::new(app.redirect_uri.clone())
        .map_err(|e| config_error(p, format!("redirect URI: {e}")))?;
    Ok(oauth2::Client::new(ClientId::new(app.client_id.clone()))
        .set_client_secret(ClientSecret::new(app.client_secret.expose().to_string()))
        .set_auth_uri(auth)
        .set_token_uri(token)
        .set_redirect_uri(redirect)
        // HubSpot reads the client credentials from the body, not from Basic auth.
        .set_auth_type(AuthType::RequestBody))
}

/// The URL the user opens, the `state` to expect back, and the PKCE verifier (if used).
pub struct Authorization {
    pub url: url::Url,
    pub state: CsrfToken,
    pub pkce: Option<PkceCodeVerifier>,
}

pub fn authorize(
    app: &OAuthApp,
    scopes: &[String],
    optional_scopes: &[String],
    pkce: bool,
) -> Result<Authorization, ApiError> {
    let c = client::<HubspotExtra>(app)?;
    let mut req = c.authorize_url(CsrfToken::new_random);
    for s in scopes {
        req = req.add_scope(Scope::new(s.clone()));
    }
    if !optional_scopes.is_empty() {
        req = req.add_extra_param("optional_scope", optional_scopes.join(" "));
    }
    let verifier = if pkce {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        req = req.set_pkce_challenge(challenge);
        Some(verifier)
    } else {
        None
    };
    let (url, state) = req.url();
    Ok(Authorization {
        url,
        state,
        pkce: verifier,
    })
}

#[derive(Debug, thiserror::Error)]
enum HttpFail {
    #[error(transparent)]
    Network(reqwest::Error),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Build(String),
}

type Slot = Arc<Mutex<Option<(u16, Vec<u8>)>>>;

/// The HTTP client handed to `oauth2`: a concrete type (not a closure) so the futures stay
/// `Send` for any caller, keeping the raw answer in `slot`.
struct TokenHttp {
    http: reqwest::Client,
    slot: Slot,
}

impl<'c> oauth2::AsyncHttpClient<'c> for TokenHttp {
    type Error = HttpFail;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, HttpFail>> + Send + 'c>,
    >;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(send(&self.http, request, self.slot.clone()))
    }
}

/// Send one token request, keeping the raw answer for classification.
async fn send(
    http: &reqwest::Client,
    req: HttpRequest,
    slot: Slot,
) -> Result<HttpResponse, HttpFail> {
    token_safe_url(&req.uri().to_string()).map_err(HttpFail::Refused)?;
    let (parts, body) = req.into_parts();
    let resp = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(HttpFail::Network)?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.map_err(HttpFail::Network)?.to_vec();
    if let Ok(mut s) = slot.lock() {
        *s = Some((status.as_u16(), bytes.clone()));
    }
    let mut out = oauth2::http::Response::builder().status(status);
    for (k, v) in headers.iter() {
        out = out.header(k, v);
    }
    out.body(bytes).map_err(|e| HttpFail::Build(e.to_string()))
}

fn failure(
    provider: Provider,
    grant: Grant,
    err: RequestTokenError<HttpFail, BasicErrorResponse>,
    slot: &Mutex<Option<(u16, Vec<u8>)>>,
) -> ApiError {
    if let RequestTokenError::Request(HttpFail::Network(e)) = &err {
        return classify_network(provider, e);
    }
    if let RequestTokenError::Request(HttpFail::Refused(m)) = &err {
        return config_error(provider, m.clone());
    }
    match slot.lock().ok().and_then(|s| s.clone()) {
        Some((status, _)) if (200..300).contains(&status) => ApiError::new(
            provider,
            ErrorClass::Transient,
            format!(
                "the token endpoint answered {status} with a body that is not a token response"
            ),
        )
        .with_status(status),
        Some((status, body)) => classify_oauth(provider, grant, status, &body),
        None => ApiError::new(
            provider,
            ErrorClass::Transient,
            "the token request failed before an answer",
        ),
    }
}

/// Run one token request and return the parsed response.
async fn token_call<EF, Fut>(
    provider: Provider,
    grant: Grant,
    run: impl FnOnce(Slot) -> Fut,
) -> Result<StandardTokenResponse<EF, BasicTokenType>, ApiError>
where
    EF: ExtraTokenFields,
    Fut: std::future::Future<
            Output = Result<
                StandardTokenResponse<EF, BasicTokenType>,
                RequestTokenError<HttpFail, BasicErrorResponse>,
            >,
        >,
{
    let slot = Arc::new(Mutex::new(None));
    run(slot.clone())
        .await
        .map_err(|e| failure(provider, grant, e, &slot))
}

fn hubspot_grant(t: StandardTokenResponse<HubspotExtra, BasicTokenType>) -> HubspotGrant {
    let extra = t.extra_fields().clone();
    HubspotGrant {
        access_token: Secret::new(t.access_token().secret().clone()),
        refresh_token: t.refresh_token().map(|r| Secret::new(r.secret().clone())),
        expires_in: t.expires_in().map(|d| d.as_secs()),
        hub_id: extra.hub_id,
        user_id: extra.user_id,
        scopes: extra.scopes.unwrap_or_default(),
    }
}

fn salesforce_grant(
    t: StandardTokenResponse<SalesforceExtra, BasicTokenType>,
) -> Result<SalesforceGrant, ApiError> {
    let extra = t.extra_fields().clone();
    let mut ids = extra.id.trim_end_matches('/').rsplit('/');
    let user_id = ids.next().unwrap_or_default().to_string();
    let org_id = ids.next().unwrap_or_default().to_string();
    if org_id.is_empty() || user_id.is_empty() || extra.instance_url.is_empty() {
        return Err(ApiError::new(
            Provider::Salesforce,
            ErrorClass::Transient,
            "the token response lacks instance_url or the identity URL",
        ));
    }
    token_safe_url(&extra.instance_url)
        .map_err(|m| config_error(Provider::Salesforce, format!("instance_url: {m}")))?;
    let issued_at = extra
        .issued_at
        .as_deref()
        .and_then(|ms| ms.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or_else(Utc::now);
    Ok(SalesforceGrant {
        access_token: Secret::new(t.access_token().secret().clone()),
        refresh_token: t.refresh_token().map(|r| Secret::new(r.secret().clone())),
        instance_url: extra.instance_url.trim_end_matches('/').to_string(),
        id_url: extra.id,
        org_id,
        user_id,
        scope: t.scopes().map(|s| {
            s.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        }),
        issued_at,
    })
}

pub async fn hubspot_exchange(
    http: &reqwest::Client,
    app: &OAuthApp,
    code: &str,
) -> Result<HubspotGrant, ApiError> {
    let c = client::<HubspotExtra>(app)?;
    let t = token_call(Provider::Hubspot, Grant::AuthorizationCode, |slot| {
        let call = TokenHttp {
            http: http.clone(),
            slot,
        };
        async move {
            c.exchange_code(AuthorizationCode::new(code.to_string()))
                .request_async(&call)
                .await
        }
    })
    .await?;
    Ok(hubspot_grant(t))
}

pub async fn hubspot_refresh(
    http: &reqwest::Client,
    app: &OAuthApp,
    refresh: &Secret,
) -> Result<HubspotGrant, ApiError> {
    let c = client::<HubspotExtra>(app)?;
    let rt = RefreshToken::new(refresh.expose().to_string());
    let t = token_call(Provider::Hubspot, Grant::Refresh, |slot| {
        let call = TokenHttp {
            http: http.clone(),
            slot,
        };
        async move { c.exchange_refresh_token(&rt).request_async(&call).await }
    })
    .await?;
    Ok(hubspot_grant(t))
}

pub async fn salesforce_exchange(
    http: &reqwest::Client,
    app: &OAuthApp,
    code: &str,
    verifier: PkceCodeVerifier,
) -> Result<SalesforceGrant, ApiError> {
    let c = client::<SalesforceExtra>(app)?;
    let t = token_call(Provider::Salesforce, Grant::AuthorizationCode, |slot| {
        let call = TokenHttp {
            http: http.clone(),
            slot,
        };
        async move {
            c.exchange_code(AuthorizationCode::new(code.to_string()))
                .set_pkce_verifier(verifier)
                .request_async(&call)
                .await
        }
    })
    .await?;
    salesforce_grant(t)
}

pub async fn salesforce_refresh(
    http: &reqwest::Client,
    app: &OAuthApp,
    refresh: &Secret,
) -> Result<SalesforceGrant, ApiError> {
    let c = client::<SalesforceExtra>(app)?;
    let rt = RefreshToken::new(refresh.expose().to_string());
    let t = token_call(Provider::Salesforce, Grant::Refresh, |slot| {
        let call = TokenHttp {
            http: http.clone(),
            slot,
        };
        async move { c.exchange_refresh_token(&rt).request_async(&call).await }
    })
    .await?;
    salesforce_grant(t)
}

/// The username + password + security token grant (the password immediately followed by
/// the token, as Salesforce expects).
pub async fn salesforce_password(
    http: &reqwest::Client,
    app: &OAuthApp,
    username: &str,
    password: &Secret,
    security_token: &Secret,
) -> Result<SalesforceGrant, ApiError> {
    let c = client::<SalesforceExtra>(app)?;
    let user = ResourceOwnerUsername::new(username.to_string());
    let pass =
        ResourceOwnerPassword::new(format!("{}{}", password.expose(), security_token.expose()));
    let t = token_call(Provider::Salesforce, Grant::Password, |slot| {
        let call = TokenHttp {
            http: http.clone(),
            slot,
        };
        async move { c.exchange_password(&user, &pass).request_async(&call).await }
    })
    .await?;
    salesforce_grant(t)
}
