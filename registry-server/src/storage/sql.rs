//! [`MetadataStore`] over SQLite (embedded default) or PostgreSQL (distributed), with one
//! implementation through sqlx's `Any` driver. Queries use `$n` parameters in order of first
//! appearance, integers are `BIGINT` and times Unix milliseconds, so the same SQL runs on both.

use std::str::FromStr;

use async_trait::async_trait;
use plexica_sdk::api::registry::Scope;
use plexica_server::sql::{Backend, begin_write, open_pool};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::*;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/registry/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate!("../migrations/registry/postgres");

/// The SQL metadata store.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
}

fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn scopes_from_text(text: &str) -> Vec<Scope> {
    text.split(',')
        .filter_map(|s| Scope::ALL.into_iter().find(|scope| scope.as_str() == s))
        .collect()
}

fn list_from_text(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl SqlStore {
    /// Connects to `url` (`sqlite://path` or `postgres://…`) and applies pending migrations.
    pub async fn connect(url: &str) -> StorageResult<Self> {
        let sqlite = Backend::of(url) == Backend::Sqlite;
        let pool = open_pool(url, None, if sqlite { 8 } else { 16 }).await?;
        if sqlite {
            SQLITE_MIGRATIONS
                .run(&pool)
                .await
                .map_err(|e| StorageError::Database(e.into()))?;
        } else {
            POSTGRES_MIGRATIONS
                .run(&pool)
                .await
                .map_err(|e| StorageError::Database(e.into()))?;
        }
        Ok(Self { pool })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn user(row: &AnyRow) -> StorageResult<User> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        admin: row.try_get::<i64, _>("admin")? != 0,
    })
}

