//! A plugin's backend as the lifecycle sees it: started (and its hooks called) before the
//! transaction that makes the plugin `ACTIVE` commits, stopped after one that deactivates it,
//! and a crash recorded as `FAILED` with the tail of its log.

use super::*;

impl Plugins {
    /// The directory `record`'s package is unpacked in, unpacking it first when it is not
    /// there (another replica installed it, a backup was restored, or the directory was
    /// cleared): from the package cache, else from the registry.
    pub async fn unpacked(&self, record: &InstallRecord) -> ApiResult<std::path::PathBuf> {
        let id = &record.plugin_id;
        let version = record.version.to_string();
        let unpacked = || self.packages.unpacked_at(id, &version, &record.digest);
        if let Some(dir) = unpacked().await {
            return Ok(dir);
        }
        let _only_one = self.unpacking.lock().await;
        if let Some(dir) = unpacked().await {
            return Ok(dir);
        }
        let verified = match self.packages.cached(id, &version, &record.digest).await {
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
        self.packages.unpack(&verified).await
    }

    /// Starts `record`'s backend for `tenant` (a plugin without backend has nothing to start).
    pub(super) async fn start_backend(
        &self,
        tenant: &str,
        record: &InstallRecord,
    ) -> ApiResult<Option<crate::discovery::Endpoint>> {
        if record.manifest.backend.is_none() {
            return Ok(None);
        }
        let id = &record.plugin_id;
        let version = record.version.to_string();
        let dir = self.unpacked(record).await?;
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
    pub(super) async fn call_hook(
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
    pub(super) async fn start_active(
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
    pub(super) async fn call_hook_if_running(
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

    /// The `error` of a plugin whose backend failed: `what`, then the end of its log when the log
    /// is the tenant's own.
    pub(super) fn failure_text(&self, tenant: &str, record: &InstallRecord, what: &str) -> String {
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
    pub(super) async fn record_failure(
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

    pub(super) async fn fail_in(&self, tenant: &str, failure: &runtime::Failure) -> ApiResult<()> {
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

    pub(super) async fn stop_backend(&self, tenant: &str, record: &InstallRecord) -> ApiResult<()> {
        self.targets.remove(tenant, &record.plugin_id);
        self.core
            .delete_subscription(tenant, &record.plugin_id)
            .await?;
        self.runtime
            .stop(&record.plugin_id, &record.version.to_string(), tenant)
            .await;
        Ok(())
    }
}

/// The ports of the services the platform itself uses (what no plugin may connect to).
pub(super) fn service_ports(config: &crate::Config) -> Vec<(u16, &'static str)> {
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
