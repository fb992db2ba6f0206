//! Pruning (what [`crate::retention`] schedules): each statement deletes one bounded batch, so
//! no lock is held for long and writers go on between batches.

use sqlx::AnyPool;

use super::DbResult;
use super::core::CoreStore;

/// Deletes up to `batch` events of the outbox in `pool` that the relay has taken (`seq` at or
/// below `cursor`) and that are older than `before` (Unix ms). An event the relay has not
/// taken is never deleted, however old. Returns how many were deleted.
pub async fn prune_outbox(pool: &AnyPool, cursor: i64, before: i64, batch: i64) -> DbResult<u64> {
    let done = sqlx::query(
        "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox \
         WHERE seq <= $1 AND created_at < $2 ORDER BY seq LIMIT $3)",
    )
    .bind(cursor)
    .bind(before)
    .bind(batch)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

impl CoreStore {
    /// Deletes up to `batch` dead letters settled (`RESOLVED` or `DISCARDED`) before `before`.
    /// Pending ones wait for an operator, however old.
    pub async fn prune_dead_letters(&self, before: i64, batch: i64) -> DbResult<u64> {
        let done = sqlx::query(
            "DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters \
             WHERE state IN ('RESOLVED', 'DISCARDED') AND updated_at < $1 LIMIT $2)",
        )
        .bind(before)
        .bind(batch)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Deletes up to `batch` of each kind of credential that can no longer be used since
    /// before `before`: refresh tokens expired, sessions left without a refresh token, API
    /// tokens expired or revoked, install tokens revoked; and sessions revoked before
    /// `revoked_before` (which the caller keeps older than any access token of theirs that
    /// is still valid: a revoked session is what refuses them). Returns how many rows went.
    pub async fn prune_credentials(
        &self,
        before: i64,
        revoked_before: i64,
        batch: i64,
    ) -> DbResult<u64> {
        let statements = [
            "DELETE FROM refresh_tokens WHERE hash IN (SELECT hash FROM refresh_tokens \
             WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM api_tokens WHERE id IN (SELECT id FROM api_tokens \
             WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1) LIMIT $2)",
            "DELETE FROM install_tokens WHERE hash IN (SELECT hash FROM install_tokens \
             WHERE revoked_at IS NOT NULL AND revoked_at < $1 LIMIT $2)",
        ];
        let mut deleted = 0;
        for sql in statements {
            deleted += sqlx::query(sql)
                .bind(before)
                .bind(batch)
                .execute(self.pool())
                .await?
                .rows_affected();
        }
        // Placeholders in order of first appearance: SQLite numbers `$n` that way.
        deleted += sqlx::query(
            "DELETE FROM sessions WHERE id IN (SELECT s.id FROM sessions s \
             WHERE (s.revoked_at IS NULL AND s.created_at < $1 AND NOT EXISTS \
                 (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id)) \
             OR (s.revoked_at IS NOT NULL AND s.revoked_at < $2) LIMIT $3)",
        )
        .bind(before)
        .bind(revoked_before)
        .bind(batch)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(deleted)
    }
}