fn token(row: &AnyRow) -> StorageResult<Token> {
    let scopes: String = row.try_get("scopes")?;
    Ok(Token {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        scopes: scopes_from_text(&scopes),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn key(row: &AnyRow) -> StorageResult<KeyRecord> {
    Ok(KeyRecord {
        key_id: row.try_get("key_id")?,
        public_key: row.try_get("public_key")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn plugin(row: &AnyRow) -> StorageResult<PluginRecord> {
    let keywords: String = row.try_get("keywords")?;
    let categories: String = row.try_get("categories")?;
    Ok(PluginRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        keywords: list_from_text(&keywords),
        categories: list_from_text(&categories),
        latest: row.try_get("latest")?,
        downloads: row.try_get("downloads")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        deprecation_message: row.try_get("deprecation_message")?,
        deprecation_successor: row.try_get("deprecation_successor")?,
    })
}

fn version(row: &AnyRow) -> StorageResult<VersionRecord> {
    Ok(VersionRecord {
        plugin_id: row.try_get("plugin_id")?,
        version: row.try_get("version")?,
        manifest: row.try_get("manifest")?,
        digest: row.try_get("digest")?,
        content_digest: row.try_get("content_digest")?,
        signature: row.try_get("signature")?,
        key_id: row.try_get("key_id")?,
        size: row.try_get("size")?,
        yanked: row.try_get::<i64, _>("yanked")? != 0,
        yank_reason: row.try_get("yank_reason")?,
        published_at: row.try_get("published_at")?,
        published_by: row.try_get("published_by_name")?,
        downloads: row.try_get("downloads")?,
        readme: row.try_get::<i64, _>("readme_count")? > 0,
        changelog: row.try_get::<i64, _>("changelog_count")? > 0,
    })
}

const VERSION_COLUMNS: &str = "v.plugin_id, v.version, v.manifest, v.digest, v.content_digest, \
     v.signature, v.key_id, v.size, v.yanked, v.yank_reason, v.published_at, \
     u.username AS published_by_name, v.downloads, \
     (SELECT COUNT(*) FROM version_documents d WHERE d.plugin_id = v.plugin_id \
      AND d.version = v.version AND d.kind = 'readme') AS readme_count, \
     (SELECT COUNT(*) FROM version_documents d WHERE d.plugin_id = v.plugin_id \
      AND d.version = v.version AND d.kind = 'changelog') AS changelog_count";

const PLUGIN_COLUMNS: &str = "id, name, description, keywords, categories, latest, downloads, \
     created_at, updated_at, deprecation_message, deprecation_successor";

/// The highest release version that is not yanked, by SemVer precedence.
pub fn latest_of<'a>(versions: impl IntoIterator<Item = (&'a str, bool)>) -> Option<String> {
    versions
        .into_iter()
        .filter(|(_, yanked)| !yanked)
        .filter_map(|(v, _)| semver::Version::from_str(v).ok())
        .filter(|v| v.pre.is_empty())
        .max_by(|a, b| a.cmp_precedence(b))
        .map(|v| v.to_string())
}

/// The precedence key of a version: the version without build metadata.
pub fn version_key(version: &semver::Version) -> String {
    let mut key = version.clone();
    key.build = semver::BuildMetadata::EMPTY;
    key.to_string()
}

impl SqlStore {
    async fn refresh_latest(conn: &mut sqlx::AnyConnection, plugin_id: &str) -> StorageResult<()> {
        let rows = sqlx::query("SELECT version, yanked FROM versions WHERE plugin_id = $1")
            .bind(plugin_id)
            .fetch_all(&mut *conn)
            .await?;
        let mut versions = Vec::with_capacity(rows.len());
        for row in &rows {
            versions.push((
                row.try_get::<String, _>("version")?,
                row.try_get::<i64, _>("yanked")? != 0,
            ));
        }
        let latest = latest_of(versions.iter().map(|(v, y)| (v.as_str(), *y)));
        sqlx::query("UPDATE plugins SET latest = $1 WHERE id = $2")
            .bind(latest)
            .bind(plugin_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl MetadataStore for SqlStore {
    async fn ping(&self) -> StorageResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn user_count(&self) -> StorageResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        admin: bool,
    ) -> StorageResult<Option<User>> {
        let now = plexica_sdk::api::time::now_ms();
        let done = sqlx::query(
            "INSERT INTO users (username, password_hash, admin, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(username)
        .bind(password_hash)
        .bind(i64::from(admin))
        .bind(now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.user_by_name(username).await
    }

    async fn user_by_name(&self, username: &str) -> StorageResult<Option<User>> {
        sqlx::query("SELECT id, username, password_hash, admin FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user)
            .transpose()
    }

    async fn user_by_id(&self, id: i64) -> StorageResult<Option<User>> {
        sqlx::query("SELECT id, username, password_hash, admin FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user)
            .transpose()
    }

    async fn create_token(&self, t: &Token, secret_hash: &str) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO tokens (id, user_id, name, secret_hash, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&t.id)
        .bind(t.user_id)
        .bind(&t.name)
        .bind(secret_hash)
        .bind(scopes_to_text(&t.scopes))
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn token_by_hash(&self, secret_hash: &str) -> StorageResult<Option<Token>> {
        sqlx::query(
            "SELECT id, user_id, name, scopes, created_at, expires_at, revoked_at FROM tokens \
             WHERE secret_hash = $1",
        )
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(token)
        .transpose()
    }

    async fn tokens_of(&self, user_id: i64) -> StorageResult<Vec<Token>> {
        sqlx::query(
            "SELECT id, user_id, name, scopes, created_at, expires_at, revoked_at FROM tokens \
             WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(token)
        .collect()
    }

    async fn revoke_token(&self, user_id: i64, token_id: &str, now: i64) -> StorageResult<bool> {
        let done = sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(token_id)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn add_key(&self, user_id: i64, k: &KeyRecord) -> StorageResult<Option<KeyRecord>> {
        // The unique index on `key_id` gives a key to whoever registered it first.
        sqlx::query(
            "INSERT INTO publisher_keys (user_id, key_id, public_key, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(&k.key_id)
        .bind(&k.public_key)
        .bind(k.created_at)
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "SELECT key_id, public_key, created_at, revoked_at FROM publisher_keys \
             WHERE user_id = $1 AND key_id = $2",
        )
        .bind(user_id)
        .bind(&k.key_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(key)
        .transpose()
    }

    async fn put_key_challenge(
        &self,
        id: &str,
        user_id: i64,
        challenge: &str,
        expires_at: i64,
        now: i64,
    ) -> StorageResult<()> {
        sqlx::query("DELETE FROM key_challenges WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO key_challenges (id, user_id, challenge, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(user_id)
        .bind(challenge)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_key_challenge(
        &self,
        id: &str,
        user_id: i64,
        now: i64,
    ) -> StorageResult<Option<String>> {
        sqlx::query(
            "DELETE FROM key_challenges WHERE id = $1 AND user_id = $2 AND expires_at > $3 \
             RETURNING challenge",
        )
        .bind(id)
        .bind(user_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| row.try_get("challenge").map_err(StorageError::from))
        .transpose()
    }

    async fn create_invite(
        &self,
        secret_hash: &str,
        username: &str,
        created_by: i64,
        now: i64,
        expires_at: i64,
    ) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO invites (secret_hash, username, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(secret_hash)
        .bind(username)
        .bind(created_by)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn create_invited_user(
        &self,
        username: &str,
        password_hash: &str,
        secret_hash: &str,
        now: i64,
    ) -> StorageResult<Invited> {
        let mut tx = begin_write(&self.pool).await?;
        let used = sqlx::query(
            "UPDATE invites SET used_at = $1 WHERE secret_hash = $2 AND username = $3 \
             AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(secret_hash)
        .bind(username)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Invited::BadInvite);
        }
        let created = sqlx::query(
            "INSERT INTO users (username, password_hash, admin, created_at) VALUES ($1, $2, 0, $3) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(username)
        .bind(password_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if created.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Invited::NameTaken);
        }
        let row =
            sqlx::query("SELECT id, username, password_hash, admin FROM users WHERE username = $1")
                .bind(username)
                .fetch_one(&mut *tx)
                .await?;
        let created = user(&row)?;
        tx.commit().await?;
        Ok(Invited::Created(created))
    }

    async fn revoke_key(
        &self,
        user_id: i64,
        key_id: &str,
        now: i64,
    ) -> StorageResult<Option<KeyRecord>> {
        sqlx::query(
            "UPDATE publisher_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE user_id = $2 AND key_id = $3",
        )
        .bind(now)
        .bind(user_id)
        .bind(key_id)
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "SELECT key_id, public_key, created_at, revoked_at FROM publisher_keys \
             WHERE user_id = $1 AND key_id = $2",
        )
        .bind(user_id)
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(key)
        .transpose()
    }

    async fn keys_of(&self, user_id: i64) -> StorageResult<Vec<KeyRecord>> {
        sqlx::query(
            "SELECT key_id, public_key, created_at, revoked_at FROM publisher_keys \
             WHERE user_id = $1 ORDER BY created_at, key_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(key)
        .collect()
    }

    async fn take_publish_slot(
        &self,
        user_id: i64,
        now: i64,
        interval_ms: i64,
        burst: i64,
    ) -> StorageResult<Result<(), i64>> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query("INSERT INTO publish_limits (user_id, tat) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let stored: i64 = sqlx::query("SELECT tat FROM publish_limits WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("tat")?;
        let tat = stored.max(now);
        let tolerance = interval_ms * (burst - 1);
        if tat - now > tolerance {
            tx.rollback().await?;
            return Ok(Err(tat - now - tolerance));
        }
        sqlx::query("UPDATE publish_limits SET tat = $1 WHERE user_id = $2")
            .bind(tat + interval_ms)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn take_shared_limit(
        &self,
        limiter: &plexica_server::ratelimit::SharedRateLimiter,
        key: &str,
        what: &'static str,
    ) -> StorageResult<Result<(), plexica_server::ratelimit::Refused>> {
        Ok(limiter.take(&self.pool, key, what).await?)
    }

    async fn refund_publish_slot(&self, user_id: i64, interval_ms: i64) -> StorageResult<()> {
        sqlx::query("UPDATE publish_limits SET tat = tat - $1 WHERE user_id = $2")
            .bind(interval_ms)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn owner_ids(&self, plugin_id: &str) -> StorageResult<Vec<i64>> {
        sqlx::query("SELECT user_id FROM plugin_owners WHERE plugin_id = $1")
            .bind(plugin_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get("user_id").map_err(StorageError::from))
            .collect()
    }

    async fn version_exists(&self, plugin_id: &str, version_key: &str) -> StorageResult<bool> {
        Ok(
            sqlx::query("SELECT 1 AS one FROM versions WHERE plugin_id = $1 AND version_key = $2")
                .bind(plugin_id)
                .bind(version_key)
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    async fn begin_upload(&self, upload_id: &str, digest: &str, now: i64) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO pending_blobs (digest, upload_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(digest)
        .bind(upload_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn abort_upload(&self, upload_id: &str) -> StorageResult<()> {
        sqlx::query("DELETE FROM pending_blobs WHERE upload_id = $1")
            .bind(upload_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn stale_uploads(&self, before: i64) -> StorageResult<Vec<(String, String)>> {
        sqlx::query("SELECT upload_id, digest FROM pending_blobs WHERE created_at < $1")
            .bind(before)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("upload_id")?, r.try_get("digest")?)))
            .collect()
    }

    async fn digest_in_use(&self, digest: &str) -> StorageResult<bool> {
        Ok(
            sqlx::query("SELECT 1 AS one FROM versions WHERE digest = $1")
                .bind(digest)
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    async fn commit_version(&self, new: &NewVersion) -> Result<(), PublishConflict> {
        let v = &new.version;
        let key = semver::Version::from_str(&v.version)
            .map(|parsed| version_key(&parsed))
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let mut tx = begin_write(&self.pool).await.map_err(StorageError::from)?;
        let created = sqlx::query(
            "INSERT INTO plugins (id, name, description, keywords, categories, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&v.plugin_id)
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.keywords.join(","))
        .bind(new.categories.join(","))
        .bind(v.published_at)
        .bind(v.published_at)
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from)?;
        if created.rows_affected() == 1 {
            sqlx::query("INSERT INTO plugin_owners (plugin_id, user_id) VALUES ($1, $2)")
                .bind(&v.plugin_id)
                .bind(new.publisher)
                .execute(&mut *tx)
                .await
                .map_err(StorageError::from)?;
        } else {
            let owner = sqlx::query(
                "SELECT 1 AS one FROM plugin_owners WHERE plugin_id = $1 AND user_id = $2",
            )
            .bind(&v.plugin_id)
            .bind(new.publisher)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StorageError::from)?;
            if owner.is_none() {
                return Err(PublishConflict::NotOwner(v.plugin_id.clone()));
            }
        }
        let inserted = sqlx::query(
            "INSERT INTO versions (plugin_id, version_key, version, manifest, digest, content_digest, \
             signature, key_id, size, yanked, published_at, published_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (plugin_id, version_key) DO NOTHING",
        )
        .bind(&v.plugin_id)
        .bind(&key)
        .bind(&v.version)
        .bind(&v.manifest)
        .bind(&v.digest)
        .bind(&v.content_digest)
        .bind(&v.signature)
        .bind(&v.key_id)
        .bind(v.size)
        .bind(0_i64)
        .bind(v.published_at)
        .bind(new.publisher)
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from)?;
        if inserted.rows_affected() == 0 {
            return Err(PublishConflict::VersionExists(
                v.plugin_id.clone(),
                v.version.clone(),
            ));
        }
        Self::refresh_latest(&mut tx, &v.plugin_id).await?;
        // Catalogue fields follow the latest release, or the newest upload while there is none.
        sqlx::query(
            "UPDATE plugins SET name = $1, description = $2, keywords = $3, categories = $4, updated_at = $5 \
             WHERE id = $6 AND (latest = $7 OR latest IS NULL)",
        )
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.keywords.join(","))
        .bind(new.categories.join(","))
        .bind(v.published_at)
        .bind(&v.plugin_id)
        .bind(&v.version)
        .execute(&mut *tx)
        .await
        .map_err(StorageError::from)?;
        sqlx::query("UPDATE plugins SET updated_at = $1 WHERE id = $2")
            .bind(v.published_at)
            .bind(&v.plugin_id)
            .execute(&mut *tx)
            .await
            .map_err(StorageError::from)?;
        for (kind, body) in &new.documents {
            sqlx::query(
                "INSERT INTO version_documents (plugin_id, version, kind, body) VALUES ($1, $2, $3, $4)",
            )
            .bind(&v.plugin_id)
            .bind(&v.version)
            .bind(kind.as_str())
            .bind(body)
            .execute(&mut *tx)
            .await
            .map_err(StorageError::from)?;
        }
        for image in &new.images {
            sqlx::query(
                "INSERT INTO version_images (plugin_id, version, path, media_type, bytes) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&v.plugin_id)
            .bind(&v.version)
            .bind(&image.path)
            .bind(&image.media_type)
            .bind(&image.bytes)
            .execute(&mut *tx)
            .await
            .map_err(StorageError::from)?;
        }
        sqlx::query("DELETE FROM pending_blobs WHERE upload_id = $1")
            .bind(&new.upload_id)
            .execute(&mut *tx)
            .await
            .map_err(StorageError::from)?;
        tx.commit().await.map_err(StorageError::from)?;
        Ok(())
    }

    async fn plugin(&self, id: &str) -> StorageResult<Option<PluginRecord>> {
        sqlx::query(&format!(
            "SELECT {PLUGIN_COLUMNS} FROM plugins WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(plugin)
        .transpose()
    }

    async fn versions(&self, plugin_id: &str) -> StorageResult<Vec<VersionRecord>> {
        sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM versions v JOIN users u ON u.id = v.published_by \
             WHERE v.plugin_id = $1"
        ))
        .bind(plugin_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(version)
        .collect()
    }

    async fn version_digests(&self, plugin_id: &str) -> StorageResult<Vec<(String, String, bool)>> {
        sqlx::query("SELECT version, digest, yanked FROM versions WHERE plugin_id = $1")
            .bind(plugin_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("version")?,
                    r.try_get("digest")?,
                    r.try_get::<i64, _>("yanked")? != 0,
                ))
            })
            .collect()
    }

    async fn version(&self, plugin_id: &str, wanted: &str) -> StorageResult<Option<VersionRecord>> {
        let key = semver::Version::from_str(wanted)
            .map(|v| version_key(&v))
            .unwrap_or_else(|_| wanted.to_owned());
        sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM versions v JOIN users u ON u.id = v.published_by \
             WHERE v.plugin_id = $1 AND v.version_key = $2"
        ))
        .bind(plugin_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(version)
        .transpose()
    }

    async fn set_yanked(
        &self,
        plugin_id: &str,
        wanted: &str,
        reason: Option<&str>,
    ) -> StorageResult<bool> {
        let key = semver::Version::from_str(wanted)
            .map(|v| version_key(&v))
            .unwrap_or_else(|_| wanted.to_owned());
        let mut tx = begin_write(&self.pool).await?;
        let done = sqlx::query(
            "UPDATE versions SET yanked = $1, yank_reason = $2 WHERE plugin_id = $3 AND version_key = $4",
        )
        .bind(i64::from(reason.is_some()))
        .bind(reason)
        .bind(plugin_id)
        .bind(key)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        Self::refresh_latest(&mut tx, plugin_id).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_deprecation(
        &self,
        plugin_id: &str,
        message: Option<&str>,
        successor: Option<&str>,
    ) -> StorageResult<()> {
        sqlx::query(
            "UPDATE plugins SET deprecation_message = $1, deprecation_successor = $2 WHERE id = $3",
        )
        .bind(message)
        .bind(successor)
        .bind(plugin_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn owners(&self, plugin_id: &str) -> StorageResult<Vec<String>> {
        sqlx::query(
            "SELECT u.username FROM plugin_owners o JOIN users u ON u.id = o.user_id \
             WHERE o.plugin_id = $1 ORDER BY u.username",
        )
        .bind(plugin_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get("username").map_err(StorageError::from))
        .collect()
    }

    async fn add_owners(
        &self,
        plugin_id: &str,
        usernames: &[String],
    ) -> StorageResult<Vec<String>> {
        let mut unknown = Vec::new();
        let mut tx = begin_write(&self.pool).await?;
        for name in usernames {
            let done = sqlx::query(
                "INSERT INTO plugin_owners (plugin_id, user_id) SELECT $1, id FROM users WHERE username = $2 \
                 ON CONFLICT (plugin_id, user_id) DO NOTHING",
            )
            .bind(plugin_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0
                && sqlx::query("SELECT 1 AS one FROM users WHERE username = $1")
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_none()
            {
                unknown.push(name.clone());
            }
        }
        if unknown.is_empty() {
            tx.commit().await?;
        }
        Ok(unknown)
    }

    async fn remove_owners(&self, plugin_id: &str, usernames: &[String]) -> StorageResult<bool> {
        let mut tx = begin_write(&self.pool).await?;
        for name in usernames {
            sqlx::query(
                "DELETE FROM plugin_owners WHERE plugin_id = $1 AND user_id IN (SELECT id FROM users WHERE username = $2)",
            )
            .bind(plugin_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        let left: i64 = sqlx::query("SELECT COUNT(*) AS n FROM plugin_owners WHERE plugin_id = $1")
            .bind(plugin_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if left == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn count_download(&self, plugin_id: &str, wanted: &str) -> StorageResult<()> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(
            "UPDATE versions SET downloads = downloads + 1 WHERE plugin_id = $1 AND version = $2",
        )
        .bind(plugin_id)
        .bind(wanted)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE plugins SET downloads = downloads + 1 WHERE id = $1")
            .bind(plugin_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn all_plugins(&self) -> StorageResult<Vec<PluginRecord>> {
        sqlx::query(&format!("SELECT {PLUGIN_COLUMNS} FROM plugins"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(plugin)
            .collect()
    }

    async fn put_review(
        &self,
        plugin_id: &str,
        user_id: i64,
        rating: i64,
        text: &str,
        now: i64,
    ) -> StorageResult<()> {
        sqlx::query(
            "INSERT INTO reviews (plugin_id, user_id, rating, body, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (plugin_id, user_id) DO UPDATE SET rating = excluded.rating, body = excluded.body, \
             updated_at = excluded.updated_at",
        )
        .bind(plugin_id)
        .bind(user_id)
        .bind(rating)
        .bind(text)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn reviews(&self, plugin_id: &str) -> StorageResult<Vec<ReviewRecord>> {
        sqlx::query(
            "SELECT u.username, r.rating, r.body, r.updated_at FROM reviews r JOIN users u ON u.id = r.user_id \
             WHERE r.plugin_id = $1 ORDER BY r.updated_at DESC, u.username",
        )
        .bind(plugin_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(ReviewRecord {
                username: r.try_get("username")?,
                rating: r.try_get("rating")?,
                text: r.try_get("body")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect()
    }

    async fn totals(&self) -> StorageResult<(i64, i64, i64)> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM plugins) AS plugins, (SELECT COUNT(*) FROM versions) AS versions, \
             (SELECT CAST(COALESCE(SUM(downloads), 0) AS BIGINT) FROM plugins) AS downloads",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((
            row.try_get("plugins")?,
            row.try_get("versions")?,
            row.try_get("downloads")?,
        ))
    }

    async fn top_categories(&self, limit: i64) -> StorageResult<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT categories FROM plugins WHERE categories <> ''")
            .fetch_all(&self.pool)
            .await?;
        let mut counts = std::collections::BTreeMap::<String, i64>::new();
        for row in &rows {
            let text: String = row.try_get("categories")?;
            for category in list_from_text(&text) {
                *counts.entry(category).or_default() += 1;
            }
        }
        let mut sorted: Vec<(String, i64)> = counts.into_iter().collect();
        sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        sorted.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(sorted)
    }

    async fn recent_versions(&self, limit: i64) -> StorageResult<Vec<(String, String, i64)>> {
        sqlx::query("SELECT plugin_id, version, published_at FROM versions ORDER BY published_at DESC, plugin_id LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("plugin_id")?, r.try_get("version")?, r.try_get("published_at")?)))
            .collect()
    }

    async fn document(
        &self,
        plugin_id: &str,
        version: &str,
        kind: DocumentKind,
    ) -> StorageResult<Option<String>> {
        Ok(sqlx::query(
            "SELECT body FROM version_documents WHERE plugin_id = $1 AND version = $2 AND kind = $3",
        )
        .bind(plugin_id)
        .bind(version)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(|r| r.try_get("body"))
        .transpose()?)
    }

    async fn image(
        &self,
        plugin_id: &str,
        version: &str,
        path: &str,
    ) -> StorageResult<Option<Image>> {
        sqlx::query(
            "SELECT media_type, bytes FROM version_images \
             WHERE plugin_id = $1 AND version = $2 AND path = $3",
        )
        .bind(plugin_id)
        .bind(version)
        .bind(path)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| {
            Ok(Image {
                path: path.to_owned(),
                media_type: r.try_get("media_type")?,
                bytes: r.try_get("bytes")?,
            })
        })
        .transpose()
    }

    async fn image_paths(&self, plugin_id: &str, version: &str) -> StorageResult<Vec<String>> {
        sqlx::query(
            "SELECT path FROM version_images WHERE plugin_id = $1 AND version = $2 ORDER BY path",
        )
        .bind(plugin_id)
        .bind(version)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get("path").map_err(StorageError::from))
        .collect()
    }

    async fn key_holder(&self, key_id: &str) -> StorageResult<Option<KeyHolder>> {
        sqlx::query(
            "SELECT u.username, u.id, k.revoked_at FROM publisher_keys k \
             JOIN users u ON u.id = k.user_id WHERE k.key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| {
            Ok(KeyHolder {
                username: r.try_get("username")?,
                user_id: r.try_get("id")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .transpose()
    }

    async fn plugins_owned_by(&self, user_id: i64) -> StorageResult<Vec<PluginRecord>> {
        sqlx::query(&format!(
            "SELECT {PLUGIN_COLUMNS} FROM plugins \
             WHERE id IN (SELECT plugin_id FROM plugin_owners WHERE user_id = $1) ORDER BY id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(plugin)
        .collect()
    }

    async fn prune_credentials(&self, before: i64, batch: i64) -> StorageResult<u64> {
        let mut deleted = 0;
        for sql in [
            "DELETE FROM tokens WHERE id IN (SELECT id FROM tokens \
             WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1) LIMIT $2)",
            "DELETE FROM invites WHERE secret_hash IN (SELECT secret_hash FROM invites \
             WHERE expires_at < $1 OR (used_at IS NOT NULL AND used_at < $1) LIMIT $2)",
        ] {
            deleted += sqlx::query(sql)
                .bind(before)
                .bind(batch)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        deleted += plexica_server::ratelimit::prune_shared(&self.pool).await?;
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_ignores_yanked_and_pre_releases_and_orders_by_semver() {
        let versions = [
            ("1.9.0", false),
            ("1.10.0", false),
            ("2.0.0-beta.1", false),
            ("1.11.0", true),
        ];
        assert_eq!(latest_of(versions), Some("1.10.0".to_owned()));
        assert_eq!(latest_of([("1.0.0-rc.1", false)]), None);
    }
}
