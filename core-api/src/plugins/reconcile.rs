//! Keeping what is derived from the install records in line with them: at start-up every
//! active plugin's backend is restarted and its subscription adopted, and a record another
//! replica changed is converged to.

use super::*;

impl Plugins {
    /// Starts the backend of every active plugin of every tenant and renews its subscription
    /// (the API just started: processes and endpoints of the previous run are gone); then
    /// [`Plugins::restarted`] says so.
    pub async fn reconcile(&self) {
        self.restart_active().await;
        self.restarted
            .store(true, std::sync::atomic::Ordering::Release);
    }

    pub(super) async fn restart_active(&self) {
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
    pub(super) async fn adopt(
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
