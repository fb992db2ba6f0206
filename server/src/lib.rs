//! What the core API and the registry share: password hashing under a concurrency bound
//! ([`passwords`]), keyed rate limits ([`ratelimit`]), request metrics with bounded label sets
//! ([`metrics`]), and the route table ([`routes`]) with the OpenAPI document built from it
//! ([`openapi`]), and the signal they stop on ([`shutdown_signal`]).
//!
//! This crate knows no server's state, storage or error envelope: each server maps what it
//! returns into its own errors.

pub mod metrics;
pub mod openapi;
pub mod passwords;
pub mod ratelimit;
pub mod routes;
mod shutdown;

pub use shutdown::shutdown_signal;
