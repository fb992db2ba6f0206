//! The relay's cursors: how far each outbox has been relayed.

use crate::db::DbResult;
use crate::db::core::CoreStore;
use sqlx::Row;

/// Moves the relay cursor of `outbox` forward to `seq` (never back) in `tx`.
pub(super) async fn advance_cursor(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    outbox: &str,
    seq: i64,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO relay_cursors (outbox, seq) VALUES ($1, $2) ON CONFLICT (outbox) \
         DO UPDATE SET seq = excluded.seq WHERE relay_cursors.seq < excluded.seq",
    )
    .bind(outbox)
    .bind(seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl CoreStore {
    /// Every relay cursor, by outbox.
    pub async fn relay_cursors(&self) -> DbResult<std::collections::HashMap<String, i64>> {
        let rows = sqlx::query("SELECT outbox, seq FROM relay_cursors")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("outbox")?, r.try_get("seq")?)))
            .collect()
    }

    /// How far the relay has moved `outbox`, whose events are behind `pool`. An outbox without
    /// a cursor yet starts after the last event an older version marked relayed (0 if none).
    pub async fn relay_cursor(&self, outbox: &str, pool: &sqlx::AnyPool) -> DbResult<i64> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM relay_cursors WHERE outbox = $1")
                .bind(outbox)
                .fetch_optional(self.pool())
                .await?;
        if let Some(seq) = seq {
            return Ok(seq);
        }
        let relayed: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM outbox WHERE relayed_at IS NOT NULL")
                .fetch_one(pool)
                .await?;
        Ok(relayed.unwrap_or(0))
    }

    /// Moves each `(outbox, seq)` relay cursor forward, in one transaction.
    pub async fn advance_relay_cursors(&self, cursors: &[(String, i64)]) -> DbResult<()> {
        let mut tx = crate::db::begin_write(self.pool()).await?;
        for (outbox, seq) in cursors {
            advance_cursor(&mut tx, outbox, *seq).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
