//! Teams in a workspace.

use super::TenantDb;
use crate::db::tx::TenantTx;
use crate::db::{DbResult, inserted};
use plexica_sdk::api::events::Event;
use sqlx::Row;
use std::collections::HashMap;

/// A team row with its members.
#[derive(Debug, Clone)]
pub struct TeamRecord {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Member user ids.
    pub members: Vec<String>,
    /// Unix ms.
    pub created_at: i64,
}

impl TenantDb {
    /// Teams of workspace `id`, by name, with their members.
    pub async fn teams(&self, workspace_id: &str) -> DbResult<Vec<TeamRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, description, created_at FROM teams WHERE workspace_id = $1 \
             ORDER BY name",
        )
        .bind(workspace_id)
        .fetch_all(&self.pool)
        .await?;
        let members = sqlx::query(
            "SELECT tm.team_id, tm.user_id FROM team_members tm JOIN teams t ON t.id = tm.team_id \
             WHERE t.workspace_id = $1 ORDER BY tm.user_id",
        )
        .bind(workspace_id)
        .fetch_all(&self.pool)
        .await?;
        let mut by_team: HashMap<String, Vec<String>> = HashMap::new();
        for row in members {
            by_team
                .entry(row.try_get("team_id")?)
                .or_default()
                .push(row.try_get("user_id")?);
        }
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                Ok(TeamRecord {
                    members: by_team.remove(&id).unwrap_or_default(),
                    id,
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Creates a team of workspace members, with `event`; `false` when the name is taken.
    pub async fn create_team(
        &self,
        workspace_id: &str,
        team: &TeamRecord,
        event: &Event,
    ) -> DbResult<bool> {
        let mut tx = TenantTx::begin(&self.pool).await?;
        let result = sqlx::query(
            "INSERT INTO teams (id, workspace_id, name, description, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&team.id)
        .bind(workspace_id)
        .bind(&team.name)
        .bind(&team.description)
        .bind(team.created_at)
        .execute(&mut *tx)
        .await;
        if !inserted(result)? {
            return Ok(false);
        }
        for user_id in &team.members {
            sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)")
                .bind(&team.id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit([event]).await?;
        Ok(true)
    }
}
