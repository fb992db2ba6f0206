//! `use plexica_sdk::prelude::*;` brings what handlers and routes usually need.

pub use super::{Context, Error, Event, Plugin, Result};
pub use crate::{event_handler, hook};
pub use axum::routing::{get, post};
pub use axum::{Json, Router};
pub use serde::{Deserialize, Serialize};
pub use serde_json::json;
