//! `/api/v1/tenants/{t}/workspaces`: workspaces, their members and teams. The route table
//! decides who may call what (member / ADMIN); the rules here are about the data: unique
//! slugs, the default workspace, the last ADMIN, deletion of non-empty workspaces.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use plexica_sdk::api::core::{
    AddMemberRequest, CreateTeamRequest, CreateWorkspaceRequest, Member, Page,
    SetMemberRoleRequest, Team, UpdateWorkspaceRequest, Workspace, WorkspaceRole,
};
use plexica_sdk::api::time::{now_ms, rfc3339};
use plexica_sdk::event_name::CoreEvent;
use serde::Deserialize;
use serde_json::json;

use super::correlation::TenantEvents;
use super::guard::Caller;
use super::{JsonBody, Paging, QueryParams, check_settings};
use crate::authz::{TenantScope, WorkspaceScope};
use crate::db::tenant::{
    MemberChange, MemberRecord, TeamRecord, TenantDb, WorkspaceRecord, WorkspaceSort,
};
use crate::error::{ApiError, ApiResult};
use crate::secrets;
use crate::slug::{check_name, check_workspace_slug};

fn workspace_dto(w: &WorkspaceRecord, role: Option<WorkspaceRole>) -> Workspace {
    Workspace {
        id: w.id.clone(),
        slug: w.slug.clone(),
        name: w.name.clone(),
        description: w.description.clone(),
        settings: w.settings.clone(),
        is_default: w.is_default,
        role,
        member_count: w.member_count,
        team_count: w.team_count,
        created_at: rfc3339(w.created_at),
        updated_at: rfc3339(w.updated_at),
    }
}

fn member_dto(m: MemberRecord) -> Member {
    Member {
        user_id: m.user_id,
        email: m.email,
        name: m.name,
        role: m.role,
        added_at: rfc3339(m.created_at),
    }
}

fn check_description(description: Option<&String>) -> ApiResult<()> {
    match description {
        Some(d) if d.chars().count() > 1000 => Err(ApiError::invalid(
            "description",
            "`description` has at most 1000 characters",
        )),
        _ => Ok(()),
    }
}

fn last_admin() -> ApiError {
    ApiError::conflict(
        "LAST_WORKSPACE_ADMIN",
        "a workspace keeps at least one admin: make someone else admin first",
    )
}

fn member_not_found() -> ApiError {
    ApiError::not_found("MEMBER_NOT_FOUND", "no such member of this workspace")
}

/// `POST /api/v1/tenants/{t}/workspaces`: the creator becomes its ADMIN (the super admin,
/// who is not a tenant user, creates it without members; tenant admins manage it).
pub async fn create(
    Caller(principal): Caller,
    scope: TenantScope,
    events: TenantEvents,
    JsonBody(request): JsonBody<CreateWorkspaceRequest>,
) -> ApiResult<(StatusCode, Json<Workspace>)> {
    check_workspace_slug(&request.slug).map_err(|m| ApiError::invalid("slug", m))?;
    check_name("name", &request.name).map_err(|m| ApiError::invalid("name", m))?;
    check_description(request.description.as_ref())?;
    let now = now_ms();
    let admin = (!principal.super_admin).then_some(principal.user_id.as_str());
    let workspace = WorkspaceRecord {
        id: secrets::new_id("ws_"),
        slug: request.slug,
        name: request.name,
        description: request.description,
        settings: check_settings(request.settings)?,
        is_default: false,
        role: admin.map(|_| WorkspaceRole::Admin),
        member_count: u64::from(admin.is_some()),
        team_count: 0,
        created_at: now,
        updated_at: now,
    };
    let mut tx = scope.db.begin().await?;
    if !TenantDb::insert_workspace(&mut tx, &workspace, &principal.user_id, admin).await? {
        return Err(ApiError::conflict(
            "WORKSPACE_EXISTS",
            format!("a workspace `{}` exists in this tenant", workspace.slug),
        ));
    }
    let data =
        json!({ "workspace_id": workspace.id, "slug": workspace.slug, "name": workspace.name });
    let event = events.workspace_event(CoreEvent::WorkspaceCreated, &workspace.slug, data);
    tx.commit([&event]).await?;
    Ok((
        StatusCode::CREATED,
        Json(workspace_dto(&workspace, Some(WorkspaceRole::Admin))),
    ))
}

