//! The event envelope (events-sdk.md): CloudEvents 1.0 JSON with Plexica's extensions, shared
//! by the core API (which emits and delivers events), plugins (which handle and publish them)
//! and the CLI.

use serde::{Deserialize, Serialize};

/// The CloudEvents version of every envelope.
pub const SPEC_VERSION: &str = "1.0";

/// The `source` of events the platform emits.
pub const CORE_SOURCE: &str = "core";

/// An event: the envelope's attributes plus its `data` (`T`, JSON by default).
///
/// With the SDK's `runtime`, it dereferences to `data`, so `ev.workspace_id` reads a field of
/// the payload while `ev.workspace` (an envelope field) names the workspace of the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event<T = serde_json::Value> {
    /// CloudEvents version, `1.0`.
    pub specversion: String,
    /// Unique id (UUID v7); handlers deduplicate redeliveries by it.
    pub id: String,
    /// Event type, e.g. `core.workspace.created`.
    #[serde(rename = "type")]
    pub r#type: String,
    /// Producer: `core` or `plugin/<id>`.
    pub source: String,
    /// When the change happened, RFC 3339.
    pub time: String,
    /// Media type of `data`, `application/json`.
    pub datacontenttype: String,
    /// The tenant's slug.
    pub tenant: String,
    /// The workspace's slug, for workspace-scoped events.
    pub workspace: Option<String>,
    /// Shared by every event caused by the same original request.
    pub correlationid: String,
    /// Id of the event that caused this one, if any.
    pub causationid: Option<String>,
    /// Id of the user who caused the change, if any.
    pub actor: Option<String>,
    /// The payload.
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub data: T,
}

/// A new event id: a UUID v7 (time-ordered), as text.
pub fn new_event_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl<T> Event<T> {
    /// A new event of `event_type` from `source` for `tenant`, now, with a fresh id.
    pub fn new(
        event_type: impl Into<String>,
        source: impl Into<String>,
        tenant: impl Into<String>,
        correlation_id: impl Into<String>,
        data: T,
    ) -> Self {
        Self {
            specversion: SPEC_VERSION.to_owned(),
            id: new_event_id(),
            r#type: event_type.into(),
            source: source.into(),
            time: super::time::rfc3339(super::time::now_ms()),
            datacontenttype: "application/json".to_owned(),
            tenant: tenant.into(),
            workspace: None,
            correlationid: correlation_id.into(),
            causationid: None,
            actor: None,
            data,
        }
    }

    /// The same event in workspace `workspace`.
    pub fn in_workspace(mut self, workspace: impl Into<String>) -> Self {
        self.workspace = Some(workspace.into());
        self
    }

    /// The same event, caused by user `actor`.
    pub fn by(mut self, actor: Option<String>) -> Self {
        self.actor = actor;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_serialize_as_cloudevents() {
        let event = Event::new(
            "core.workspace.created",
            CORE_SOURCE,
            "acme",
            "corr-1",
            serde_json::json!({ "slug": "sales" }),
        )
        .in_workspace("sales")
        .by(Some("u_1".into()));
        let json = serde_json::to_value(&event).unwrap_or_default();
        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["type"], "core.workspace.created");
        assert_eq!(json["workspace"], "sales");
        assert_eq!(json["actor"], "u_1");
        assert_eq!(json["datacontenttype"], "application/json");
        let back: Event = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, event);
        let (a, b) = (new_event_id(), new_event_id());
        assert!(a < b || a[..13] == b[..13], "time-ordered: {a} {b}");
        assert_eq!(a.len(), 36);
    }
}

/// The path of a plugin's backend the core API pushes events to.
pub const EVENTS_PATH: &str = "/_plexica/events";

/// The content type of a push carrying one event (CloudEvents' structured mode): the envelope
/// as JSON.
pub const EVENT_CONTENT_TYPE: &str = "application/cloudevents+json";

/// The content type of a push carrying several events (CloudEvents' batched mode): a JSON
/// array of envelopes of one subscriber, in commit order, sent only to a plugin whose manifest
/// asks for it (`[events] batches = true`). The plugin handles them in order and
/// stops at the first failure; its answer tells how many it handled ([`BatchOutcome`]).
pub const BATCH_CONTENT_TYPE: &str = "application/cloudevents-batch+json";

