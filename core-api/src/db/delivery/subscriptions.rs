//! Plugins' subscriptions: where each install's events go, in which tenant.

use super::EventHead;
use crate::db::DbResult;
use crate::db::core::CoreStore;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A plugin install's subscription in one tenant.
#[derive(Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Tenant slug.
    pub tenant: String,
    /// Plugin id.
    pub plugin_id: String,
    /// Base URL of the plugin's backend (events go to `<endpoint>/_plexica/events`).
    pub endpoint: String,
    /// The secret pushes are signed with.
    pub secret: String,
    /// Event types or `prefix.*` patterns.
    pub patterns: Vec<String>,
    /// Only events with a workspace are delivered.
    pub workspace_aware: bool,
    /// Deliveries happen only while active.
    pub active: bool,
    /// The plugin asked for batched pushes (its manifest's `[events] batches`).
    pub batches: bool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("tenant", &self.tenant)
            .field("plugin_id", &self.plugin_id)
            .field("endpoint", &self.endpoint)
            .field("secret", &"<redacted>")
            .field("patterns", &self.patterns)
            .field("workspace_aware", &self.workspace_aware)
            .field("batches", &self.batches)
            .field("active", &self.active)
            .finish()
    }
}

impl Subscription {
    /// Does this subscription want the event with this head?
    pub fn wants(&self, event: &EventHead<'_>) -> bool {
        self.active
            && event.tenant == self.tenant
            && (!self.workspace_aware || event.workspace.is_some())
            && self
                .patterns
                .iter()
                .any(|p| plexica_sdk::event_name::pattern_matches(p, &event.event_type))
    }
}

fn subscription(row: &AnyRow) -> DbResult<Subscription> {
    let patterns: String = row.try_get("patterns")?;
    Ok(Subscription {
        tenant: row.try_get("tenant")?,
        plugin_id: row.try_get("plugin_id")?,
        endpoint: row.try_get("endpoint")?,
        secret: row.try_get("secret")?,
        patterns: patterns
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        workspace_aware: row.try_get::<i64, _>("workspace_aware")? != 0,
        active: row.try_get::<i64, _>("active")? != 0,
        batches: row.try_get::<i64, _>("batches")? != 0,
    })
}

impl CoreStore {
    /// Creates or replaces a subscription.
    pub async fn put_subscription(&self, s: &Subscription, now: i64) -> DbResult<()> {
        let mut tx = crate::db::begin_write(self.pool()).await?;
        sqlx::query("DELETE FROM subscriptions WHERE tenant = $1 AND plugin_id = $2")
            .bind(&s.tenant)
            .bind(&s.plugin_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO subscriptions (tenant, plugin_id, endpoint, secret, patterns, \
             workspace_aware, active, batches, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.tenant)
        .bind(&s.plugin_id)
        .bind(&s.endpoint)
        .bind(&s.secret)
        .bind(s.patterns.join(" "))
        .bind(i64::from(s.workspace_aware))
        .bind(i64::from(s.active))
        .bind(i64::from(s.batches))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets whether the subscription of `plugin_id` in `tenant` takes batched pushes, in place
    /// (its JetStream consumer, named after its creation, stays).
    pub async fn set_subscription_batches(
        &self,
        tenant: &str,
        plugin_id: &str,
        batches: bool,
    ) -> DbResult<()> {
        sqlx::query("UPDATE subscriptions SET batches = $1 WHERE tenant = $2 AND plugin_id = $3")
            .bind(i64::from(batches))
            .bind(tenant)
            .bind(plugin_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The subscriptions of `tenant`.
    pub async fn subscriptions(&self, tenant: &str) -> DbResult<Vec<Subscription>> {
        sqlx::query(
            "SELECT tenant, plugin_id, endpoint, secret, patterns, workspace_aware, active, \
             batches FROM subscriptions WHERE tenant = $1 ORDER BY plugin_id",
        )
        .bind(tenant)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(subscription)
        .collect()
    }

    /// Every subscription of every tenant, with when it was made (Unix ms).
    pub async fn all_subscriptions(&self) -> DbResult<Vec<(Subscription, i64)>> {
        let rows = sqlx::query(
            "SELECT tenant, plugin_id, endpoint, secret, patterns, workspace_aware, active, \
             batches, created_at FROM subscriptions ORDER BY tenant, plugin_id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((subscription(r)?, r.try_get("created_at")?)))
            .collect()
    }

    /// Removes the subscription of `plugin_id` in `tenant` (the plugin was uninstalled).
    pub async fn delete_subscription(&self, tenant: &str, plugin_id: &str) -> DbResult<()> {
        sqlx::query("DELETE FROM subscriptions WHERE tenant = $1 AND plugin_id = $2")
            .bind(tenant)
            .bind(plugin_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
