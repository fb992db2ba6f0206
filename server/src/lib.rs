//! What the core API and the registry share: password hashing under a concurrency bound
//! ([`passwords`]), random secrets and their stored hash ([`secrets`]), pool opening and write
//! transactions ([`sql`]), keyed rate limits ([`ratelimit`]), request metrics with bounded
//! label sets ([`metrics`]), the route table ([`routes`]) with the OpenAPI document built from
//! it ([`openapi`]), the web pages' session cookies ([`cookies`]), and the signal they stop on
//! ([`shutdown_signal`]).
//!
//! This crate knows no server's state, storage or error envelope: each server maps what it
//! returns into its own errors.

pub mod cookies;
pub mod metrics;
pub mod openapi;
pub mod passwords;
pub mod ratelimit;
pub mod routes;
pub mod secrets;
mod shutdown;
pub mod sql;

pub use shutdown::shutdown_signal;
