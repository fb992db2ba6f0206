//! Emitting events: every state change writes its `core.*` event into the outbox of the same
//! database, in the same transaction (events-sdk.md, "Delivery"), so a committed change always
//! has its event and a rolled-back one never does. Tenant lifecycle events go to the core
//! database's outbox; everything inside a tenant to that tenant's. A [`Cause`] says who and
//! which request (its correlation id) caused them.

pub mod embedded;
pub mod jetstream;
pub mod push;

use std::sync::Arc;

use plexica_sdk::api::events::{CORE_SOURCE, Event, new_event_id};
use plexica_sdk::event_name::CoreEvent;
use serde_json::Value;
use tokio::sync::Notify;

use crate::config::Config;
use crate::db::core::CoreStore;
use crate::db::tenant::TenantDbs;
use crate::discovery::Targets;
use crate::plugins::client::PluginClient;
use crate::transport::EventTransport;

/// What event delivery works with — and the pruning of what it leaves behind.
#[derive(Debug, Clone)]
pub struct DeliveryEnv {
    /// The core database: subscriptions, the queue, dead letters, relay cursors.
    pub core: CoreStore,
    /// Tenants' databases, whose outboxes are relayed.
    pub tenant_dbs: TenantDbs,
    /// Timeouts, retry delays, retention.
    pub config: Arc<Config>,
    /// Embedded, or NATS JetStream.
    pub transport: EventTransport,
    /// Notified when a change was committed (the relay wakes).
    pub wake: Arc<Notify>,
    /// Where this replica runs each plugin's backend.
    pub targets: Arc<Targets>,
    /// The signed client of every push.
    pub http: PluginClient,
}

/// Who and what caused the events of one request.
#[derive(Debug, Clone)]
pub struct Cause {
    /// The request's correlation id.
    pub correlation_id: String,
    /// The acting user, if any.
    pub actor: Option<String>,
}

impl Cause {
    /// The cause of a request by user `actor` with correlation id `correlation_id`.
    pub fn request(actor: &str, correlation_id: &str) -> Self {
        Self {
            correlation_id: correlation_id.to_owned(),
            actor: Some(actor.to_owned()),
        }
    }

    /// The cause of work the platform does on its own (no request, no user).
    pub fn system() -> Self {
        Self {
            correlation_id: new_event_id(),
            actor: None,
        }
    }

    /// A `core.*` event of `tenant`.
    pub fn event(&self, event_type: CoreEvent, tenant: &str, data: Value) -> Event {
        Event::new(
            event_type.name(),
            CORE_SOURCE,
            tenant,
            &self.correlation_id,
            data,
        )
        .by(self.actor.clone())
    }

    /// A `core.*` event of `workspace` in `tenant`.
    pub fn workspace_event(
        &self,
        event_type: CoreEvent,
        tenant: &str,
        workspace: &str,
        data: Value,
    ) -> Event {
        self.event(event_type, tenant, data).in_workspace(workspace)
    }
}
