//! A plugin's migrations and permissions, applied inside the transaction that installs or
//! upgrades it.

use super::*;

/// Runs the migrations of `package` not yet applied (tracked per migration), in `tx`.
/// An applied migration whose SQL changed is refused.
pub(super) async fn migrate(
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
pub(super) async fn register_permissions(tx: &mut TenantTx, manifest: &Manifest) -> ApiResult<()> {
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
