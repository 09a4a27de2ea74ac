//! HubSpot error bodies: `{status:"error", message, correlationId, category, ...}` for CRM
//! APIs, `{status, message, error, error_description}` for OAuth, and the 429 shape.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::sim::clock::correlation_id;

/// An error answer in HubSpot's CRM error format.
#[derive(Debug)]
pub struct HsError {
    pub status: StatusCode,
    pub body: Value,
}

impl HsError {
    pub fn new(status: StatusCode, category: &str, message: impl Into<String>) -> HsError {
        HsError {
            status,
            body: json!({
                "status": "error",
                "message": message.into(),
                "correlationId": correlation_id(),
                "category": category,
            }),
        }
    }

    pub fn validation(message: impl Into<String>) -> HsError {
        HsError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    pub fn not_found(message: impl Into<String>) -> HsError {
        HsError::new(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", message)
    }

    pub fn bad_json(detail: impl std::fmt::Display) -> HsError {
        HsError::validation(format!("Invalid input JSON on line 1: {detail}"))
    }

    pub fn with(mut self, key: &str, value: Value) -> HsError {
        self.body[key] = value;
        self
    }

    pub fn context(self, key: &str, values: Vec<String>) -> HsError {
        let mut ctx = self
            .body
            .get("context")
            .cloned()
            .unwrap_or_else(|| json!({}));
        ctx[key] = json!(values);
        self.with("context", ctx)
    }

    pub fn missing_scopes(required: &[&str]) -> HsError {
        HsError::new(
            StatusCode::FORBIDDEN,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
        )
        .with(
            "errors",
            json!([{
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": required},
            }]),
        )
        .with("links", json!({"scopes": "https://developers.hubspot.com/scopes"}))
    }

    /// 423 Locked: HubSpot holds records for 2 seconds under heavy writes.
    pub fn locked() -> HsError {
        HsError {
            status: StatusCode::LOCKED,
            body: json!({
                "status": "error",
                "message": "The record is locked by another write; retry after at least 2 seconds.",
                "correlationId": correlation_id(),
            }),
        }
    }

    /// This error as one input's entry in a batch answer: no correlation id of its own,
    /// keyed by the input's `objectWriteTraceId` (or its id).
    pub fn for_input(self, trace: &Value, id: Option<&str>) -> Value {
        let mut body = self.body;
        if let Some(m) = body.as_object_mut() {
            m.remove("correlationId");
            m.remove("links");
        }
        body["context"] = match (trace.as_str(), id) {
            (Some(t), _) => json!({"objectWriteTraceId": [t]}),
            (None, Some(id)) => json!({"ids": [id]}),
            (None, None) => json!({}),
        };
        body
    }

    /// A 429 in HubSpot's rate-limit shape (`errorType`, `policyName`; no `category`).
    pub fn rate_limited(policy: &str, portal_id: u64) -> HsError {
        let message = match policy {
            "DAILY" => "You have reached your daily limit.",
            "SECONDLY" => "You have reached your secondly limit.",
            _ => "You have reached your ten_secondly_rolling limit.",
        };
        HsError {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: json!({
                "status": "error",
                "message": message,
                "errorType": "RATE_LIMIT",
                "correlationId": correlation_id(),
                "policyName": policy,
                "groupName": format!("publicapi:oauth-api-calls-{}:{portal_id}", policy.to_ascii_lowercase()),
            }),
        }
    }
}

impl IntoResponse for HsError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body)).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=utf-8"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                "X-HubSpot-Auth-Failure",
                HeaderValue::from_static("401 Unauthorized"),
            );
        }
        r
    }
}

/// An OAuth endpoint error: legacy `status`/`message` plus RFC 6749 `error` fields.
pub fn oauth_error(status: &str, error: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({
            "status": status,
            "message": message,
            "correlationId": correlation_id(),
            "error": error,
            "error_description": message,
        })),
    )
        .into_response()
}

/// The "Property values were not valid" item HubSpot embeds in validation messages.
pub fn invalid_property(name: &str, error: &str, message: &str) -> Value {
    json!({
        "isValid": false,
        "message": message,
        "error": error,
        "name": name,
        "localizedErrorMessage": message,
    })
}

/// One 400 for a list of invalid property items: the classic message with the items as
/// JSON, and one `errors[]` entry per property (`message`, `code`, `context.propertyName`);
/// no top-level `context`.
pub fn invalid_properties(items: Vec<Value>) -> HsError {
    let details: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({
                "message": i["message"],
                "code": i["error"],
                "context": {"propertyName": [i["name"]]},
            })
        })
        .collect();
    let text = serde_json::to_string(&items).unwrap_or_default();
    HsError::validation(format!("Property values were not valid: {text}"))
        .with("errors", json!(details))
}
