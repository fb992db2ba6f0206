//! How an [`ApiError`] is answered: its status, the JSON envelope and `Retry-After`.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use plexica_sdk::api::core::{ErrorBody, ErrorEnvelope};

use crate::error::ApiError;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: self.code.to_owned(),
                message: self.message,
                details: self.details,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
