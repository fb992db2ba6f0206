//! One tenant's data: users, roles, workspaces, members and teams. A [`TenantDb`] is a pool
//! bound to one tenant's data space for its whole life; [`TenantDbs`] keeps one per tenant.

mod members;
mod teams;
mod users;
mod workspaces;

pub use members::{MemberChange, MemberRecord};
pub use teams::TeamRecord;
pub use users::{RoleRecord, UserRecord};
pub use workspaces::{WorkspaceRecord, WorkspaceSort};

use std::collections::HashMap;
use std::sync::Arc;

use plexica_sdk::api::core::WorkspaceRole;
use sqlx::AnyPool;
use tokio::sync::RwLock;

use super::plugin_sql::PluginSpace;
use super::spaces::DataSpaces;
use super::tx::TenantTx;
use super::{Backend, DbResult};
use crate::slug::TenantSlug;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/core-api/tenant/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/core-api/tenant/postgres");

fn role_of(text: &str) -> WorkspaceRole {
    WorkspaceRole::parse(text).unwrap_or(WorkspaceRole::Viewer)
}

/// The workspace columns, the asking user's role (`$1`) and counts, plus `$extra` columns.
macro_rules! workspace_select {
    ($extra:literal) => {
        concat!(
            "SELECT w.id, w.slug, w.name, w.description, w.settings, w.is_default, \
             w.created_at, w.updated_at, m.role AS my_role, \
             (SELECT COUNT(*) FROM workspace_members x WHERE x.workspace_id = w.id) AS member_count, \
             (SELECT COUNT(*) FROM teams t WHERE t.workspace_id = w.id) AS team_count",
            $extra,
            " FROM workspaces w LEFT JOIN workspace_members m ON m.workspace_id = w.id \
             AND m.user_id = $1"
        )
    };
}

const WORKSPACE_SELECT: &str = workspace_select!("");
const WORKSPACE_SELECT_COUNTED: &str = workspace_select!(", COUNT(*) OVER () AS total_count");

/// One tenant's database handle.
#[derive(Debug, Clone)]
pub struct TenantDb {
    pool: AnyPool,
    /// PostgreSQL: the database and the tenant's schema.
    postgres: Option<(String, String)>,
}

impl TenantDb {
    /// Where `plugin_id`'s tables are in this tenant's data space, and as whom its SQL runs.
    pub fn plugin_space(&self, plugin_id: &str) -> PluginSpace {
        match &self.postgres {
            Some((database, schema)) => PluginSpace::postgres(database, schema, plugin_id),
            None => PluginSpace::sqlite(plugin_id),
        }
    }

    /// The pool (bound to this tenant).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies pending tenant migrations (idempotent).
    pub async fn migrate(&self, backend: Backend) -> DbResult<()> {
        match backend {
            Backend::Sqlite => SQLITE.run(&self.pool).await?,
            Backend::Postgres => POSTGRES.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Starts a write transaction on this tenant's data.
    pub async fn begin(&self) -> DbResult<TenantTx> {
        TenantTx::begin(&self.pool).await
    }
}

/// The tenants' data spaces and one open pool per tenant in use.
#[derive(Clone)]
pub struct TenantDbs {
    spaces: Arc<dyn DataSpaces>,
    backend: Backend,
    pools: Arc<RwLock<HashMap<TenantSlug, TenantDb>>>,
    max_connections: u32,
}

impl std::fmt::Debug for TenantDbs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantDbs")
            .field("backend", &self.backend)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl TenantDbs {
    /// Pools of at most `max_connections` per tenant over `spaces`.
    pub fn new(spaces: Arc<dyn DataSpaces>, backend: Backend, max_connections: u32) -> Self {
        Self {
            spaces,
            backend,
            pools: Arc::default(),
            max_connections,
        }
    }

    /// The data spaces.
    pub fn spaces(&self) -> &dyn DataSpaces {
        self.spaces.as_ref()
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The handle of tenant `slug`, opening its pool on first use.
    pub async fn get(&self, slug: &TenantSlug) -> DbResult<TenantDb> {
        if let Some(db) = self.pools.read().await.get(slug) {
            return Ok(db.clone());
        }
        let mut pools = self.pools.write().await;
        if let Some(db) = pools.get(slug) {
            return Ok(db.clone());
        }
        let pool = self.spaces.open(slug, self.max_connections).await?;
        let postgres = match self.backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let database: String = sqlx::query_scalar("SELECT current_database()::text")
                    .fetch_one(&pool)
                    .await?;
                Some((database, slug.schema_name()))
            }
        };
        let db = TenantDb { pool, postgres };
        pools.insert(slug.clone(), db.clone());
        Ok(db)
    }

    /// Closes and forgets the pool of `slug` (before its data space is dropped).
    pub async fn close(&self, slug: &TenantSlug) {
        if let Some(db) = self.pools.write().await.remove(slug) {
            db.pool.close().await;
        }
    }

    /// Closes every pool.
    pub async fn close_all(&self) {
        let pools: Vec<TenantDb> = self.pools.write().await.drain().map(|(_, db)| db).collect();
        for db in pools {
            db.pool.close().await;
        }
    }
}
