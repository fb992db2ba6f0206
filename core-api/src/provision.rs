//! Tenant provisioning and removal. Provisioning runs [`ProvisionStep`]s in order; a failure
//! at any point undoes the completed steps in reverse, leaving no row, schema or file behind.
//! The same request retried yields the same tenant (a fingerprint of the request is kept).
//! A process that dies mid-way leaves a `PROVISIONING` row: [`recover`] (at start-up) and a
//! retry after [`crate::Config::provisioning_timeout`] clean it up.

use std::sync::Arc;

use plexica_sdk::api::core::{InitialAdmin, TenantStatus, WorkspaceRole};
use plexica_sdk::api::events::Event;
use plexica_sdk::api::time::now_ms;
use plexica_sdk::event_name::CoreEvent;
use serde_json::{Value, json};

use crate::auth::passwords;
use crate::authz::BUILTIN_ROLES;
use crate::config::Config;
use crate::db::core::{CoreStore, TenantRecord};
use crate::db::tenant::TenantDbs;
use crate::db::tenant::{RoleRecord, TenantDb, UserRecord, WorkspaceRecord};
use crate::error::{ApiError, ApiResult};
use crate::events::Cause;
use crate::invalidation::{Invalidation, Invalidator};
use crate::secrets;
use crate::slug::TenantSlug;

pub use crate::config::ProvisionStep;

/// A checked `POST /tenants` request.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// Slug.
    pub slug: TenantSlug,
    /// Display name.
    pub name: String,
    /// First admin's email.
    pub admin_email: String,
    /// Settings object.
    pub settings: Value,
}

impl NewTenant {
    fn fingerprint(&self) -> String {
        // serde_json's maps are ordered, so equal requests serialize equally.
        let canonical = serde_json::json!([
            self.slug.as_str(),
            self.name,
            self.admin_email,
            self.settings
        ]);
        secrets::hash(&canonical.to_string())
    }
}

/// What provisioning produced.
#[derive(Debug)]
pub enum Provisioned {
    /// A new tenant, and its first admin's credentials.
    Created(TenantRecord, InitialAdmin),
    /// The same request was already served: that tenant.
    Existing(TenantRecord),
    /// The same request is being served right now.
    InProgress(TenantRecord),
}

/// Creates, repairs and removes tenants: their core row, data space and seed.
#[derive(Debug, Clone)]
pub struct Provisioner {
    core: CoreStore,
    tenant_dbs: TenantDbs,
    config: Arc<Config>,
    invalidator: Invalidator,
}

impl Provisioner {
    /// Provisions into `core` and `tenant_dbs` as `config` says, telling every replica's
    /// caches through `invalidator`.
    pub fn new(
        core: CoreStore,
        tenant_dbs: TenantDbs,
        config: Arc<Config>,
        invalidator: Invalidator,
    ) -> Self {
        Self {
            core,
            tenant_dbs,
            config,
            invalidator,
        }
    }

    /// Drops every cached view of tenant `slug`, on every replica.
    fn forget_tenant(&self, slug: &str) {
        self.invalidator.announce(Invalidation::Tenant {
            slug: slug.to_owned(),
        });
    }
}

impl Provisioner {
    /// Provisions `request`.
    pub async fn provision(&self, request: &NewTenant, cause: &Cause) -> ApiResult<Provisioned> {
        let now = now_ms();
        let record = TenantRecord {
            id: secrets::new_id("tn_"),
            slug: request.slug.as_str().to_owned(),
            name: request.name.clone(),
            status: TenantStatus::Provisioning,
            settings: request.settings.clone(),
            request_fingerprint: request.fingerprint(),
            created_at: now,
            updated_at: now,
        };
        let password = secrets::new_password();
        // The first admin's password is hashed on a hashing thread from now on, while the steps
        // wait on the database; a request that turns out to need no tenant drops the hash.
        let hashing = HashInBackground(tokio::spawn(passwords::hash(password.clone())));
        if !self.core.insert_tenant(&record).await? {
            let existing = self.core.tenant(&record.slug).await?.ok_or_else(|| {
                ApiError::conflict("TENANT_EXISTS", "the tenant was just deleted; retry")
            })?;
            if existing.request_fingerprint != record.request_fingerprint {
                return Err(ApiError::conflict(
                    "TENANT_EXISTS",
                    format!("a tenant `{}` already exists", record.slug),
                ));
            }
            if existing.status != TenantStatus::Provisioning {
                return Ok(Provisioned::Existing(existing));
            }
            if !self.abandoned(&existing, now) {
                return Ok(Provisioned::InProgress(existing));
            }
            self.undo(&request.slug, &ProvisionStep::ALL).await;
            if !self.core.insert_tenant(&record).await? {
                return Err(ApiError::conflict(
                    "TENANT_EXISTS",
                    "another request is provisioning this tenant; retry",
                ));
            }
        }
        let mut done = vec![ProvisionStep::Record];
        let created = cause.event(
            CoreEvent::TenantCreated,
            &record.slug,
            json!({ "tenant_id": record.id, "slug": record.slug, "name": record.name }),
        );
        let outcome = self
            .run_steps(
                request,
                &record,
                hashing.result(),
                cause,
                &created,
                &mut done,
            )
            .await;
        match outcome {
            Ok(tenant) => Ok(Provisioned::Created(
                tenant,
                InitialAdmin {
                    email: request.admin_email.clone(),
                    password,
                },
            )),
            Err(e) => {
                self.undo(&request.slug, &done).await;
                if done.contains(&ProvisionStep::Activate) {
                    self.retract(&created).await;
                }
                Err(e)
            }
        }
    }

