//! What the core API and the registry share below their HTTP routes: password hashing under a
//! concurrency bound ([`passwords`]), keyed rate limits ([`ratelimit`]) and request metrics with
//! bounded label sets ([`metrics`]).
//!
//! This crate knows no server's state, storage or error envelope: each server maps what it
//! returns into its own errors.

pub mod metrics;
pub mod passwords;
pub mod ratelimit;
