//! The views each replica keeps in memory beside the databases: tenant rows, revoked
//! sessions and plugin install records (permission sets are [`crate::authz::PermissionCache`]).
//! A change drops what it touched at once, on every replica ([`crate::invalidation`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::db::DbError;
use crate::db::core::{CoreStore, TenantRecord};
use crate::db::plugins::InstallRecord;
use crate::db::tenant::TenantDb;

/// Tenant rows by slug.
#[derive(Debug, Default)]
pub struct TenantCache {
    rows: RwLock<HashMap<String, (TenantRecord, Instant)>>,
}

impl TenantCache {
    /// Tenant `slug`, if cached within `ttl`.
    pub fn get(&self, slug: &str, ttl: std::time::Duration) -> Option<TenantRecord> {
        let rows = self
            .rows
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        rows.get(slug)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(t, _)| t.clone())
    }

    /// Caches `tenant`.
    pub fn put(&self, tenant: TenantRecord) {
        let mut rows = self
            .rows
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if rows.len() > 100_000 {
            rows.clear();
        }
        rows.insert(tenant.slug.clone(), (tenant, Instant::now()));
    }

    /// Drops tenant `slug`.
    pub fn forget(&self, slug: &str) {
        self.rows
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(slug);
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.rows
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

/// Ids of logged-out sessions whose access tokens may still be unexpired. Filled by this
/// process's logouts at once, and from the database every few seconds (other replicas').
#[derive(Debug, Default)]
pub struct RevokedSessions {
    ids: RwLock<HashSet<String>>,
}

impl RevokedSessions {
    /// Is session `id` revoked?
    pub fn contains(&self, id: &str) -> bool {
        self.ids
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(id)
    }

    /// Records a revocation.
    pub fn insert(&self, id: String) {
        self.ids
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id);
    }

    /// Replaces the set with the sessions revoked within the access-token lifetime.
    pub async fn reload(&self, core: &CoreStore, since_ms: i64) -> Result<(), DbError> {
        let ids: HashSet<String> = core
            .sessions_revoked_since(since_ms)
            .await?
            .into_iter()
            .collect();
        *self
            .ids
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = ids;
        Ok(())
    }
}

/// Install records by (tenant, plugin), kept for a while and dropped at once on any lifecycle
/// change made through this process (other replicas see changes within the TTL, as with
/// permissions): the gateway, plugin tokens and shared data read them on every call.
#[derive(Debug)]
pub struct InstallCache {
    ttl: std::time::Duration,
    entries: std::sync::RwLock<HashMap<(String, String), CachedInstall>>,
}

type CachedInstall = (std::time::Instant, Option<Arc<InstallRecord>>);

impl InstallCache {
    /// A cache whose entries live `ttl`.
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            entries: std::sync::RwLock::default(),
        }
    }

    /// The install of `plugin` in `tenant` (whose data is `db`), if any.
    pub async fn get(
        &self,
        tenant: &str,
        db: &TenantDb,
        plugin: &str,
    ) -> crate::db::DbResult<Option<Arc<InstallRecord>>> {
        let key = (tenant.to_owned(), plugin.to_owned());
        if let Some((at, record)) = self
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(record.clone());
        }
        let record = db.plugin_install(plugin).await?.map(Arc::new);
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() > 100_000 {
            entries.clear();
        }
        entries.insert(key, (std::time::Instant::now(), record.clone()));
        Ok(record)
    }

    /// Drops what is cached of `plugin` in `tenant`.
    pub fn forget(&self, tenant: &str, plugin: &str) {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&(tenant.to_owned(), plugin.to_owned()));
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}
