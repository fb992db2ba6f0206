//! Tenants' rows, their lifecycle, and the core database's own events.

use super::CoreStore;
use crate::db::tx::CoreTx;
use crate::db::{DbResult, count, inserted};
use plexica_sdk::api::core::TenantStatus;
use plexica_sdk::api::events::Event;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

const TENANT_COLUMNS: &str =
    "id, slug, name, status, settings, request_fingerprint, created_at, updated_at";

/// A tenant row.
#[derive(Debug, Clone)]
pub struct TenantRecord {
    /// Id.
    pub id: String,
    /// Slug (validated when created).
    pub slug: String,
    /// Display name.
    pub name: String,
    /// State.
    pub status: TenantStatus,
    /// Settings object.
    pub settings: Value,
    /// Hash of the creating request (idempotent retries).
    pub request_fingerprint: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// Filters of `GET /tenants`.
#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    /// Only this state.
    pub status: Option<TenantStatus>,
    /// Substring of slug or name.
    pub search: Option<String>,
    /// Page, from 1.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
}

fn tenant(row: &AnyRow) -> DbResult<TenantRecord> {
    let status: String = row.try_get("status")?;
    let settings: String = row.try_get("settings")?;
    Ok(TenantRecord {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        status: TenantStatus::parse(&status).unwrap_or(TenantStatus::Suspended),
        settings: serde_json::from_str(&settings).unwrap_or(Value::Null),
        request_fingerprint: row.try_get("request_fingerprint")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl CoreStore {
    /// Inserts a tenant; `false` when the slug is taken.
    pub async fn insert_tenant(&self, t: &TenantRecord) -> DbResult<bool> {
        let result = sqlx::query(&format!(
            "INSERT INTO tenants ({TENANT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&t.id)
        .bind(&t.slug)
        .bind(&t.name)
        .bind(t.status.as_str())
        .bind(t.settings.to_string())
        .bind(&t.request_fingerprint)
        .bind(t.created_at)
        .bind(t.updated_at)
        .execute(&self.pool)
        .await;
        inserted(result)
    }

    /// The tenant called `slug`.
    pub async fn tenant(&self, slug: &str) -> DbResult<Option<TenantRecord>> {
        sqlx::query(&format!(
            "SELECT {TENANT_COLUMNS} FROM tenants WHERE slug = $1"
        ))
        .bind(slug)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(tenant)
        .transpose()
    }

    /// Every tenant (for start-up work).
    pub async fn all_tenants(&self) -> DbResult<Vec<TenantRecord>> {
        sqlx::query(&format!(
            "SELECT {TENANT_COLUMNS} FROM tenants ORDER BY slug"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(tenant)
        .collect()
    }

    /// One page of tenants and the total matching `filter`.
    pub async fn list_tenants(&self, filter: &TenantFilter) -> DbResult<(Vec<TenantRecord>, u64)> {
        let pattern = filter.search.as_ref().map(|s| {
            format!(
                "%{}%",
                s.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
        let condition = "($1 = '' OR status = $2) AND ($3 = '' OR LOWER(slug) LIKE $4 ESCAPE '\\' \
                         OR LOWER(name) LIKE $5 ESCAPE '\\')";
        let status = filter.status.map_or("", |s| s.as_str());
        let pattern = pattern.unwrap_or_default();
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM tenants WHERE {condition}"))
                .bind(status)
                .bind(status)
                .bind(&pattern)
                .bind(&pattern)
                .bind(&pattern)
                .fetch_one(&self.pool)
                .await?;
        let offset = i64::from(filter.page.saturating_sub(1)) * i64::from(filter.per_page);
        let rows = sqlx::query(&format!(
            "SELECT {TENANT_COLUMNS} FROM tenants WHERE {condition} ORDER BY slug \
             LIMIT $6 OFFSET $7"
        ))
        .bind(status)
        .bind(status)
        .bind(&pattern)
        .bind(&pattern)
        .bind(&pattern)
        .bind(i64::from(filter.per_page))
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok((
            rows.iter().map(tenant).collect::<DbResult<_>>()?,
            count(total),
        ))
    }

    /// Updates name and settings, with `event`.
    pub async fn update_tenant(&self, t: &TenantRecord, event: &Event) -> DbResult<()> {
        let mut tx = CoreTx::begin(&self.pool).await?;
        sqlx::query("UPDATE tenants SET name = $1, settings = $2, updated_at = $3 WHERE slug = $4")
            .bind(&t.name)
            .bind(t.settings.to_string())
            .bind(t.updated_at)
            .bind(&t.slug)
            .execute(&mut *tx)
            .await?;
        tx.commit([event]).await?;
        Ok(())
    }

    /// Moves `slug` to `status`, with `event` if any; `false` if it does not exist.
    pub async fn set_tenant_status(
        &self,
        slug: &str,
        status: TenantStatus,
        now: i64,
        event: Option<&Event>,
    ) -> DbResult<bool> {
        let mut tx = CoreTx::begin(&self.pool).await?;
        let done = sqlx::query("UPDATE tenants SET status = $1, updated_at = $2 WHERE slug = $3")
            .bind(status.as_str())
            .bind(now)
            .bind(slug)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        tx.commit(event).await?;
        Ok(true)
    }

    /// Deletes the tenant row. Its users' sessions and tokens stay, revoked (see
    /// [`Self::revoke_sessions_of`]), so that a tenant re-created under the same slug never
    /// honours them.
    pub async fn delete_tenant(&self, slug: &str) -> DbResult<()> {
        sqlx::query("DELETE FROM tenants WHERE slug = $1")
            .bind(slug)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes event `id` from the outbox unless it was relayed already; `false` if it was
    /// (or is not there).
    pub async fn retract_event(&self, id: &str) -> DbResult<bool> {
        let done = sqlx::query(
            "DELETE FROM outbox WHERE id = $1 AND seq > COALESCE((SELECT seq FROM relay_cursors \
             WHERE outbox = 'core'), 0)",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Writes `event` into the outbox on its own.
    pub async fn append_event(&self, event: &Event) -> DbResult<()> {
        let tx = CoreTx::begin(&self.pool).await?;
        tx.commit([event]).await?;
        Ok(())
    }
}
