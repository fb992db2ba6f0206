//! Pushed cache invalidation between replicas. Each replica caches tenant rows, permission
//! sets, install records and revoked sessions; a change applies at once on the replica that
//! made it, and is told to every replica on the same PostgreSQL database through `NOTIFY`
//! (channel [`CHANNEL`]), so that it holds everywhere within a notification's latency rather
//! than after a cache's lifetime. On SQLite (one process) there is nobody to tell.
//!
//! A change to a plugin's install also makes every replica start or stop its own copy of the
//! plugin's backend (the listener's `on_install`): every replica runs every active backend.
//!
//! A replica whose listening connection drops clears every cache when it reconnects: the
//! notifications it missed are then harmless.

use std::sync::Arc;
use std::time::Duration;

use plexica_sdk::api::time::now_ms;
use serde::{Deserialize, Serialize};
use sqlx::AnyPool;

use crate::authz::PermissionCache;
use crate::caches::{InstallCache, RevokedSessions, TenantCache};
use crate::db::DbResult;
use crate::db::core::CoreStore;

/// The `LISTEN`/`NOTIFY` channel.
pub const CHANNEL: &str = "plexica_invalidations";

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Invalidation {
    /// A tenant's row or roles (status, suspension, a role's permissions).
    Tenant {
        /// Its slug.
        slug: String,
    },
    /// One user's roles or membership in a tenant.
    User {
        /// The tenant's slug.
        tenant: String,
        /// The user's id.
        user: String,
    },
    /// A session was revoked.
    Session {
        /// Its id.
        id: String,
    },
    /// A plugin install changed (activated, deactivated, configured, removed).
    Install {
        /// The tenant's slug.
        tenant: String,
        /// The plugin's id.
        plugin: String,
    },
}

/// Applies changes to this replica's caches and tells the other replicas.
#[derive(Debug, Clone)]
pub struct Invalidator {
    tenants: Arc<TenantCache>,
    permissions: Arc<PermissionCache>,
    revoked_sessions: Arc<RevokedSessions>,
    installs: Arc<InstallCache>,
    /// The core database, when it is PostgreSQL: the other replicas listen on it.
    shared: Option<AnyPool>,
}

impl Invalidator {
    /// Invalidates these caches, telling the replicas on `shared` (the core database's pool
    /// on PostgreSQL; `None` on SQLite, where there is one process).
    pub fn new(
        tenants: Arc<TenantCache>,
        permissions: Arc<PermissionCache>,
        revoked_sessions: Arc<RevokedSessions>,
        installs: Arc<InstallCache>,
        shared: Option<AnyPool>,
    ) -> Self {
        Self {
            tenants,
            permissions,
            revoked_sessions,
            installs,
            shared,
        }
    }

    /// Applies `change` to this replica's caches.
    pub fn apply(&self, change: &Invalidation) {
        match change {
            Invalidation::Tenant { slug } => {
                self.tenants.forget(slug);
                self.permissions.invalidate_tenant(slug);
            }
            Invalidation::User { tenant, user } => self.permissions.invalidate_user(tenant, user),
            Invalidation::Session { id } => self.revoked_sessions.insert(id.clone()),
            Invalidation::Install { tenant, plugin } => self.installs.forget(tenant, plugin),
        }
    }

    /// Applies `change` here at once and tells the other replicas (in the background: a
    /// change never waits for, or fails because of, the telling).
    pub fn announce(&self, change: Invalidation) {
        self.apply(&change);
        let Some(pool) = self.shared.clone() else {
            return;
        };
        tokio::spawn(async move {
            let Ok(payload) = serde_json::to_string(&change) else {
                return;
            };
            if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload)
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %e, "cannot tell the other replicas of a change");
            }
        });
    }

    /// On PostgreSQL, listens on `database_url` for the other replicas' changes until the core
    /// database closes, and applies them; `on_install` is called with `(tenant, plugin)` for
    /// each install change, so that this replica starts or stops its copy of the backend.
    pub fn spawn_listener(
        &self,
        database_url: String,
        on_install: impl Fn(String, String) + Send + 'static,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let pool = self.shared.clone()?;
        let this = self.clone();
        Some(tokio::spawn(async move {
            while !pool.is_closed() {
                let mut listener = match sqlx::postgres::PgListener::connect(&database_url).await {
                    Ok(listener) => listener,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for other replicas' changes");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                if let Err(e) = listener.listen(CHANNEL).await {
                    tracing::warn!(error = %e, "cannot listen for other replicas' changes");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                // Whatever was told while nobody listened is forgotten with everything else.
                this.forget_everything();
                loop {
                    match listener.try_recv().await {
                        Ok(Some(notification)) => {
                            match serde_json::from_str::<Invalidation>(notification.payload()) {
                                Ok(change) => {
                                    this.apply(&change);
                                    if let Invalidation::Install { tenant, plugin } = change {
                                        on_install(tenant, plugin);
                                    }
                                }
                                Err(e) => tracing::warn!(error = %e, "unreadable invalidation"),
                            }
                        }
                        // The connection dropped: listen again on a new one.
                        Ok(None) => this.forget_everything(),
                        Err(e) => {
                            tracing::warn!(error = %e, "lost the invalidation channel");
                            break;
                        }
                    }
                    if pool.is_closed() {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }))
    }

    /// Revokes the sessions and API tokens of `user` in `tenant` (all its users when `None`),
    /// but session `keep_session`, at once on every replica.
    pub async fn revoke_sessions(
        &self,
        core: &CoreStore,
        tenant: &str,
        user: Option<&str>,
        keep_session: Option<&str>,
    ) -> DbResult<()> {
        let ids = core
            .revoke_sessions_of(tenant, user, keep_session, now_ms())
            .await?;
        for id in ids {
            self.announce(Invalidation::Session { id });
        }
        Ok(())
    }

    fn forget_everything(&self) {
        self.tenants.clear();
        self.permissions.clear();
        self.installs.clear();
    }
}
