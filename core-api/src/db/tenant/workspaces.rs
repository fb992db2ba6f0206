//! A tenant's workspaces, each listed with the asking user's role and its counts.

use super::TenantDb;
use super::{WORKSPACE_SELECT, WORKSPACE_SELECT_COUNTED, role_of};
use crate::db::tx::TenantTx;
use crate::db::{DbResult, count, inserted};
use plexica_sdk::api::core::WorkspaceRole;
use plexica_sdk::api::events::Event;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A workspace row, with the asking user's role and counts.
#[derive(Debug, Clone)]
pub struct WorkspaceRecord {
    /// Id.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Settings object.
    pub settings: Value,
    /// The tenant's default workspace.
    pub is_default: bool,
    /// The asking user's membership role.
    pub role: Option<WorkspaceRole>,
    /// Members.
    pub member_count: u64,
    /// Teams.
    pub team_count: u64,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// How a workspace list is ordered (`?sort=`).
#[derive(Debug, Clone, Copy, Default)]
pub enum WorkspaceSort {
    /// By name (default).
    #[default]
    Name,
    /// By slug.
    Slug,
    /// Oldest first.
    Created,
    /// Newest first.
    CreatedDesc,
}

impl WorkspaceSort {
    /// Parses `name`, `slug`, `created_at`, `-created_at`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "name" => Some(Self::Name),
            "slug" => Some(Self::Slug),
            "created_at" => Some(Self::Created),
            "-created_at" => Some(Self::CreatedDesc),
            _ => None,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Self::Name => "w.name, w.slug",
            Self::Slug => "w.slug",
            Self::Created => "w.created_at, w.slug",
            Self::CreatedDesc => "w.created_at DESC, w.slug",
        }
    }
}

fn workspace(row: &AnyRow) -> DbResult<WorkspaceRecord> {
    let settings: String = row.try_get("settings")?;
    let role: Option<String> = row.try_get("my_role")?;
    Ok(WorkspaceRecord {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        settings: serde_json::from_str(&settings).unwrap_or(Value::Null),
        is_default: row.try_get::<i64, _>("is_default")? != 0,
        role: role.as_deref().map(role_of),
        member_count: count(row.try_get("member_count")?),
        team_count: count(row.try_get("team_count")?),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl TenantDb {
    /// Inserts a workspace in `tx`, with `admin` (if any) as its first ADMIN; `false` when
    /// the slug is taken.
    pub async fn insert_workspace(
        tx: &mut TenantTx,
        w: &WorkspaceRecord,
        created_by: &str,
        admin: Option<&str>,
    ) -> DbResult<bool> {
        let result = sqlx::query(
            "INSERT INTO workspaces (id, slug, name, description, settings, is_default, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&w.id)
        .bind(&w.slug)
        .bind(&w.name)
        .bind(&w.description)
        .bind(w.settings.to_string())
        .bind(i64::from(w.is_default))
        .bind(created_by)
        .bind(w.created_at)
        .bind(w.updated_at)
        .execute(&mut **tx)
        .await;
        if !inserted(result)? {
            return Ok(false);
        }
        if let Some(admin) = admin {
            sqlx::query(
                "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&w.id)
            .bind(admin)
            .bind(WorkspaceRole::Admin.as_str())
            .bind(w.created_at)
            .execute(&mut **tx)
            .await?;
        }
        Ok(true)
    }

    /// The id of workspace `slug`, if there is one.
    pub async fn workspace_id(&self, slug: &str) -> DbResult<Option<String>> {
        let row = sqlx::query("SELECT id FROM workspaces WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// The workspace `slug`, with `user_id`'s role in it.
    pub async fn workspace(&self, slug: &str, user_id: &str) -> DbResult<Option<WorkspaceRecord>> {
        sqlx::query(&format!("{WORKSPACE_SELECT} WHERE w.slug = $2"))
            .bind(user_id)
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(workspace)
            .transpose()
    }

    /// One page of workspaces: all of them when `all`, else those `user_id` belongs to. The
    /// total comes with the rows (a window count): one round trip per page.
    pub async fn list_workspaces(
        &self,
        user_id: &str,
        all: bool,
        sort: WorkspaceSort,
        page: u32,
        per_page: u32,
    ) -> DbResult<(Vec<WorkspaceRecord>, u64)> {
        let rows = sqlx::query(&format!(
            "{WORKSPACE_SELECT_COUNTED} WHERE $2 = 1 OR m.user_id IS NOT NULL ORDER BY {} \
             LIMIT $3 OFFSET $4",
            sort.sql()
        ))
        .bind(user_id)
        .bind(i64::from(all))
        .bind(i64::from(per_page))
        .bind(i64::from(page.saturating_sub(1)) * i64::from(per_page))
        .fetch_all(&self.pool)
        .await?;
        let total = match rows.first() {
            Some(row) => count(row.try_get("total_count")?),
            // Past the last page: count without rows.
            None => count(
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM workspaces w WHERE $1 = 1 OR EXISTS (SELECT 1 FROM \
                     workspace_members m WHERE m.workspace_id = w.id AND m.user_id = $2)",
                )
                .bind(i64::from(all))
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?,
            ),
        };
        Ok((rows.iter().map(workspace).collect::<DbResult<_>>()?, total))
    }

    /// Updates name, description and settings, with `event`.
    pub async fn update_workspace(&self, w: &WorkspaceRecord, event: &Event) -> DbResult<()> {
        let mut tx = TenantTx::begin(&self.pool).await?;
        sqlx::query(
            "UPDATE workspaces SET name = $1, description = $2, settings = $3, updated_at = $4 \
             WHERE id = $5",
        )
        .bind(&w.name)
        .bind(&w.description)
        .bind(w.settings.to_string())
        .bind(w.updated_at)
        .bind(&w.id)
        .execute(&mut *tx)
        .await?;
        tx.commit([event]).await?;
        Ok(())
    }

    /// Deletes workspace `id` with its members and teams, with `event`.
    pub async fn delete_workspace(&self, id: &str, event: &Event) -> DbResult<()> {
        let mut tx = TenantTx::begin(&self.pool).await?;
        sqlx::query("DELETE FROM workspaces WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit([event]).await?;
        Ok(())
    }
}
