//! The SDK's integration tests that register no handler, one binary: manifests, packages and
//! the macros' compile tests. `context`, `event_handler` and `hooks` stay binaries of their own:
//! each is one plugin, whose `#[event_handler]`s and `#[hook]`s register process-wide as a real
//! plugin's do, so they cannot share a process.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

#[cfg(feature = "runtime")]
mod macros;
mod manifest_props;
mod manifest_rules;
#[cfg(feature = "package")]
mod package;
