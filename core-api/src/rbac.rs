//! Roles, permissions and the rule every route declares.
//!
//! Each route of [`crate::routes::table`] carries an [`AuthRule`]; [`enforce`] runs before the
//! handler, authenticates the caller, resolves the tenant (and workspace) of the path, checks
//! the rule and leaves [`Caller`], [`TenantScope`] and [`WorkspaceScope`] in the request for
//! the handler. A handler therefore cannot forget a check, and a route cannot exist without a
//! rule. Permission sets are answered from [`PermissionCache`] (invalidated on change).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::RequestExt;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use plexica_sdk::api::core::{TenantStatus, WorkspaceRole};

use crate::auth::{Credential, Principal, authenticate, authenticate_external};
use crate::db::DbResult;
use crate::db::core::TenantRecord;
use crate::db::tenant::{TenantDb, WorkspaceRecord};
use crate::error::{ApiError, ApiResult};
use crate::limits::RouteFamily;
use crate::slug::TenantSlug;
use crate::state::AppState;

/// Every permission of the core API (plugins add their own at install).
pub const PERMISSIONS: [&str; 10] = [
    "users:read",
    "users:write",
    "roles:read",
    "roles:write",
    "workspaces:read",
    "workspaces:write",
    "workspaces:admin",
    "plugins:read",
    "plugins:write",
    "events:read",
];

/// What the platform's super admin needs (on top of being the super admin) for platform routes.
pub const PLATFORM_ADMIN: &str = "platform:admin";

/// The roles created in every tenant at provisioning: `(name, permissions)`.
pub const BUILTIN_ROLES: [(&str, &[&str]); 3] = [
    ("admin", &["*"]),
    (
        "member",
        &[
            "users:read",
            "roles:read",
            "workspaces:read",
            "workspaces:write",
            "plugins:read",
        ],
    ),
    ("guest", &["workspaces:read"]),
];

/// Does the permission list `held` grant `wanted`? `*` grants everything, `res:*` every
/// action on `res`.
pub fn grants<S: AsRef<str>>(held: &[S], wanted: &str) -> bool {
    let resource = wanted.split_once(':').map_or(wanted, |(r, _)| r);
    held.iter().any(|p| {
        let p = p.as_ref();
        p == "*" || p == wanted || p.strip_suffix(":*").is_some_and(|r| r == resource)
    })
}

/// Is `text` a permission string `resource:action` (or `*`, `resource:*`)?
pub fn is_permission(text: &str) -> bool {
    fn part(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
    }
    text == "*"
        || text
            .split_once(':')
            .is_some_and(|(r, a)| part(r) && (a == "*" || part(a)))
}

