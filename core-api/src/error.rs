//! The one error type of the API: every failure becomes the JSON envelope
//! `{"error":{"code":…,"message":…,"details":…}}` with its status (core-api.md).

use http::StatusCode;
use serde_json::Value;

use crate::db::DbError;

/// An API failure.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code, e.g. `WORKSPACE_NOT_FOUND`.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// Structured context.
    pub details: Option<Value>,
    /// Seconds to wait, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A failure with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// 400 `BAD_REQUEST`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// 401 with `code`.
    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403 with `code`.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404 with `code`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 409 with `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 422 `VALIDATION_FAILED` naming the field at fault.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
            message,
        )
        .with_details(serde_json::json!({ "field": field }))
    }

    /// 500 for a broken invariant of this program (never for bad input).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
    }

    /// Adds structured details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Adds `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }
}

/// 429 `RATE_LIMITED` with `Retry-After`.
impl From<plexica_server::ratelimit::Refused> for ApiError {
    fn from(refused: plexica_server::ratelimit::Refused) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            refused.to_string(),
        )
        .retry_after(refused.retry_after)
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        // The cause goes to the log; the client learns only that storage is unavailable.
        tracing::error!(error = %e, "storage failure");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "storage is unavailable; retry later",
        )
        .retry_after(2)
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
