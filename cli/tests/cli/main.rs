//! The CLI's integration tests, one test binary (`cargo test -p plexica-cli --test cli`), one
//! module per area; `cargo test -p plexica-cli --test cli -- admin::` runs one of them. The
//! modules that start a server in this process or run `plexica up`, `quickstart` or `plugin
//! dev` need the `platform` feature (the default); the others also test the slim CLI.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod common;

#[cfg(feature = "platform")]
mod admin;
mod authoring;
#[cfg(feature = "platform")]
mod console;
#[cfg(feature = "platform")]
mod dev;
#[cfg(feature = "platform")]
mod events;
#[cfg(feature = "platform")]
mod examples;
mod layers;
#[cfg(feature = "platform")]
mod plugin_process;
#[cfg(feature = "platform")]
mod publishing;
mod publishing_offline;
#[cfg(feature = "platform")]
mod quickstart;
#[cfg(feature = "platform")]
mod templates;
#[cfg(feature = "platform")]
mod tenant_plugins;