/// What a route demands of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRule {
    /// Anyone.
    Public,
    /// Any authenticated caller whose tenant (if any) is active.
    Authenticated,
    /// Any authenticated caller, even of a suspended tenant: reading who they are, ending
    /// their session.
    Identity,
    /// The platform's super admin.
    SuperAdmin,
    /// A user of the path's tenant `{t}` holding the permission (or the super admin).
    Tenant(&'static str),
    /// A user of tenant `{t}` holding the permission and at least this role in workspace
    /// `{ws}`. Tenant admins (`workspaces:admin`) and the super admin count as its admins.
    Workspace(&'static str, WorkspaceRole),
    /// A plugin install of tenant `{t}`, with its install token.
    Plugin,
    /// Any user of tenant `{t}` (or the super admin), or a plugin active there: the handler
    /// decides what it may do (the gateway checks the target endpoint's permission).
    Member,
}

/// A user's roles and permissions in one tenant.
#[derive(Debug, Clone, Default)]
pub struct Permissions {
    /// Role names.
    pub roles: Vec<String>,
    /// Permission strings.
    pub permissions: Vec<String>,
}

impl Permissions {
    /// Everything (the super admin).
    pub fn all() -> Self {
        Self {
            roles: vec!["super_admin".into()],
            permissions: vec!["*".into()],
        }
    }

    /// Does the set grant `permission`?
    pub fn grants(&self, permission: &str) -> bool {
        grants(&self.permissions, permission)
    }
}

/// A cached permission set and when it was loaded.
#[derive(Debug)]
struct Cached {
    set: Arc<Permissions>,
    loaded: Instant,
}

/// Permission sets by tenant, then user, kept for `ttl` and dropped at once on any change made
/// through this process (other replicas see changes within `ttl`). Lookups borrow the keys:
/// a hot check allocates nothing.
#[derive(Debug)]
pub struct PermissionCache {
    ttl: Duration,
    tenants: RwLock<HashMap<String, HashMap<String, Cached>>>,
}

impl PermissionCache {
    /// An empty cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            tenants: RwLock::default(),
        }
    }

    /// The cached set of `user` in `tenant`, if fresh.
    pub fn cached(&self, tenant: &str, user: &str) -> Option<Arc<Permissions>> {
        let tenants = self
            .tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tenants
            .get(tenant)?
            .get(user)
            .filter(|c| c.loaded.elapsed() < self.ttl)
            .map(|c| Arc::clone(&c.set))
    }

    /// Remembers the set of `user` in `tenant`.
    pub fn insert(&self, tenant: &str, user: &str, permissions: Permissions) -> Arc<Permissions> {
        let set = Arc::new(permissions);
        let mut tenants = self
            .tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if tenants.len() > 10_000 {
            tenants.clear();
        }
        let users = tenants.entry(tenant.to_owned()).or_default();
        if users.len() > 100_000 {
            users.clear();
        }
        users.insert(
            user.to_owned(),
            Cached {
                set: Arc::clone(&set),
                loaded: Instant::now(),
            },
        );
        set
    }

    /// Forgets `user` of `tenant`.
    pub fn invalidate_user(&self, tenant: &str, user: &str) {
        if let Some(users) = self
            .tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(tenant)
        {
            users.remove(user);
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// Forgets everyone of `tenant` (a role changed).
    pub fn invalidate_tenant(&self, tenant: &str) {
        self.tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(tenant);
    }

    /// The set of `user` in `tenant`, from the cache or else from `db`.
    pub async fn get(&self, tenant: &str, user: &str, db: &TenantDb) -> DbResult<Arc<Permissions>> {
        if let Some(p) = self.cached(tenant, user) {
            return Ok(p);
        }
        let (roles, permissions) = db.user_permissions(user).await?;
        Ok(self.insert(tenant, user, Permissions { roles, permissions }))
    }
}

/// The authenticated caller (present on every route whose rule is not `Public`).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// The plugin calling, on a route whose rule is [`AuthRule::Plugin`].
    pub fn plugin_id(&self) -> ApiResult<&str> {
        match &self.0.credential {
            Credential::Install { plugin_id } => Ok(plugin_id),
            _ => Err(ApiError::internal("the plugin rule admitted a non-plugin")),
        }
    }
}

/// The tenant of the path and the caller's standing in it.
#[derive(Debug, Clone)]
pub struct TenantScope {
    /// Its row.
    pub tenant: TenantRecord,
    /// Its validated slug.
    pub slug: TenantSlug,
    /// Its data.
    pub db: TenantDb,
    /// The caller's roles and permissions in it.
    pub permissions: Arc<Permissions>,
    /// What the caller's credential is limited to: an API token's scopes (`None`: a session,
    /// limited to nothing but the roles; an install: no user permission at all).
    pub credential_scopes: Option<Arc<[String]>>,
}

impl TenantScope {
    /// Does the caller hold `permission` here: its roles grant it, and its credential (an API
    /// token's scopes) allows it. Every grant path asks this, so no one hands out what the
    /// credential they act with does not carry.
    pub fn allows(&self, permission: &str) -> bool {
        self.permissions.grants(permission)
            && self
                .credential_scopes
                .as_deref()
                .is_none_or(|scopes| grants(scopes, permission))
    }

    /// The first of `held` — what another user or a role holds — that the caller does not
    /// ([`TenantScope::allows`]; `*` and `res:*` only by holding them).
    pub fn first_not_allowed<'a>(&self, held: &'a [String]) -> Option<&'a str> {
        held.iter().map(String::as_str).find(|p| !self.allows(p))
    }
}

