//! Login sessions and their refresh tokens (stored as hashes).

use super::CoreStore;
use crate::db::DbResult;
use sqlx::Row;

/// A login session: the family of its refresh tokens.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// Id (the `sid` claim of its access tokens).
    pub id: String,
    /// The user.
    pub user_id: String,
    /// The user's email.
    pub email: String,
    /// The user's tenant; `None` for the super admin.
    pub tenant: Option<String>,
    /// Is it the super admin's?
    pub super_admin: bool,
    /// Unix ms, when revoked.
    pub revoked_at: Option<i64>,
}

/// A refresh token row.
#[derive(Debug, Clone)]
pub struct RefreshRecord {
    /// Its session.
    pub session_id: String,
    /// Unix ms.
    pub expires_at: i64,
    /// Unix ms, when traded in.
    pub used_at: Option<i64>,
}

impl CoreStore {
    /// Opens a session with its first refresh token (stored as a hash).
    pub async fn create_session(
        &self,
        session: &SessionRecord,
        refresh_hash: &str,
        refresh_expires_at: i64,
        now: i64,
    ) -> DbResult<()> {
        let mut tx = crate::db::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, email, tenant, super_admin, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(&session.email)
        .bind(&session.tenant)
        .bind(i64::from(session.super_admin))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (hash, session_id, expires_at, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(refresh_hash)
        .bind(&session.id)
        .bind(refresh_expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session `id`.
    pub async fn session(&self, id: &str) -> DbResult<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT id, user_id, email, tenant, super_admin, revoked_at FROM sessions \
             WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                id: r.try_get("id")?,
                user_id: r.try_get("user_id")?,
                email: r.try_get("email")?,
                tenant: r.try_get("tenant")?,
                super_admin: r.try_get::<i64, _>("super_admin")? != 0,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .transpose()
    }

    /// The refresh token with `hash`.
    pub async fn refresh_token(&self, hash: &str) -> DbResult<Option<RefreshRecord>> {
        let row = sqlx::query(
            "SELECT session_id, expires_at, used_at FROM refresh_tokens WHERE hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(RefreshRecord {
                session_id: r.try_get("session_id")?,
                expires_at: r.try_get("expires_at")?,
                used_at: r.try_get("used_at")?,
            })
        })
        .transpose()
    }

    /// Trades refresh token `old_hash` for `new_hash` in one transaction; `false` (nothing
    /// changed) when `old_hash` was already used: the caller then revokes the family.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        session_id: &str,
        expires_at: i64,
        now: i64,
    ) -> DbResult<bool> {
        let mut tx = crate::db::begin_write(&self.pool).await?;
        let used = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(old_hash)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (hash, session_id, expires_at, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(new_hash)
        .bind(session_id)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Revokes session `id` (and so every refresh token of its family).
    pub async fn revoke_session(&self, id: &str, now: i64) -> DbResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Revokes every session and API token of `user_id` in `tenant` (all users when `None`),
    /// except session `keep_session`; returns the ids of the sessions it revoked.
    pub async fn revoke_sessions_of(
        &self,
        tenant: &str,
        user_id: Option<&str>,
        keep_session: Option<&str>,
        now: i64,
    ) -> DbResult<Vec<String>> {
        let user = user_id.unwrap_or("");
        let keep = keep_session.unwrap_or("");
        let mut tx = crate::db::begin_write(&self.pool).await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM sessions WHERE tenant = $1 AND ($2 = '' OR user_id = $3) \
             AND revoked_at IS NULL AND id <> $4",
        )
        .bind(tenant)
        .bind(user)
        .bind(user)
        .bind(keep)
        .fetch_all(&mut *tx)
        .await?;
        // Only a session is kept: every API token goes.
        for (table, keep) in [("sessions", keep), ("api_tokens", "")] {
            sqlx::query(&format!(
                "UPDATE {table} SET revoked_at = $1 WHERE tenant = $2 \
                 AND ($3 = '' OR user_id = $4) AND revoked_at IS NULL AND id <> $5"
            ))
            .bind(now)
            .bind(tenant)
            .bind(user)
            .bind(user)
            .bind(keep)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Ids of sessions revoked at or after `since` (Unix ms).
    pub async fn sessions_revoked_since(&self, since: i64) -> DbResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM sessions WHERE revoked_at >= $1")
                .bind(since)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
