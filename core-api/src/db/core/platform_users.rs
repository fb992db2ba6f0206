//! Platform users: the super admin's account.

use super::CoreStore;
use crate::db::{DbResult, count};
use sqlx::Row;

/// The platform's super admin account.
#[derive(Debug, Clone)]
pub struct PlatformUser {
    /// Id.
    pub id: String,
    /// Login name (`admin`).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
}

impl CoreStore {
    /// Number of platform users.
    pub async fn platform_user_count(&self) -> DbResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM platform_users")
            .fetch_one(&self.pool)
            .await?;
        Ok(count(n))
    }

    /// Creates a platform user.
    pub async fn create_platform_user(&self, user: &PlatformUser, now: i64) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO platform_users (id, email, name, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&user.id)
        .bind(&user.email)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The platform user with `email`.
    pub async fn platform_user_by_email(&self, email: &str) -> DbResult<Option<PlatformUser>> {
        let row = sqlx::query(
            "SELECT id, email, name, password_hash FROM platform_users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(PlatformUser {
                id: r.try_get("id")?,
                email: r.try_get("email")?,
                name: r.try_get("name")?,
                password_hash: r.try_get("password_hash")?,
            })
        })
        .transpose()
    }
}
