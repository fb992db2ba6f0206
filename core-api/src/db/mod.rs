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

use sqlx::AnyPool;

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

pub use plexica_server::sql::Backend;

/// Opens a pool on `url` ([`plexica_server::sql::open_pool`]) once the SQLite guard around
/// plugin SQL is installed. On PostgreSQL every connection is bound to `schema` (which must
/// already be validated) for its whole life.
pub async fn open_pool(url: &str, schema: Option<String>, max: u32) -> DbResult<AnyPool> {
    sqlite_authorizer::install()?;
    Ok(plexica_server::sql::open_pool(url, schema, max).await?)
}

/// Starts a transaction that will write ([`plexica_server::sql::begin_write`]: on SQLite it
/// takes the write lock at once).
pub async fn begin_write(pool: &AnyPool) -> DbResult<sqlx::Transaction<'static, sqlx::Any>> {
    Ok(plexica_server::sql::begin_write(pool).await?)
}

/// `true` when an insert went in, `false` when it hit a unique constraint (the row exists);
/// any other failure is an error.
pub fn inserted<T>(result: Result<T, sqlx::Error>) -> DbResult<bool> {
    Ok(plexica_server::sql::inserted(result)?)
}

/// Reads a `BIGINT` count as `u64`.
pub fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
