//! The install record as the API shows it (`PluginInstall`): configuration redacted,
//! permissions and applied migrations attached.

use super::*;

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
