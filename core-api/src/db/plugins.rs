//! Plugins in a tenant's data space (tenant migration `0003_plugins.sql`): the install record,
//! the plugin migrations applied and the tables they created, registered permissions and
//! workspaces' setting overrides. Writes take the caller's transaction, so that an install's
//! migrations, its record and its event commit together or not at all.

use plexica_sdk::api::core::PluginState;
use plexica_sdk::manifest::Manifest;
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::tx::TenantTx;

use super::plugin_sql::PluginSpace;
use super::tenant::TenantDb;
use super::{DbError, DbResult};

/// A plugin installed in the tenant.
#[derive(Debug, Clone)]
pub struct InstallRecord {
    /// Plugin id.
    pub plugin_id: String,
    /// Installed version.
    pub version: semver::Version,
    /// Lifecycle state.
    pub state: PluginState,
    /// The tenant's configuration (secrets in clear: redact before showing).
    pub config: Map<String, Value>,
    /// The installed version's manifest.
    pub manifest: Manifest,
    /// sha256 of the installed package.
    pub digest: String,
    /// Why it is `FAILED`.
    pub error: Option<String>,
    /// Unix ms.
    pub installed_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

fn decode_error(what: &str) -> DbError {
    DbError::Space(format!("stored plugin install has an unreadable {what}"))
}

fn install(row: &AnyRow) -> DbResult<InstallRecord> {
    let version: String = row.try_get("version")?;
    let state: String = row.try_get("state")?;
    let config: String = row.try_get("config")?;
    let manifest: String = row.try_get("manifest")?;
    Ok(InstallRecord {
        plugin_id: row.try_get("plugin_id")?,
        version: version.parse().map_err(|_| decode_error("version"))?,
        state: PluginState::parse(&state).ok_or_else(|| decode_error("state"))?,
        config: serde_json::from_str(&config)?,
        manifest: serde_json::from_str(&manifest)?,
        digest: row.try_get("digest")?,
        error: row.try_get("error")?,
        installed_at: row.try_get("installed_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const INSTALL_SELECT: &str = "SELECT plugin_id, version, state, config, manifest, digest, error, \
                              installed_at, updated_at FROM plugin_installs";

/// A plugin migration already applied: `(name, sha256 of its SQL)`.
pub type AppliedMigration = (String, String);

impl TenantDb {
    /// Every plugin installed, by id.
    pub async fn plugin_installs(&self) -> DbResult<Vec<InstallRecord>> {
        sqlx::query(&format!("{INSTALL_SELECT} ORDER BY plugin_id"))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(install)
            .collect()
    }

    /// The install of `plugin_id`.
    pub async fn plugin_install(&self, plugin_id: &str) -> DbResult<Option<InstallRecord>> {
        sqlx::query(&format!("{INSTALL_SELECT} WHERE plugin_id = $1"))
            .bind(plugin_id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(install)
            .transpose()
    }

    /// The migrations of `plugin_id` applied here, in order.
    pub async fn applied_migrations(&self, plugin_id: &str) -> DbResult<Vec<AppliedMigration>> {
        let rows = sqlx::query(
            "SELECT name, checksum FROM plugin_migrations WHERE plugin_id = $1 ORDER BY name",
        )
        .bind(plugin_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("checksum")?)))
            .collect()
    }

    /// The permissions `plugin_id` registered.
    pub async fn plugin_permissions(&self, plugin_id: &str) -> DbResult<Vec<String>> {
        let rows = sqlx::query(
            "SELECT permission FROM plugin_permissions WHERE plugin_id = $1 ORDER BY permission",
        )
        .bind(plugin_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(r.try_get("permission")?)).collect()
    }

    /// Workspace `workspace_id`'s overrides of `plugin_id`'s settings.
    pub async fn workspace_plugin_settings(
        &self,
        workspace_id: &str,
        plugin_id: &str,
    ) -> DbResult<Map<String, Value>> {
        let row = sqlx::query(
            "SELECT settings FROM workspace_plugin_settings \
             WHERE workspace_id = $1 AND plugin_id = $2",
        )
        .bind(workspace_id)
        .bind(plugin_id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok(serde_json::from_str(
                &row.try_get::<String, _>("settings")?,
            )?),
            None => Ok(Map::new()),
        }
    }

    /// Stores workspace `workspace_id`'s overrides of `plugin_id` (none: removes the row).
    pub async fn put_workspace_plugin_settings(
        &self,
        workspace_id: &str,
        plugin_id: &str,
        settings: &Map<String, Value>,
        now: i64,
    ) -> DbResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "DELETE FROM workspace_plugin_settings WHERE workspace_id = $1 AND plugin_id = $2",
        )
        .bind(workspace_id)
        .bind(plugin_id)
        .execute(&mut *tx)
        .await?;
        if !settings.is_empty() {
            sqlx::query(
                "INSERT INTO workspace_plugin_settings (workspace_id, plugin_id, settings, \
                 updated_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(workspace_id)
            .bind(plugin_id)
            .bind(serde_json::to_string(settings)?)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit([]).await?;
        Ok(())
    }

    /// Writes the install record `r` (insert or replace) in `tx`.
    pub async fn put_install(tx: &mut TenantTx, r: &InstallRecord) -> DbResult<()> {
        sqlx::query("DELETE FROM plugin_installs WHERE plugin_id = $1")
            .bind(&r.plugin_id)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO plugin_installs (plugin_id, version, state, config, manifest, digest, \
             error, installed_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&r.plugin_id)
        .bind(r.version.to_string())
        .bind(r.state.as_str())
        .bind(serde_json::to_string(&r.config)?)
        .bind(serde_json::to_string(&r.manifest)?)
        .bind(&r.digest)
        .bind(&r.error)
        .bind(r.installed_at)
        .bind(r.updated_at)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Removes `plugin_id`'s record, permissions and workspace settings in `tx`; with `purge`
    /// also its tables (newest first; only those it created that carry its prefix), its own
    /// role and schema on PostgreSQL, and its migration history, so that a later install
    /// starts from nothing.
    pub async fn delete_install(
        tx: &mut TenantTx,
        space: &PluginSpace,
        purge: bool,
    ) -> DbResult<()> {
        let plugin_id = space.plugin_id();
        for table in [
            "plugin_installs",
            "plugin_permissions",
            "workspace_plugin_settings",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE plugin_id = $1"))
                .bind(plugin_id)
                .execute(&mut **tx)
                .await?;
        }
        if purge {
            let tables = Self::plugin_tables(tx, plugin_id).await?;
            space.purge(tx, &tables).await?;
            for table in ["plugin_tables", "plugin_migrations"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE plugin_id = $1"))
                    .bind(plugin_id)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }

    /// Replaces the permissions `plugin_id` registered, in `tx`.
    pub async fn register_permissions(
        tx: &mut TenantTx,
        plugin_id: &str,
        manifest: &Manifest,
    ) -> DbResult<()> {
        sqlx::query("DELETE FROM plugin_permissions WHERE plugin_id = $1")
            .bind(plugin_id)
            .execute(&mut **tx)
            .await?;
        for p in &manifest.permissions {
            let role = p.default_role.map(|r| match r {
                plexica_sdk::manifest::WorkspaceRole::Admin => "ADMIN",
                plexica_sdk::manifest::WorkspaceRole::Member => "MEMBER",
                plexica_sdk::manifest::WorkspaceRole::Viewer => "VIEWER",
            });
            sqlx::query(
                "INSERT INTO plugin_permissions (permission, plugin_id, description, \
                 default_role) VALUES ($1, $2, $3, $4)",
            )
            .bind(&p.key)
            .bind(plugin_id)
            .bind(&p.description)
            .bind(role)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Plugin ids (other than `plugin_id`) that already registered one of `permissions`.
    pub async fn permission_owners(
        tx: &mut TenantTx,
        plugin_id: &str,
        permissions: &[String],
    ) -> DbResult<Vec<(String, String)>> {
        let mut owners = Vec::new();
        for permission in permissions {
            let row = sqlx::query(
                "SELECT plugin_id FROM plugin_permissions WHERE permission = $1 AND plugin_id <> $2",
            )
            .bind(permission)
            .bind(plugin_id)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(row) = row {
                owners.push((permission.clone(), row.try_get("plugin_id")?));
            }
        }
        Ok(owners)
    }

    /// Records that migration `name` of `plugin_id` ran, and the tables it created, in `tx`.
    pub async fn record_migration(
        tx: &mut TenantTx,
        plugin_id: &str,
        name: &str,
        checksum: &str,
        created_tables: &[String],
        now: i64,
    ) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO plugin_migrations (plugin_id, name, checksum, applied_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(plugin_id)
        .bind(name)
        .bind(checksum)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        for table in created_tables {
            sqlx::query("INSERT INTO plugin_tables (plugin_id, table_name) VALUES ($1, $2)")
                .bind(plugin_id)
                .bind(table)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// The tables `plugin_id`'s migrations created, oldest first.
    async fn plugin_tables(tx: &mut TenantTx, plugin_id: &str) -> DbResult<Vec<String>> {
        let rows = sqlx::query("SELECT table_name FROM plugin_tables WHERE plugin_id = $1")
            .bind(plugin_id)
            .fetch_all(&mut **tx)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("table_name")?)).collect()
    }
}
