//! Plugins in a tenant (core-api.md, "Plugins in a tenant"): install, activate, deactivate,
//! configure, upgrade and uninstall.
//!
//! The install record lives in the tenant's data space ([`crate::db::plugins`]), so that a
//! plugin's migrations, their tracking, its permissions, the record and the `core.plugin.*`
//! event commit in **one** transaction: a failure at any step leaves the tenant as it was.
//! What lives elsewhere is derived from that record and repaired from it: the subscription in
//! the core database and the running backend ([`runtime::PluginRuntime`]); a backend is
//! started *before* the transaction that makes a plugin `ACTIVE` commits, and stopped again if
//! that transaction fails. [`Plugins::reconcile`] restarts every active plugin when the API
//! starts.
//!
//! The service is [`Plugins`]; its methods are spread by concern: `lifecycle` (one per
//! request), `backend` (starting, stopping, hooks, failures), `reconcile` (start-up and other
//! replicas' changes), `migrations` (a plugin's SQL and permissions) and `dto` (the record as
//! the API shows it).

mod backend;
pub mod client;
pub mod deps;
mod dto;
mod lifecycle;
pub mod logs;
mod migrations;
pub mod package;
mod reconcile;
pub mod runtime;
pub mod sandbox;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::db::tx::TenantTx;
use plexica_sdk::api::core::{
    InstallPluginRequest, PluginInstall, PluginState, UpgradePluginRequest,
};
use plexica_sdk::api::registry::{IndexLine, VersionDetail};
use plexica_sdk::api::time::{now_ms, rfc3339};
use plexica_sdk::event_name::CoreEvent;
use plexica_sdk::manifest::config::{
    ConfigProblem, carry_config, redact, resolve_config, update_config,
};
use plexica_sdk::manifest::{Manifest, PluginFiles, is_valid_plugin_id};
use plexica_sdk::package::{Package, sha256_hex};
use semver::{Version, VersionReq};
use serde_json::{Map, Value, json};

use crate::authz::{PERMISSIONS, TenantScope};
use crate::caches::InstallCache;
use crate::config::Config;
use crate::db::DbError;
use crate::db::core::CoreStore;
use crate::db::delivery::Subscription;
use crate::db::plugin_sql::PluginSpace;
use crate::db::plugins::{AppliedMigration, InstallRecord};
use crate::db::tenant::{TenantDb, TenantDbs};
use crate::error::{ApiError, ApiResult};
use crate::events::Cause;
use crate::invalidation::{Invalidation, Invalidator};
use crate::registry::RegistryClient;
use crate::slug::TenantSlug;
use backend::service_ports;
use deps::Installed;
pub use dto::{describe, install_dto};
use migrations::{migrate, register_permissions};
use package::{PackageStore, VerifiedPackage, resolve_version};
use runtime::{PluginRuntime, RunSpec};

/// Plugins in tenants: their lifecycle, and the machinery shared by every request (registry,
/// package store, runtime, the gateway's targets and breakers).
#[derive(Debug)]
pub struct Plugins {
    /// The core database (subscriptions, tenants).
    core: CoreStore,
    /// Tenants' databases (install records live there).
    tenant_dbs: TenantDbs,
    /// The platform's configuration.
    config: Arc<Config>,
    /// Tells every replica of an install's change.
    invalidator: Invalidator,
    /// The registry installs come from (`None`: installs are refused).
    pub registry: Option<RegistryClient>,
    /// Downloaded and unpacked packages, and the trusted keys.
    pub packages: PackageStore,
    /// Where backends run.
    pub runtime: Arc<dyn PluginRuntime>,
    /// This platform's version (checked against manifests' `plexica` requirement).
    pub platform_version: Version,
    /// Where each running plugin serves each tenant (for the gateway).
    pub targets: Arc<crate::discovery::Targets>,
    /// The client of every call to plugins' backends (hooks, event pushes, the gateway): each
    /// request signed for its backend, no redirect followed.
    pub http: client::PluginClient,
    /// The gateway's circuit breakers, per target.
    pub breakers: crate::gateway::Breakers,
    /// Install records read on every plugin-to-plugin call.
    pub installs: Arc<InstallCache>,
    /// One lifecycle change at a time per tenant (dependency checks read, then write).
    tenant_locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// One unpacking at a time: the first request for a package not unpacked here unpacks
    /// it, the ones meanwhile find it done (rare: once per version and replica).
    unpacking: tokio::sync::Mutex<()>,
    /// Whether [`Plugins::reconcile`] has been through every active plugin since start-up: until then
    /// the replica is not ready (a balancer sends it nothing its backends cannot answer yet).
    restarted: std::sync::atomic::AtomicBool,
}

