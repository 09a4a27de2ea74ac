//! Who may use the page. On a loopback address, whoever can reach it (the machine's own
//! users, as for the state folder's files). On any other address, only with the access
//! token: `Authorization: Bearer TOKEN`, or `?token=TOKEN` once, which sets a cookie
//! (HttpOnly, SameSite=Strict) and redirects to the same page without it. Every request that
//! changes something is a POST carrying the page's CSRF token, from the page's own origin.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::Shared;
use crate::secret::Secret;

pub const COOKIE: &str = "hubforce_serve";

/// What guards the page: the access token (None on loopback) and the CSRF token.
pub struct Guard {
    pub access: Option<Secret>,
    pub csrf: Secret,
}

/// A new random token (32 bytes from the OS, URL-safe).
pub fn random_token() -> Secret {
    Secret::new(oauth2::CsrfToken::new_random_len(32).secret().clone())
}

/// Constant-time comparison: the token is not guessed a byte at a time from timings.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::to_string)
}

/// The query string without `token=…`.
fn without_token(query: &str) -> String {
    query
        .split('&')
        .filter(|p| !p.starts_with("token="))
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn require_token(
    State(shared): State<std::sync::Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(access) = &shared.guard.access else {
        return next.run(request).await;
    };
    let headers = request.headers();
    if [bearer(headers), cookie_token(headers)]
        .into_iter()
        .flatten()
        .any(|t| same(&t, access.expose()))
    {
        return next.run(request).await;
    }
    let query = request.uri().query().unwrap_or("");
    let given = query
        .split('&')
        .find_map(|p| p.strip_prefix("token="))
        .map(|t| t.to_string());
    if request.method() == Method::GET && given.as_deref().is_some_and(|t| same(t, access.expose()))
    {
        let rest = without_token(query);
        let to = if rest.is_empty() {
            request.uri().path().to_string()
        } else {
            format!("{}?{rest}", request.uri().path())
        };
        let cookie = format!(
            "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
            access.expose()
        );
        return ([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response();
    }
    (
        StatusCode::UNAUTHORIZED,
        "hubforce serve: this address needs the access token (open the URL printed when it started, or send Authorization: Bearer TOKEN)\n",
    )
        .into_response()
}

/// A POST's CSRF token, and its Origin when the browser sends one, must be the page's own.
pub fn check_post(shared: &Shared, headers: &HeaderMap, csrf: &str) -> Result<(), Response> {
    if !same(csrf, shared.guard.csrf.expose()) {
        return Err((
            StatusCode::FORBIDDEN,
            "the form's CSRF token is missing or stale: reload the page and try again\n",
        )
            .into_response());
    }
    if let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) && origin.split("://").nth(1) != Some(host)
    {
        return Err((StatusCode::FORBIDDEN, "a form from another site: refused\n").into_response());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole_and_the_query_loses_only_the_token() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd") && !same("abc", "ab"));
        assert_eq!(without_token("token=x&q=1"), "q=1");
        assert_eq!(random_token().expose().len(), 43);
    }
}
