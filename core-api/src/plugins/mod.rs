//! Plugins in a tenant (core-api.md, "Plugins in a tenant"): install, activate, deactivate,
//! configure, upgrade and uninstall.
//!
//! The install record lives in the tenant's data space ([`crate::db::plugins`]), so that a
//! plugin's migrations, their tracking, its permissions, the record and the `core.plugin.*`
//! event commit in **one** transaction: a failure at any step leaves the tenant as it was.
//! What lives elsewhere is derived from that record and repaired from it: the subscription in
//! the core database and the running backend ([`runtime::PluginRuntime`]); a backend is
//! started *before* the transaction that makes a plugin `ACTIVE` commits, and stopped again if
//! that transaction fails. [`reconcile`] restarts every active plugin when the API starts.

pub mod client;
pub mod deps;
pub mod logs;
pub mod package;
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
use deps::Installed;
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
    /// Whether [`reconcile`] has been through every active plugin since start-up: until then
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

/// The API view of `record` (secrets redacted).
pub fn install_dto(
    record: &InstallRecord,
    permissions: Vec<String>,
    migrations: Vec<AppliedMigration>,
) -> PluginInstall {
    PluginInstall {
        id: record.plugin_id.clone(),
        name: record.manifest.plugin.name.clone(),
        version: record.version.to_string(),
        state: record.state,
        config: redact(&record.manifest.config, &record.config),
        config_fields: record.manifest.config.clone(),
        permissions,
        outbound_ports: record
            .manifest
            .backend
            .as_ref()
            .map(|b| b.outbound_ports.clone())
            .unwrap_or_default(),
        migrations: migrations.into_iter().map(|(name, _)| name).collect(),
        digest: record.digest.clone(),
        error: record.error.clone(),
        installed_at: rfc3339(record.installed_at),
        updated_at: rfc3339(record.updated_at),
    }
}