/// What `principal`'s credential limits it to, for [`TenantScope::credential_scopes`].
fn credential_scopes(principal: &Principal) -> Option<Arc<[String]>> {
    match &principal.credential {
        Credential::Session(_) | Credential::External { .. } => None,
        Credential::Install { .. } => Some(Arc::from(Vec::new())),
        Credential::ApiToken { scopes, .. } => Some(Arc::from(scopes.as_slice())),
    }
}

/// The workspace of the path and the caller's effective role in it.
#[derive(Debug, Clone)]
pub struct WorkspaceScope {
    /// Its row (with the caller's membership role, if a member).
    pub workspace: WorkspaceRecord,
    /// The caller's effective role (tenant admins and the super admin: `admin`).
    pub role: WorkspaceRole,
}

macro_rules! from_extensions {
    ($ty:ty) => {
        impl FromRequestParts<AppState> for $ty {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, _: &AppState) -> ApiResult<Self> {
                parts.extensions.get::<$ty>().cloned().ok_or_else(|| {
                    ApiError::internal(concat!("route rule does not provide ", stringify!($ty)))
                })
            }
        }
    };
}
from_extensions!(Caller);
from_extensions!(TenantScope);
from_extensions!(WorkspaceScope);

fn tenant_not_found() -> ApiError {
    ApiError::not_found("TENANT_NOT_FOUND", "no such tenant")
}

fn missing(permission: &str) -> ApiError {
    ApiError::forbidden(
        "FORBIDDEN",
        format!("this requires the `{permission}` permission"),
    )
    .with_details(serde_json::json!({ "required": permission }))
}

/// A path whose parameters do not decode (percent-encoding that is not UTF-8) is the caller's
/// mistake: 400 `PATH_REFUSED`, the gateway's code for paths it refuses. Anything else means
/// the route has no parameters, a bug.
fn path_params_refused(rejection: PathRejection, bug: &'static str) -> ApiError {
    match rejection {
        PathRejection::FailedToDeserializePathParams(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "PATH_REFUSED",
            format!("the path is refused: {}", e.body_text()),
        ),
        _ => ApiError::internal(bug),
    }
}

