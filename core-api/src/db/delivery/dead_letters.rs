//! The dead letter store: what could not be delivered, until retried or discarded.

use crate::db::DbResult;
use crate::db::core::CoreStore;
use crate::secrets;
use plexica_sdk::api::events::Event;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A dead letter.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Id.
    pub id: String,
    /// The event id.
    pub event_id: String,
    /// Tenant slug.
    pub tenant: String,
    /// Subscriber.
    pub plugin_id: String,
    /// Event type.
    pub event_type: String,
    /// The envelope.
    pub envelope: String,
    /// The last error.
    pub error: String,
    /// Attempts made.
    pub attempts: i64,
    /// `PENDING`, `RETRYING`, `RESOLVED` or `DISCARDED`.
    pub state: String,
    /// Unix ms.
    pub first_attempt_at: i64,
    /// Unix ms.
    pub failed_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

fn dead_letter(row: &AnyRow) -> DbResult<DeadLetter> {
    Ok(DeadLetter {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        tenant: row.try_get("tenant")?,
        plugin_id: row.try_get("plugin_id")?,
        event_type: row.try_get("event_type")?,
        envelope: row.try_get("envelope")?,
        error: row.try_get("error")?,
        attempts: row.try_get("attempts")?,
        state: row.try_get("state")?,
        first_attempt_at: row.try_get("first_attempt_at")?,
        failed_at: row.try_get("failed_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) const DEAD_COLUMNS: &str = "id, event_id, tenant, plugin_id, event_type, envelope, error, attempts, \
                            state, first_attempt_at, failed_at, updated_at";

impl CoreStore {
    /// Records an event that `plugin_id` could not take after `attempts` attempts, pushed to
    /// it through the distributed transport.
    pub async fn insert_dead_letter(
        &self,
        event: &Event,
        plugin_id: &str,
        envelope: &str,
        error: &str,
        attempts: i64,
        now: i64,
    ) -> DbResult<String> {
        let id = secrets::new_id("dl_");
        sqlx::query(&format!(
            "INSERT INTO dead_letters ({DEAD_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, 'PENDING', $9, $10, $11)"
        ))
        .bind(&id)
        .bind(&event.id)
        .bind(&event.tenant)
        .bind(plugin_id)
        .bind(&event.r#type)
        .bind(envelope)
        .bind(error)
        .bind(attempts)
        .bind(now)
        .bind(now)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// Dead letters, newest first, optionally only in `state`.
    pub async fn dead_letters(
        &self,
        state: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> DbResult<(Vec<DeadLetter>, u64)> {
        let state = state.unwrap_or("");
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters WHERE $1 = '' OR state = $2")
                .bind(state)
                .bind(state)
                .fetch_one(self.pool())
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT {DEAD_COLUMNS} FROM dead_letters WHERE $1 = '' OR state = $2 \
             ORDER BY failed_at DESC, id LIMIT $3 OFFSET $4"
        ))
        .bind(state)
        .bind(state)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        Ok((
            rows.iter().map(dead_letter).collect::<DbResult<_>>()?,
            crate::db::count(total),
        ))
    }

    /// One dead letter.
    pub async fn dead_letter_by_id(&self, id: &str) -> DbResult<Option<DeadLetter>> {
        sqlx::query(&format!(
            "SELECT {DEAD_COLUMNS} FROM dead_letters WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(dead_letter)
        .transpose()
    }

    /// Queues a pending dead letter for delivery again (to its subscriber only); `false` when
    /// it is not pending.
    pub async fn retry_dead_letter(&self, id: &str, now: i64) -> DbResult<bool> {
        let mut tx = crate::db::begin_write(self.pool()).await?;
        let done = sqlx::query(
            "UPDATE dead_letters SET state = 'RETRYING', updated_at = $1 WHERE id = $2 AND state = 'PENDING'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO deliveries (event_id, tenant, plugin_id, event_type, envelope, attempts, \
             next_attempt_at, lease_until, dead_letter_id, created_at) SELECT event_id, tenant, \
             plugin_id, event_type, envelope, 0, $1, 0, id, $2 FROM dead_letters WHERE id = $3 \
             ON CONFLICT (tenant, plugin_id, event_id) DO NOTHING",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Discards a dead letter that is not being retried; `false` when there is none such.
    pub async fn discard_dead_letter(&self, id: &str, now: i64) -> DbResult<bool> {
        let done = sqlx::query(
            "UPDATE dead_letters SET state = 'DISCARDED', updated_at = $1 WHERE id = $2 \
             AND state IN ('PENDING', 'RESOLVED')",
        )
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
