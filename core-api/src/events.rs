//! Emitting events: every state change writes its `core.*` event into the outbox of the same
//! database, in the same transaction (events-sdk.md, "Delivery"), so a committed change always
//! has its event and a rolled-back one never does. Tenant lifecycle events go to the core
//! database's outbox; everything inside a tenant to that tenant's.
//!
//! Each request carries a correlation id (`X-Correlation-Id`, generated when absent or
//! malformed, echoed in the response) that every event it causes shares.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use plexica_sdk::api::events::{CORE_SOURCE, Event, new_event_id};
use plexica_sdk::api::time::now_ms;
use plexica_sdk::event_name::CoreEvent;
use serde_json::Value;
use sqlx::{Any, Transaction};

use crate::auth::Principal;
use crate::db::DbResult;
use crate::error::ApiError;
use crate::state::AppState;

/// The header carrying the correlation id.
pub static CORRELATION_HEADER: HeaderName = HeaderName::from_static("x-correlation-id");

/// The correlation id of the current request.
#[derive(Debug, Clone)]
pub struct Correlation(pub String);

fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Takes the request's correlation id (or makes one) and echoes it in the response; after a
/// successful change, wakes the event delivery.
pub async fn correlate(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let changes = request.method() != axum::http::Method::GET;
    let id = request
        .headers()
        .get(&CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable(id))
        .map_or_else(new_event_id, str::to_owned);
    request.extensions_mut().insert(Correlation(id.clone()));
    let mut response = next.run(request).await;
    if changes && response.status().is_success() {
        state.delivery_wake.notify_one();
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(CORRELATION_HEADER.clone(), value);
    }
    response
}

impl FromRequestParts<AppState> for Correlation {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        Ok(parts
            .extensions
            .get::<Correlation>()
            .cloned()
            .unwrap_or_else(|| Correlation(new_event_id())))
    }
}

/// Who and what caused the events of one request.
#[derive(Debug, Clone)]
pub struct Cause {
    /// The request's correlation id.
    pub correlation_id: String,
    /// The acting user, if any.
    pub actor: Option<String>,
}

impl Cause {
    /// The cause of a request by `caller`.
    pub fn new(caller: &Principal, correlation: &Correlation) -> Self {
        Self {
            correlation_id: correlation.0.clone(),
            actor: Some(caller.user_id.clone()),
        }
    }

    /// The cause of work the platform does on its own (no request, no user).
    pub fn system() -> Self {
        Self {
            correlation_id: new_event_id(),
            actor: None,
        }
    }

    /// A `core.*` event of `tenant`.
    pub fn event(&self, event_type: CoreEvent, tenant: &str, data: Value) -> Event {
        Event::new(
            event_type.name(),
            CORE_SOURCE,
            tenant,
            &self.correlation_id,
            data,
        )
        .by(self.actor.clone())
    }

    /// A `core.*` event of `workspace` in `tenant`.
    pub fn workspace_event(
        &self,
        event_type: CoreEvent,
        tenant: &str,
        workspace: &str,
        data: Value,
    ) -> Event {
        self.event(event_type, tenant, data).in_workspace(workspace)
    }
}

/// Writes `event` into the outbox of the database `tx` belongs to.
///
/// The relay reads an outbox in `seq` order and remembers how far it got, so `seq` must be the
/// commit order. SQLite has one writer at a time; on PostgreSQL a sequence number is drawn at
/// insert time, and a transaction that drew a lower one could commit after the relay passed
/// it. The outbox is therefore locked against other writers until this transaction ends
/// (readers are not blocked); appending is the last write of every transaction that emits.
pub async fn append(tx: &mut Transaction<'static, Any>, event: &Event) -> DbResult<()> {
    let envelope = serde_json::to_string(event)?;
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("LOCK TABLE outbox IN EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("INSERT INTO outbox (id, type, envelope, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&event.id)
        .bind(&event.r#type)
        .bind(envelope)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The events a tenant route emits: its tenant, caller and correlation id.
#[derive(Debug, Clone)]
pub struct TenantEvents {
    cause: Cause,
    tenant: String,
}

impl TenantEvents {
    /// Who and what caused this request's events.
    pub fn cause(&self) -> &Cause {
        &self.cause
    }

    /// A `core.*` event of this tenant.
    pub fn event(&self, event_type: CoreEvent, data: Value) -> Event {
        self.cause.event(event_type, &self.tenant, data)
    }

    /// A `core.*` event of `workspace` in this tenant.
    pub fn workspace_event(&self, event_type: CoreEvent, workspace: &str, data: Value) -> Event {
        self.cause
            .workspace_event(event_type, &self.tenant, workspace, data)
    }
}

impl FromRequestParts<AppState> for TenantEvents {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let crate::rbac::Caller(caller) =
            crate::rbac::Caller::from_request_parts(parts, state).await?;
        let scope = crate::rbac::TenantScope::from_request_parts(parts, state).await?;
        let correlation = Correlation::from_request_parts(parts, state).await?;
        Ok(Self {
            cause: Cause::new(&caller, &correlation),
            tenant: scope.slug.as_str().to_owned(),
        })
    }
}

/// Outbox rows after sequence number `after`, oldest first, at most `limit`: `(seq, event)`.
pub async fn read_outbox(
    pool: &sqlx::AnyPool,
    after: i64,
    limit: i64,
) -> DbResult<Vec<(i64, Event)>> {
    use sqlx::Row;
    let rows = sqlx::query("SELECT seq, envelope FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            let envelope: String = row.try_get("envelope")?;
            Ok((row.try_get("seq")?, serde_json::from_str(&envelope)?))
        })
        .collect()
}
