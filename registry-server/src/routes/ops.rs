//! Operations: health, metrics, statistics and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plexica_sdk::api::registry::{Stats, VersionSummaryWithId};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use plexica_sdk::api::time::rfc3339;

/// `GET /health/live`: the process answers.
pub async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /health/ready`: the database and the blob store (directory or bucket) answer; a 503
/// with `Retry-After` names the one that does not.
pub async fn ready(State(state): State<AppState>) -> Response {
    if let Err(e) = state.meta.ping().await {
        return ApiError::from(e).into_response();
    }
    if let Err(e) = state.blobs.ping().await {
        tracing::warn!(error = %e, "the blob store is not ready");
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "BLOB_STORE_UNAVAILABLE",
            "the package store (blob directory or bucket) does not answer",
        )
        .retry_after(2)
        .into_response();
    }
    Json(serde_json::json!({ "status": "ok", "database": "ok", "blobs": "ok" })).into_response()
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

/// `GET /api/v1/stats`.
pub async fn stats(State(state): State<AppState>) -> ApiResult<Json<Stats>> {
    let (plugins, versions, downloads) = state.meta.totals().await?;
    let top = state.meta.top_categories(10).await?;
    let recent = state.meta.recent_versions(10).await?;
    Ok(Json(Stats {
        plugins: u64::try_from(plugins).unwrap_or(0),
        versions: u64::try_from(versions).unwrap_or(0),
        downloads: u64::try_from(downloads).unwrap_or(0),
        top_categories: top
            .into_iter()
            .map(|(c, n)| (c, u64::try_from(n).unwrap_or(0)))
            .collect(),
        recent: recent
            .into_iter()
            .map(|(id, version, at)| VersionSummaryWithId {
                id,
                version,
                published_at: rfc3339(at),
            })
            .collect(),
    }))
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    match serde_json::to_value(crate::openapi::document()) {
        Ok(doc) => Json(doc).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
