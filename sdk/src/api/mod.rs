//! Wire types of the HTTP APIs, defined once for servers and clients.

pub mod core;
pub mod env;
pub mod events;
pub mod registry;
pub mod signing;
pub mod time;
