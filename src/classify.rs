//! Classification of every failure from either provider into the taxonomy: it reads the
//! status AND the body (Salesforce reports a spent quota as 403; HubSpot's 429 body names
//! the policy; outage pages are HTML), and attaches a hint a person can act on.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::error::{ApiError, ErrorClass, Provider};

/// What kind of token request failed, since `invalid_grant` means different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    AuthorizationCode,
    Refresh,
    Password,
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// `Retry-After` in seconds (the only form either provider is known to send), at most a
/// day: a garbage or absurd value (`inf`, 10^30) must not panic or park a sync for ever (the
/// fuzzer found the panic).
pub fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let secs = header(h, "retry-after")?.trim().parse::<f64>().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 200 {
        format!("{}…", flat.chars().take(200).collect::<String>())
    } else {
        flat
    }
}

/// The class of a provider error code (also used for per-record errors in batch answers).
pub fn classify_code(provider: Provider, code: &str, message: &str) -> ErrorClass {
    use ErrorClass::*;
    match provider {
        Provider::Hubspot => match code {
            "EXPIRED_AUTHENTICATION" | "INVALID_AUTHENTICATION" => AuthExpired,
            "MISSING_SCOPES" => AuthScope,
            "USER_DOES_NOT_HAVE_PERMISSIONS" | "FORBIDDEN" => Permission,
            "TEN_SECONDLY_ROLLING" | "SECONDLY" | "RATE_LIMIT" | "RATE_LIMITS" => RateBurst,
            "DAILY" => RateDaily,
            "CONFLICT" | "OBJECT_ALREADY_EXISTS" => Duplicate,
            "OBJECT_NOT_FOUND" | "NOT_FOUND" => NotFound,
            "INTERNAL_ERROR" | "SERVICE_UNAVAILABLE" | "TIMEOUT" | "UNABLE_TO_LOCK_ROW" => {
                Transient
            }
            "BAD_REFRESH_TOKEN" => AuthRevoked,
            "BAD_CLIENT_ID" | "BAD_CLIENT_SECRET" | "BAD_REDIRECT_URI" | "BAD_AUTH_CODE"
            | "EXPIRED_AUTH_CODE" => AuthClient,
            _ => Validation,
        },
        Provider::Salesforce => match code {
            "INVALID_SESSION_ID" | "INVALID_AUTH_HEADER" => AuthExpired,
            "REQUEST_LIMIT_EXCEEDED" if message.contains("TotalRequests") => RateDaily,
            "REQUEST_LIMIT_EXCEEDED" => RateBurst,
            "API_DISABLED_FOR_ORG"
            | "INSUFFICIENT_ACCESS_OR_READONLY"
            | "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"
            | "INVALID_FIELD_FOR_INSERT_UPDATE"
            | "API_CURRENTLY_DISABLED" => Permission,
            "UNABLE_TO_LOCK_ROW"
            | "SERVER_UNAVAILABLE"
            | "QUERY_TIMEOUT"
            | "UNKNOWN_EXCEPTION"
            | "INVALID_QUERY_LOCATOR" => Transient,
            "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY" if message.contains("UNABLE_TO_LOCK_ROW") => {
                Transient
            }
            "DUPLICATE_VALUE"
            | "DUPLICATES_DETECTED"
            | "DUPLICATE_EXTERNAL_ID"
            | "MULTIPLE_CHOICES" => Duplicate,
            "NOT_FOUND" | "ENTITY_IS_DELETED" => NotFound,
            "ALL_OR_NONE_OPERATION_ROLLED_BACK" | "PROCESSING_HALTED" => Transient,
            _ => Validation,
        },
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

fn push_unique(out: &mut Vec<String>, names: impl IntoIterator<Item = String>) {
    for n in names {
        let n = n.trim().to_string();
        if !n.is_empty() && !out.contains(&n) {
            out.push(n);
        }
    }
}

/// HubSpot's detail entries: `errors[]` of an error body or of one batch error.
fn hubspot_details(body: &Value) -> impl Iterator<Item = &Value> {
    body["errors"].as_array().into_iter().flatten()
}

/// The entries of the classic `"Property values were not valid: [{…}]"` message, whose
/// tail is JSON with `name` and `error` per property.
fn hubspot_invalid_properties(message: &str) -> Vec<Value> {
    message
        .split_once("Property values were not valid: ")
        .and_then(|(_, tail)| serde_json::from_str::<Vec<Value>>(tail.trim()).ok())
        .unwrap_or_default()
}

/// The provider's most specific code: HubSpot's `category` is broad (`VALIDATION_ERROR`),
/// the detail's `code` says what (`PROPERTY_DOESNT_EXIST`, `INVALID_OPTION`, …).
pub fn hubspot_detail_code(category: &str, message: &str, body: &Value) -> Option<String> {
    if category != "VALIDATION_ERROR" {
        return None;
    }
    hubspot_details(body)
        .find_map(|d| d["code"].as_str().map(String::from))
        .or_else(|| {
            hubspot_invalid_properties(message)
                .iter()
                .find_map(|d| d["error"].as_str().map(String::from))
        })
}

/// The per-property messages of a HubSpot validation error (`errors[].message`, or the
/// classic message's embedded `message`s).
fn hubspot_detail_messages(message: &str, body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    push_unique(
        &mut out,
        hubspot_details(body).filter_map(|d| d["message"].as_str().map(String::from)),
    );
    if out.is_empty() {
        push_unique(
            &mut out,
            hubspot_invalid_properties(message)
                .iter()
                .filter_map(|d| d["message"].as_str().map(String::from)),
        );
    }
    out
}

/// What an error body names as the cause: the property or field, the scopes that would do,
/// the existing record(s).
pub fn named_in(provider: Provider, code: &str, message: &str, body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match provider {
        Provider::Hubspot if code == "MISSING_SCOPES" => {
            for ctx in std::iter::once(&body["context"])
                .chain(hubspot_details(body).map(|d| &d["context"]))
            {
                for key in ["requiredGranularScopes", "requiredScopes", "missingScopes"] {
                    push_unique(&mut out, strings(&ctx[key]));
                }
            }
        }
        Provider::Hubspot => {
            for d in hubspot_details(body) {
                let named = strings(&d["context"]["propertyName"]);
                if named.is_empty() {
                    push_unique(&mut out, strings(&d["in"]));
                }
                push_unique(&mut out, named);
            }
            push_unique(&mut out, strings(&body["context"]["propertyName"]));
            for d in hubspot_invalid_properties(message) {
                push_unique(&mut out, strings(&d["name"]));
            }
            if let Some((_, id)) = message.rsplit_once("Existing ID: ") {
                push_unique(&mut out, [id.trim_end_matches('.').to_string()]);
            }
        }
        Provider::Salesforce => {
            push_unique(&mut out, strings(&body["fields"]));
            for m in body["duplicateResult"]["matchResults"]
                .as_array()
                .into_iter()
                .flatten()
            {
                for r in m["matchRecords"].as_array().into_iter().flatten() {
                    push_unique(&mut out, strings(&r["record"]["Id"]));
                }
            }
            if let Some((_, field)) = message
                .split_once("Provided external ID field does not exist or is not accessible:")
            {
                push_unique(&mut out, [field.trim().to_string()]);
            }
            if let Some((_, rest)) = message.split_once("No such column '") {
                push_unique(&mut out, rest.split('\'').next().map(String::from));
            }
        }
    }
    out
}

/// The Salesforce answer that a session may not use the REST API: refreshing gives a token
/// refused the same way.
fn salesforce_session_not_for_rest(message: &str) -> bool {
    message.contains("not valid for use with the REST API")
}

fn salesforce_external_id_field_missing(message: &str) -> bool {
    message.contains("Provided external ID field does not exist or is not accessible")
}

/// A hint specific to a code, when there is a better one than the class's.
fn specific_hint(
    provider: Provider,
    code: &str,
    message: &str,
    names: &[String],
) -> Option<String> {
    let p = provider.as_str();
    let listed = names.join(", ");
    Some(match (provider, code) {
        (Provider::Hubspot, "MISSING_SCOPES") => {
            let which = match names.len() {
                0 => "the required scope".to_string(),
                1 => listed,
                _ => format!("one of {listed} (any one is enough)"),
            };
            format!("add {which} to the app's scopes in HubSpot and to `scopes` in hubforce.toml, then run `hubforce connect hubspot` again")
        }
        (Provider::Hubspot, "CONFLICT" | "OBJECT_ALREADY_EXISTS") if !names.is_empty() => {
            format!("the record exists already as {listed}; update or link it instead of creating")
        }
        (Provider::Hubspot, "PROPERTY_DOESNT_EXIST") => format!(
            "HubSpot has no property {}: create it (Settings → Properties) or fix the mapping",
            if names.is_empty() { "of that name".into() } else { listed }
        ),
        (Provider::Hubspot, "INVALID_OPTION") => format!(
            "the value of {} is not one of the property's options: add the option in HubSpot or map the value in the plugin",
            if names.is_empty() { "a property".into() } else { listed }
        ),
        (Provider::Hubspot, "423") => "HubSpot locked the record for a moment (another write to it); hubforce waits at least 2 seconds and retries".into(),
        (Provider::Hubspot, _) if !names.is_empty() && code != "DAILY" => format!(
            "check the values of {listed} against the property definitions (`hubforce api hubspot GET /crm/v3/properties/<object>/<name>`)"
        ),
        (Provider::Salesforce, "REQUEST_LIMIT_EXCEEDED") if message.contains("TotalRequests") => {
            "the org's daily API allocation is spent; work pauses until the rolling 24-hour window frees capacity (raise the share in hubforce.toml or buy more calls)".into()
        }
        (Provider::Salesforce, "INVALID_SESSION_ID") if salesforce_session_not_for_rest(message) => {
            "this token may not call the REST API, and a new one would not either: give the connected app the OAuth scope \"Manage user data via APIs (api)\", give the user's profile or permission set \"API Enabled\", then run `hubforce connect salesforce` again".into()
        }
        (Provider::Salesforce, "NOT_FOUND") if salesforce_external_id_field_missing(message) => format!(
            "the external id field {} is missing on the object or hidden from the connected user: create it (marked External ID) or grant read/edit in field-level security",
            if names.is_empty() { "named in the request".into() } else { listed }
        ),
        (Provider::Salesforce, "API_DISABLED_FOR_ORG") => "the org has no API access: use Enterprise/Unlimited/Developer edition or the Professional API add-on, and give the user \"API Enabled\"".into(),
        (Provider::Salesforce, "INSUFFICIENT_ACCESS_OR_READONLY") => "give the connected user edit access to this record or object (profile, permission set or sharing)".into(),
        (Provider::Salesforce, "INVALID_FIELD_FOR_INSERT_UPDATE") => "the field is read-only for the connected user: grant edit access in field-level security or stop mapping it".into(),
        (Provider::Salesforce, "DUPLICATES_DETECTED") if !names.is_empty() => format!(
            "a Salesforce duplicate rule matched the existing record {listed}: link or merge with it, or adjust the rule"
        ),
        (Provider::Salesforce, "DUPLICATES_DETECTED") => "a Salesforce duplicate rule blocked the save: match to the existing record or adjust the rule".into(),
        (Provider::Salesforce, "UNABLE_TO_LOCK_ROW") => "another process holds the record (triggers, flows, rollups); hubforce retries with jitter".into(),
        (Provider::Salesforce, "INVALID_FIELD" | "MALFORMED_QUERY" | "INVALID_TYPE") => format!("check field and object names with `hubforce api {p} GET /sobjects/<Type>/describe`"),
        _ => return None,
    })
}

/// Fill in the code's class adjustments, names and hint on a classified error.
fn explain(mut e: ApiError, code: Option<String>, body: &Value) -> ApiError {
    let Some(code) = code else { return e };
    let provider = e.provider;
    let detail = match provider {
        Provider::Hubspot => hubspot_detail_code(&code, &e.message, body),
        Provider::Salesforce => None,
    };
    let code = detail.unwrap_or(code);
    e.names = named_in(provider, &code, &e.message, body);
    if provider == Provider::Hubspot {
        // The classic message embeds its details as JSON; the details' own words read better.
        let details = hubspot_detail_messages(&e.message, body);
        if !details.is_empty() && e.message.starts_with("Property values were not valid") {
            e.message = details.join("; ");
        }
    }
    if provider == Provider::Salesforce {
        if code == "INVALID_SESSION_ID" && salesforce_session_not_for_rest(&e.message) {
            e.class = ErrorClass::AuthClient;
        }
        if code == "NOT_FOUND" && salesforce_external_id_field_missing(&e.message) {
            e.class = ErrorClass::Permission;
        }
    }
    if let Some(h) = specific_hint(provider, &code, &e.message, &e.names) {
        e.hint = h;
    } else if !e.names.is_empty() {
        e.hint = format!("{} ({})", e.hint, e.names.join(", "));
    }
    e.code = Some(code);
    e
}

/// One per-record error of a batch answer (HubSpot's `errors[]` item, Salesforce's
/// Collections `errors[]` entry), classified and explained like a whole answer.
pub fn classify_item(provider: Provider, code: &str, message: &str, item: &Value) -> ApiError {
    let class = classify_code(provider, code, message);
    explain(
        ApiError::new(provider, class, message),
        Some(code.to_string()),
        item,
    )
}

/// A redirect: the API base or instance URL is not where the API is (http for https, an
/// old instance, a login page). hubforce never follows one with a token.
fn redirect(provider: Provider, status: u16, headers: &HeaderMap) -> ApiError {
    // The target without its query, which may carry data.
    let target = header(headers, "location")
        .map(|l| l.split(['?', '#']).next().unwrap_or_default().to_string())
        .filter(|l| !l.is_empty());
    let message = match &target {
        Some(t) => format!(
            "a redirect (HTTP {status}) to {t}; hubforce does not follow redirects with a token"
        ),
        None => format!(
            "a redirect (HTTP {status}) without a Location; hubforce does not follow redirects with a token"
        ),
    };
    let setting = match provider {
        Provider::Hubspot => "`api_base` of the hubspot section",
        Provider::Salesforce => {
            "the `login` host of the salesforce section (the instance URL comes from the login)"
        }
    };
    ApiError::new(provider, ErrorClass::AuthClient, message)
        .with_status(status)
        .with_code("REDIRECT")
        .with_hint(format!(
            "the {} API is not at the URL hubforce called: check {setting} in hubforce.toml (https, the right host), then `hubforce connect {}` if the host changed",
            provider.label(),
            provider.as_str()
        ))
}

/// Classify an HTTP answer that is not a success.
pub fn classify(provider: Provider, status: u16, headers: &HeaderMap, body: &[u8]) -> ApiError {
    let multiple_choices = status == 300 && provider == Provider::Salesforce;
    if (300..400).contains(&status) && !multiple_choices {
        return redirect(provider, status, headers);
    }
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let html = header(headers, "content-type").is_some_and(|c| c.contains("text/html"))
        || body.trim_ascii_start().starts_with(b"<");
    let (code, message, correlation) = match (provider, &json) {
        (Provider::Hubspot, Some(v)) => (
            v["policyName"]
                .as_str()
                .or(v["category"].as_str())
                .or(v["status"].as_str().filter(|s| *s != "error"))
                .map(String::from),
            v["message"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| snippet(body)),
            v["correlationId"]
                .as_str()
                .map(String::from)
                .or_else(|| header(headers, "x-hubspot-correlation-id").map(String::from)),
        ),
        (Provider::Salesforce, Some(Value::Array(items))) => {
            let first = items.first().cloned().unwrap_or(Value::Null);
            let code = first["errorCode"]
                .as_str()
                .or(first["statusCode"].as_str())
                .map(String::from);
            let msg = items
                .iter()
                .filter_map(|i| i["message"].as_str())
                .collect::<Vec<_>>()
                .join("; ");
            (code, if msg.is_empty() { snippet(body) } else { msg }, None)
        }
        (Provider::Salesforce, Some(v)) => (
            v["error"]
                .as_str()
                .or(v["errorCode"].as_str())
                .map(String::from),
            v["error_description"]
                .as_str()
                .or(v["message"].as_str())
                .map(String::from)
                .unwrap_or_else(|| snippet(body)),
            None,
        ),
        (_, None) => (
            None,
            if html {
                format!("an HTML error page (HTTP {status}) instead of an API answer")
            } else {
                snippet(body)
            },
            None,
        ),
    };
    if html && json.is_none() {
        return html_page(provider, status, headers);
    }
    let class = match (status, code.as_deref()) {
        (_, _) if status >= 500 => ErrorClass::Transient,
        (300, _) if provider == Provider::Salesforce => ErrorClass::Duplicate,
        (408, _) => ErrorClass::Transient,
        // HubSpot locks a record for 2 s while another write to it lands; 477 is an account
        // moving between data centres (its Retry-After says when to come back).
        (423 | 477, _) => ErrorClass::Transient,
        (429, Some(c)) => classify_code(provider, c, &message),
        (429, None) => ErrorClass::RateBurst,
        (401, Some(c)) => match classify_code(provider, c, &message) {
            ErrorClass::Validation => ErrorClass::AuthExpired,
            other => other,
        },
        (401, None) => ErrorClass::AuthExpired,
        (403, Some(c)) => match classify_code(provider, c, &message) {
            ErrorClass::Validation => ErrorClass::Permission,
            other => other,
        },
        (403, None) => ErrorClass::Permission,
        (404, Some(c)) => match classify_code(provider, c, &message) {
            ErrorClass::Validation => ErrorClass::NotFound,
            other => other,
        },
        (404, None) => ErrorClass::NotFound,
        (409, Some(c)) => match classify_code(provider, c, &message) {
            ErrorClass::Validation => ErrorClass::Duplicate,
            other => other,
        },
        (_, Some(c)) => classify_code(provider, c, &message),
        (_, None) => ErrorClass::Validation,
    };
    let mut e = ApiError::new(provider, class, message.clone()).with_status(status);
    e.correlation_id = correlation;
    e.retry_after = retry_after(headers).or(match code.as_deref() {
        Some("SECONDLY") => Some(Duration::from_secs(1)),
        _ => None,
    });
    if status == 423 {
        e.retry_after = Some(
            e.retry_after
                .unwrap_or_default()
                .max(Duration::from_secs(2)),
        );
        e.hint = specific_hint(provider, "423", &message, &[]).unwrap_or(e.hint);
    }
    let body = match &json {
        // A Salesforce error array: its first entry is the error.
        Some(Value::Array(items)) => items.first().cloned().unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    explain(e, code, &body)
}

/// An HTML page where JSON was due: from the edge or a maintenance page when 5xx (an
/// outage, retried); from a wrong, retired or deleted instance or API base when 4xx, which
/// no retry mends. The transport adds which URL answered.
fn html_page(provider: Provider, status: u16, headers: &HeaderMap) -> ApiError {
    let message = format!("an HTML page (HTTP {status}) instead of an API answer");
    let (class, hint) = match status {
        500.. => (ErrorClass::Transient, ErrorClass::Transient.generic_hint(provider)),
        429 => (ErrorClass::RateBurst, ErrorClass::RateBurst.generic_hint(provider)),
        401 | 403 => (
            ErrorClass::Permission,
            "something between hubforce and the API (a proxy, a firewall, an IP restriction) refused the call: check the network policy".into(),
        ),
        _ => (
            ErrorClass::AuthClient,
            match provider {
                Provider::Salesforce => "no Salesforce API answers at this URL: the instance URL is wrong or retired, or the org is gone; check that the org exists and run `hubforce connect salesforce` again to learn its current instance URL".to_string(),
                Provider::Hubspot => "no HubSpot API answers at this URL: check `api_base` in the hubspot section of hubforce.toml".to_string(),
            },
        ),
    };
    let mut e = ApiError::new(provider, class, message)
        .with_status(status)
        .with_code("HTML_PAGE")
        .with_hint(hint);
    e.retry_after = retry_after(headers);
    e
}

/// Classify a refused token request (`{error, error_description}`, plus HubSpot's legacy
/// `status`/`message`).
pub fn classify_oauth(provider: Provider, grant: Grant, status: u16, body: &[u8]) -> ApiError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    // Only an OAuth error body (`error`, or HubSpot's legacy `status`) speaks about the grant;
    // anything else in front of the token endpoint (a rate limit, an outage page, an API
    // error array) is classified like any other answer.
    let oauth_shaped = v["error"].is_string() || v["status"].as_str().is_some_and(|s| s != "error");
    if status == 429 || (status >= 500 && !oauth_shaped) || v.is_array() || v.is_null() {
        return classify(provider, status, &HeaderMap::new(), body);
    }
    let error = v["error"].as_str().unwrap_or_default();
    let legacy = v["status"].as_str().unwrap_or_default();
    let description = v["error_description"]
        .as_str()
        .or(v["message"].as_str())
        .map(String::from)
        .unwrap_or_else(|| snippet(body));
    let p = provider.as_str();
    let label = provider.label();
    let (class, hint): (ErrorClass, String) = match (error, legacy) {
        (_, "BAD_REFRESH_TOKEN") => (ErrorClass::AuthRevoked, format!("the refresh token was revoked or belongs to another app: run `hubforce connect {p}` again")),
        ("invalid_grant", _) if description.contains("already being processed") => {
            (ErrorClass::Transient, "another refresh of the same token is under way; retry in a moment".into())
        }
        ("invalid_grant", _) if description.contains("hasn't approved this consumer") => (
            ErrorClass::AuthClient,
            "the connected app is not approved for this user: in Setup → Connected Apps → Manage → Edit Policies, let users self-authorise (then approve it once with `hubforce connect salesforce`) or pre-authorise admin-approved users by adding their profile or permission set; the password is not the problem".into(),
        ),
        ("invalid_grant", _) if grant == Grant::Refresh => {
            (ErrorClass::AuthRevoked, format!("the {label} refresh token is expired or revoked: run `hubforce connect {p}` again"))
        }
        ("invalid_grant", _) if grant == Grant::Password => (
            ErrorClass::AuthClient,
            "Salesforce refused the username, password or security token: check all three (the password is followed directly by the security token), and that the login host matches production or sandbox".into(),
        ),
        ("invalid_grant", _) | (_, "BAD_AUTH_CODE" | "EXPIRED_AUTH_CODE") => {
            (ErrorClass::AuthClient, format!("the authorization code was refused (codes are single-use and short-lived): run `hubforce connect {p}` again"))
        }
        (_, "BAD_REDIRECT_URI") | ("redirect_uri_mismatch" | "redirect_uri_missing", _) => (
            ErrorClass::AuthClient,
            format!("the redirect URI must equal, character for character, the one registered in the {label} app; set it in hubforce.toml"),
        ),
        (_, "BAD_CLIENT_ID") | ("invalid_client_id", _) => (ErrorClass::AuthClient, format!("the client id is unknown to {label}: copy it again from the app's settings into hubforce.toml")),
        (_, "BAD_CLIENT_SECRET") | ("invalid_client", _) => (
            ErrorClass::AuthClient,
            format!("the client secret is wrong: set the environment variable hubforce.toml names for the {label} client secret to the app's current secret"),
        ),
        ("unsupported_grant_type", _) => (ErrorClass::AuthClient, format!("this grant is not enabled for the {label} app; enable it in the app's OAuth settings")),
        ("inactive_user" | "inactive_org", _) => (ErrorClass::Permission, format!("the {label} user or org is inactive; ask an administrator to reactivate it")),
        ("invalid_app_access", _) => (ErrorClass::Permission, "the user is not admin-approved for this connected app: add them to a permitted profile or permission set".into()),
        ("rate_limit_exceeded", _) => (ErrorClass::RateBurst, "too many logins in a short time; wait a minute".into()),
        _ if status >= 500 => (ErrorClass::Transient, ErrorClass::Transient.generic_hint(provider)),
        _ => (ErrorClass::AuthClient, ErrorClass::AuthClient.generic_hint(provider)),
    };
    let code = if !legacy.is_empty() && legacy != "error" {
        legacy
    } else {
        error
    };
    let mut e = ApiError::new(provider, class, description)
        .with_status(status)
        .with_hint(hint);
    if !code.is_empty() {
        e.code = Some(code.to_string());
    }
    e.correlation_id = v["correlationId"].as_str().map(String::from);
    e
}

/// A request that got no HTTP answer: connection refused or reset, timeout, TLS failure.
pub fn classify_network(provider: Provider, err: &reqwest::Error) -> ApiError {
    let what = if err.is_timeout() {
        "the request timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "the connection failed before a complete answer"
    };
    // reqwest's Display includes the URL, whose query may carry data; keep only the kind.
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    let message = if detail.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {detail}")
    };
    ApiError::new(provider, ErrorClass::Transient, message).with_hint(format!(
        "check the network path to {}; hubforce retries with backoff",
        provider.label()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{CONTENT_TYPE, HeaderValue};

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn an_absurd_retry_after_is_capped_or_ignored_not_a_panic() {
        // Found by `cargo fuzz run classify`: 10^31 seconds overflowed a Duration.
        let huge = "3".repeat(32);
        let mut m = HeaderMap::new();
        m.insert("retry-after", HeaderValue::from_str(&huge).unwrap());
        assert_eq!(retry_after(&m), Some(Duration::from_secs(86_400)));
        for bad in ["inf", "NaN", "-1", "soon"] {
            assert_eq!(retry_after(&h(&[("retry-after", bad)])), None, "{bad}");
        }
        assert_eq!(
            retry_after(&h(&[("retry-after", "2")])),
            Some(Duration::from_secs(2))
        );
    }

    fn class(p: Provider, status: u16, body: &str) -> ErrorClass {
        classify(p, status, &HeaderMap::new(), body.as_bytes()).class
    }

    #[test]
    fn salesforce_quota_403_is_daily_and_concurrency_403_is_burst() {
        let daily =
            r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
        let e = classify(
            Provider::Salesforce,
            403,
            &HeaderMap::new(),
            daily.as_bytes(),
        );
        assert_eq!(e.class, ErrorClass::RateDaily);
        assert!(e.hint.contains("daily API allocation"));
        let burst = r#"[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
        assert_eq!(
            class(Provider::Salesforce, 403, burst),
            ErrorClass::RateBurst
        );
        let perm = r#"[{"message":"insufficient access rights on object id","errorCode":"INSUFFICIENT_ACCESS_OR_READONLY"}]"#;
        assert_eq!(
            class(Provider::Salesforce, 400, perm),
            ErrorClass::Permission
        );
    }

    #[test]
    fn hubspot_429_bodies_name_the_policy() {
        let daily = r#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","policyName":"DAILY"}"#;
        assert_eq!(class(Provider::Hubspot, 429, daily), ErrorClass::RateDaily);
        let ten = r#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}"#;
        let e = classify(
            Provider::Hubspot,
            429,
            &h(&[("retry-after", "3")]),
            ten.as_bytes(),
        );
        assert_eq!(
            (e.class, e.retry_after),
            (ErrorClass::RateBurst, Some(Duration::from_secs(3)))
        );
        let secondly = r#"{"status":"error","message":"You have reached your secondly limit.","policyName":"SECONDLY"}"#;
        assert_eq!(
            classify(
                Provider::Hubspot,
                429,
                &HeaderMap::new(),
                secondly.as_bytes()
            )
            .retry_after,
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn html_pages_and_5xx_are_transient_and_garbage_is_not_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        let e = classify(
            Provider::Hubspot,
            502,
            &headers,
            b"<html><body>502 Bad Gateway</body></html>",
        );
        assert_eq!(e.class, ErrorClass::Transient);
        assert!(e.message.contains("HTML"));
        assert_eq!(
            class(
                Provider::Salesforce,
                503,
                "<!DOCTYPE html><p>maintenance</p>"
            ),
            ErrorClass::Transient
        );
        // A 4xx page is no outage: a wrong or retired instance, which no retry mends.
        let e = classify(
            Provider::Salesforce,
            404,
            &HeaderMap::new(),
            b"<!DOCTYPE html><p>URL No Longer Exists</p>",
        );
        assert_eq!(
            (e.class, e.code.as_deref()),
            (ErrorClass::AuthClient, Some("HTML_PAGE"))
        );
        assert!(e.hint.contains("instance URL"), "{}", e.hint);
        assert_eq!(
            class(
                Provider::Salesforce,
                503,
                r#"[{"errorCode":"SERVER_UNAVAILABLE","message":"Server Unavailable"}]"#
            ),
            ErrorClass::Transient
        );
        assert_eq!(
            class(Provider::Hubspot, 400, "\u{0}\u{1}garbage"),
            ErrorClass::Validation
        );
    }

    #[test]
    fn scope_validation_conflict_and_not_found_carry_specific_hints() {
        let scopes = r#"{"status":"error","message":"This app hasn't been granted all required scopes","category":"MISSING_SCOPES","errors":[{"context":{"requiredScopes":["crm.lists.read"]}}]}"#;
        let e = classify(Provider::Hubspot, 403, &HeaderMap::new(), scopes.as_bytes());
        assert_eq!(e.class, ErrorClass::AuthScope);
        assert!(e.hint.contains("crm.lists.read"), "{}", e.hint);
        let conflict = r#"{"status":"error","message":"Contact already exists. Existing ID: 901","category":"CONFLICT"}"#;
        let e = classify(
            Provider::Hubspot,
            409,
            &HeaderMap::new(),
            conflict.as_bytes(),
        );
        assert_eq!(e.class, ErrorClass::Duplicate);
        assert!(e.hint.contains("901"));
        assert_eq!(
            class(
                Provider::Hubspot,
                404,
                r#"{"status":"error","message":"resource not found","category":"OBJECT_NOT_FOUND"}"#
            ),
            ErrorClass::NotFound
        );
        assert_eq!(
            class(
                Provider::Salesforce,
                404,
                r#"[{"errorCode":"ENTITY_IS_DELETED","message":"entity is deleted"}]"#
            ),
            ErrorClass::NotFound
        );
        assert_eq!(
            class(
                Provider::Salesforce,
                401,
                r#"[{"errorCode":"INVALID_SESSION_ID","message":"Session expired or invalid"}]"#
            ),
            ErrorClass::AuthExpired
        );
        assert_eq!(
            class(
                Provider::Salesforce,
                300,
                r#"["/services/data/v62.0/sobjects/Task/00T1"]"#
            ),
            ErrorClass::Duplicate
        );
        assert_eq!(
            class(
                Provider::Salesforce,
                400,
                r#"[{"errorCode":"UNABLE_TO_LOCK_ROW","message":"unable to obtain exclusive access"}]"#
            ),
            ErrorClass::Transient
        );
    }

    #[test]
    fn token_endpoint_refusals_depend_on_the_grant() {
        let revoked =
            br#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#;
        assert_eq!(
            classify_oauth(Provider::Salesforce, Grant::Refresh, 400, revoked).class,
            ErrorClass::AuthRevoked
        );
        assert_eq!(
            classify_oauth(Provider::Salesforce, Grant::AuthorizationCode, 400, revoked).class,
            ErrorClass::AuthClient
        );
        let busy = br#"{"error":"invalid_grant","error_description":"token request is already being processed"}"#;
        assert_eq!(
            classify_oauth(Provider::Salesforce, Grant::Refresh, 400, busy).class,
            ErrorClass::Transient
        );
        let hs = br#"{"status":"BAD_REFRESH_TOKEN","message":"missing or invalid refresh token","error":"invalid_grant"}"#;
        let e = classify_oauth(Provider::Hubspot, Grant::Refresh, 400, hs);
        assert_eq!(
            (e.class, e.code.as_deref()),
            (ErrorClass::AuthRevoked, Some("BAD_REFRESH_TOKEN"))
        );
        assert!(e.hint.contains("hubforce connect hubspot"));
        let secret = br#"{"status":"BAD_CLIENT_SECRET","message":"missing or invalid client secret","error":"invalid_client"}"#;
        assert!(
            classify_oauth(Provider::Hubspot, Grant::AuthorizationCode, 400, secret)
                .hint
                .contains("client secret")
        );
        let auth = br#"{"error":"invalid_grant","error_description":"authentication failure"}"#;
        assert!(
            classify_oauth(Provider::Salesforce, Grant::Password, 400, auth)
                .hint
                .contains("security token")
        );
    }

    #[test]
    fn a_rate_limited_or_failing_token_endpoint_is_not_a_client_error() {
        let limited = br#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","policyName":"TEN_SECONDLY_ROLLING"}"#;
        let e = classify_oauth(Provider::Hubspot, Grant::Refresh, 429, limited);
        assert_eq!(e.class, ErrorClass::RateBurst, "{e:?}");
        let e = classify_oauth(
            Provider::Salesforce,
            Grant::Refresh,
            503,
            b"<html>down</html>",
        );
        assert_eq!(e.class, ErrorClass::Transient);
    }
}
