//! The core database: platform users, tenants, signing keys, sessions, refresh and API tokens.
//! On PostgreSQL its tables live in the schema `core`; on SQLite in `core.db`.

mod api_tokens;
mod platform_users;
mod sessions;
mod signing_keys;
mod tenants;

pub use api_tokens::ApiTokenRecord;
pub use platform_users::PlatformUser;
pub use sessions::{RefreshRecord, SessionRecord};
pub use tenants::{TenantFilter, TenantRecord};

use sqlx::AnyPool;

use super::{Backend, DbResult, open_pool};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/core-api/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/core-api/postgres");

/// The core database.
#[derive(Debug, Clone)]
pub struct CoreStore {
    pool: AnyPool,
    backend: Backend,
}

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
}
