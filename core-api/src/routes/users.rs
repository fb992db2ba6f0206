//! `/api/v1/tenants/{t}/users` and `/roles`: a tenant's users and roles. Nobody can hand out
//! a role (or make one) granting more than they hold with the credential they use, nor
//! change, demote or remove a user who holds more.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plexica_sdk::api::core::{
    CreateRoleRequest, CreateUserRequest, Page, Role, SetRolesRequest, UpdateUserRequest, User,
};
use plexica_sdk::api::time::{now_ms, rfc3339};
use plexica_sdk::event_name::CoreEvent;
use serde::Deserialize;
use serde_json::json;

use super::correlation::TenantEvents;
use super::guard::Caller;
use super::{JsonBody, Paging, QueryParams};
use crate::auth::{Credential, passwords};
use crate::authz::{TenantScope, is_permission};
use crate::db::tenant::{RoleRecord, TenantDb, UserRecord};
use crate::error::{ApiError, ApiResult};
use crate::secrets;
use crate::slug::{check_email, check_name};
use crate::state::AppState;

fn user_dto(u: &UserRecord, roles: Vec<String>) -> User {
    User {
        id: u.id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        roles,
        created_at: rfc3339(u.created_at),
        initial_password: None,
        credentials_revoked: None,
    }
}

/// Refuses to act on user `id` when they hold anything the caller does not
/// ([`TenantScope::first_not_allowed`]): a lesser role never changes, demotes or removes a
/// greater one.
async fn check_outranks(scope: &TenantScope, id: &str) -> ApiResult<()> {
    let (_, held) = scope.db.user_permissions(id).await?;
    match scope.first_not_allowed(&held) {
        Some(p) => Err(ApiError::forbidden(
            "FORBIDDEN",
            format!("you cannot change this user: they hold `{p}`, which you do not"),
        )
        .with_details(json!({ "held": p }))),
        None => Ok(()),
    }
}

fn not_found() -> ApiError {
    ApiError::not_found("USER_NOT_FOUND", "no such user in this tenant")
}

/// Refuses roles that do not exist or grant more than the caller holds (with its credential:
/// an API token's scopes bound what it may grant).
async fn check_assignable(scope: &TenantScope, roles: &[String]) -> ApiResult<()> {
    let known = scope.db.roles().await?;
    for name in roles {
        let role = known.iter().find(|r| &r.name == name).ok_or_else(|| {
            ApiError::invalid(
                "roles",
                format!("no role `{}` in this tenant", name.escape_debug()),
            )
        })?;
        if let Some(p) = scope.first_not_allowed(&role.permissions) {
            return Err(ApiError::forbidden(
                "FORBIDDEN",
                format!("you cannot grant role `{name}`: it holds `{p}`, which you do not"),
            ));
        }
    }
    Ok(())
}

/// `POST /api/v1/tenants/{t}/users`: 201; a generated password is returned once.
pub async fn create(
    scope: TenantScope,
    events: TenantEvents,
    JsonBody(request): JsonBody<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<User>)> {
    check_email(&request.email).map_err(|m| ApiError::invalid("email", m))?;
    let email = request.email.trim().to_lowercase();
    let name = request
        .name
        .clone()
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    check_name("name", &name).map_err(|m| ApiError::invalid("name", m))?;
    let (password, generated) = match request.password.clone() {
        Some(p) => {
            passwords::check(&p)?;
            (p, false)
        }
        None => (secrets::new_password(), true),
    };
    let roles = request
        .roles
        .clone()
        .unwrap_or_else(|| vec!["member".to_owned()]);
    check_assignable(&scope, &roles).await?;
    let user = UserRecord {
        id: secrets::new_id("u_"),
        email,
        name,
        password_hash: Some(passwords::hash(password.clone()).await?),
        created_at: now_ms(),
    };
    let mut tx = scope.db.begin().await?;
    if !TenantDb::insert_user(&mut tx, &user, &roles).await? {
        return Err(ApiError::conflict(
            "USER_EXISTS",
            format!("a user with email `{}` exists", user.email),
        ));
    }
    let data =
        json!({ "user_id": user.id, "email": user.email, "name": user.name, "roles": roles });
    tx.commit([&events.event(CoreEvent::UserCreated, data)])
        .await?;
    let mut dto = user_dto(&user, roles);
    dto.initial_password = generated.then_some(password);
    Ok((StatusCode::CREATED, Json(dto)))
}

/// Query of `GET /users`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    page: Option<u32>,
    per_page: Option<u32>,
}

/// `GET /api/v1/tenants/{t}/users`.
pub async fn list(
    scope: TenantScope,
    QueryParams(query): QueryParams<ListQuery>,
) -> ApiResult<Json<Page<User>>> {
    let (page, per_page) = Paging {
        page: query.page,
        per_page: query.per_page,
    }
    .resolve()?;
    let (users, total) = scope.db.list_users(page, per_page).await?;
    let mut data = Vec::with_capacity(users.len());
    for u in &users {
        data.push(user_dto(u, scope.db.user_roles(&u.id).await?));
    }
    Ok(Json(Page {
        data,
        total,
        page,
        per_page,
    }))
}

