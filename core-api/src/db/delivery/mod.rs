//! Event delivery storage in the core database: subscriptions, pending deliveries and the dead
//! letter store (migration `0003_delivery.sql`).

mod cursors;
mod dead_letters;
mod install_tokens;
mod queue;
mod subscriptions;

pub use dead_letters::DeadLetter;
pub use queue::{Delivery, EventHead, Retry, Settlement};
pub use subscriptions::Subscription;