/// The header of a batched push giving, in milliseconds, how long the plugin may go on starting
/// its events: past it, the plugin answers with the ones it handled (a 2xx with fewer than all)
/// and the platform sends the rest again, so that a batch never outlives the delivery timeout.
pub const BATCH_BUDGET_HEADER: &str = "x-plexica-batch-budget-ms";

/// On a failed push, the retries the failing handler asked for (`#[event_handler(retries =
/// N)]`): the core API retries that event that many times, at its configured delays (the last
/// one repeated), before dead-lettering it. Without the header, the core API's own number of
/// retries applies.
pub const RETRIES_HEADER: &str = "x-plexica-retries";

/// The most retries a handler (or the core API's configuration) may ask for.
pub const MAX_RETRIES: u32 = 20;

/// The answer to a batched push: how many of its events, from the first, were handled — with a
/// 2xx, all of them or as many as the time budget allowed; on a failure (5xx, with the error
/// envelope) the ones before the failed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchOutcome {
    /// Events handled (or skipped as duplicates), from the first.
    pub handled: usize,
}

/// The path under which a plugin's backend receives lifecycle hook calls:
/// `POST /_plexica/hooks/{on_install|on_uninstall|on_activate|on_deactivate}`, with a
/// [`HookCall`] body, signed like every platform request ([`super::signing`]).
pub const HOOKS_PATH: &str = "/_plexica/hooks";

/// The body of a lifecycle hook call: the tenant it is for and who caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HookCall {
    /// The tenant's slug.
    pub tenant: String,
    /// The user who installed, activated… the plugin, if a user did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The correlation id of the request that caused the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlationid: Option<String>,
}

/// A delivery that failed every attempt (`GET /api/v1/admin/dlq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeadLetter {
    /// Id.
    pub id: String,
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// Tenant slug.
    pub tenant: String,
    /// The subscriber it was for.
    pub plugin_id: String,
    /// `PENDING`, `RETRYING`, `RESOLVED` or `DISCARDED`.
    pub state: String,
    /// The last error.
    pub error: String,
    /// Attempts made.
    pub attempts: u64,
    /// RFC 3339: when the event was first queued for this subscriber.
    pub first_attempt_at: String,
    /// RFC 3339: the last failure.
    pub failed_at: String,
    /// RFC 3339: the last change of state.
    pub updated_at: String,
    /// The event (on `GET /api/v1/admin/dlq/{id}` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
}

/// The answer to a retry of dead letters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Retried {
    /// Dead letters queued for delivery again.
    pub retried: u64,
}

/// `POST /api/v1/tenants/{t}/events` (install token): a plugin publishes one of its own
/// events (`plugin.<its id>.…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishRequest {
    /// The event type, `plugin.<plugin id>.<entity>.<action>`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The payload.
    pub data: serde_json::Value,
    /// The workspace the event belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// The correlation id of the work that caused it (default: a new one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlationid: Option<String>,
    /// The id of the event that caused it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causationid: Option<String>,
}

/// The answer to a publish: the new event's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Published {
    /// The event id.
    pub id: String,
}

/// `GET /api/v1/tenants/{t}/events?after=&type=&wait=&limit=`: the tenant's committed events
/// after a cursor, oldest first (what `plexica events tail` follows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventLog {
    /// The events after the cursor that match the `type` pattern, in commit order.
    pub events: Vec<Event>,
    /// Pass as `after` to continue where this answer stopped.
    pub cursor: u64,
}

/// The environment variable that makes a backend written with the SDK print its
/// [`BackendDescription`] and exit instead of serving, once its start-up checks passed.
pub const CHECK_ONLY_ENV: &str = "PLEXICA_CHECK_ONLY";

/// What a backend built with the SDK registered, printed as JSON on stdout when it is started
/// with `PLEXICA_CHECK_ONLY=1` after its start-up checks passed (`plexica plugin build` uses
/// it to check the manifest against the code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BackendDescription {
    /// The plugin's id.
    pub plugin: String,
    /// The plugin's version.
    pub version: String,
    /// The `#[event_handler]`s, sorted by name.
    pub handlers: Vec<HandlerInfo>,
    /// The `#[hook]`s implemented, e.g. `on_install`, sorted.
    pub hooks: Vec<String>,
}

/// One `#[event_handler]` of a [`BackendDescription`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandlerInfo {
    /// The function's name.
    pub name: String,
    /// The event type or `prefix.*` pattern.
    pub event_type: String,
    /// `retries = N`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// `workspace = "required"`.
    #[serde(default)]
    pub workspace_required: bool,
}
