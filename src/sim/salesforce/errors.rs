//! Salesforce error shapes: REST errors are a JSON array of `{message, errorCode, fields}`;
//! sObject Collections items use `statusCode`; OAuth errors are `{error, error_description}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One problem with one record or request.
#[derive(Debug, Clone)]
pub struct Issue {
    pub code: String,
    pub message: String,
    pub fields: Vec<String>,
    /// Extra keys (e.g. `duplicateResult`) merged into the error object.
    pub extra: Option<Box<Value>>,
    /// About the request (session, query, limits, a missing resource) rather than a
    /// record's save: Salesforce's REST form then has no `fields`.
    pub request_level: bool,
}

impl Issue {
    pub fn new(code: &str, message: impl Into<String>) -> Issue {
        Issue {
            code: code.into(),
            message: message.into(),
            fields: Vec::new(),
            extra: None,
            request_level: false,
        }
    }

    pub fn fields(mut self, fields: Vec<String>) -> Issue {
        self.fields = fields;
        self
    }

    fn object(&self, code_key: &str) -> Value {
        let mut v = json!({"message": self.message, code_key: self.code, "fields": self.fields});
        if let (Some(Value::Object(extra)), Some(obj)) = (self.extra.as_deref(), v.as_object_mut())
        {
            for (k, x) in extra {
                obj.insert(k.clone(), x.clone());
            }
        }
        v
    }

    /// The REST form: `{"message", "errorCode", "fields"}`.
    pub fn rest(&self) -> Value {
        let mut v = self.object("errorCode");
        if self.request_level
            && self.fields.is_empty()
            && let Some(m) = v.as_object_mut()
        {
            m.remove("fields");
        }
        v
    }

    /// The sObject Collections form: `{"statusCode", "message", "fields"}`.
    pub fn collection(&self) -> Value {
        self.object("statusCode")
    }
}

/// An error answer: an HTTP status and a JSON array of issues.
#[derive(Debug)]
pub struct SfError {
    pub status: StatusCode,
    pub issues: Vec<Issue>,
}

impl SfError {
    /// An error about the request as a whole (no `fields` in the answer).
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> SfError {
        let mut issue = Issue::new(code, message);
        issue.request_level = true;
        SfError {
            status,
            issues: vec![issue],
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> SfError {
        SfError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found() -> SfError {
        SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    pub fn from_issue(status: StatusCode, issue: Issue) -> SfError {
        SfError {
            status,
            issues: vec![issue],
        }
    }

    pub fn json_parse(detail: impl std::fmt::Display) -> SfError {
        SfError::bad_request(
            "JSON_PARSER_ERROR",
            format!("Unexpected character or structure in the JSON body: {detail}"),
        )
    }
}

impl IntoResponse for SfError {
    fn into_response(self) -> Response {
        let body: Vec<Value> = self.issues.iter().map(Issue::rest).collect();
        (self.status, axum::Json(Value::Array(body))).into_response()
    }
}

/// An OAuth endpoint error.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}
