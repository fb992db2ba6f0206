//! The registry's integration tests, one binary: each module drives a real registry (in-process
//! on an ephemeral port, or the real binary) on SQLite and PostgreSQL, with local or
//! S3-compatible blobs where it says so. Run one area with
//! `cargo test -p plexica-registry --test suite -- web::`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

#[macro_use]
mod common;

mod accounts;
mod api;
mod blobs;
mod contracts;
mod crash;
mod memory;
mod web;
