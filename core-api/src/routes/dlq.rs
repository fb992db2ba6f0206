//! `/api/v1/admin/dlq` (super admin): the dead letter store — list, show, retry (to the
//! original subscriber only), discard.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plexica_sdk::api::core::Page;
use plexica_sdk::api::events::{DeadLetter, Retried};
use plexica_sdk::api::time::{now_ms, rfc3339};
use serde::Deserialize;

use super::{Paging, QueryParams};
use crate::db::delivery::DeadLetter as Row;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const STATES: [&str; 4] = ["PENDING", "RETRYING", "RESOLVED", "DISCARDED"];

fn dto(row: Row, with_event: bool) -> DeadLetter {
    DeadLetter {
        event: if with_event {
            serde_json::from_str(&row.envelope).ok()
        } else {
            None
        },
        id: row.id,
        event_id: row.event_id,
        event_type: row.event_type,
        tenant: row.tenant,
        plugin_id: row.plugin_id,
        state: row.state,
        error: row.error,
        attempts: u64::try_from(row.attempts).unwrap_or(0),
        first_attempt_at: rfc3339(row.first_attempt_at),
        failed_at: rfc3339(row.failed_at),
        updated_at: rfc3339(row.updated_at),
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("DEAD_LETTER_NOT_FOUND", "no such dead letter")
}

/// Query of `GET /admin/dlq`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// `GET /api/v1/admin/dlq`.
pub async fn list(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<DeadLetter>>> {
    let (page, per_page) = Paging {
        page: query.page,
        per_page: query.per_page,
    }
    .resolve()?;
    let wanted = match query.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            STATES
                .into_iter()
                .find(|known| known.eq_ignore_ascii_case(s))
                .ok_or_else(|| {
                    ApiError::invalid("state", "state is PENDING, RETRYING, RESOLVED or DISCARDED")
                })?,
        ),
    };
    let (rows, total) = state
        .core
        .dead_letters(
            wanted,
            i64::from(per_page),
            i64::from(page.saturating_sub(1)) * i64::from(per_page),
        )
        .await?;
    Ok(Json(Page {
        data: rows.into_iter().map(|r| dto(r, false)).collect(),
        total,
        page,
        per_page,
    }))
}

/// `GET /api/v1/admin/dlq/{id}`: with the event.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<DeadLetter>> {
    let row = state
        .core
        .dead_letter_by_id(&id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(dto(row, true)))
}

/// `POST /api/v1/admin/dlq/{id}/retry`: 202; delivered again to its subscriber only.
pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<DeadLetter>)> {
    let row = state
        .core
        .dead_letter_by_id(&id)
        .await?
        .ok_or_else(not_found)?;
    if !state.core.retry_dead_letter(&id, now_ms()).await? {
        return Err(ApiError::conflict(
            "DEAD_LETTER_NOT_PENDING",
            format!(
                "this dead letter is {}; only PENDING ones are retried",
                row.state
            ),
        ));
    }
    state.delivery_wake.notify_one();
    let row = state
        .core
        .dead_letter_by_id(&id)
        .await?
        .ok_or_else(not_found)?;
    Ok((StatusCode::ACCEPTED, Json(dto(row, false))))
}

/// Query of `POST /admin/dlq/retry`.
#[derive(Debug, Deserialize)]
pub struct RetryQuery {
    #[serde(rename = "type")]
    event_type: Option<String>,
}

/// `POST /api/v1/admin/dlq/retry?type=…`: retries every pending dead letter (of that type or
/// pattern).
pub async fn retry_all(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<RetryQuery>,
) -> ApiResult<(StatusCode, Json<Retried>)> {
    let mut retried = 0;
    let now = now_ms();
    loop {
        let (rows, _) = state.core.dead_letters(Some("PENDING"), 500, 0).await?;
        let matching: Vec<Row> = rows
            .into_iter()
            .filter(|r| {
                query
                    .event_type
                    .as_deref()
                    .is_none_or(|t| plexica_sdk::event_name::pattern_matches(t, &r.event_type))
            })
            .collect();
        if matching.is_empty() {
            break;
        }
        for row in matching {
            if state.core.retry_dead_letter(&row.id, now).await? {
                retried += 1;
            }
        }
    }
    state.delivery_wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(Retried { retried })))
}

/// `DELETE /api/v1/admin/dlq/{id}`: discards it.
pub async fn discard(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let row = state
        .core
        .dead_letter_by_id(&id)
        .await?
        .ok_or_else(not_found)?;
    if state.core.discard_dead_letter(&id, now_ms()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::conflict(
            "DEAD_LETTER_BUSY",
            format!("this dead letter is {}", row.state),
        ))
    }
}