/// `record` as the API shows it, with its permissions and migrations.
pub async fn describe(db: &TenantDb, record: &InstallRecord) -> ApiResult<PluginInstall> {
    let permissions = db.plugin_permissions(&record.plugin_id).await?;
    let migrations = db.applied_migrations(&record.plugin_id).await?;
    Ok(install_dto(record, permissions, migrations))
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

impl Plugins {
    /// Resolves, downloads (or takes from the cache) and verifies `id` at `req`, checks the
    /// platform requirement, and unpacks it.
    async fn fetch_verified(
        &self,
        id: &str,
        req: Option<&VersionReq>,
    ) -> ApiResult<(VerifiedPackage, std::path::PathBuf)> {
        let plugins = self;
        let registry = plugins.registry()?;
        let index = registry.index(id).await?;
        let line = resolve_version(id, &index, req)?;
        let bytes = plugins.packages.fetch(registry, line).await?;
        let verified = plugins
            .packages
            .verify(registry, id, &line.version, bytes)
            .await?;
        self.fits_this_platform(&verified)?;
        let dir = plugins.packages.unpack(&verified).await?;
        Ok((verified, dir))
    }

    /// The registry's metadata of the version of `id` an install with `version_req` would pick.
    pub async fn offer(&self, id: &str, version_req: Option<&str>) -> ApiResult<VersionDetail> {
        if !is_valid_plugin_id(id) {
            return Err(ApiError::invalid(
                "id",
                "`id` is not a plugin id (^[a-z][a-z0-9-]{1,62}$)",
            ));
        }
        let req = parse_req(version_req)?;
        let registry = self.registry()?;
        let index = registry.index(id).await?;
        let line = resolve_version(id, &index, req.as_ref())?;
        Ok(registry.version(id, &line.version).await?)
    }

    /// Refuses a package made for another platform version, or whose backend asks for ports of
    /// the platform's own services.
    fn fits_this_platform(&self, verified: &VerifiedPackage) -> ApiResult<()> {
        let plugins = self;
        let id = &verified.manifest.plugin.id;
        if let Some(wanted) = &verified.manifest.plugin.plexica
            && !wanted.matches(&plugins.platform_version)
        {
            return Err(unprocessable(
                "PLATFORM_INCOMPATIBLE",
                format!(
                    "{id}@{} needs Plexica {wanted}; this platform is {}",
                    verified.manifest.plugin.version, plugins.platform_version
                ),
            ));
        }
        let declared = verified
            .manifest
            .backend
            .as_ref()
            .map(|b| b.outbound_ports.as_slice())
            .unwrap_or_default();
        let refused = sandbox::refused_outbound_ports(declared, &service_ports(&self.config));
        if !refused.is_empty() {
            return Err(unprocessable(
                "OUTBOUND_PORT_REFUSED",
                format!(
                    "{id}@{} asks to connect to ports it may not reach: {}",
                    verified.manifest.plugin.version,
                    refused.join("; ")
                ),
            )
            .with_details(json!({ "problems": refused })));
        }
        Ok(())
    }

    /// Starts `record`'s backend for `tenant` (a plugin without backend has nothing to start).
    async fn start_backend(
        &self,
        tenant: &str,
        record: &InstallRecord,
    ) -> ApiResult<Option<crate::discovery::Endpoint>> {
        if record.manifest.backend.is_none() {
            return Ok(None);
        }
        let id = &record.plugin_id;
        let version = record.version.to_string();
        let dir = self.packages.unpacked_dir(id, &version);
        let marker = tokio::fs::read_to_string(dir.join(".plexica-digest")).await;
        if !marker.is_ok_and(|d| d == record.digest) {
            // Not unpacked here (another replica installed it, a backup was restored, or the
            // directory was cleared): from the package cache, else from the registry.
            let cached = self.packages.cached(id, &version, &record.digest).await;
            let verified = match cached {
                Some(verified) => verified,
                None => {
                    let registry = self.registry()?;
                    let line = IndexLine {
                        id: id.clone(),
                        version: version.clone(),
                        digest: record.digest.clone(),
                        yanked: false,
                        dependencies: BTreeMap::new(),
                        plexica: None,
                    };
                    let bytes = self.packages.fetch(registry, &line).await?;
                    self.packages.verify(registry, id, &version, bytes).await?
                }
            };
            self.packages.unpack(&verified).await?;
        }
        let spec = RunSpec {
            manifest: record.manifest.clone(),
            dir,
        };
        self.runtime
            .start(&spec, tenant)
            .await
            .map(Some)
            .map_err(|e| {
                tracing::warn!(%tenant, plugin = %id, %version, error = %e, "plugin did not start");
                let what = format!("{id}@{version} could not be started: {e}");
                ApiError::new(
                    http::StatusCode::BAD_GATEWAY,
                    "PLUGIN_START_FAILED",
                    self.failure_text(tenant, record, &what),
                )
            })
    }

    /// Calls lifecycle hook `hook` (`on_install`, …) of the backend at `endpoint`, signed for
    /// that backend and that path (one hook's call is no good for another), at the path the manifest's `[hooks]` names or the SDK's
    /// `/_plexica/hooks/<hook>`. A backend that has no such route (404) has nothing to do.
    async fn call_hook(
        &self,
        tenant: &str,
        record: &InstallRecord,
        endpoint: &crate::discovery::Endpoint,
        hook: &str,
        cause: &Cause,
    ) -> ApiResult<()> {
        use plexica_sdk::api::events::{HOOKS_PATH, HookCall};
        let declared = record.manifest.hooks.as_ref().and_then(|h| match hook {
            "on_install" => h.on_install.clone(),
            "on_uninstall" => h.on_uninstall.clone(),
            "on_activate" => h.on_activate.clone(),
            _ => h.on_deactivate.clone(),
        });
        let path = declared.unwrap_or_else(|| format!("{HOOKS_PATH}/{hook}"));
        let body = serde_json::to_vec(&HookCall {
            tenant: tenant.to_owned(),
            actor: cause.actor.clone(),
            correlationid: Some(cause.correlation_id.clone()),
        })
        .map_err(|e| ApiError::internal(e.to_string()))?;
        let failed = |why: String| {
            ApiError::new(
                http::StatusCode::BAD_GATEWAY,
                "PLUGIN_HOOK_FAILED",
                format!("the `{hook}` hook of `{}` failed: {why}", record.plugin_id),
            )
        };
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        let call = client::PluginRequest {
            method: reqwest::Method::POST,
            target: &path,
            headers,
            body: body.into(),
            timeout: Some(self.config.delivery_timeout),
        };
        let response = self
            .http
            .send(&endpoint.address, endpoint.secret.as_bytes(), call)
            .await
            .map_err(|e| failed(e.to_string()))?;
        match response.status() {
            s if s.is_success() || s == reqwest::StatusCode::NOT_FOUND => Ok(()),
            s => {
                let text = response.text().await.unwrap_or_default();
                Err(failed(format!(
                    "{s}: {}",
                    text.chars().take(300).collect::<String>()
                )))
            }
        }
    }

    /// Starts `record`'s backend for `tenant` and runs its `on_install` (when `first`) and
    /// `on_activate` hooks; a failing hook stops the backend again.
    async fn start_active(
        &self,
        tenant: &str,
        record: &InstallRecord,
        first: bool,
        cause: &Cause,
    ) -> ApiResult<Option<crate::discovery::Endpoint>> {
        let Some(endpoint) = self.start_backend(tenant, record).await? else {
            return Ok(None);
        };
        let hooks = first
            .then_some("on_install")
            .into_iter()
            .chain(["on_activate"]);
        for hook in hooks {
            if let Err(e) = self.call_hook(tenant, record, &endpoint, hook, cause).await {
                self.runtime
                    .stop(&record.plugin_id, &record.version.to_string(), tenant)
                    .await;
                return Err(e);
            }
        }
        Ok(Some(endpoint))
    }

    /// Runs hook `hook` of `record`'s backend if it is serving `tenant`. Best effort: a plugin
    /// that fails or cannot be reached must not keep an admin from deactivating or removing it.
    async fn call_hook_if_running(
        &self,
        tenant: &str,
        record: &InstallRecord,
        hook: &str,
        cause: &Cause,
    ) {
        if let Some(endpoint) = self.targets.get(tenant, &record.plugin_id)
            && let Err(e) = self.call_hook(tenant, record, &endpoint, hook, cause).await
        {
            tracing::warn!(%tenant, plugin = %record.plugin_id, error = %e.message, "hook failed; going on");
        }
    }

    async fn subscribe(
        &self,
        tenant: &str,
        record: &InstallRecord,
        endpoint: crate::discovery::Endpoint,
    ) -> ApiResult<()> {
        self.targets.insert(
            tenant,
            &record.plugin_id,
            &record.version.to_string(),
            endpoint.clone(),
        );
        let subscription = Subscription {
            tenant: tenant.to_owned(),
            plugin_id: record.plugin_id.clone(),
            endpoint: endpoint.address,
            secret: endpoint.secret,
            patterns: record.manifest.events.subscribes.clone(),
            workspace_aware: record.manifest.plugin.workspace_aware,
            active: true,
            batches: record.manifest.events.batches,
        };
        self.core.put_subscription(&subscription, now_ms()).await?;
        Ok(())
    }

    /// Commits `tx` after writing `record` and its `events`; on failure the backend started for it
    /// (if any) is stopped again.
    async fn commit_with(
        &self,
        tenant: &str,
        mut tx: TenantTx,
        record: &InstallRecord,
        events: &[plexica_sdk::api::events::Event],
        started: bool,
    ) -> ApiResult<()> {
        let written = async {
            TenantDb::put_install(&mut tx, record).await?;
            tx.commit(events).await
        }
        .await;
        self.invalidator.announce(Invalidation::Install {
            tenant: tenant.to_owned(),
            plugin: record.plugin_id.clone(),
        });
        if let Err(e) = written {
            if started {
                self.runtime
                    .stop(&record.plugin_id, &record.version.to_string(), tenant)
                    .await;
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// `POST /tenants/{t}/plugins`: every step of core-api.md's install, in order; nothing is
    /// kept when one fails.
    pub async fn install(
        &self,
        scope: &TenantScope,
        cause: &Cause,
        request: InstallPluginRequest,
    ) -> ApiResult<InstallRecord> {
        let id = request.id.as_str();
        if !is_valid_plugin_id(id) {
            return Err(ApiError::invalid(
                "id",
                "`id` is not a plugin id (^[a-z][a-z0-9-]{1,62}$)",
            ));
        }
        let req = parse_req(request.version_req.as_deref())?;
        let tenant = scope.slug.as_str();
        let _guard = self.lock(tenant).await;
        if scope.db.plugin_install(id).await?.is_some() {
            return Err(ApiError::conflict(
                "PLUGIN_ALREADY_INSTALLED",
                format!("`{id}` is already installed in this tenant: upgrade it instead"),
            ));
        }
        let (verified, _) = self.fetch_verified(id, req.as_ref()).await?;
        self.install_verified(
            scope,
            cause,
            &verified,
            &request.config.unwrap_or_default(),
            request.activate,
        )
        .await
    }

    /// The install of `verified` (unpacked) into a tenant where it is not installed, under the
    /// tenant's lifecycle lock.
    async fn install_verified(
        &self,
        scope: &TenantScope,
        cause: &Cause,
        verified: &VerifiedPackage,
        config: &Map<String, Value>,
        activate: bool,
    ) -> ApiResult<InstallRecord> {
        let tenant = scope.slug.as_str();
        let manifest = &verified.manifest;
        let id = manifest.plugin.id.as_str();
        let records = scope.db.plugin_installs().await?;
        let problems = deps::check(manifest, &others(&records, id));
        if !problems.is_empty() {
            let list: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
            return Err(unprocessable(
                "DEPENDENCIES_UNSATISFIED",
                format!("`{id}` cannot be installed: {}", list.join("; ")),
            )
            .with_details(json!({ "problems": problems })));
        }
        let config = resolve_config(&manifest.config, config)
            .map_err(|p| config_error("CONFIG_INVALID", "the configuration is not valid", &p))?;
        let now = now_ms();
        let mut record = InstallRecord {
            plugin_id: id.to_owned(),
            version: manifest.plugin.version.clone(),
            state: PluginState::Installed,
            config,
            manifest: manifest.clone(),
            digest: verified.package.digest.clone(),
            error: None,
            installed_at: now,
            updated_at: now,
        };
        let mut tx = scope.db.begin().await?;
        let applied = scope.db.applied_migrations(id).await?;
        let space = scope.db.plugin_space(id);
        migrate(&space, &mut tx, &verified.package, manifest, &applied).await?;
        register_permissions(&mut tx, manifest).await?;
        let mut events = vec![cause.event(CoreEvent::PluginInstalled, tenant, event_data(&record))];
        let endpoint = match activate {
            true => {
                let endpoint = self.start_active(tenant, &record, true, cause).await?;
                record.state = PluginState::Active;
                events.push(cause.event(CoreEvent::PluginActivated, tenant, event_data(&record)));
                endpoint
            }
            false => None,
        };
        self.commit_with(tenant, tx, &record, &events, endpoint.is_some())
            .await?;
        metrics::counter!(crate::metrics::PLUGIN_INSTALLS).increment(1);
        if let Some(endpoint) = endpoint {
            self.subscribe(tenant, &record, endpoint).await?;
        }
        Ok(record)
    }

    /// `POST /tenants/{t}/plugins/{id}/activate`: starts its backend, then marks it `ACTIVE`;
    /// its required dependencies must be active.
    pub async fn activate(
        &self,
        scope: &TenantScope,
        cause: &Cause,
        id: &str,
    ) -> ApiResult<InstallRecord> {
        let tenant = scope.slug.as_str();
        let _guard = self.lock(tenant).await;
        let mut record = installed(scope, id).await?;
        if record.state == PluginState::Active {
            return Ok(record);
        }
        let records = scope.db.plugin_installs().await?;
        let problems: Vec<_> = deps::check(&record.manifest, &others(&records, id))
            .into_iter()
            .filter(|p| p.kind == "inactive" || p.kind == "missing")
            .collect();
        if !problems.is_empty() {
            let list: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
            return Err(unprocessable("DEPENDENCIES_UNSATISFIED", list.join("; "))
                .with_details(json!({ "problems": problems })));
        }
        let first = record.state == PluginState::Installed;
        let endpoint = match self.start_active(tenant, &record, first, cause).await {
            Ok(endpoint) => endpoint,
            // A plugin that ran before and cannot start again is `FAILED`; one that never ran
            // stays `INSTALLED` (its `on_install` hook has not run yet).
            Err(e) if !first => {
                let error = e.message.clone();
                self.record_failure(tenant, &scope.db, cause, record, &error)
                    .await?;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        record.state = PluginState::Active;
        record.error = None;
        record.updated_at = now_ms();
        let tx = scope.db.begin().await?;
        let event = cause.event(CoreEvent::PluginActivated, tenant, event_data(&record));
        self.commit_with(tenant, tx, &record, &[event], endpoint.is_some())
            .await?;
        if let Some(endpoint) = endpoint {
            self.subscribe(tenant, &record, endpoint).await?;
        }
        Ok(record)
    }

    /// Refuses unless the core API runs in development mode (`Config::dev_mode`).
    pub fn require_dev_mode(&self) -> ApiResult<()> {
        if self.config.dev_mode {
            return Ok(());
        }
        Err(ApiError::forbidden(
            "DEV_MODE_REQUIRED",
            "this platform installs signed packages from its registry only; unsigned development installs need a platform started in development mode (`plexica plugin dev`, `plexica up --dev`)",
        ))
    }

    /// `PUT /tenants/{t}/plugins/{id}/dev` (development mode only): installs the unsigned package
    /// `bytes` and activates it, in place of what is installed. The configuration is carried; the
    /// plugin's data is kept unless a migration that ran changed or went away, then it starts
    /// from a fresh data space.
    pub async fn dev_install(
        &self,
        scope: &TenantScope,
        cause: &Cause,
        id: &str,
        bytes: Vec<u8>,
    ) -> ApiResult<InstallRecord> {
        self.require_dev_mode()?;
        let verified = self.packages.accept_unsigned(id, bytes)?;
        self.fits_this_platform(&verified)?;
        let mut config = Map::new();
        if let Some(previous) = scope.db.plugin_install(id).await? {
            let applied = scope.db.applied_migrations(id).await?;
            let dir = verified
                .manifest
                .backend
                .as_ref()
                .and_then(|b| b.migrations.as_deref());
            let kept = applied.iter().all(|(name, checksum)| {
                dir.and_then(|d| verified.package.read(&format!("{d}/{name}")))
                    .is_some_and(|sql| sha256_hex(sql.as_bytes()) == *checksum)
            });
            config = previous.config;
            self.uninstall(scope, cause, id, !kept).await?;
        }
        self.packages.unpack(&verified).await?;
        let _guard = self.lock(scope.slug.as_str()).await;
        self.install_verified(scope, cause, &verified, &config, true)
            .await
    }

    /// The `error` of a plugin whose backend failed: `what`, then the end of its log when the log
    /// is the tenant's own.
    fn failure_text(&self, tenant: &str, record: &InstallRecord, what: &str) -> String {
        let version = record.version.to_string();
        match self.runtime.log(&record.plugin_id, &version) {
            Some(log) if log_is_tenants_own(&log, tenant) => {
                match logs::tail(&log.path, ERROR_LOG_LINES, &secret_values(record)) {
                    Ok(tail) if !tail.lines.is_empty() => {
                        format!("{what}\nthe end of its log:\n{}", tail.lines.join("\n"))
                    }
                    _ => what.to_owned(),
                }
            }
            Some(_) => format!(
                "{what}\n(its log also holds other tenants' use of the plugin: a platform administrator can read it)"
            ),
            None => what.to_owned(),
        }
    }

    /// Marks `record` `FAILED` with `error` (see [`failure_text`]), emits `core.plugin.failed`
    /// and stops delivering to it.
    async fn record_failure(
        &self,
        tenant: &str,
        db: &TenantDb,
        cause: &Cause,
        mut record: InstallRecord,
        error: &str,
    ) -> ApiResult<InstallRecord> {
        record.state = PluginState::Failed;
        record.error = Some(error.to_owned());
        record.updated_at = now_ms();
        let tx = db.begin().await?;
        let event = cause.event(CoreEvent::PluginFailed, tenant, event_data(&record));
        self.commit_with(tenant, tx, &record, &[event], false)
            .await?;
        self.stop_backend(tenant, &record).await?;
        metrics::counter!(crate::metrics::PLUGIN_FAILURES).increment(1);
        Ok(record)
    }

    /// Marks the plugins whose backend the runtime gave up on `FAILED` in every tenant where
    /// they were active, until the core API stops.
    pub async fn watch_failures(self: Arc<Self>) {
        while let Some(failure) = self.runtime.next_failure().await {
            let tenants = self
                .runtime
                .tenants(&failure.plugin_id, &failure.version)
                .await;
            for tenant in tenants {
                if let Err(e) = self.fail_in(&tenant, &failure).await {
                    tracing::warn!(%tenant, plugin = %failure.plugin_id, error = %e.message,
                    "could not record a plugin failure");
                }
            }
        }
    }

    async fn fail_in(&self, tenant: &str, failure: &runtime::Failure) -> ApiResult<()> {
        let slug = TenantSlug::parse(tenant).map_err(|e| ApiError::internal(e.to_string()))?;
        let db = self.tenant_dbs.get(&slug).await?;
        let _guard = self.lock(tenant).await;
        let Some(record) = db.plugin_install(&failure.plugin_id).await? else {
            return Ok(());
        };
        if record.state != PluginState::Active || record.version.to_string() != failure.version {
            return Ok(());
        }
        let what = format!(
            "the backend kept exiting and was given up on (last: {})",
            failure.reason
        );
        let error = self.failure_text(tenant, &record, &what);
        self.record_failure(tenant, &db, &Cause::system(), record, &error)
            .await?;
        Ok(())
    }

    /// `POST /tenants/{t}/plugins/{id}/deactivate`: refused while an active plugin requires it.
    pub async fn deactivate(
        &self,
        scope: &TenantScope,
        cause: &Cause,
        id: &str,
    ) -> ApiResult<InstallRecord> {
        let tenant = scope.slug.as_str();
        let _guard = self.lock(tenant).await;
        let mut record = installed(scope, id).await?;
        if record.state != PluginState::Active {
            return Ok(record);
        }
        let records = scope.db.plugin_installs().await?;
        let active_dependents: Vec<String> = deps::dependents(id, &others(&records, id))
            .into_iter()
            .filter(|d| {
                records
                    .iter()
                    .any(|r| &r.plugin_id == d && r.state == PluginState::Active)
            })
            .collect();
        if !active_dependents.is_empty() {
            return Err(ApiError::conflict(
                "PLUGIN_REQUIRED",
                format!(
                    "`{id}` is required by active plugins: {}",
                    active_dependents.join(", ")
                ),
            )
            .with_details(json!({ "dependents": active_dependents })));
        }
        self.call_hook_if_running(tenant, &record, "on_deactivate", cause)
            .await;
        record.state = PluginState::Inactive;
        record.updated_at = now_ms();
        let tx = scope.db.begin().await?;
        let event = cause.event(CoreEvent::PluginDeactivated, tenant, event_data(&record));
        self.commit_with(tenant, tx, &record, &[event], false)
            .await?;
        self.stop_backend(tenant, &record).await?;
        Ok(record)
    }

    async fn stop_backend(&self, tenant: &str, record: &InstallRecord) -> ApiResult<()> {
        self.targets.remove(tenant, &record.plugin_id);
        self.core
            .delete_subscription(tenant, &record.plugin_id)
            .await?;
        self.runtime
            .stop(&record.plugin_id, &record.version.to_string(), tenant)
            .await;
        Ok(())
    }

    /// `PATCH /tenants/{t}/plugins/{id}/config`.
    pub async fn configure(
        &self,
        scope: &TenantScope,
        cause: &Cause,
        id: &str,
        patch: &Map<String, Value>,
    ) -> ApiResult<InstallRecord> {
        let tenant = scope.slug.as_str();
        let _guard = self.lock(tenant).await;
        let mut record = installed(scope, id).await?;
        record.config = update_config(&record.manifest.config, &record.config, patch)
            .map_err(|p| config_error("CONFIG_INVALID", "the configuration is not valid", &p))?;
        record.updated_at = now_ms();
        let keys: Vec<&String> = patch.keys().collect();
        let event = cause.event(
            CoreEvent::PluginConfigured,
            tenant,
            json!({ "plugin": id, "keys": keys }),
        );
        let tx = scope.db.begin().await?;
        self.commit_with(tenant, tx, &record, &[event], false)
            .await?;
        Ok(record)
    }

    /// `POST /tenants/{t}/plugins/{id}/upgrade`: a higher version, its new migrations only, the
    /// configuration carried (refused with the reasons if the new rules reject it).
    pub async fn upgrade(
        &self,
        scope: &TenantScope,
        cause: &Cause,
        id: &str,
        request: &UpgradePluginRequest,
    ) -> ApiResult<InstallRecord> {
        let req = parse_req(request.version_req.as_deref())?;
        let tenant = scope.slug.as_str();
        let _guard = self.lock(tenant).await;
        let old = installed(scope, id).await?;
        let (verified, _) = self.fetch_verified(id, req.as_ref()).await?;
        let manifest = &verified.manifest;
        if manifest.plugin.version <= old.version {
            return Err(ApiError::conflict(
                "NOT_AN_UPGRADE",
                format!(
                    "{id} {} is installed; {} is not newer",
                    old.version, manifest.plugin.version
                ),
            ));
        }
        let records = scope.db.plugin_installs().await?;
        let problems = deps::check(manifest, &others(&records, id));
        if !problems.is_empty() {
            let list: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
            return Err(unprocessable("DEPENDENCIES_UNSATISFIED", list.join("; "))
                .with_details(json!({ "problems": problems })));
        }
        let config = carry_config(&manifest.config, &old.config, &request.config).map_err(|p| {
            config_error(
                "CONFIG_INVALID_FOR_UPGRADE",
                &format!(
                    "the stored configuration is not valid for {id} {}",
                    manifest.plugin.version
                ),
                &p,
            )
        })?;
        let record = InstallRecord {
            version: manifest.plugin.version.clone(),
            config,
            manifest: manifest.clone(),
            digest: verified.package.digest.clone(),
            updated_at: now_ms(),
            ..old.clone()
        };
        let mut tx = scope.db.begin().await?;
        let applied = scope.db.applied_migrations(id).await?;
        let space = scope.db.plugin_space(id);
        migrate(&space, &mut tx, &verified.package, manifest, &applied).await?;
        register_permissions(&mut tx, manifest).await?;
        let active = old.state == PluginState::Active;
        let endpoint = match active {
            true => self.start_backend(tenant, &record).await?,
            false => None,
        };
        let event = cause.event(
        CoreEvent::PluginUpgraded,
        tenant,
        json!({ "plugin": id, "from": old.version.to_string(), "to": record.version.to_string() }),
    );
        self.commit_with(tenant, tx, &record, &[event], endpoint.is_some())
            .await?;
        if let Some(endpoint) = endpoint {
            self.subscribe(tenant, &record, endpoint).await?;
        }
        if active {
            self.runtime
                .stop(id, &old.version.to_string(), tenant)
                .await;
        }
        Ok(record)
    }

    /// `DELETE /tenants/{t}/plugins/{id}?purge=`: refused while another plugin requires it;
    /// `purge` also drops its tables and migration history.
    pub async fn uninstall(
        &self,
        scope: &TenantScope,
        cause: &Cause,
        id: &str,
        purge: bool,
    ) -> ApiResult<()> {
        let tenant = scope.slug.as_str();
        let _guard = self.lock(tenant).await;
        let record = installed(scope, id).await?;
        let records = scope.db.plugin_installs().await?;
        let dependents = deps::dependents(id, &others(&records, id));
        if !dependents.is_empty() {
            return Err(ApiError::conflict(
                "PLUGIN_REQUIRED",
                format!(
                    "`{id}` is required by {}: uninstall them first",
                    dependents.join(", ")
                ),
            )
            .with_details(json!({ "dependents": dependents })));
        }
        self.call_hook_if_running(tenant, &record, "on_uninstall", cause)
            .await;
        let mut tx = scope.db.begin().await?;
        TenantDb::delete_install(&mut tx, &scope.db.plugin_space(id), purge).await?;
        let data = json!({ "plugin": id, "version": record.version.to_string(), "purged": purge });
        tx.commit([&cause.event(CoreEvent::PluginUninstalled, tenant, data)])
            .await?;
        self.stop_backend(tenant, &record).await
    }

    /// Starts the backend of every active plugin of every tenant and renews its subscription
    /// (the API just started: processes and endpoints of the previous run are gone); then
    /// [`Plugins::restarted`] says so.
    pub async fn reconcile(&self) {
        self.restart_active().await;
        self.restarted
            .store(true, std::sync::atomic::Ordering::Release);
    }

    async fn restart_active(&self) {
        let tenants = match self.core.all_tenants().await {
            Ok(t) => t
                .into_iter()
                .filter(|t| t.status == plexica_sdk::api::core::TenantStatus::Active)
                .map(|t| t.slug),
            Err(e) => {
                tracing::warn!(error = %e, "could not list tenants to restart their plugins");
                return;
            }
        };
        for tenant in tenants {
            let Ok(slug) = TenantSlug::parse(&tenant) else {
                continue;
            };
            let records = match self.tenant_dbs.get(&slug).await {
                Ok(db) => db.plugin_installs().await,
                Err(e) => Err(e),
            };
            let records = match records {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(%tenant, error = %e, "could not read the tenant's plugins");
                    continue;
                }
            };
            for record in records.iter().filter(|r| r.state == PluginState::Active) {
                let started = match self.start_backend(&tenant, record).await {
                    Ok(Some(endpoint)) => self.adopt(&tenant, record, endpoint).await,
                    Ok(None) => Ok(()),
                    Err(e) => Err(e),
                };
                if let Err(e) = started {
                    tracing::warn!(%tenant, plugin = %record.plugin_id, error = %e.message, "could not restart an active plugin");
                    let db = self.tenant_dbs.get(&slug).await;
                    let failed = match db {
                        Ok(db) => {
                            let _guard = self.lock(&tenant).await;
                            self.record_failure(
                                &tenant,
                                &db,
                                &Cause::system(),
                                record.clone(),
                                &e.message,
                            )
                            .await
                            .map(drop)
                        }
                        Err(e) => Err(e.into()),
                    };
                    if let Err(e) = failed {
                        tracing::warn!(%tenant, plugin = %record.plugin_id, error = %e.message, "could not record a plugin failure");
                    }
                }
            }
        }
    }

    /// This replica's copy of `record`'s backend serves `tenant` at `endpoint`. The subscription
    /// is recorded only where none is: recording it anew would open a new JetStream consumer and
    /// drop what the old one held, and deliveries go to each replica's own copy anyway
    /// ([`crate::discovery::Targets::route`]); only its batch mode is brought in line with the
    /// manifest, in place.
    async fn adopt(
        &self,
        tenant: &str,
        record: &InstallRecord,
        endpoint: crate::discovery::Endpoint,
    ) -> ApiResult<()> {
        let recorded = self
            .core
            .subscriptions(tenant)
            .await?
            .into_iter()
            .find(|s| s.plugin_id == record.plugin_id);
        let Some(recorded) = recorded else {
            return self.subscribe(tenant, record, endpoint).await;
        };
        // Recorded before the manifest's `[events] batches` was kept (or by another version).
        let batches = record.manifest.events.batches;
        if recorded.batches != batches {
            self.core
                .set_subscription_batches(tenant, &record.plugin_id, batches)
                .await?;
        }
        self.targets.insert(
            tenant,
            &record.plugin_id,
            &record.version.to_string(),
            endpoint,
        );
        Ok(())
    }

    /// Another replica changed `plugin`'s install in `tenant`: this replica runs its backend if
    /// and only if it is active, at the installed version. Hooks ran where the change was made,
    /// and what is shared (install record, subscription) is left as that replica wrote it.
    pub async fn converge(&self, tenant: &str, plugin: &str) {
        let Ok(slug) = TenantSlug::parse(tenant) else {
            return;
        };
        let _guard = self.lock(tenant).await;
        let record = match self.tenant_dbs.get(&slug).await {
            Ok(db) => db.plugin_install(plugin).await,
            Err(e) => Err(e),
        };
        let wanted = match record {
            Ok(record) => record.filter(|r| r.state == PluginState::Active),
            Err(e) => {
                tracing::warn!(%tenant, %plugin, error = %e, "cannot read a changed install");
                return;
            }
        };
        let running = self.targets.running(tenant, plugin).map(|(v, _)| v);
        let wanted_version = wanted.as_ref().map(|r| r.version.to_string());
        if running == wanted_version {
            return;
        }
        if let Some(version) = running {
            self.targets.remove(tenant, plugin);
            self.runtime.stop(plugin, &version, tenant).await;
        }
        let Some(record) = wanted else {
            return;
        };
        let started = match self.start_backend(tenant, &record).await {
            Ok(Some(endpoint)) => self.adopt(tenant, &record, endpoint).await,
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = started {
            tracing::warn!(%tenant, %plugin, error = %e.message, "cannot run this replica's copy of an active plugin");
        }
    }
}

/// The ports of the services the platform itself uses (what no plugin may connect to).
fn service_ports(config: &crate::Config) -> Vec<(u16, &'static str)> {
    let port = |url: Option<&str>, what: &'static str| {
        let url = reqwest::Url::parse(url?).ok()?;
        let port = url.port().or(match url.scheme() {
            "postgres" | "postgresql" => Some(5432),
            "nats" => Some(4222),
            _ => url.port_or_known_default(),
        })?;
        Some((port, what))
    };
    let database =
        (!config.database_url.starts_with("sqlite:")).then_some(config.database_url.as_str());
    [
        port(database, "database"),
        port(config.nats_url.as_deref(), "event broker"),
        port(config.registry_url.as_deref(), "registry"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Runs the migrations of `package` not yet applied (tracked per migration), in `tx`.
/// An applied migration whose SQL changed is refused.
async fn migrate(
    space: &PluginSpace,
    tx: &mut TenantTx,
    package: &Package,
    manifest: &Manifest,
    applied: &[AppliedMigration],
) -> ApiResult<Vec<String>> {
    let id = &manifest.plugin.id;
    let Some(dir) = manifest
        .backend
        .as_ref()
        .and_then(|b| b.migrations.as_deref())
    else {
        return Ok(Vec::new());
    };
    let mut names = package.list(dir).unwrap_or_default();
    names.sort();
    let mut ran = Vec::new();
    for name in names {
        let sql = package.read(&format!("{dir}/{name}")).ok_or_else(|| {
            unprocessable(
                "MIGRATION_FAILED",
                format!("migration `{name}` is not readable text"),
            )
        })?;
        let checksum = sha256_hex(sql.as_bytes());
        if let Some((_, before)) = applied.iter().find(|(n, _)| *n == name) {
            if *before != checksum {
                return Err(unprocessable(
                    "MIGRATION_CHANGED",
                    format!(
                        "migration `{name}` of `{id}` was applied with other content; a released migration must not change"
                    ),
                ));
            }
            continue;
        }
        tracing::debug!(plugin = %id, migration = %name, "running a plugin migration");
        let created = space.run_migration(tx, &sql).await.map_err(|e| {
            let (code, reason) = match e {
                DbError::Refused(tried) => (
                    "MIGRATION_REFUSED",
                    format!("the database refused it: the plugin's SQL tried to {tried}"),
                ),
                DbError::Sql(sqlx::Error::Database(db)) => {
                    ("MIGRATION_FAILED", db.message().to_owned())
                }
                other => ("MIGRATION_FAILED", other.to_string()),
            };
            unprocessable(
                code,
                format!("migration `{name}` of `{id}` failed: {reason}"),
            )
            .with_details(json!({ "migration": name }))
        })?;
        TenantDb::record_migration(tx, id, &name, &checksum, &created, now_ms()).await?;
        ran.push(name);
    }
    Ok(ran)
}

/// Registers `manifest`'s permissions in `tx`; a permission of the core or of another plugin
/// is refused.
async fn register_permissions(tx: &mut TenantTx, manifest: &Manifest) -> ApiResult<()> {
    let id = &manifest.plugin.id;
    let keys: Vec<String> = manifest.permissions.iter().map(|p| p.key.clone()).collect();
    if let Some(core) = keys.iter().find(|k| PERMISSIONS.contains(&k.as_str())) {
        return Err(ApiError::conflict(
            "PERMISSION_TAKEN",
            format!("`{core}` is a permission of the platform itself"),
        ));
    }
    if let Some((permission, owner)) = TenantDb::permission_owners(tx, id, &keys).await?.first() {
        return Err(ApiError::conflict(
            "PERMISSION_TAKEN",
            format!("`{permission}` is already registered by `{owner}`"),
        ));
    }
    TenantDb::register_permissions(tx, id, manifest).await?;
    Ok(())
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
