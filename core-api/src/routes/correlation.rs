//! Each request carries a correlation id (`X-Correlation-Id`, generated when absent or
//! malformed, echoed in the response) that every event it causes shares; a tenant route's
//! events are built from [`TenantEvents`].

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use plexica_sdk::api::events::{Event, new_event_id};
use plexica_sdk::event_name::CoreEvent;
use serde_json::Value;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::events::Cause;
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

impl Correlation {
    /// The cause of this request's events when `caller` made it.
    pub fn cause(&self, caller: &Principal) -> Cause {
        Cause::request(&caller.user_id, &self.0)
    }
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
        let crate::routes::guard::Caller(caller) =
            crate::routes::guard::Caller::from_request_parts(parts, state).await?;
        let scope = crate::authz::TenantScope::from_request_parts(parts, state).await?;
        let correlation = Correlation::from_request_parts(parts, state).await?;
        Ok(Self {
            cause: correlation.cause(&caller),
            tenant: scope.slug.as_str().to_owned(),
        })
    }
}
