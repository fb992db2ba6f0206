//! Wire types of the HTTP APIs, defined once for servers and clients.

pub mod registry;
