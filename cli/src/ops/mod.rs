//! The operations the commands are made of, as plain functions over typed options and the
//! typed clients (as cargo's `ops`): a command turns its clap arguments into options, calls
//! one of these and renders what it returns; a composite command (`quickstart`) calls several.
//! Operations report progress in status lines on the [`Ui`](crate::output::Ui) they are given
//! and never print a result. Nothing here knows a command, the grammar or clap.

pub mod build;
pub mod clients;
pub mod keys;
pub mod manifest;
pub mod package_pipeline;
pub mod plugin_config;
#[cfg(feature = "platform")]
pub mod plugin_test;
#[cfg(feature = "platform")]
pub mod quickstart;
pub mod scaffold;
pub mod session;
pub mod spec;
pub mod tenant;
