//! The plugin runtime: what a plugin's backend is written with.
//!
//! - [`Event`]: the CloudEvents envelope (events-sdk.md) with its typed `data`.
//! - [`Context`]: who an event or request is for (tenant, workspace, actor, correlation id).
//! - [`macro@crate::event_handler`] registers handlers; [`handlers`] lists them.
//! - [`macro@crate::hook`] registers lifecycle hooks; [`hooks`] lists them.
//! - [`Plugin`]: loads `plexica.toml`, checks the handlers against `events.subscribes`, and serves
//!   the health route and the plugin's own routes until SIGTERM or Ctrl-C.
//! - [`testing`]: contexts, events and dispatch for unit tests, without servers.
//! - [`prelude`]: everything a handler or route module usually needs, in one `use`.
//!
//! The usage shown in events-sdk.md compiles as written (only `list_contacts`, which the spec
//! leaves out, is added):
//!
//! ```no_run,standalone_crate
//! use plexica_sdk::prelude::*;
//!
//! #[derive(Deserialize)]
//! struct WorkspaceCreated { workspace_id: String, slug: String, name: String }
//!
//! #[event_handler("core.workspace.created")]
//! async fn seed_pipeline(ctx: &Context, ev: Event<WorkspaceCreated>) -> Result<()> {
//!     ctx.events().publish("plugin.crm.pipeline.created", json!({ "workspace": ev.workspace })).await?;
//!     Ok(())
//! }
//!
//! #[hook(on_install)]
//! async fn install(ctx: &Context) -> Result<()> { Ok(()) }
//!
//! # async fn list_contacts() -> Json<Vec<String>> { Json(Vec::new()) }
//! #[tokio::main]
//! async fn main() -> Result<()> {
//!     Plugin::from_manifest("plexica.toml")?
//!         .routes(Router::new().route("/contacts", get(list_contacts)))
//!         .run()
//!         .await
//! }
//! ```

mod context;
mod data;
mod error;
mod event;
mod handler;
mod hook;
mod inbox;
mod platform_auth;
mod plugin;
pub mod prelude;
pub mod testing;

pub use context::{
    CORE_URL_ENV, CORRELATION_HEADER, Context, CoreApi, CoreConnection, Events, INSTALL_TOKEN_ENV,
    MissingTenant, Services, TENANT_HEADER, USER_HEADER, WORKSPACE_HEADER,
};
pub use data::{Data, TableQuery};
pub use error::{Error, Result};
pub use event::{Envelope, Event};
pub use handler::{
    HandlerFn, HandlerFuture, HandlerRegistration, Mismatch, check_handlers, handlers,
};
pub use hook::{Hook, HookFn, HookRegistration, UnknownHook, duplicate_hooks, hooks, run_hook};
pub use inbox::{EVENTS_PATH, RecentIds};
pub use platform_auth::{MAX_PLATFORM_BODY_BYTES, PLATFORM_SECRET_ENV, PlatformClaims};
pub use plugin::{CHECK_ONLY_ENV, LISTEN_ENV, PACKAGE_DIR_ENV, Plugin};

#[cfg(test)]
mod tests;
