//! `plexica-sdk`: everything a Plexica plugin is written with, and the protocol types that the
//! `plexica` CLI, the registry and the core API share.
//!
//! - [`api`]: request and response bodies of the registry API.
//! - [`manifest`]: the `plexica.toml` schema, its validation and located diagnostics.
//! - [`event_name`]: event names and subscription patterns.
//! - `package` (feature `package`): the reproducible `.pxp` archive, `CHECKSUMS` and
//!   minisign-compatible Ed25519 signatures.
//! - `runtime` (feature `runtime`, on by default): `Plugin`, `Context`, `#[event_handler]`,
//!   `#[hook]`.

#![warn(missing_docs)]

pub mod api;
pub mod diagnostic;
pub mod event_name;
pub mod manifest;
#[cfg(feature = "package")]
pub mod package;
#[cfg(feature = "runtime")]
pub mod runtime;

#[cfg(feature = "runtime")]
pub use plexica_sdk_macros::{event_handler, hook};
#[cfg(feature = "runtime")]
pub use runtime::{Context, Event, Plugin, handlers, hooks, prelude, testing};

/// The web framework plugin routes are written with, re-exported so that a plugin uses the
/// SDK's version (`plexica_sdk::axum::extract::Path`, `…::http::StatusCode`).
#[cfg(feature = "runtime")]
pub use axum;

/// Items used by code that the SDK's macros generate. Not part of the public API.
#[cfg(feature = "runtime")]
#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
