//! Tenants' data spaces: where a tenant's tables live. [`SqliteFiles`] keeps one database
//! file per tenant under the data directory; [`PostgresSchemas`] one schema per tenant in the
//! core database. A data space is named only from a validated [`TenantSlug`], and its name is
//! checked again against `^tenant_[a-z0-9_]{1,55}$` before any DDL.

use std::path::PathBuf;

use async_trait::async_trait;
use sqlx::AnyPool;

use super::{DbError, DbResult, open_pool, plugin_sql};
use crate::slug::TenantSlug;

/// Creates, opens and drops tenants' data spaces.
#[async_trait]
pub trait DataSpaces: Send + Sync {
    /// Creates the empty data space of `slug`; fails if it exists.
    async fn create(&self, slug: &TenantSlug) -> DbResult<()>;
    /// A pool whose connections can reach only the data space of `slug`.
    async fn open(&self, slug: &TenantSlug, max_connections: u32) -> DbResult<AnyPool>;
    /// Drops the data space of `slug` and everything in it; succeeds if it does not exist.
    /// Pools on it must be closed first.
    async fn drop_space(&self, slug: &TenantSlug) -> DbResult<()>;
    /// Slugs of every data space that exists (to find orphans after a crash).
    async fn list(&self) -> DbResult<Vec<TenantSlug>>;
}

/// One SQLite file per tenant: `<dir>/<slug>.db`.
#[derive(Debug, Clone)]
pub struct SqliteFiles {
    dir: PathBuf,
}

impl SqliteFiles {
    /// Data spaces under `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> DbResult<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| DbError::Space(e.to_string()))?;
        Ok(Self { dir })
    }

    fn file(&self, slug: &TenantSlug) -> PathBuf {
        self.dir.join(format!("{}.db", slug.schema_name()))
    }

    fn url(&self, slug: &TenantSlug, create: bool) -> String {
        format!(
            "sqlite://{}?mode={}",
            self.file(slug).display(),
            if create { "rwc" } else { "rw" }
        )
    }
}

#[async_trait]
impl DataSpaces for SqliteFiles {
    async fn create(&self, slug: &TenantSlug) -> DbResult<()> {
        let file = self.file(slug);
        if file.exists() {
            return Err(DbError::Space(format!("{} exists", file.display())));
        }
        let pool = open_pool(&self.url(slug, true), None, 1).await?;
        pool.close().await;
        Ok(())
    }

    async fn open(&self, slug: &TenantSlug, max_connections: u32) -> DbResult<AnyPool> {
        open_pool(&self.url(slug, false), None, max_connections).await
    }

    async fn drop_space(&self, slug: &TenantSlug) -> DbResult<()> {
        let file = self.file(slug);
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = file.clone().into_os_string();
            path.push(suffix);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(DbError::Space(e.to_string())),
            }
        }
        Ok(())
    }

    async fn list(&self) -> DbResult<Vec<TenantSlug>> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| DbError::Space(e.to_string()))?;
        Ok(entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                TenantSlug::from_schema_name(name.strip_suffix(".db")?)
            })
            .collect())
    }
}

/// One PostgreSQL schema per tenant, `tenant_<slug with - → _>`, in the core database.
#[derive(Debug, Clone)]
pub struct PostgresSchemas {
    url: String,
    admin: AnyPool,
}

impl PostgresSchemas {
    /// Schemas in the database at `url`; `admin` runs the DDL.
    pub fn new(url: impl Into<String>, admin: AnyPool) -> Self {
        Self {
            url: url.into(),
            admin,
        }
    }
}

#[async_trait]
impl DataSpaces for PostgresSchemas {
    async fn create(&self, slug: &TenantSlug) -> DbResult<()> {
        let schema = slug.schema_name();
        sqlx::query(&format!("CREATE SCHEMA \"{schema}\""))
            .execute(&self.admin)
            .await?;
        Ok(())
    }

    async fn open(&self, slug: &TenantSlug, max_connections: u32) -> DbResult<AnyPool> {
        open_pool(&self.url, Some(slug.schema_name()), max_connections).await
    }

    async fn drop_space(&self, slug: &TenantSlug) -> DbResult<()> {
        let schema = slug.schema_name();
        let mut tx = self.admin.begin().await?;
        sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&mut *tx)
            .await?;
        plugin_sql::drop_tenant_plugins(&mut tx, &schema).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list(&self) -> DbResult<Vec<TenantSlug>> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(schema_name AS TEXT) FROM information_schema.schemata \
             WHERE schema_name LIKE 'tenant\\_%'",
        )
        .fetch_all(&self.admin)
        .await?;
        Ok(names
            .iter()
            .filter_map(|n| TenantSlug::from_schema_name(n))
            .collect())
    }
}
