//! The lifecycle of a plugin in a tenant, one method per request: install (from the registry
//! or, in development mode, from a directory), activate, deactivate, configure, upgrade and
//! uninstall. Each commits the install record, its migrations and its event in one tenant
//! transaction.

use super::*;

impl Plugins {
    /// Resolves, downloads (or takes from the cache) and verifies `id` at `req`, checks the
    /// platform requirement, and unpacks it.
    pub(super) async fn fetch_verified(
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
    pub(super) fn fits_this_platform(&self, verified: &VerifiedPackage) -> ApiResult<()> {
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

    pub(super) async fn subscribe(
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
    pub(super) async fn commit_with(
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
    pub(super) async fn install_verified(
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
}
