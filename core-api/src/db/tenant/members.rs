//! Workspace members.

use super::TenantDb;
use super::role_of;
use crate::db::tx::TenantTx;
use crate::db::{DbResult, inserted};
use plexica_sdk::api::core::WorkspaceRole;
use plexica_sdk::api::events::Event;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A member row joined with its user.
#[derive(Debug, Clone)]
pub struct MemberRecord {
    /// User id.
    pub user_id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: WorkspaceRole,
    /// Unix ms.
    pub created_at: i64,
}

/// Why a membership change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    /// Done.
    Done,
    /// The user or membership does not exist.
    NotFound,
    /// Already a member.
    Exists,
    /// It would leave the workspace without an admin.
    LastAdmin,
}

fn member(row: &AnyRow) -> DbResult<MemberRecord> {
    let role: String = row.try_get("role")?;
    Ok(MemberRecord {
        user_id: row.try_get("user_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: role_of(&role),
        created_at: row.try_get("created_at")?,
    })
}

impl TenantDb {
    /// Members of workspace `id`, by email.
    pub async fn members(&self, workspace_id: &str) -> DbResult<Vec<MemberRecord>> {
        sqlx::query(
            "SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM workspace_members m \
             JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 ORDER BY u.email",
        )
        .bind(workspace_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(member)
        .collect()
    }

    /// One member.
    pub async fn member(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> DbResult<Option<MemberRecord>> {
        sqlx::query(
            "SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM workspace_members m \
             JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND m.user_id = $2",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(member)
        .transpose()
    }

    /// Adds `user_id` to the workspace, with `event`.
    pub async fn add_member(
        &self,
        workspace_id: &str,
        user_id: &str,
        role: WorkspaceRole,
        now: i64,
        event: &Event,
    ) -> DbResult<MemberChange> {
        let mut tx = TenantTx::begin(&self.pool).await?;
        let result = sqlx::query(
            "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(workspace_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await;
        if !inserted(result)? {
            return Ok(MemberChange::Exists);
        }
        tx.commit([event]).await?;
        Ok(MemberChange::Done)
    }

    /// Changes a member's role (`Some`) or removes the member (`None`), with `event`, refusing
    /// to leave the workspace without an admin. The workspace row is written first, so that
    /// concurrent changes to one workspace serialize on both backends.
    pub async fn change_member(
        &self,
        workspace_id: &str,
        user_id: &str,
        role: Option<WorkspaceRole>,
        now: i64,
        event: &Event,
    ) -> DbResult<MemberChange> {
        let mut tx = TenantTx::begin(&self.pool).await?;
        sqlx::query("UPDATE workspaces SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(workspace_id)
            .execute(&mut *tx)
            .await?;
        let current: Option<String> = sqlx::query_scalar(
            "SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(current) = current else {
            return Ok(MemberChange::NotFound);
        };
        if role_of(&current) == WorkspaceRole::Admin && role != Some(WorkspaceRole::Admin) {
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM workspace_members WHERE workspace_id = $1 AND role = 'admin'",
            )
            .bind(workspace_id)
            .fetch_one(&mut *tx)
            .await?;
            if admins <= 1 {
                return Ok(MemberChange::LastAdmin);
            }
        }
        match role {
            Some(role) => {
                sqlx::query(
                    "UPDATE workspace_members SET role = $1 WHERE workspace_id = $2 AND user_id = $3",
                )
                .bind(role.as_str())
                .bind(workspace_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2",
                )
                .bind(workspace_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "DELETE FROM team_members WHERE user_id = $1 AND team_id IN \
                     (SELECT id FROM teams WHERE workspace_id = $2)",
                )
                .bind(user_id)
                .bind(workspace_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit([event]).await?;
        Ok(MemberChange::Done)
    }
}
