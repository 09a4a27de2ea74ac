//! The browser leg of the authorization-code flow: a one-shot listener on the loopback
//! redirect URI that takes the provider's redirect, checks `state`, and hands over the code.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use tokio::sync::mpsc;

use crate::error::{ApiError, ErrorClass, Provider};

/// What came back to the redirect URI.
#[derive(Debug, Clone)]
enum Outcome {
    Code(String),
    Refused { error: String, description: String },
    StateMismatch,
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html><head><title>hubforce — {title}</title></head><body><h1>{title}</h1><p>{body}</p></body></html>"
    ))
}

async fn callback(
    State((tx, state)): State<(mpsc::Sender<Outcome>, String)>,
    RawQuery(q): RawQuery,
) -> impl IntoResponse {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let outcome = if let Some(error) = get("error") {
        Outcome::Refused {
            error,
            description: get("error_description").unwrap_or_default(),
        }
    } else if get("state").as_deref() != Some(state.as_str()) {
        Outcome::StateMismatch
    } else if let Some(code) = get("code") {
        Outcome::Code(code)
    } else {
        Outcome::Refused {
            error: "no_code".into(),
            description: "the redirect carried neither a code nor an error".into(),
        }
    };
    let reply = match &outcome {
        Outcome::Code(_) => page(
            "Connected",
            "hubforce received the authorization. You can close this tab.",
        ),
        Outcome::Refused { error, .. } => page(
            "Not connected",
            &format!("The provider answered {error}. See the terminal for what to do."),
        ),
        Outcome::StateMismatch => page(
            "Not connected",
            "This answer does not belong to the request hubforce started. See the terminal.",
        ),
    };
    let _ = tx.send(outcome).await;
    reply
}

fn flow_error(provider: Provider, message: String, hint: String) -> ApiError {
    ApiError::new(provider, ErrorClass::AuthClient, message).with_hint(hint)
}

/// Listen on the redirect URI, let `open` send the user (or a test) to `authorize_url`,
/// and return the authorization code once the provider redirects back.
pub async fn receive_code(
    provider: Provider,
    redirect_uri: &str,
    state: &str,
    authorize_url: &url::Url,
    timeout: Duration,
    open: impl FnOnce(&url::Url),
) -> Result<String, ApiError> {
    let p = provider.as_str();
    let redirect = url::Url::parse(redirect_uri).map_err(|e| {
        flow_error(
            provider,
            format!("redirect URI {redirect_uri}: {e}"),
            "fix redirect_uri in hubforce.toml".into(),
        )
    })?;
    let port = redirect.port().unwrap_or(80);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        flow_error(
            provider,
            format!("cannot listen on {addr} for the redirect: {e}"),
            format!("free port {port} (another `hubforce connect` may be running) or register another loopback redirect URI"),
        )
    })?;
    let (tx, mut rx) = mpsc::channel(4);
    let app = Router::new()
        .route(redirect.path(), get(callback))
        .with_state((tx, state.to_string()));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    open(authorize_url);
    let outcome = tokio::time::timeout(timeout, rx.recv()).await;
    server.abort();
    match outcome {
        Err(_) => Err(flow_error(
            provider,
            format!("no answer reached {redirect_uri} within {} s", timeout.as_secs()),
            "open the URL in a browser on this machine and approve; if the provider showed an error page, check that the app's registered redirect URI equals redirect_uri in hubforce.toml".into(),
        )),
        Ok(None) => Err(flow_error(provider, "the redirect listener stopped".into(), format!("run `hubforce connect {p}` again"))),
        Ok(Some(Outcome::Code(code))) => Ok(code),
        Ok(Some(Outcome::StateMismatch)) => Err(flow_error(
            provider,
            "the redirect's state does not match the request hubforce started".into(),
            format!("run `hubforce connect {p}` again and finish only in the newest browser tab"),
        )),
        Ok(Some(Outcome::Refused { error, description })) => {
            let hint = match error.as_str() {
                "access_denied" | "access-denied" => format!("the access was declined on the consent page: run `hubforce connect {p}` again and choose Allow"),
                "redirect_uri_mismatch" => "register exactly redirect_uri from hubforce.toml in the app's settings".into(),
                "invalid_scope" => "request only scopes the app has configured (hubforce.toml `scopes`)".into(),
                _ => format!("run `hubforce connect {p}` again; if it repeats, check the app's settings"),
            };
            Err(flow_error(provider, format!("authorization refused: {error} {description}").trim().to_string(), hint).with_code(error))
        }
    }
}