impl Plugins {
    /// Plugins over `packages` and `runtime`, installed from the registry `config` names;
    /// install records are cached in `installs`, and changes told through `invalidator`.
    pub fn new(
        config: Arc<Config>,
        core: CoreStore,
        tenant_dbs: TenantDbs,
        packages: PackageStore,
        runtime: Arc<dyn PluginRuntime>,
        installs: Arc<InstallCache>,
        invalidator: Invalidator,
    ) -> Self {
        Self {
            installs,
            breakers: crate::gateway::Breakers::new(config.breaker_cooldown),
            registry: config.registry_url.as_deref().map(RegistryClient::new),
            core,
            tenant_dbs,
            invalidator,
            config,
            packages,
            runtime,
            targets: Arc::default(),
            http: client::PluginClient::new(),
            restarted: std::sync::atomic::AtomicBool::new(false),
            platform_version: env!("CARGO_PKG_VERSION")
                .parse()
                .unwrap_or(Version::new(0, 0, 0)),
            tenant_locks: std::sync::Mutex::default(),
            unpacking: tokio::sync::Mutex::new(()),
        }
    }

    async fn lock(&self, tenant: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = Arc::clone(
            self.tenant_locks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(tenant.to_owned())
                .or_default(),
        );
        lock.lock_owned().await
    }

    /// Whether the backends of the active plugins have been started since start-up (those
    /// that could not be are marked failed): the replica's readiness.
    pub fn restarted(&self) -> bool {
        self.restarted.load(std::sync::atomic::Ordering::Acquire)
    }

    fn registry(&self) -> ApiResult<&RegistryClient> {
        self.registry.as_ref().ok_or_else(|| {
            ApiError::new(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "REGISTRY_NOT_CONFIGURED",
                "this platform has no plugin registry configured (`--registry-url`)",
            )
        })
    }
}

fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(http::StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

fn not_installed(id: &str) -> ApiError {
    ApiError::not_found(
        "PLUGIN_NOT_INSTALLED",
        format!("`{}` is not installed in this tenant", id.escape_debug()),
    )
}

fn config_error(code: &'static str, what: &str, problems: &[ConfigProblem]) -> ApiError {
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    unprocessable(code, format!("{what}: {}", list.join("; ")))
        .with_details(json!({ "problems": problems }))
}

/// The install of `id` in the scope's tenant, or 404.
pub async fn installed(scope: &TenantScope, id: &str) -> ApiResult<InstallRecord> {
    scope
        .db
        .plugin_install(id)
        .await?
        .ok_or_else(|| not_installed(id))
}

fn others<'a>(records: &'a [InstallRecord], except: &str) -> BTreeMap<String, Installed<'a>> {
    records
        .iter()
        .filter(|r| r.plugin_id != except)
        .map(|r| {
            (
                r.plugin_id.clone(),
                Installed {
                    version: &r.version,
                    state: r.state,
                    manifest: &r.manifest,
                },
            )
        })
        .collect()
}

fn parse_req(text: Option<&str>) -> ApiResult<Option<VersionReq>> {
    text.map(|t| {
        VersionReq::parse(t).map_err(|e| {
            ApiError::invalid(
                "version_req",
                format!("`version_req` is not a SemVer requirement: {e}"),
            )
        })
    })
    .transpose()
}

fn event_data(record: &InstallRecord) -> Value {
    json!({ "plugin": record.plugin_id, "version": record.version.to_string() })
}

/// How many lines of its backend's log a failed plugin's `error` quotes.
const ERROR_LOG_LINES: usize = 20;

/// The values of `record`'s secret configuration fields (blanked out of its log).
pub fn secret_values(record: &InstallRecord) -> Vec<String> {
    record
        .manifest
        .config
        .iter()
        .filter(|f| f.kind == plexica_sdk::manifest::ConfigType::Secret)
        .filter_map(|f| record.config.get(&f.key))
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Whether `tenant` may read the log of `record`'s backend: only it was ever served while
/// that log was written (a backend serves every tenant that activated its version, and its
/// log may hold any of them).
pub fn log_is_tenants_own(log: &runtime::BackendLog, tenant: &str) -> bool {
    log.audience.iter().all(|t| t == tenant)
}
