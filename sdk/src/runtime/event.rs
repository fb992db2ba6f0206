//! [`Event`]: the CloudEvents 1.0 envelope with Plexica's extensions (events-sdk.md).

use std::ops::{Deref, DerefMut};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

/// An event envelope as delivered, in JSON form, before its `data` is decoded.
pub type Envelope = serde_json::Value;

/// An event: the envelope's attributes plus its `data`, decoded as `T`.
///
/// Dereferences to `data`, so `ev.workspace_id` reads a field of the payload while
/// `ev.workspace` (an envelope field) names the workspace the event belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event<T> {
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
    pub data: T,
}

impl<T: DeserializeOwned> Event<T> {
    /// Decodes a JSON envelope, naming the event type in the error when it does not fit.
    pub fn from_json(envelope: Envelope) -> Result<Self> {
        let event_type = envelope
            .get("type")
            .and_then(serde_json::Value::as_str)
            .ok_or(Error::EnvelopeType)?
            .to_owned();
        serde_json::from_value(envelope).map_err(|source| Error::Decode { event_type, source })
    }
}

impl<T> Deref for Event<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T> DerefMut for Event<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.data
    }
}