    fn abandoned(&self, tenant: &TenantRecord, now: i64) -> bool {
        let timeout =
            i64::try_from(self.config.provisioning_timeout.as_millis()).unwrap_or(i64::MAX);
        now.saturating_sub(tenant.updated_at) > timeout
    }

    fn injected(&self, step: ProvisionStep) -> ApiResult<()> {
        if self.config.fail_provisioning_after == Some(step) {
            return Err(ApiError::new(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "PROVISIONING_FAILED",
                format!("provisioning failed after step {step:?} (injected fault)"),
            ));
        }
        Ok(())
    }

    /// Runs the steps after the tenant's record. The first admin's password is hashed (`hashing`)
    /// while the data space is made and migrated, on another core.
    async fn run_steps(
        &self,
        request: &NewTenant,
        record: &TenantRecord,
        hashing: impl std::future::Future<Output = ApiResult<String>>,
        cause: &Cause,
        created: &Event,
        done: &mut Vec<ProvisionStep>,
    ) -> ApiResult<TenantRecord> {
        let failed = |step: ProvisionStep| {
            move |e: crate::db::DbError| {
                tracing::error!(error = %e, ?step, tenant = %record.slug, "provisioning step failed");
                ApiError::new(
                    http::StatusCode::SERVICE_UNAVAILABLE,
                    "PROVISIONING_FAILED",
                    format!("provisioning failed at step {step:?}; nothing was kept, retry"),
                )
                .retry_after(2)
            }
        };
        self.injected(ProvisionStep::Record)?;
        let slug = &request.slug;
        let data_space = async {
            self.tenant_dbs
                .spaces()
                .create(slug)
                .await
                .map_err(failed(ProvisionStep::DataSpace))?;
            done.push(ProvisionStep::DataSpace);
            self.injected(ProvisionStep::DataSpace)?;
            let db = self
                .tenant_dbs
                .get(slug)
                .await
                .map_err(failed(ProvisionStep::DataSpace))?;
            db.migrate(self.tenant_dbs.backend())
                .await
                .map_err(failed(ProvisionStep::Migrations))?;
            done.push(ProvisionStep::Migrations);
            self.injected(ProvisionStep::Migrations)?;
            Ok(db)
        };
        let (db, password_hash) = tokio::try_join!(data_space, hashing)?;
        seed(&db, request, &password_hash, cause, record.created_at)
            .await
            .map_err(failed(ProvisionStep::Seed))?;
        done.push(ProvisionStep::Seed);
        self.injected(ProvisionStep::Seed)?;
        let now = now_ms();
        self.core
            .set_tenant_status(&record.slug, TenantStatus::Active, now, Some(created))
            .await
            .map_err(failed(ProvisionStep::Activate))?;
        done.push(ProvisionStep::Activate);
        self.injected(ProvisionStep::Activate)?;
        self.forget_tenant(&record.slug);
        Ok(TenantRecord {
            status: TenantStatus::Active,
            updated_at: now,
            ..record.clone()
        })
    }

    /// Undoes `done` in reverse. Best effort: what fails is logged and found again by [`recover`].
    async fn undo(&self, slug: &TenantSlug, done: &[ProvisionStep]) {
        for step in done.iter().rev() {
            let result = match step {
                ProvisionStep::DataSpace => self.drop_data_space(slug).await,
                ProvisionStep::Record => self.core.delete_tenant(slug.as_str()).await,
                ProvisionStep::Migrations | ProvisionStep::Seed | ProvisionStep::Activate => Ok(()),
            };
            if let Err(e) = result {
                tracing::error!(error = %e, ?step, tenant = %slug, "could not undo a provisioning step");
            }
        }
        self.forget_tenant(slug.as_str());
    }

