//! Storage. The core database holds platform-wide rows ([`core::CoreStore`]); each tenant's
//! data lives in its own data space ([`spaces::DataSpaces`]: one SQLite file per tenant, or a
//! PostgreSQL schema per tenant) reached only through a pool bound to that tenant
//! ([`tenant::TenantDb`]). Both backends run the same SQL through sqlx's `Any` driver:
//! integers and booleans are `BIGINT`, times Unix milliseconds, and `$n` parameters appear in
//! order, each once.

pub mod core;
pub mod data;
pub mod delivery;
pub mod outbox;
pub mod plugin_sql;
pub mod plugins;
pub mod retention;
pub mod shared;
pub mod spaces;
mod sqlite_authorizer;
pub mod tenant;
pub mod tx;

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database refused or could not be reached.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A tenant's data space could not be created, opened or dropped.
    #[error("data space: {0}")]
    Space(String),
    /// The guard around plugin SQL could not be set up.
    #[error("plugin SQL guard: {0}")]
    Guard(String),
    /// The database refused a plugin's SQL: what it tried.
    #[error("refused by the database: the plugin's SQL tried to {0}")]
    Refused(String),
    /// A value could not be encoded for storage.
    #[error("encoding: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Result of a storage call.
pub type DbResult<T> = Result<T, DbError>;

/// Which engine a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files (embedded default).
    Sqlite,
    /// PostgreSQL (distributed).
    Postgres,
}

impl Backend {
    /// The backend of `url` (`sqlite:` or `postgres:`/`postgresql:`).
    pub fn of(url: &str) -> Self {
        if url.starts_with("sqlite:") {
            Self::Sqlite
        } else {
            Self::Postgres
        }
    }
}

/// Opens a pool on `url`. On PostgreSQL every connection is bound, when it is opened and for
/// its whole life, to `schema` (which must already be validated); SQLite connections get
/// their pragmas.
pub async fn open_pool(url: &str, schema: Option<String>, max: u32) -> DbResult<AnyPool> {
    sqlx::any::install_default_drivers();
    sqlite_authorizer::install()?;
    let backend = Backend::of(url);
    let pool = AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(0)
        .idle_timeout(Duration::from_secs(30))
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |conn, _meta| {
            let schema = schema.clone();
            Box::pin(async move {
                match backend {
                    Backend::Sqlite => {
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                    }
                    Backend::Postgres => {
                        if let Some(schema) = schema {
                            conn.execute(format!("SET search_path TO \"{schema}\"").as_str())
                                .await?;
                        }
                    }
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    if backend == Backend::Sqlite {
        pool.execute("PRAGMA journal_mode = WAL").await?;
    }
    Ok(pool)
}

/// Starts a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), so that a transaction reading before it writes waits for other writers
/// instead of failing with "database is locked" when one committed in between.
pub async fn begin_write(pool: &AnyPool) -> DbResult<sqlx::Transaction<'static, sqlx::Any>> {
    let sqlite = pool.connect_options().database_url.scheme() == "sqlite";
    Ok(if sqlite {
        pool.begin_with("BEGIN IMMEDIATE").await?
    } else {
        pool.begin().await?
    })
}

/// Is `e` a unique-constraint violation?
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// `true` when an insert went in, `false` when it hit a unique constraint (the row exists);
/// any other failure is an error.
pub fn inserted<T>(result: Result<T, sqlx::Error>) -> DbResult<bool> {
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Reads a `BIGINT` count as `u64`.
pub fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
