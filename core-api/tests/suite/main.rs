//! The core API's integration tests, one binary (one link of sqlx and axum instead of one per
//! file): each module drives real servers (in-process on ephemeral ports, or the real binary)
//! on SQLite and PostgreSQL, and NATS where it says so. Run one area with
//! `cargo test -p plexica-core-api --test suite -- gateway::`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

#[macro_use]
mod common;

mod auth;
mod authz;
mod cluster;
mod console;
mod contracts;
mod crash;
mod data;
mod delivery;
mod events;
mod floods;
mod gateway;
mod health;
mod insiders;
mod isolation;
mod layers;
mod nats;
mod oidc;
mod plugin_to_plugin;
mod plugins;
mod tenants;
mod workspaces;
