//! Shared data in a tenant's data space (tenant migration `0004_shared.sql`): JSON values by
//! namespace and key, each namespace owned by the plugin that wrote it first, values with an
//! optional expiry (never returned once expired; removed when next touched).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::DbResult;
use super::tenant::TenantDb;

/// A stored value.
#[derive(Debug, Clone)]
pub struct SharedRecord {
    /// Namespace.
    pub namespace: String,
    /// Key.
    pub key: String,
    /// The JSON value.
    pub value: serde_json::Value,
    /// Unix ms after which the value is gone.
    pub expires_at: Option<i64>,
    /// Unix ms.
    pub updated_at: i64,
}

fn record(row: &AnyRow) -> DbResult<SharedRecord> {
    let value: String = row.try_get("value")?;
    Ok(SharedRecord {
        namespace: row.try_get("namespace")?,
        key: row.try_get("key")?,
        value: serde_json::from_str(&value)?,
        expires_at: row.try_get("expires_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl TenantDb {
    /// The plugin owning `namespace`, if anyone wrote to it.
    pub async fn shared_owner(&self, namespace: &str) -> DbResult<Option<String>> {
        let row = sqlx::query("SELECT owner FROM shared_namespaces WHERE namespace = $1")
            .bind(namespace)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("owner")).transpose()?)
    }

    /// The value of `namespace`/`key` unless it expired by `now`.
    pub async fn shared_value(
        &self,
        namespace: &str,
        key: &str,
        now: i64,
    ) -> DbResult<Option<SharedRecord>> {
        let row = sqlx::query(
            "SELECT namespace, key, value, expires_at, updated_at FROM shared_values \
             WHERE namespace = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(namespace)
        .bind(key)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(record).transpose()
    }

    /// Writes `value` as `owner`: takes the namespace when nobody owns it; `false` when
    /// another plugin does (nothing written). Expired values of the namespace are removed.
    pub async fn put_shared_value(&self, owner: &str, r: &SharedRecord) -> DbResult<bool> {
        let mut tx = self.begin().await?;
        let current: Option<String> =
            sqlx::query("SELECT owner FROM shared_namespaces WHERE namespace = $1")
                .bind(&r.namespace)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get("owner"))
                .transpose()?;
        match current {
            Some(o) if o != owner => return Ok(false),
            Some(_) => {}
            None => {
                sqlx::query(
                    "INSERT INTO shared_namespaces (namespace, owner, created_at) VALUES ($1, $2, $3)",
                )
                .bind(&r.namespace)
                .bind(owner)
                .bind(r.updated_at)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query(
            "DELETE FROM shared_values WHERE namespace = $1 \
             AND (key = $2 OR (expires_at IS NOT NULL AND expires_at <= $3))",
        )
        .bind(&r.namespace)
        .bind(&r.key)
        .bind(r.updated_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO shared_values (namespace, key, value, expires_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&r.namespace)
        .bind(&r.key)
        .bind(r.value.to_string())
        .bind(r.expires_at)
        .bind(r.updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit([]).await?;
        Ok(true)
    }

    /// Removes `namespace`/`key`; `false` when there was no (unexpired) value.
    pub async fn delete_shared_value(
        &self,
        namespace: &str,
        key: &str,
        now: i64,
    ) -> DbResult<bool> {
        let removed = sqlx::query(
            "DELETE FROM shared_values WHERE namespace = $1 AND key = $2 \
             AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(namespace)
        .bind(key)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(removed.rows_affected() > 0)
    }
}
