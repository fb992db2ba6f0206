//! The state every handler shares, and the in-memory views kept beside the databases.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use plexica_sdk::api::time::now_ms;

use crate::auth::jwt::KeyRing;
use crate::authz::PermissionCache;
use crate::config::Config;
use crate::db::core::{CoreStore, TenantRecord};
use crate::db::spaces::{DataSpaces, PostgresSchemas, SqliteFiles};
use crate::db::tenant::TenantDbs;
use crate::db::{Backend, DbError, DbResult};
use crate::invalidation::{self, Invalidation};
use crate::slug::TenantSlug;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// Configuration.
    pub config: Arc<Config>,
    /// The core database.
    pub core: CoreStore,
    /// Tenants' databases.
    pub tenant_dbs: TenantDbs,
    /// Access-token keys.
    pub keys: Arc<KeyRing>,
    /// Permission sets.
    pub permissions: Arc<PermissionCache>,
    /// Tenant rows.
    pub tenants: Arc<TenantCache>,
    /// Logged-out sessions.
    pub revoked_sessions: Arc<RevokedSessions>,
    /// Rate limits.
    pub limits: Arc<crate::limits::RequestLimits>,
    /// Prometheus exposition.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// External identity providers' tokens.
    pub oidc: Arc<crate::auth::oidc::OidcVerifier>,
    /// Where events travel.
    pub transport: crate::transport::EventTransport,
    /// Wakes the event relay and dispatcher (a change was committed).
    pub delivery_wake: Arc<tokio::sync::Notify>,
    /// Plugin registry, packages and the runtime of their backends.
    pub plugins: Arc<crate::plugins::Plugins>,
    /// The runtime of plugin backends, as started here (it learns the API's URL at serve).
    pub process_runtime: crate::plugins::runtime::ProcessRuntime,
}

impl AppState {
    /// Connects the databases described by `config` and loads the signing keys.
    pub async fn open(config: Config) -> Result<Self, crate::StartError> {
        config
            .plugin_sandbox
            .check_user()
            .map_err(crate::StartError::Startup)?;
        let core = CoreStore::connect(&config.database_url, config.core_pool_size).await?;
        let spaces: Arc<dyn DataSpaces> = match core.backend() {
            Backend::Sqlite => Arc::new(SqliteFiles::new(config.data_dir.join("tenants"))?),
            Backend::Postgres => Arc::new(PostgresSchemas::new(
                config.database_url.clone(),
                core.pool().clone(),
            )),
        };
        let tenant_dbs = TenantDbs::new(spaces, core.backend(), config.tenant_pool_size);
        let transport = crate::transport::EventTransport::connect(config.nats_url.as_deref())
            .await
            .map_err(crate::StartError::Startup)?;
        let trusted = config
            .trusted_keys
            .iter()
            .map(|k| {
                plexica_sdk::package::signing::PublicKey::parse(k).map_err(|e| {
                    crate::StartError::Startup(format!("a trusted key is not a public key: {e}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let plugins_dir = config.data_dir.join("plugins");
        let process_runtime = crate::plugins::runtime::ProcessRuntime::new(
            core.clone(),
            plugins_dir.join("logs"),
            config.plugin_state_dir.clone(),
            config.plugin_sandbox.clone(),
            crate::plugins::runtime::Timing {
                health_timeout: config.plugin_start_timeout,
                heartbeat: config.heartbeat_interval,
                max_failures: 5,
            },
        );
        let plugins = crate::plugins::Plugins::new(
            config
                .registry_url
                .as_deref()
                .map(crate::registry::RegistryClient::new),
            crate::plugins::package::PackageStore::new(
                plugins_dir,
                config.plugin_state_dir.join("packages"),
                trusted,
                config.trust_registry_keys,
            ),
            Arc::new(process_runtime.clone()),
            config.breaker_cooldown,
            config.cache_ttl,
        );
        let kek = config.key_encryption.key().map_err(|e| {
            crate::StartError::Startup(format!("cannot use the key-encryption key: {e}"))
        })?;
        let keys = KeyRing::load(core.clone(), kek, &config.issuer, now_ms())
            .await
            .map_err(|e| crate::StartError::Startup(e.to_string()))?;
        Ok(Self {
            permissions: Arc::new(PermissionCache::new(config.cache_ttl)),
            tenants: Arc::new(TenantCache::default()),
            revoked_sessions: Arc::new(RevokedSessions::default()),
            limits: Arc::new(crate::limits::RequestLimits::new(&config.limits)),
            metrics: plexica_server::metrics::install("core", crate::metrics::FAMILIES),
            oidc: Arc::default(),
            transport,
            delivery_wake: Arc::default(),
            plugins: Arc::new(plugins),
            process_runtime,
            keys: Arc::new(keys),
            tenant_dbs,
            core,
            config: Arc::new(config),
        })
    }

    /// The tenant `slug`, from the cache (fresh within `cache_ttl`) or the core database.
    pub async fn tenant(&self, slug: &TenantSlug) -> DbResult<Option<TenantRecord>> {
        if let Some(t) = self.tenants.get(slug.as_str(), self.config.cache_ttl) {
            return Ok(Some(t));
        }
        let tenant = self.core.tenant(slug.as_str()).await?;
        if let Some(t) = &tenant {
            self.tenants.put(t.clone());
        }
        Ok(tenant)
    }

    /// Revokes the sessions and API tokens of `user` in `tenant` (all its users when `None`),
    /// but session `keep_session`, at once on this replica.
    pub async fn revoke_sessions(
        &self,
        tenant: &str,
        user: Option<&str>,
        keep_session: Option<&str>,
    ) -> DbResult<()> {
        let ids = self
            .core
            .revoke_sessions_of(tenant, user, keep_session, now_ms())
            .await?;
        for id in ids {
            self.session_revoked(id);
        }
        Ok(())
    }

    /// Drops every cached view of tenant `slug` (after a change to it), on every replica.
    pub fn forget_tenant(&self, slug: &str) {
        invalidation::announce(
            self,
            Invalidation::Tenant {
                slug: slug.to_owned(),
            },
        );
    }

    /// Drops the cached permissions of `user` in `tenant`, on every replica.
    pub fn forget_user(&self, tenant: &str, user: &str) {
        invalidation::announce(
            self,
            Invalidation::User {
                tenant: tenant.to_owned(),
                user: user.to_owned(),
            },
        );
    }

    /// Refuses session `id`'s access tokens from now on, on every replica.
    pub fn session_revoked(&self, id: String) {
        invalidation::announce(self, Invalidation::Session { id });
    }
}

/// Tenant rows by slug.
#[derive(Debug, Default)]
pub struct TenantCache {
    rows: RwLock<HashMap<String, (TenantRecord, Instant)>>,
}

impl TenantCache {
    fn get(&self, slug: &str, ttl: std::time::Duration) -> Option<TenantRecord> {
        let rows = self
            .rows
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        rows.get(slug)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(t, _)| t.clone())
    }

    fn put(&self, tenant: TenantRecord) {
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
