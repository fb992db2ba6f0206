//! The plugin runtime: what a plugin's backend is written with.
//!
//! - [`Event`]: the CloudEvents envelope (events-sdk.md) with its typed `data`.
//! - [`Context`]: who an event or request is for (tenant, workspace, actor, correlation id).
//! - [`macro@crate::event_handler`] registers handlers; [`handlers`] lists them.
//! - [`Plugin`]: loads `plexica.toml`, checks the handlers against `events.subscribes`, and serves
//!   the health route and the plugin's own routes until SIGTERM or Ctrl-C.
//! - [`testing`]: contexts, events and dispatch for unit tests, without servers.
//! - [`prelude`]: everything a handler or route module usually needs, in one `use`.

mod context;
mod error;
mod event;
mod handler;
mod inbox;
mod plugin;
pub mod prelude;
pub mod testing;

pub use context::{CORE_URL_ENV, Context, CoreConnection, Events, INSTALL_TOKEN_ENV};
pub use error::{Error, Result};
pub use event::{Envelope, Event};
pub use handler::{
    HandlerFn, HandlerFuture, HandlerRegistration, Mismatch, check_handlers, handlers,
};
pub use inbox::{EVENT_SECRET_ENV, EVENTS_PATH, RecentIds};
pub use plugin::{LISTEN_ENV, Plugin};

#[cfg(test)]
mod tests;
