//! The state every handler shares, and the in-memory views kept beside the databases.

use std::sync::Arc;

use plexica_sdk::api::time::now_ms;

use crate::auth::jwt::KeyRing;
use crate::authz::PermissionCache;
use crate::caches::{InstallCache, RevokedSessions, TenantCache};
use crate::config::Config;
use crate::db::core::{CoreStore, TenantRecord};
use crate::db::spaces::{DataSpaces, PostgresSchemas, SqliteFiles};
use crate::db::tenant::TenantDbs;
use crate::db::{Backend, DbResult};
use crate::invalidation::{Invalidation, Invalidator};
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
    /// Drops cached views on a change, on every replica.
    pub invalidator: Invalidator,
    /// Creates, repairs and removes tenants.
    pub provisioner: crate::provision::Provisioner,
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
        let permissions = Arc::new(PermissionCache::new(config.cache_ttl));
        let tenants = Arc::new(TenantCache::default());
        let revoked_sessions = Arc::new(RevokedSessions::default());
        let installs = Arc::new(InstallCache::new(config.cache_ttl));
        let invalidator = Invalidator::new(
            tenants.clone(),
            permissions.clone(),
            revoked_sessions.clone(),
            installs.clone(),
            (core.backend() == Backend::Postgres).then(|| core.pool().clone()),
        );
        let config = Arc::new(config);
        let plugins = crate::plugins::Plugins::new(
            config.clone(),
            core.clone(),
            tenant_dbs.clone(),
            crate::plugins::package::PackageStore::new(
                plugins_dir,
                config.plugin_state_dir.join("packages"),
                trusted,
                config.trust_registry_keys,
            ),
            Arc::new(process_runtime.clone()),
            installs,
            invalidator.clone(),
        );
        let kek = config.key_encryption.key().map_err(|e| {
            crate::StartError::Startup(format!("cannot use the key-encryption key: {e}"))
        })?;
        let keys = KeyRing::load(core.clone(), kek, &config.issuer, now_ms())
            .await
            .map_err(|e| crate::StartError::Startup(e.to_string()))?;
        Ok(Self {
            permissions,
            tenants,
            revoked_sessions,
            provisioner: crate::provision::Provisioner::new(
                core.clone(),
                tenant_dbs.clone(),
                config.clone(),
                invalidator.clone(),
            ),
            invalidator,
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
            config,
        })
    }

    /// What event delivery and pruning work with.
    pub fn delivery(&self) -> crate::events::DeliveryEnv {
        crate::events::DeliveryEnv {
            core: self.core.clone(),
            tenant_dbs: self.tenant_dbs.clone(),
            config: self.config.clone(),
            transport: self.transport.clone(),
            wake: self.delivery_wake.clone(),
            targets: self.plugins.targets.clone(),
            http: self.plugins.http.clone(),
        }
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
        self.invalidator
            .revoke_sessions(&self.core, tenant, user, keep_session)
            .await
    }

    /// Drops every cached view of tenant `slug` (after a change to it), on every replica.
    pub fn forget_tenant(&self, slug: &str) {
        self.invalidator.announce(Invalidation::Tenant {
            slug: slug.to_owned(),
        });
    }

    /// Drops the cached permissions of `user` in `tenant`, on every replica.
    pub fn forget_user(&self, tenant: &str, user: &str) {
        self.invalidator.announce(Invalidation::User {
            tenant: tenant.to_owned(),
            user: user.to_owned(),
        });
    }

    /// Refuses session `id`'s access tokens from now on, on every replica.
    pub fn session_revoked(&self, id: String) {
        self.invalidator.announce(Invalidation::Session { id });
    }
}