/// Query of `GET /workspaces`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    sort: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// `GET /api/v1/tenants/{t}/workspaces`: the caller's workspaces (all of them for tenant
/// admins), with the caller's role and counts.
pub async fn list(
    Caller(principal): Caller,
    scope: TenantScope,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<Workspace>>> {
    let (page, per_page) = Paging {
        page: query.page,
        per_page: query.per_page,
    }
    .resolve()?;
    let sort = match query.sort.as_deref() {
        None | Some("") => WorkspaceSort::default(),
        Some(s) => WorkspaceSort::parse(s).ok_or_else(|| {
            ApiError::invalid("sort", "sort is one of name, slug, created_at, -created_at")
        })?,
    };
    let admin = scope.allows("workspaces:admin");
    let (rows, total) = scope
        .db
        .list_workspaces(&principal.user_id, admin, sort, page, per_page)
        .await?;
    Ok(Json(Page {
        data: rows
            .iter()
            .map(|w| {
                workspace_dto(
                    w,
                    if admin {
                        Some(WorkspaceRole::Admin)
                    } else {
                        w.role
                    },
                )
            })
            .collect(),
        total,
        page,
        per_page,
    }))
}

/// `GET /api/v1/tenants/{t}/workspaces/{ws}`.
pub async fn get(ws: WorkspaceScope) -> Json<Workspace> {
    Json(workspace_dto(&ws.workspace, Some(ws.role)))
}

/// `PATCH /api/v1/tenants/{t}/workspaces/{ws}`.
pub async fn update(
    scope: TenantScope,
    ws: WorkspaceScope,
    events: TenantEvents,
    JsonBody(request): JsonBody<UpdateWorkspaceRequest>,
) -> ApiResult<Json<Workspace>> {
    let mut workspace = ws.workspace;
    if let Some(name) = request.name {
        check_name("name", &name).map_err(|m| ApiError::invalid("name", m))?;
        workspace.name = name;
    }
    if request.description.is_some() {
        check_description(request.description.as_ref())?;
        workspace.description = request.description;
    }
    if request.settings.is_some() {
        workspace.settings = check_settings(request.settings)?;
    }
    workspace.updated_at = now_ms();
    let data = json!({
        "workspace_id": workspace.id, "slug": workspace.slug, "name": workspace.name,
        "description": workspace.description, "settings": workspace.settings,
    });
    let event = events.workspace_event(CoreEvent::WorkspaceUpdated, &workspace.slug, data);
    scope.db.update_workspace(&workspace, &event).await?;
    Ok(Json(workspace_dto(&workspace, Some(ws.role))))
}

/// Query of `DELETE /workspaces/{ws}`.
#[derive(Debug, Deserialize)]
pub struct DeleteQuery {
    #[serde(default)]
    force: bool,
}

/// `DELETE /api/v1/tenants/{t}/workspaces/{ws}`: never the default workspace; with teams or
/// members other than the caller only with `?force=true`.
pub async fn delete(
    Caller(principal): Caller,
    scope: TenantScope,
    ws: WorkspaceScope,
    events: TenantEvents,
    QueryParams(query): QueryParams<DeleteQuery>,
) -> ApiResult<StatusCode> {
    let w = &ws.workspace;
    if w.is_default {
        return Err(ApiError::conflict(
            "DEFAULT_WORKSPACE",
            "the tenant's default workspace cannot be deleted",
        ));
    }
    let others = scope
        .db
        .members(&w.id)
        .await?
        .iter()
        .filter(|m| m.user_id != principal.user_id)
        .count();
    if !query.force && (others > 0 || w.team_count > 0) {
        return Err(ApiError::conflict(
            "WORKSPACE_NOT_EMPTY",
            format!(
                "the workspace has {others} other member(s) and {} team(s); pass `?force=true` \
                 (`--force`) to delete it anyway",
                w.team_count
            ),
        ));
    }
    let data = json!({ "workspace_id": w.id, "slug": w.slug });
    let event = events.workspace_event(CoreEvent::WorkspaceDeleted, &w.slug, data);
    scope.db.delete_workspace(&w.id, &event).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/tenants/{t}/workspaces/{ws}/members`.
pub async fn members(scope: TenantScope, ws: WorkspaceScope) -> ApiResult<Json<Vec<Member>>> {
    let members = scope.db.members(&ws.workspace.id).await?;
    Ok(Json(members.into_iter().map(member_dto).collect()))
}

/// `POST /api/v1/tenants/{t}/workspaces/{ws}/members`: `user_id` may be an id or an email.
pub async fn add_member(
    scope: TenantScope,
    ws: WorkspaceScope,
    events: TenantEvents,
    JsonBody(request): JsonBody<AddMemberRequest>,
) -> ApiResult<(StatusCode, Json<Member>)> {
    let user = match scope.db.user(&request.user_id).await? {
        Some(u) => Some(u),
        None if request.user_id.contains('@') => {
            scope
                .db
                .user_by_email(&request.user_id.trim().to_lowercase())
                .await?
        }
        None => None,
    }
    .ok_or_else(|| ApiError::not_found("USER_NOT_FOUND", "no such user in this tenant"))?;
    let data = json!({ "workspace_id": ws.workspace.id, "user_id": user.id, "role": request.role });
    let event = events.workspace_event(CoreEvent::WorkspaceMemberAdded, &ws.workspace.slug, data);
    match scope
        .db
        .add_member(&ws.workspace.id, &user.id, request.role, now_ms(), &event)
        .await?
    {
        MemberChange::Done => {}
        MemberChange::Exists => {
            return Err(ApiError::conflict(
                "MEMBER_EXISTS",
                format!("{} is already a member", user.email),
            ));
        }
        MemberChange::NotFound | MemberChange::LastAdmin => return Err(member_not_found()),
    }
    let member = scope
        .db
        .member(&ws.workspace.id, &user.id)
        .await?
        .ok_or_else(member_not_found)?;
    Ok((StatusCode::CREATED, Json(member_dto(member))))
}

/// `GET /api/v1/tenants/{t}/workspaces/{ws}/members/{user}`.
pub async fn member(
    scope: TenantScope,
    ws: WorkspaceScope,
    Path((_, _, user)): Path<(String, String, String)>,
) -> ApiResult<Json<Member>> {
    let member = scope
        .db
        .member(&ws.workspace.id, &user)
        .await?
        .ok_or_else(member_not_found)?;
    Ok(Json(member_dto(member)))
}

/// `PATCH /api/v1/tenants/{t}/workspaces/{ws}/members/{user}`: the last ADMIN cannot be
/// demoted.
pub async fn set_member_role(
    scope: TenantScope,
    ws: WorkspaceScope,
    events: TenantEvents,
    Path((_, _, user)): Path<(String, String, String)>,
    JsonBody(request): JsonBody<SetMemberRoleRequest>,
) -> ApiResult<Json<Member>> {
    let data = json!({ "workspace_id": ws.workspace.id, "user_id": user, "role": request.role });
    let event = events.workspace_event(
        CoreEvent::WorkspaceMemberRoleUpdated,
        &ws.workspace.slug,
        data,
    );
    match scope
        .db
        .change_member(
            &ws.workspace.id,
            &user,
            Some(request.role),
            now_ms(),
            &event,
        )
        .await?
    {
        MemberChange::Done => {}
        MemberChange::LastAdmin => return Err(last_admin()),
        MemberChange::NotFound | MemberChange::Exists => return Err(member_not_found()),
    }
    let member = scope
        .db
        .member(&ws.workspace.id, &user)
        .await?
        .ok_or_else(member_not_found)?;
    Ok(Json(member_dto(member)))
}

/// `DELETE /api/v1/tenants/{t}/workspaces/{ws}/members/{user}`: the last ADMIN cannot be
/// removed.
pub async fn remove_member(
    scope: TenantScope,
    ws: WorkspaceScope,
    events: TenantEvents,
    Path((_, _, user)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let data = json!({ "workspace_id": ws.workspace.id, "user_id": user });
    let event = events.workspace_event(CoreEvent::WorkspaceMemberRemoved, &ws.workspace.slug, data);
    match scope
        .db
        .change_member(&ws.workspace.id, &user, None, now_ms(), &event)
        .await?
    {
        MemberChange::Done => Ok(StatusCode::NO_CONTENT),
        MemberChange::LastAdmin => Err(last_admin()),
        MemberChange::NotFound | MemberChange::Exists => Err(member_not_found()),
    }
}

fn team_dto(t: TeamRecord) -> Team {
    Team {
        id: t.id,
        name: t.name,
        description: t.description,
        members: t.members,
        created_at: rfc3339(t.created_at),
    }
}

/// `GET /api/v1/tenants/{t}/workspaces/{ws}/teams`.
pub async fn teams(scope: TenantScope, ws: WorkspaceScope) -> ApiResult<Json<Vec<Team>>> {
    let teams = scope.db.teams(&ws.workspace.id).await?;
    Ok(Json(teams.into_iter().map(team_dto).collect()))
}

/// `POST /api/v1/tenants/{t}/workspaces/{ws}/teams`: members must be workspace members.
pub async fn create_team(
    scope: TenantScope,
    ws: WorkspaceScope,
    events: TenantEvents,
    JsonBody(request): JsonBody<CreateTeamRequest>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    check_name("name", &request.name).map_err(|m| ApiError::invalid("name", m))?;
    check_description(request.description.as_ref())?;
    let members = scope.db.members(&ws.workspace.id).await?;
    let mut ids = request.members;
    ids.sort();
    ids.dedup();
    if let Some(outsider) = ids
        .iter()
        .find(|id| !members.iter().any(|m| &m.user_id == *id))
    {
        return Err(ApiError::invalid(
            "members",
            format!(
                "`{}` is not a member of this workspace",
                outsider.escape_debug()
            ),
        ));
    }
    let team = TeamRecord {
        id: secrets::new_id("tm_"),
        name: request.name,
        description: request.description,
        members: ids,
        created_at: now_ms(),
    };
    let data = json!({
        "workspace_id": ws.workspace.id, "team_id": team.id, "name": team.name,
        "members": team.members,
    });
    let event = events.workspace_event(CoreEvent::TeamCreated, &ws.workspace.slug, data);
    if !scope
        .db
        .create_team(&ws.workspace.id, &team, &event)
        .await?
    {
        return Err(ApiError::conflict(
            "TEAM_EXISTS",
            format!("a team `{}` exists in this workspace", team.name),
        ));
    }
    Ok((StatusCode::CREATED, Json(team_dto(team))))
}
