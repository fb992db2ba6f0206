//! `POST /api/v1/tenants/{t}/events` (install token): a plugin publishes its own events —
//! `plugin.<its id>.…` only, for its own tenant — into the tenant's outbox, from where they are
//! delivered like the platform's.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use plexica_sdk::api::events::{Event, PublishRequest, Published};
use plexica_sdk::event_name::check_event_name;

use super::JsonBody;
use crate::auth::Credential;
use crate::error::{ApiError, ApiResult};
use crate::events::{Correlation, append};
use crate::rbac::{Caller, TenantScope};
use crate::state::AppState;

/// The largest `data` a plugin may publish, bytes of JSON.
const MAX_DATA_BYTES: usize = 256 * 1024;

/// `POST /api/v1/tenants/{t}/events`: 202 with the event's id.
pub async fn publish(
    State(state): State<AppState>,
    Caller(caller): Caller,
    scope: TenantScope,
    correlation: Correlation,
    JsonBody(request): JsonBody<PublishRequest>,
) -> ApiResult<(StatusCode, Json<Published>)> {
    let Credential::Install { plugin_id } = &caller.credential else {
        return Err(ApiError::internal("the plugin rule admitted a non-plugin"));
    };
    check_event_name(&request.event_type).map_err(|e| ApiError::invalid("type", e.message()))?;
    let own = format!("plugin.{plugin_id}.");
    if !request.event_type.starts_with(&own) {
        return Err(ApiError::forbidden(
            "EVENT_NAMESPACE",
            format!("plugin `{plugin_id}` publishes only `{own}…` events"),
        ));
    }
    if request.data.to_string().len() > MAX_DATA_BYTES {
        return Err(ApiError::invalid(
            "data",
            "`data` is at most 256 KiB of JSON",
        ));
    }
    if let Some(ws) = &request.workspace
        && scope.db.workspace(ws, "").await?.is_none()
    {
        return Err(ApiError::invalid(
            "workspace",
            format!("no workspace `{}` in this tenant", ws.escape_debug()),
        ));
    }
    let correlation_id = request
        .correlationid
        .filter(|c| (1..=128).contains(&c.len()) && !c.chars().any(char::is_control))
        .unwrap_or(correlation.0);
    let mut event = Event::new(
        request.event_type,
        format!("plugin/{plugin_id}"),
        scope.slug.as_str(),
        correlation_id,
        request.data,
    );
    event.workspace = request.workspace;
    event.causationid = request.causationid;
    let mut tx = scope.db.begin().await?;
    append(&mut tx, &event).await?;
    tx.commit().await.map_err(crate::db::DbError::from)?;
    state.delivery_wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(Published { id: event.id })))
}
