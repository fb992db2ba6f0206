//! `POST /api/v1/packages[?dry-run=true]`: publish.

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use plexica_sdk::api::registry::Published;
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

/// Query of the publish route.
#[derive(Debug, Deserialize)]
pub struct PublishQuery {
    /// Run every check, store nothing.
    #[serde(default, rename = "dry-run")]
    dry_run: bool,
}

/// Publishes the `.pxp` in the body (token with scope `publish`).
pub async fn publish(
    State(state): State<AppState>,
    Query(query): Query<PublishQuery>,
    headers: HeaderMap,
    caller: Caller,
    body: Body,
) -> ApiResult<(StatusCode, Json<Published>)> {
    let base_url = state.base_url(&headers);
    let published =
        crate::publish::publish(&state, &caller, body, query.dry_run, &base_url).await?;
    let status = if published.dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(published)))
}
