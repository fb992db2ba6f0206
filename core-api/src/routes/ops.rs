//! Operations: health, metrics, the OpenAPI document and its reference page.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /health/live`: the process answers.
pub async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /health/ready`: the core database answers, the event transport is connected and the
/// active plugins' backends have been started since start-up.
pub async fn ready(State(state): State<AppState>) -> Response {
    if let Err(e) = state.core.ping().await {
        return ApiError::from(e).into_response();
    }
    if !state.plugins.restarted() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "PLUGINS_STARTING",
            "the active plugins' backends are starting",
        )
        .retry_after(1)
        .into_response();
    }
    match state.transport.ready() {
        Ok(()) => Json(serde_json::json!({
            "status": "ok",
            "database": "ok",
            "events": state.transport.name(),
        }))
        .into_response(),
        Err(reason) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "EVENT_TRANSPORT_UNAVAILABLE",
            "the event transport is not connected",
        )
        .with_details(serde_json::json!({ "transport": state.transport.name(), "reason": reason }))
        .retry_after(2)
        .into_response(),
    }
}

/// `GET /metrics`: Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    match serde_json::to_value(super::openapi::document()) {
        Ok(doc) => Json(doc).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `GET /api/docs`: a self-contained page listing every route and its auth rule.
pub async fn docs() -> Html<String> {
    Html(super::openapi::reference_page())
}