/// Checks `rule` for the request and records what it established, then takes the request
/// from the rate limits ([`crate::limits`]): its tenant's and credential's in `family` once
/// authenticated, its address's when anonymous or refused as unauthenticated. Runs before the
/// handler of every route (see [`crate::routes::table`]).
pub async fn enforce(
    State((state, rule, family)): State<(AppState, AuthRule, RouteFamily)>,
    mut request: Request,
    next: Next,
) -> Response {
    let checked = check(&state, rule, &mut request).await;
    let limited = match (request.extensions().get::<Caller>(), &checked) {
        (Some(Caller(principal)), _) => state.limits.authenticated(family, principal),
        (None, Ok(())) => state.limits.anonymous(client_ip(&request)),
        (None, Err(e)) if e.status == StatusCode::UNAUTHORIZED => {
            state.limits.anonymous(client_ip(&request))
        }
        (None, Err(_)) => Ok(()),
    };
    // Over a limit, the answer is 429 whatever the check found.
    match limited.map_err(ApiError::from).and(checked) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

/// The address of the peer that sent `request` (the load balancer's, behind one).
fn client_ip(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

async fn check(state: &AppState, rule: AuthRule, request: &mut Request) -> ApiResult<()> {
    if rule == AuthRule::Public {
        return Ok(());
    }
    let (permission, workspace_role) = match rule {
        AuthRule::Tenant(permission) => (Some(permission), None),
        AuthRule::Workspace(permission, role) => (Some(permission), Some(role)),
        AuthRule::Plugin => return check_plugin(state, request).await,
        AuthRule::Member if is_install_token(request.headers()) => {
            return check_plugin(state, request).await;
        }
        AuthRule::Member => (None, None),
        AuthRule::Public | AuthRule::Authenticated | AuthRule::Identity | AuthRule::SuperAdmin => {
            let principal = authenticate(state, request.headers()).await?;
            if matches!(principal.credential, Credential::Install { .. }) {
                return Err(ApiError::forbidden(
                    "FORBIDDEN",
                    "an install token is only for the routes made for plugins",
                ));
            }
            // A suspended tenant's users may read who they are, and nothing else.
            if rule == AuthRule::Authenticated
                && let Some(slug) = principal.tenant.as_deref()
            {
                let slug = TenantSlug::parse(slug).map_err(|_| tenant_not_found())?;
                let tenant = state.tenant(&slug).await?.ok_or_else(tenant_not_found)?;
                usable(tenant.status)?;
            }
            request.extensions_mut().insert(Caller(principal.clone()));
            if rule == AuthRule::SuperAdmin
                && !(principal.super_admin && principal.scope_allows(PLATFORM_ADMIN))
            {
                return Err(ApiError::forbidden(
                    "FORBIDDEN",
                    "only the platform's super admin may do this",
                ));
            }
            return Ok(());
        }
    };
    let params = request
        .extract_parts::<Path<HashMap<String, String>>>()
        .await
        .map_err(|e| path_params_refused(e, "tenant route without `{t}`"))?
        .0;
    let raw_slug = params
        .get("t")
        .ok_or_else(|| ApiError::internal("tenant route without `{t}`"))?;
    let principal = match authenticate(state, request.headers()).await {
        Ok(principal) => principal,
        // Not one of ours: perhaps the path's tenant's identity provider vouches for it.
        Err(e) if e.code == "INVALID_TOKEN" => match TenantSlug::parse(raw_slug) {
            Ok(slug) => authenticate_external(state, &slug, request.headers())
                .await?
                .ok_or(e)?,
            Err(_) => return Err(e),
        },
        Err(e) => return Err(e),
    };
    request.extensions_mut().insert(Caller(principal.clone()));
    // A caller of another tenant learns nothing, not even whether the tenant exists.
    if !principal.super_admin && principal.tenant.as_deref() != Some(raw_slug.as_str()) {
        return Err(tenant_not_found());
    }
    let slug = TenantSlug::parse(raw_slug).map_err(|_| tenant_not_found())?;
    let tenant = state.tenant(&slug).await?.ok_or_else(tenant_not_found)?;
    if !principal.super_admin {
        usable(tenant.status)?;
    } else if tenant.status == TenantStatus::Provisioning {
        return Err(ApiError::conflict(
            "TENANT_PROVISIONING",
            "this tenant is being provisioned",
        ));
    }
    let db = state.tenant_dbs.get(&slug).await?;
    let permissions = if principal.super_admin {
        Arc::new(Permissions::all())
    } else {
        state
            .permissions
            .get(slug.as_str(), &principal.user_id, &db)
            .await?
    };
    if let Some(permission) = permission
        && (!permissions.grants(permission) || !principal.scope_allows(permission))
    {
        return Err(missing(permission));
    }
    let scope = TenantScope {
        tenant,
        slug,
        db,
        permissions,
        credential_scopes: credential_scopes(&principal),
    };
    if let Some(min_role) = workspace_role {
        let ws = params
            .get("ws")
            .ok_or_else(|| ApiError::internal("workspace route without `{ws}`"))?;
        let workspace = scope
            .db
            .workspace(ws, &principal.user_id)
            .await?
            .ok_or_else(|| {
                ApiError::not_found(
                    "WORKSPACE_NOT_FOUND",
                    format!("no workspace `{}`", ws.escape_debug()),
                )
            })?;
        let role = if scope.allows("workspaces:admin") {
            Some(WorkspaceRole::Admin)
        } else {
            workspace.role
        };
        let Some(role) = role else {
            return Err(ApiError::not_found(
                "WORKSPACE_NOT_FOUND",
                format!("no workspace `{}`", ws.escape_debug()),
            ));
        };
        if role < min_role {
            return Err(ApiError::forbidden(
                "WORKSPACE_ROLE_REQUIRED",
                format!(
                    "this requires the `{}` role in the workspace",
                    min_role.as_str()
                ),
            )
            .with_details(
                serde_json::json!({ "required": min_role.as_str(), "role": role.as_str() }),
            ));
        }
        request
            .extensions_mut()
            .insert(WorkspaceScope { workspace, role });
    }
    request.extensions_mut().insert(scope);
    Ok(())
}

/// Refuses the users of a tenant that is not active.
fn usable(status: TenantStatus) -> ApiResult<()> {
    match status {
        TenantStatus::Active => Ok(()),
        TenantStatus::Suspended => Err(ApiError::forbidden(
            "TENANT_SUSPENDED",
            "this tenant is suspended",
        )),
        TenantStatus::Provisioning => Err(ApiError::conflict(
            "TENANT_PROVISIONING",
            "this tenant is being provisioned",
        )),
        TenantStatus::PendingDeletion | TenantStatus::Deleted => Err(ApiError::forbidden(
            "TENANT_DELETED",
            "this tenant is being deleted",
        )),
    }
}

fn is_install_token(headers: &axum::http::HeaderMap) -> bool {
    crate::auth::bearer(headers)
        .is_some_and(|t| t.starts_with(plexica_sdk::api::core::INSTALL_TOKEN_PREFIX))
}

/// [`AuthRule::Plugin`]: an install token of the path's tenant; its tenant must be active.
async fn check_plugin(state: &AppState, request: &mut Request) -> ApiResult<()> {
    let principal = authenticate(state, request.headers()).await?;
    if !matches!(principal.credential, Credential::Install { .. }) {
        return Err(ApiError::forbidden(
            "PLUGIN_ONLY",
            "only a plugin install (with its install token) may do this",
        ));
    }
    let params = request
        .extract_parts::<Path<HashMap<String, String>>>()
        .await
        .map_err(|e| path_params_refused(e, "plugin route without `{t}`"))?
        .0;
    let raw_slug = params
        .get("t")
        .ok_or_else(|| ApiError::internal("plugin route without `{t}`"))?;
    let any_tenant = principal.tenant.as_deref() == Some(crate::plugins::runtime::ANY_TENANT);
    if !any_tenant && principal.tenant.as_deref() != Some(raw_slug.as_str()) {
        return Err(tenant_not_found());
    }
    let slug = TenantSlug::parse(raw_slug).map_err(|_| tenant_not_found())?;
    let tenant = state.tenant(&slug).await?.ok_or_else(tenant_not_found)?;
    if tenant.status != TenantStatus::Active {
        return Err(ApiError::forbidden(
            "TENANT_SUSPENDED",
            "this tenant is not active",
        ));
    }
    let db = state.tenant_dbs.get(&slug).await?;
    if any_tenant {
        // A plugin process serves every tenant where its plugin is active, and only those.
        let Credential::Install { plugin_id } = &principal.credential else {
            return Err(tenant_not_found());
        };
        let active = state
            .plugins
            .installs
            .get(slug.as_str(), &db, plugin_id)
            .await?
            .is_some_and(|r| r.state == plexica_sdk::api::core::PluginState::Active);
        if !active {
            return Err(tenant_not_found());
        }
    }
    let principal = Principal {
        tenant: Some(slug.as_str().to_owned()),
        ..principal
    };
    let credential_scopes = credential_scopes(&principal);
    request.extensions_mut().insert(Caller(principal));
    request.extensions_mut().insert(TenantScope {
        tenant,
        slug,
        db,
        permissions: Arc::new(Permissions::default()),
        credential_scopes,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_wildcards() {
        assert!(grants(&["*"], "users:read"));
        assert!(grants(&["users:*"], "users:write"));
        assert!(!grants(&["users:*"], "workspaces:read"));
        assert!(grants(&["users:read"], "users:read"));
        assert!(!grants(&["users:read"], "users:write"));
        assert!(!grants::<&str>(&[], "users:read"));
    }

    #[test]
    fn permission_strings() {
        for ok in ["*", "users:read", "crm:*", "contacts:read", "a-b.c:x_y"] {
            assert!(is_permission(ok), "{ok}");
        }
        for bad in [
            "",
            "users",
            ":read",
            "users:",
            "Users:read",
            "a:b:c",
            "a b:c",
        ] {
            assert!(!is_permission(bad), "{bad}");
        }
    }
}