    /// Takes back the `core.tenant.created` event of an undone provisioning: removed if not yet
    /// relayed, else followed by `core.tenant.deleted`.
    async fn retract(&self, created: &Event) {
        let result = match self.core.retract_event(&created.id).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                let deleted = Event::new(
                    CoreEvent::TenantDeleted.name(),
                    created.source.clone(),
                    created.tenant.clone(),
                    created.correlationid.clone(),
                    json!({ "slug": created.tenant, "hard": true }),
                )
                .by(created.actor.clone());
                self.core.append_event(&deleted).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, tenant = %created.tenant, "could not retract a tenant's creation event");
        }
    }

    async fn drop_data_space(&self, slug: &TenantSlug) -> crate::db::DbResult<()> {
        self.tenant_dbs.close(slug).await;
        self.tenant_dbs.spaces().drop_space(slug).await
    }

    /// Hard delete: the tenant is marked `DELETED` (refused from then on; with `event`, emitted
    /// then), its users' sessions and tokens revoked, its data space dropped, then its row deleted.
    pub async fn hard_delete(
        &self,
        slug: &TenantSlug,
        event: Option<&Event>,
    ) -> crate::db::DbResult<()> {
        self.core
            .set_tenant_status(slug.as_str(), TenantStatus::Deleted, now_ms(), event)
            .await?;
        self.forget_tenant(slug.as_str());
        self.invalidator
            .revoke_sessions(&self.core, slug.as_str(), None, None)
            .await?;
        self.drop_data_space(slug).await?;
        self.core.delete_tenant(slug.as_str()).await?;
        self.forget_tenant(slug.as_str());
        Ok(())
    }

    /// Start-up repair and upgrade: finishes hard deletes and abandoned provisioning, drops data
    /// spaces that have no tenant row, and applies pending tenant migrations to every tenant.
    pub async fn recover(&self) -> crate::db::DbResult<()> {
        let now = now_ms();
        let timeout = self.config.provisioning_timeout;
        for tenant in self.core.all_tenants().await? {
            let Ok(slug) = TenantSlug::parse(&tenant.slug) else {
                tracing::error!(tenant = %tenant.slug, "tenant row with an invalid slug left alone");
                continue;
            };
            let stale = now.saturating_sub(tenant.updated_at)
                > i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
            match tenant.status {
                // The event was emitted when the row was marked; only the work is finished here.
                TenantStatus::Deleted => self.hard_delete(&slug, None).await?,
                TenantStatus::Provisioning if stale => {
                    tracing::warn!(tenant = %slug, "removing an abandoned provisioning");
                    self.undo(&slug, &ProvisionStep::ALL).await;
                }
                TenantStatus::Provisioning => {}
                _ => {
                    self.tenant_dbs
                        .get(&slug)
                        .await?
                        .migrate(self.tenant_dbs.backend())
                        .await?;
                }
            }
        }
        let known: std::collections::HashSet<String> = self
            .core
            .all_tenants()
            .await?
            .into_iter()
            .map(|t| t.slug)
            .collect();
        for slug in self.tenant_dbs.spaces().list().await? {
            if !known.contains(slug.as_str()) {
                tracing::warn!(tenant = %slug, "dropping a data space without a tenant");
                self.drop_data_space(&slug).await?;
            }
        }
        Ok(())
    }
}

/// A password hash computed in the background, abandoned when dropped.
struct HashInBackground(tokio::task::JoinHandle<ApiResult<String>>);

impl HashInBackground {
    async fn result(mut self) -> ApiResult<String> {
        (&mut self.0)
            .await
            .map_err(|_| ApiError::internal("the password hashing task failed"))?
    }
}

impl Drop for HashInBackground {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Default roles, the first admin and the default workspace, in one transaction.
async fn seed(
    db: &TenantDb,
    request: &NewTenant,
    password_hash: &str,
    cause: &Cause,
    now: i64,
) -> crate::db::DbResult<()> {
    let tenant = request.slug.as_str();
    let mut tx = db.begin().await?;
    for (name, permissions) in BUILTIN_ROLES {
        let role = RoleRecord {
            name: name.to_owned(),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
            builtin: true,
        };
        TenantDb::insert_role(&mut tx, &role, now).await?;
    }
    let admin = UserRecord {
        id: secrets::new_id("u_"),
        email: request.admin_email.clone(),
        name: "Administrator".to_owned(),
        password_hash: Some(password_hash.to_owned()),
        created_at: now,
    };
    TenantDb::insert_user(&mut tx, &admin, &["admin".to_owned()]).await?;
    let created = json!({ "user_id": admin.id, "email": admin.email, "name": admin.name, "roles": ["admin"] });
    let user_created = cause.event(CoreEvent::UserCreated, tenant, created);
    let workspace = WorkspaceRecord {
        id: secrets::new_id("ws_"),
        slug: "default".to_owned(),
        name: "Default".to_owned(),
        description: Some("Created with the tenant".to_owned()),
        settings: serde_json::json!({}),
        is_default: true,
        role: Some(WorkspaceRole::Admin),
        member_count: 1,
        team_count: 0,
        created_at: now,
        updated_at: now,
    };
    TenantDb::insert_workspace(&mut tx, &workspace, &admin.id, Some(&admin.id)).await?;
    let created =
        json!({ "workspace_id": workspace.id, "slug": workspace.slug, "name": workspace.name });
    let workspace_created = cause.workspace_event(
        CoreEvent::WorkspaceCreated,
        tenant,
        &workspace.slug,
        created,
    );
    tx.commit([&user_created, &workspace_created]).await?;
    Ok(())
}
