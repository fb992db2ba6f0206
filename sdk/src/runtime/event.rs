//! [`Event`] (defined with the protocol types, `crate::api::events`) as handlers see it: decoded
//! from a delivered JSON envelope, and dereferencing to its `data`.

use std::ops::{Deref, DerefMut};

use serde::de::DeserializeOwned;

pub use crate::api::events::Event;

use super::error::{Error, Result};

/// An event envelope as delivered, in JSON form, before its `data` is decoded.
pub type Envelope = serde_json::Value;

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
