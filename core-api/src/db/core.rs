//! The core database: platform users, tenants, signing keys, sessions, refresh and API tokens.
//! On PostgreSQL its tables live in the schema `core`; on SQLite in `core.db`.

use plexica_sdk::api::core::TenantStatus;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::tx::CoreTx;
use super::{Backend, DbResult, count, inserted, open_pool};
use plexica_sdk::api::events::Event;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/core-api/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/core-api/postgres");

/// The core database.
#[derive(Debug, Clone)]
pub struct CoreStore {
    pool: AnyPool,
    backend: Backend,
}

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

const TENANT_COLUMNS: &str =
    "id, slug, name, status, settings, request_fingerprint, created_at, updated_at";
const TOKEN_COLUMNS: &str = "id, name, user_id, email, tenant, super_admin, scopes, created_at, \
                             expires_at, revoked_at";

impl CoreStore {
    /// Connects to `url` and applies pending core migrations.
    pub async fn connect(url: &str, max_connections: u32) -> DbResult<Self> {
        let backend = Backend::of(url);
        let schema = (backend == Backend::Postgres).then(|| "core".to_owned());
        let pool = open_pool(url, schema, max_connections).await?;
        match backend {
            Backend::Sqlite => SQLITE.run(&pool).await?,
            Backend::Postgres => {
                sqlx::query("CREATE SCHEMA IF NOT EXISTS core")
                    .execute(&pool)
                    .await?;
                POSTGRES.run(&pool).await?;
            }
        }
        Ok(Self { pool, backend })
    }

    /// The pool (PostgreSQL data spaces run their DDL on it).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Does the database answer?
    pub async fn ping(&self) -> DbResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    // Platform users.

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

    // Tenants.

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

    // Signing keys.

    /// Every signing key: `(kid, private PKCS#8 base64, public base64url)`, newest first.
    pub async fn signing_keys(&self) -> DbResult<Vec<(String, String, String)>> {
        let rows = sqlx::query(
            "SELECT kid, private_key, public_key FROM signing_keys ORDER BY created_at DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("kid")?,
                    r.try_get("private_key")?,
                    r.try_get("public_key")?,
                ))
            })
            .collect()
    }

    /// Stores a signing key; `false` if another replica stored one first.
    pub async fn insert_signing_key(
        &self,
        kid: &str,
        private_key: &str,
        public_key: &str,
        now: i64,
    ) -> DbResult<bool> {
        let result = sqlx::query(
            "INSERT INTO signing_keys (kid, private_key, public_key, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(kid)
        .bind(private_key)
        .bind(public_key)
        .bind(now)
        .execute(&self.pool)
        .await;
        inserted(result)
    }

    /// Replaces the private half of signing key `kid`, stored as `before`, with `sealed`
    /// (a replica that sealed it first wins; the value is the same key either way).
    pub async fn reseal_signing_key(&self, kid: &str, before: &str, sealed: &str) -> DbResult<()> {
        sqlx::query("UPDATE signing_keys SET private_key = $1 WHERE kid = $2 AND private_key = $3")
            .bind(sealed)
            .bind(kid)
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // Sessions and refresh tokens.

    /// Opens a session with its first refresh token (stored as a hash).
    pub async fn create_session(
        &self,
        session: &SessionRecord,
        refresh_hash: &str,
        refresh_expires_at: i64,
        now: i64,
    ) -> DbResult<()> {
        let mut tx = super::begin_write(&self.pool).await?;
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
        let mut tx = super::begin_write(&self.pool).await?;
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
        let mut tx = super::begin_write(&self.pool).await?;
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

    // API tokens.

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
