//! One tenant's data: users, roles, workspaces, members and teams. A [`TenantDb`] is a pool
//! bound to one tenant's data space for its whole life; [`TenantDbs`] keeps one per tenant.

use std::collections::HashMap;
use std::sync::Arc;

use plexica_sdk::api::core::WorkspaceRole;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use tokio::sync::RwLock;

use super::plugin_sql::PluginSpace;
use super::spaces::DataSpaces;
use super::tx::TenantTx;
use super::{Backend, DbResult, count, inserted};
use crate::slug::TenantSlug;
use plexica_sdk::api::events::Event;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/core-api/tenant/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/core-api/tenant/postgres");

/// A user row.
#[derive(Debug, Clone)]
pub struct UserRecord {
    /// Id.
    pub id: String,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Argon2id PHC string; `None` until a password is set.
    pub password_hash: Option<String>,
    /// Unix ms.
    pub created_at: i64,
}

/// A role row.
#[derive(Debug, Clone)]
pub struct RoleRecord {
    /// Name.
    pub name: String,
    /// Permission strings.
    pub permissions: Vec<String>,
    /// Created at provisioning.
    pub builtin: bool,
}

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

fn user(row: &AnyRow) -> DbResult<UserRecord> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

fn role_of(text: &str) -> WorkspaceRole {
    WorkspaceRole::parse(text).unwrap_or(WorkspaceRole::Viewer)
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

fn split_permissions(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
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

    // Users and roles.

    /// Inserts a user with `roles` in `tx`; `false` when the email is taken.
    pub async fn insert_user(
        tx: &mut TenantTx,
        u: &UserRecord,
        roles: &[String],
    ) -> DbResult<bool> {
        let result = sqlx::query(
            "INSERT INTO users (id, email, name, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&u.id)
        .bind(&u.email)
        .bind(&u.name)
        .bind(&u.password_hash)
        .bind(u.created_at)
        .bind(u.created_at)
        .execute(&mut **tx)
        .await;
        if !inserted(result)? {
            return Ok(false);
        }
        for role in roles {
            sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                .bind(&u.id)
                .bind(role)
                .execute(&mut **tx)
                .await?;
        }
        Ok(true)
    }

    /// Inserts a role in `tx`.
    pub async fn insert_role(tx: &mut TenantTx, role: &RoleRecord, now: i64) -> DbResult<bool> {
        let result = sqlx::query(
            "INSERT INTO roles (name, permissions, builtin, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&role.name)
        .bind(role.permissions.join(" "))
        .bind(i64::from(role.builtin))
        .bind(now)
        .execute(&mut **tx)
        .await;
        inserted(result)
    }

    /// The user `id`.
    pub async fn user(&self, id: &str) -> DbResult<Option<UserRecord>> {
        sqlx::query("SELECT id, email, name, password_hash, created_at FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user)
            .transpose()
    }

    /// The user with `email`.
    pub async fn user_by_email(&self, email: &str) -> DbResult<Option<UserRecord>> {
        sqlx::query("SELECT id, email, name, password_hash, created_at FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(user)
            .transpose()
    }

    /// One page of users (by email) and the total.
    pub async fn list_users(&self, page: u32, per_page: u32) -> DbResult<(Vec<UserRecord>, u64)> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(
            "SELECT id, email, name, password_hash, created_at FROM users ORDER BY email \
             LIMIT $1 OFFSET $2",
        )
        .bind(i64::from(per_page))
        .bind(i64::from(page.saturating_sub(1)) * i64::from(per_page))
        .fetch_all(&self.pool)
        .await?;
        Ok((
            rows.iter().map(user).collect::<DbResult<_>>()?,
            count(total),
        ))
    }

    /// Updates name and password hash, with `event`.
    pub async fn update_user(&self, u: &UserRecord, now: i64, event: &Event) -> DbResult<()> {
        let mut tx = TenantTx::begin(&self.pool).await?;
        sqlx::query(
            "UPDATE users SET name = $1, password_hash = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(&u.name)
        .bind(&u.password_hash)
        .bind(now)
        .bind(&u.id)
        .execute(&mut *tx)
        .await?;
        tx.commit([event]).await?;
        Ok(())
    }

    /// Deletes user `id`, with `event`, unless it is the last admin of a workspace (then
    /// returns those workspaces' slugs and deletes nothing).
    pub async fn delete_user(
        &self,
        id: &str,
        event: &Event,
    ) -> DbResult<Result<bool, Vec<String>>> {
        let mut tx = TenantTx::begin(&self.pool).await?;
        // Lock the user's workspaces (a write) so that concurrent demotions serialize.
        sqlx::query(
            "UPDATE workspaces SET updated_at = updated_at WHERE id IN \
             (SELECT workspace_id FROM workspace_members WHERE user_id = $1)",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let sole: Vec<String> = sqlx::query_scalar(
            "SELECT w.slug FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id \
             WHERE m.user_id = $1 AND m.role = 'admin' AND (SELECT COUNT(*) FROM \
             workspace_members a WHERE a.workspace_id = m.workspace_id AND a.role = 'admin') = 1 \
             ORDER BY w.slug",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        if !sole.is_empty() {
            return Ok(Err(sole));
        }
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(Ok(false));
        }
        tx.commit([event]).await?;
        Ok(Ok(true))
    }

    /// The roles of user `id`.
    pub async fn user_roles(&self, id: &str) -> DbResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
                .bind(id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The roles of user `id` and the union of their permissions.
    pub async fn user_permissions(&self, id: &str) -> DbResult<(Vec<String>, Vec<String>)> {
        let rows = sqlx::query(
            "SELECT r.name, r.permissions FROM user_roles ur JOIN roles r ON r.name = ur.role \
             WHERE ur.user_id = $1 ORDER BY r.name",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut roles = Vec::new();
        let mut permissions = Vec::new();
        for row in rows {
            roles.push(row.try_get("name")?);
            let text: String = row.try_get("permissions")?;
            permissions.extend(split_permissions(&text));
        }
        permissions.sort();
        permissions.dedup();
        Ok((roles, permissions))
    }

    /// Replaces the roles of user `id`, with `event`.
    pub async fn set_user_roles(&self, id: &str, roles: &[String], event: &Event) -> DbResult<()> {
        let mut tx = TenantTx::begin(&self.pool).await?;
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for role in roles {
            sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                .bind(id)
                .bind(role)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit([event]).await?;
        Ok(())
    }

    /// Every role.
    pub async fn roles(&self) -> DbResult<Vec<RoleRecord>> {
        let rows = sqlx::query("SELECT name, permissions, builtin FROM roles ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("permissions")?;
                Ok(RoleRecord {
                    name: r.try_get("name")?,
                    permissions: split_permissions(&text),
                    builtin: r.try_get::<i64, _>("builtin")? != 0,
                })
            })
            .collect()
    }

    /// Numbers of users and workspaces.
    pub async fn usage(&self) -> DbResult<(u64, u64)> {
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        let workspaces: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces")
            .fetch_one(&self.pool)
            .await?;
        Ok((count(users), count(workspaces)))
    }

    // Workspaces.

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

    // Members and teams.

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
