//! API tokens (stored as hashes), limited to their scopes.

use super::CoreStore;
use crate::db::DbResult;
use sqlx::Row;
use sqlx::any::AnyRow;

const TOKEN_COLUMNS: &str = "id, name, user_id, email, tenant, super_admin, scopes, created_at, \
                             expires_at, revoked_at";

/// An API token row.
#[derive(Debug, Clone)]
pub struct ApiTokenRecord {
    /// Public id.
    pub id: String,
    /// Label.
    pub name: String,
    /// Owner.
    pub user_id: String,
    /// Owner's email.
    pub email: String,
    /// Owner's tenant; `None` for the super admin.
    pub tenant: Option<String>,
    /// Owner is the super admin.
    pub super_admin: bool,
    /// Permissions it is limited to (`*` for all).
    pub scopes: Vec<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub expires_at: i64,
    /// Unix ms.
    pub revoked_at: Option<i64>,
}

fn api_token(row: &AnyRow) -> DbResult<ApiTokenRecord> {
    let scopes: String = row.try_get("scopes")?;
    Ok(ApiTokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        user_id: row.try_get("user_id")?,
        email: row.try_get("email")?,
        tenant: row.try_get("tenant")?,
        super_admin: row.try_get::<i64, _>("super_admin")? != 0,
        scopes: scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl CoreStore {
    /// Stores an API token (its secret as a hash).
    pub async fn insert_api_token(&self, t: &ApiTokenRecord, hash: &str) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, hash, name, user_id, email, tenant, super_admin, \
             scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&t.id)
        .bind(hash)
        .bind(&t.name)
        .bind(&t.user_id)
        .bind(&t.email)
        .bind(&t.tenant)
        .bind(i64::from(t.super_admin))
        .bind(t.scopes.join(" "))
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The API token whose secret hashes to `hash`.
    pub async fn api_token_by_hash(&self, hash: &str) -> DbResult<Option<ApiTokenRecord>> {
        sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE hash = $1"
        ))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(api_token)
        .transpose()
    }

    /// The live API tokens of a user.
    pub async fn api_tokens_of(&self, user_id: &str, now: i64) -> DbResult<Vec<ApiTokenRecord>> {
        sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL \
             AND expires_at > $2 ORDER BY created_at"
        ))
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(api_token)
        .collect()
    }

    /// Revokes token `id` of `user_id`; `false` if there is no such live token.
    pub async fn revoke_api_token(&self, id: &str, user_id: &str, now: i64) -> DbResult<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 \
             AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
