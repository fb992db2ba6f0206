//! Pushed cache invalidation between replicas. Each replica caches tenant rows, permission
//! sets, install records and revoked sessions; a change applies at once on the replica that
//! made it, and is told to every replica on the same PostgreSQL database through `NOTIFY`
//! (channel [`CHANNEL`]), so that it holds everywhere within a notification's latency rather
//! than after a cache's lifetime. On SQLite (one process) there is nobody to tell.
//!
//! A change to a plugin's install also makes every replica start or stop its own copy of the
//! plugin's backend ([`crate::plugins::converge`]): every replica runs every active backend.
//!
//! A replica whose listening connection drops clears every cache when it reconnects: the
//! notifications it missed are then harmless.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::db::Backend;
use crate::state::AppState;

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

/// Applies `change` to this replica's caches.
pub fn apply(state: &AppState, change: &Invalidation) {
    match change {
        Invalidation::Tenant { slug } => {
            state.tenants.forget(slug);
            state.permissions.invalidate_tenant(slug);
        }
        Invalidation::User { tenant, user } => state.permissions.invalidate_user(tenant, user),
        Invalidation::Session { id } => state.revoked_sessions.insert(id.clone()),
        Invalidation::Install { tenant, plugin } => state.plugins.installs.forget(tenant, plugin),
    }
}

/// Applies `change` here at once and tells the other replicas (in the background: a change
/// never waits for, or fails because of, the telling).
pub fn announce(state: &AppState, change: Invalidation) {
    apply(state, &change);
    if !on_postgres(state) {
        return;
    }
    let pool = state.core.pool().clone();
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

/// On PostgreSQL, listens for the other replicas' changes until the core database closes.
pub fn spawn_listener(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    if !on_postgres(&state) {
        return None;
    }
    Some(tokio::spawn(async move {
        while !state.core.pool().is_closed() {
            let mut listener =
                match sqlx::postgres::PgListener::connect(&state.config.database_url).await {
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
            forget_everything(&state);
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        match serde_json::from_str::<Invalidation>(notification.payload()) {
                            Ok(change) => {
                                apply(&state, &change);
                                if let Invalidation::Install { tenant, plugin } = change {
                                    let state = state.clone();
                                    tokio::spawn(async move {
                                        crate::plugins::converge(&state, &tenant, &plugin).await;
                                    });
                                }
                            }
                            Err(e) => tracing::warn!(error = %e, "unreadable invalidation"),
                        }
                    }
                    // The connection dropped: listen again on a new one.
                    Ok(None) => {
                        forget_everything(&state);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the invalidation channel");
                        break;
                    }
                }
                if state.core.pool().is_closed() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }))
}

/// Other replicas can share this one's database only on PostgreSQL.
fn on_postgres(state: &AppState) -> bool {
    Backend::of(&state.config.database_url) == Backend::Postgres
}

fn forget_everything(state: &AppState) {
    state.tenants.clear();
    state.permissions.clear();
    state.plugins.installs.clear();
}