/// `GET /api/v1/tenants/{t}/users/{id}`.
pub async fn get(
    scope: TenantScope,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<User>> {
    let user = scope.db.user(&id).await?.ok_or_else(not_found)?;
    let roles = scope.db.user_roles(&id).await?;
    Ok(Json(user_dto(&user, roles)))
}

/// `PATCH /api/v1/tenants/{t}/users/{id}`: refused when the user holds what the caller does
/// not. A new password revokes the user's sessions (but the caller's own) and API tokens.
pub async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    scope: TenantScope,
    events: TenantEvents,
    Path((_, id)): Path<(String, String)>,
    JsonBody(request): JsonBody<UpdateUserRequest>,
) -> ApiResult<Json<User>> {
    let mut user = scope.db.user(&id).await?.ok_or_else(not_found)?;
    check_outranks(&scope, &id).await?;
    let password_changed = request.password.is_some();
    if let Some(name) = request.name {
        check_name("name", &name).map_err(|m| ApiError::invalid("name", m))?;
        user.name = name;
    }
    if let Some(password) = request.password {
        passwords::check(&password)?;
        user.password_hash = Some(passwords::hash(password).await?);
    }
    let data = json!({ "user_id": user.id, "email": user.email, "name": user.name });
    scope
        .db
        .update_user(&user, now_ms(), &events.event(CoreEvent::UserUpdated, data))
        .await?;
    if password_changed {
        let own_session = match &caller.credential {
            Credential::Session(session) if caller.user_id == id => Some(session.as_str()),
            _ => None,
        };
        state
            .revoke_sessions(scope.slug.as_str(), Some(&id), own_session)
            .await?;
    }
    let roles = scope.db.user_roles(&id).await?;
    let mut dto = user_dto(&user, roles);
    dto.credentials_revoked = password_changed.then_some(true);
    Ok(Json(dto))
}

/// `DELETE /api/v1/tenants/{t}/users/{id}`: refused while the user is some workspace's last
/// admin; revokes the user's sessions and tokens.
pub async fn delete(
    State(state): State<AppState>,
    scope: TenantScope,
    events: TenantEvents,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    check_outranks(&scope, &id).await?;
    let event = events.event(CoreEvent::UserDeleted, json!({ "user_id": id }));
    match scope.db.delete_user(&id, &event).await? {
        Ok(true) => {}
        Ok(false) => return Err(not_found()),
        Err(workspaces) => {
            return Err(ApiError::conflict(
                "LAST_WORKSPACE_ADMIN",
                format!(
                    "the user is the last admin of {}; give the role to someone else first",
                    workspaces.join(", ")
                ),
            )
            .with_details(serde_json::json!({ "workspaces": workspaces })));
        }
    }
    state
        .revoke_sessions(scope.slug.as_str(), Some(&id), None)
        .await?;
    state.forget_user(scope.slug.as_str(), &id);
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/tenants/{t}/users/{id}/roles`.
pub async fn set_roles(
    State(state): State<AppState>,
    scope: TenantScope,
    events: TenantEvents,
    Path((_, id)): Path<(String, String)>,
    JsonBody(request): JsonBody<SetRolesRequest>,
) -> ApiResult<Json<User>> {
    let user = scope.db.user(&id).await?.ok_or_else(not_found)?;
    check_outranks(&scope, &id).await?;
    let mut roles = request.roles;
    roles.sort();
    roles.dedup();
    check_assignable(&scope, &roles).await?;
    let data =
        json!({ "user_id": user.id, "email": user.email, "name": user.name, "roles": roles });
    scope
        .db
        .set_user_roles(&id, &roles, &events.event(CoreEvent::UserUpdated, data))
        .await?;
    state.forget_user(scope.slug.as_str(), &id);
    Ok(Json(user_dto(&user, roles)))
}

fn role_dto(r: RoleRecord) -> Role {
    Role {
        name: r.name,
        permissions: r.permissions,
        builtin: r.builtin,
    }
}

/// `GET /api/v1/tenants/{t}/roles`.
pub async fn roles(scope: TenantScope) -> ApiResult<Json<Vec<Role>>> {
    Ok(Json(
        scope.db.roles().await?.into_iter().map(role_dto).collect(),
    ))
}

/// `POST /api/v1/tenants/{t}/roles`.
pub async fn create_role(
    scope: TenantScope,
    JsonBody(request): JsonBody<CreateRoleRequest>,
) -> ApiResult<(StatusCode, Json<Role>)> {
    let name_ok = request.name.len() >= 2
        && request.name.len() <= 40
        && request.name.as_bytes()[0].is_ascii_lowercase()
        && request
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(ApiError::invalid(
            "name",
            "a role name has 2–40 characters of a–z, 0–9, `-` and `_`, starting with a letter",
        ));
    }
    if request.permissions.is_empty() || request.permissions.len() > 200 {
        return Err(ApiError::invalid("permissions", "give 1–200 permissions"));
    }
    if let Some(bad) = request.permissions.iter().find(|p| !is_permission(p)) {
        return Err(ApiError::invalid(
            "permissions",
            format!(
                "`{}` is not a permission (`resource:action`)",
                bad.escape_debug()
            ),
        ));
    }
    if let Some(p) = scope.first_not_allowed(&request.permissions) {
        return Err(ApiError::forbidden(
            "FORBIDDEN",
            format!("you cannot make a role with `{p}`, which you do not hold"),
        ));
    }
    let mut permissions = request.permissions;
    permissions.sort();
    permissions.dedup();
    let role = RoleRecord {
        name: request.name,
        permissions,
        builtin: false,
    };
    let mut tx = scope.db.begin().await?;
    if !TenantDb::insert_role(&mut tx, &role, now_ms()).await? {
        return Err(ApiError::conflict(
            "ROLE_EXISTS",
            format!("a role `{}` exists", role.name),
        ));
    }
    tx.commit([]).await?;
    Ok((StatusCode::CREATED, Json(role_dto(role))))
}
