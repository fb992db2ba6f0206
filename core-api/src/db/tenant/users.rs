//! A tenant's users and roles.

use super::TenantDb;
use crate::db::tx::TenantTx;
use crate::db::{DbResult, count, inserted};
use plexica_sdk::api::events::Event;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A user row.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// Id.
    pub id: String,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Argon2id PHC string; `None` until a password is set.
    pub password_hash: Option<String>,
    /// Unix ms.
    pub created_at: i64,
}

/// A role row.
#[derive(Debug, Clone)]
pub struct RoleRecord {
    /// Name.
    pub name: String,
    /// Permission strings.
    pub permissions: Vec<String>,
    /// Created at provisioning.
    pub builtin: bool,
}

fn user(row: &AnyRow) -> DbResult<UserRecord> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

fn split_permissions(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl TenantDb {
    /// Inserts a user with `roles` in `tx`; `false` when the email is taken.
    pub async fn insert_user(
        tx: &mut TenantTx,
        u: &UserRecord,
        roles: &[String],
    ) -> DbResult<bool> {
        let result = sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&u.id)
        .bind(&u.email)
        .bind(&u.name)
        .bind(&u.password_hash)
        .bind(u.created_at)
        .bind(u.created_at)
        .execute(&mut **tx)
        .await;
        if !inserted(result)? {
            return Ok(false);
        }
        for role in roles {
            sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                .bind(&u.id)
                .bind(role)
                .execute(&mut **tx)
                .await?;
        }
        Ok(true)
    }

    /// Inserts a role in `tx`.
    pub async fn insert_role(tx: &mut TenantTx, role: &RoleRecord, now: i64) -> DbResult<bool> {
        let result = sqlx::query(
            "INSERT INTO roles (name, permissions, builtin, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&role.name)
        .bind(role.permissions.join(" "))
        .bind(i64::from(role.builtin))
        .bind(now)
        .execute(&mut **tx)
        .await;
        inserted(result)
    }

    /// The user `id`.
    pub async fn user(&self, id: &str) -> DbResult<Option<UserRecord>> {
        sqlx::query("SELECT id, email, name, password_hash, created_at FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user)
            .transpose()
    }

    /// The user with `email`.
    pub async fn user_by_email(&self, email: &str) -> DbResult<Option<UserRecord>> {
        sqlx::query("SELECT id, email, name, password_hash, created_at FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user)
            .transpose()
    }

    /// One page of users (by email) and the total.
    pub async fn list_users(&self, page: u32, per_page: u32) -> DbResult<(Vec<UserRecord>, u64)> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(
            "SELECT id, email, name, password_hash, created_at FROM users ORDER BY email \
             LIMIT $1 OFFSET $2",
        )
        .bind(i64::from(per_page))
        .bind(i64::from(page.saturating_sub(1)) * i64::from(per_page))
        .fetch_all(&self.pool)
        .await?;
        Ok((
            rows.iter().map(user).collect::<DbResult<_>>()?,
            count(total),
        ))
    }

    /// Updates name and password hash, with `event`.
    pub async fn update_user(&self, u: &UserRecord, now: i64, event: &Event) -> DbResult<()> {
        let mut tx = TenantTx::begin(&self.pool).await?;
        sqlx::query(
            "UPDATE users SET name = $1, password_hash = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(&u.name)
        .bind(&u.password_hash)
        .bind(now)
        .bind(&u.id)
        .execute(&mut *tx)
        .await?;
        tx.commit([event]).await?;
        Ok(())
    }

    /// Deletes user `id`, with `event`, unless it is the last admin of a workspace (then
    /// returns those workspaces' slugs and deletes nothing).
    pub async fn delete_user(
        &self,
        id: &str,
        event: &Event,
    ) -> DbResult<Result<bool, Vec<String>>> {
        let mut tx = TenantTx::begin(&self.pool).await?;
        // Lock the user's workspaces (a write) so that concurrent demotions serialize.
        sqlx::query(
            "UPDATE workspaces SET updated_at = updated_at WHERE id IN \
             (SELECT workspace_id FROM workspace_members WHERE user_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let sole: Vec<String> = sqlx::query_scalar(
            "SELECT w.slug FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id \
             WHERE m.user_id = $1 AND m.role = 'admin' AND (SELECT COUNT(*) FROM \
             workspace_members a WHERE a.workspace_id = m.workspace_id AND a.role = 'admin') = 1 \
             ORDER BY w.slug",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        if !sole.is_empty() {
            return Ok(Err(sole));
        }
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(Ok(false));
        }
        tx.commit([event]).await?;
        Ok(Ok(true))
    }

    /// The roles of user `id`.
    pub async fn user_roles(&self, id: &str) -> DbResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
                .bind(id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The roles of user `id` and the union of their permissions.
    pub async fn user_permissions(&self, id: &str) -> DbResult<(Vec<String>, Vec<String>)> {
        let rows = sqlx::query(
            "SELECT r.name, r.permissions FROM user_roles ur JOIN roles r ON r.name = ur.role \
             WHERE ur.user_id = $1 ORDER BY r.name",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut roles = Vec::new();
        let mut permissions = Vec::new();
        for row in rows {
            roles.push(row.try_get("name")?);
            let text: String = row.try_get("permissions")?;
            permissions.extend(split_permissions(&text));
        }
        permissions.sort();
        permissions.dedup();
        Ok((roles, permissions))
    }

    /// Replaces the roles of user `id`, with `event`.
    pub async fn set_user_roles(&self, id: &str, roles: &[String], event: &Event) -> DbResult<()> {
        let mut tx = TenantTx::begin(&self.pool).await?;
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for role in roles {
            sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                .bind(id)
                .bind(role)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit([event]).await?;
        Ok(())
    }

    /// Every role.
    pub async fn roles(&self) -> DbResult<Vec<RoleRecord>> {
        let rows = sqlx::query("SELECT name, permissions, builtin FROM roles ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("permissions")?;
                Ok(RoleRecord {
                    name: r.try_get("name")?,
                    permissions: split_permissions(&text),
                    builtin: r.try_get::<i64, _>("builtin")? != 0,
                })
            })
            .collect()
    }

    /// Numbers of users and workspaces.
    pub async fn usage(&self) -> DbResult<(u64, u64)> {
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        let workspaces: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces")
            .fetch_one(&self.pool)
            .await?;
        Ok((count(users), count(workspaces)))
    }
}
