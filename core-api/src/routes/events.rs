//! `/api/v1/tenants/{t}/events`: a plugin publishes its own events (`POST`, install token) —
//! `plugin.<its id>.…` only, for its own tenant — into the tenant's outbox, from where they are
//! delivered like the platform's; a tenant administrator follows the tenant's committed events
//! (`GET`, long-polling, what `plexica events tail` uses).

use axum::Json;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use plexica_sdk::api::events::{Event, EventLog, PublishRequest, Published};
use plexica_sdk::event_name::{check_event_name, check_event_pattern, pattern_matches};
use serde::Deserialize;

use super::correlation::Correlation;
use super::guard::Caller;
use super::{JsonBody, QueryParams};
use crate::auth::Credential;
use crate::authz::TenantScope;
use crate::error::{ApiError, ApiResult};
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
    let tx = scope.db.begin().await?;
    tx.commit([&event]).await?;
    state.delivery_wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(Published { id: event.id })))
}

/// The longest a read of the event log waits for new events, seconds.
const MAX_WAIT_SECONDS: u64 = 30;
/// How often a waiting read looks again (commits of other replicas do not wake it).
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Query of `GET /api/v1/tenants/{t}/events`.
#[derive(Debug, Deserialize)]
pub struct LogQuery {
    /// The cursor of a previous answer; absent: start at the end (no events, just the cursor).
    after: Option<u64>,
    /// Only events of this type or `prefix.*` pattern.
    #[serde(rename = "type")]
    event_type: Option<String>,
    /// Seconds to wait for an event when there is none yet (0..=30, default 0).
    wait: Option<u64>,
    /// Events read at most (1..=500, default 100).
    limit: Option<i64>,
}

/// `GET /api/v1/tenants/{t}/events`: the tenant's committed events after a cursor; with `wait`,
/// answers as soon as a matching event is committed, or empty when the wait is over.
pub async fn log(
    scope: TenantScope,
    QueryParams(query): QueryParams<LogQuery>,
) -> ApiResult<Json<EventLog>> {
    if let Some(pattern) = &query.event_type {
        check_event_pattern(pattern).map_err(|e| ApiError::invalid("type", e.message()))?;
    }
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECONDS {
        return Err(ApiError::invalid("wait", "`wait` is at most 30 seconds"));
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "`limit` is between 1 and 500"));
    }
    let pool = scope.db.pool();
    let Some(after) = query.after else {
        let end = crate::db::outbox::end(pool).await?;
        return Ok(Json(EventLog {
            events: Vec::new(),
            cursor: u64::try_from(end).unwrap_or(0),
        }));
    };
    let mut after = i64::try_from(after).map_err(|_| ApiError::invalid("after", "not a cursor"))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        let rows = crate::db::outbox::after(pool, after, limit).await?;
        after = rows.last().map_or(after, |(seq, _)| *seq);
        let events: Vec<Event> = rows
            .iter()
            .filter_map(|(_, envelope)| serde_json::from_str::<Event>(envelope).ok())
            .filter(|event| {
                query
                    .event_type
                    .as_deref()
                    .is_none_or(|pattern| pattern_matches(pattern, &event.r#type))
            })
            .collect();
        let now = tokio::time::Instant::now();
        if !events.is_empty() || now >= deadline {
            return Ok(Json(EventLog {
                events,
                cursor: u64::try_from(after).unwrap_or(0),
            }));
        }
        if rows.is_empty() {
            tokio::time::sleep_until(deadline.min(now + POLL_INTERVAL)).await;
        }
    }
}
