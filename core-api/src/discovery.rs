//! Service discovery: where each running plugin backend is reached ([`Endpoint`]) and which
//! one serves each tenant here ([`Targets`]). The runtime fills it as backends start and stop;
//! the gateway and event delivery read it on every call, without a database query.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::db::delivery::Subscription;

/// Where a running plugin is reached, the secret the platform signs every request to it with,
/// and when it last answered its health check (its heartbeat; shared by every copy of the
/// endpoint).
#[derive(Clone)]
pub struct Endpoint {
    /// Its address: `unix:/…/backend.sock`, or a base URL such as `http://127.0.0.1:41234`.
    pub address: String,
    /// The secret every request to it is signed with.
    pub secret: String,
    /// Unix ms of the last heartbeat.
    pub last_seen: Arc<std::sync::atomic::AtomicI64>,
}

impl Endpoint {
    /// An endpoint seen just now.
    pub fn new(address: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            secret: secret.into(),
            last_seen: Arc::new(std::sync::atomic::AtomicI64::new(
                plexica_sdk::api::time::now_ms(),
            )),
        }
    }

    /// Records a heartbeat now.
    pub fn seen(&self) {
        self.last_seen.store(
            plexica_sdk::api::time::now_ms(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Has it missed its heartbeats for longer than `window`?
    pub fn is_stale(&self, window: Duration) -> bool {
        let last = self.last_seen.load(std::sync::atomic::Ordering::Relaxed);
        plexica_sdk::api::time::now_ms() - last
            > i64::try_from(window.as_millis()).unwrap_or(i64::MAX)
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("address", &self.address)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Where each active plugin of each tenant is reached: `(tenant, plugin id)` → its endpoint.
/// Kept in memory beside the runtime (set when a backend starts serving a tenant, removed when
/// it stops), so that a gateway call reads no database for it.
#[derive(Debug, Default)]
pub struct Targets {
    urls: RwLock<HashMap<(String, String), (String, Endpoint)>>,
}

impl Targets {
    /// `plugin_id` at `version` serves `tenant` at `endpoint`.
    pub fn insert(&self, tenant: &str, plugin_id: &str, version: &str, endpoint: Endpoint) {
        self.urls
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                (tenant.to_owned(), plugin_id.to_owned()),
                (version.to_owned(), endpoint),
            );
    }

    /// `plugin_id` no longer serves `tenant`.
    pub fn remove(&self, tenant: &str, plugin_id: &str) {
        self.urls
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&(tenant.to_owned(), plugin_id.to_owned()));
    }

    /// Where `plugin_id` serves `tenant`, if it does.
    pub fn get(&self, tenant: &str, plugin_id: &str) -> Option<Endpoint> {
        self.running(tenant, plugin_id)
            .map(|(_, endpoint)| endpoint)
    }

    /// The version of `plugin_id` serving `tenant` here and where, if one does.
    pub fn running(&self, tenant: &str, plugin_id: &str) -> Option<(String, Endpoint)> {
        self.urls
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(tenant.to_owned(), plugin_id.to_owned()))
            .cloned()
    }

    /// `sub` as this replica delivers it: to this replica's own copy of the backend when it
    /// runs one. Every replica runs every active backend (ARCHITECTURE.md, "Plugin
    /// placement"); the address recorded with a subscription is that of the copy of the
    /// replica that made it, used only when this one runs none (a backend not managed by the
    /// platform, in tests and development).
    pub fn route(&self, mut sub: Subscription) -> Subscription {
        if let Some(local) = self.get(&sub.tenant, &sub.plugin_id) {
            sub.endpoint = local.address;
            sub.secret = local.secret;
        }
        sub
    }
}
