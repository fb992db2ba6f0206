//! `POST /_plexica/events`: where the core API pushes events (events-sdk.md, "Embedded
//! transport"). A push reaches it only once the platform's signature is verified
//! ([`super::platform_auth`]); then, unless its id was handled already (deduplication, on by
//! default), each event is dispatched to the matching `#[event_handler]`s. A handler's failure answers 500 so that the core API
//! retries; nothing counts as handled unless every matching handler succeeded.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::context::Context;
use super::handler::{dispatch_reporting, handlers};
pub use crate::api::events::EVENTS_PATH;
use crate::api::events::{BATCH_BUDGET_HEADER, BATCH_CONTENT_TYPE, BatchOutcome, RETRIES_HEADER};

/// How long a batch's events may be started when the push gives no budget.
const DEFAULT_BATCH_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// Ids of recently handled events, at most `capacity`, oldest forgotten first.
#[derive(Debug)]
pub struct RecentIds {
    capacity: usize,
    order: VecDeque<String>,
    seen: HashSet<String>,
}

impl RecentIds {
    /// Remembers up to `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            seen: HashSet::new(),
        }
    }

    /// Was `id` handled already?
    pub fn contains(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    /// Records `id` as handled.
    pub fn insert(&mut self, id: String) {
        if self.seen.insert(id.clone()) {
            self.order.push_back(id);
            if self.order.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.seen.remove(&old);
                }
            }
        }
    }
}

/// What the endpoint needs: the handled ids when deduplicating, and the way to the core API.
#[derive(Debug, Clone)]
pub(crate) struct Inbox {
    pub(crate) recent: Option<Arc<Mutex<RecentIds>>>,
    pub(crate) core: Option<Arc<super::context::CoreConnection>>,
}

/// An error answer in the platform's envelope.
pub(crate) fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message.into() } });
    (status, Json(body)).into_response()
}

/// Why one event of a push was not handled: the answer to give.
struct Refused {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// The failing handler's `retries`, told to the core API ([`RETRIES_HEADER`]).
    retries: Option<u32>,
}

impl Refused {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retries: None,
        }
    }

    /// The error answer; a batch's also says how many events before this one were handled.
    fn answer(self, handled: Option<usize>) -> Response {
        let mut response = match handled {
            None => refuse(self.status, self.code, self.message),
            Some(handled) => {
                let body = serde_json::json!({
                    "error": { "code": self.code, "message": self.message },
                    "handled": handled,
                });
                (self.status, Json(body)).into_response()
            }
        };
        if let Some(retries) = self.retries {
            response
                .headers_mut()
                .insert(RETRIES_HEADER, axum::http::HeaderValue::from(retries));
        }
        response
    }
}

/// Handles one event: skipped when its id was handled already, else dispatched to the
/// matching handlers (and remembered once they all succeeded). `true` when it was a duplicate.
async fn handle(inbox: &Inbox, envelope: serde_json::Value) -> Result<bool, Refused> {
    let text = |key: &str| {
        envelope
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let (Some(id), Some(tenant)) = (text("id"), text("tenant")) else {
        return Err(Refused::new(
            StatusCode::BAD_REQUEST,
            "BAD_ENVELOPE",
            "the event has no id or tenant",
        ));
    };
    if let Some(recent) = &inbox.recent {
        let seen = recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&id);
        if seen {
            return Ok(true);
        }
    }
    let ctx = Context::new(
        tenant,
        text("workspace"),
        text("actor"),
        text("correlationid").unwrap_or_else(|| id.clone()),
    )
    .handling(id.clone())
    .connected(inbox.core.clone());
    dispatch_reporting(handlers(), ctx, envelope)
        .await
        .map_err(|(e, retries)| Refused {
            retries,
            ..Refused::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "HANDLER_FAILED",
                e.to_string(),
            )
        })?;
    if let Some(recent) = &inbox.recent {
        recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id);
    }
    Ok(false)
}

/// Is the push a batch ([`BATCH_CONTENT_TYPE`])?
fn is_batch(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(BATCH_CONTENT_TYPE))
}

/// The handler of `POST /_plexica/events`: one envelope (`application/cloudevents+json`; any
/// other type but a batch's is read as one too), or several in
/// order ([`BATCH_CONTENT_TYPE`]), handled one after the other up to the first failure.
pub(crate) async fn receive(
    State(inbox): State<Inbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if is_batch(&headers) {
        let Ok(envelopes) = serde_json::from_slice::<Vec<serde_json::Value>>(&body) else {
            return refuse(
                StatusCode::BAD_REQUEST,
                "BAD_ENVELOPE",
                "the body is not a JSON array of events",
            );
        };
        let budget = headers
            .get(BATCH_BUDGET_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .map_or(DEFAULT_BATCH_BUDGET, std::time::Duration::from_millis);
        let started = std::time::Instant::now();
        let mut handled = 0;
        for envelope in envelopes {
            // At least one event per push, however slow, so that every push moves on.
            if handled > 0 && started.elapsed() >= budget {
                break;
            }
            if let Err(refused) = handle(&inbox, envelope).await {
                return refused.answer(Some(handled));
            }
            handled += 1;
        }
        return (StatusCode::OK, Json(BatchOutcome { handled })).into_response();
    }
    let Ok(envelope) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_ENVELOPE",
            "the body is not a JSON event",
        );
    };
    match handle(&inbox, envelope).await {
        Ok(duplicate) => {
            let status = if duplicate { "duplicate" } else { "handled" };
            (
                StatusCode::OK,
                Json(serde_json::json!({ "status": status })),
            )
                .into_response()
        }
        Err(refused) => refused.answer(None),
    }
}

#[cfg(test)]
mod tests {
    use super::RecentIds;

    #[test]
    fn recent_ids_forget_the_oldest() {
        let mut recent = RecentIds::new(2);
        recent.insert("a".into());
        recent.insert("b".into());
        recent.insert("a".into());
        assert!(recent.contains("a") && recent.contains("b"));
        recent.insert("c".into());
        assert!(!recent.contains("a") && recent.contains("b") && recent.contains("c"));
    }
}
