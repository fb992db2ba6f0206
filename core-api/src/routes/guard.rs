//! The rule every route declares, and its enforcement.
//!
//! Each route of [`crate::routes::table`] carries an [`AuthRule`]; [`enforce`] runs before the
//! handler, authenticates the caller, resolves the tenant (and workspace) of the path, checks
//! the rule and leaves [`Caller`], [`TenantScope`] and [`WorkspaceScope`] in the request for
//! the handler. A handler therefore cannot forget a check, and a route cannot exist without a
//! rule. Permission sets are answered from the [`crate::authz::PermissionCache`].
//!
//! A caller authenticates with `Authorization: Bearer …` or, in the console, with the session
//! cookie ([`ACCESS_COOKIE`], see [`super::session`]). A browser sends a cookie with requests
//! other pages make too, so a cookie-authenticated write must come from this origin
//! ([`same_origin`]), checked before any rule.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::RequestExt;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use plexica_sdk::api::core::{TenantStatus, WorkspaceRole};

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN};
use plexica_sdk::api::core::{API_TOKEN_PREFIX, INSTALL_TOKEN_PREFIX};
use plexica_sdk::api::time::{now_ms, rfc3339};
pub use plexica_server::cookies::cookie;

use crate::auth::jwt::{AUDIENCE, PLUGIN_UI_AUDIENCE};
use crate::auth::{Credential, Principal, oidc};
use crate::authz::{PLATFORM_ADMIN, Permissions, TenantScope, WorkspaceScope};
use crate::error::{ApiError, ApiResult};
use crate::limits::RouteFamily;
use crate::secrets;
use crate::slug::TenantSlug;
use crate::state::AppState;

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

/// What `principal`'s credential limits it to, for [`TenantScope::credential_scopes`].
fn credential_scopes(principal: &Principal) -> Option<Arc<[String]>> {
    match &principal.credential {
        Credential::Session(_) | Credential::External { .. } | Credential::PluginUi { .. } => None,
        Credential::Install { .. } => Some(Arc::from(Vec::new())),
        Credential::ApiToken { scopes, .. } => Some(Arc::from(scopes.as_slice())),
    }
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
    State((state, rule, family, cookie)): State<(AppState, AuthRule, RouteFamily, Cookie)>,
    mut request: Request,
    next: Next,
) -> Response {
    let checked = check(&state, rule, family, cookie, &mut request).await;
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

/// Whether the console's session cookie opens a route (see [`crate::routes::table`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cookie {
    /// It does, as a bearer token would.
    Opens,
    /// The route sets or ends the console's session (its cookies): it answers the console's
    /// own pages only ([`same_origin`]), cookie or not.
    ConsoleOnly,
    /// It does not; the message says what to use instead.
    Refused(&'static str),
}

async fn check(
    state: &AppState,
    rule: AuthRule,
    family: RouteFamily,
    cookie: Cookie,
    request: &mut Request,
) -> ApiResult<()> {
    match cookie {
        Cookie::ConsoleOnly => same_origin(request.headers())?,
        Cookie::Refused(why) if by_cookie(request.headers()) => {
            return Err(ApiError::forbidden("FORBIDDEN", why));
        }
        Cookie::Opens if by_cookie(request.headers()) && !request.method().is_safe() => {
            same_origin(request.headers())?;
        }
        Cookie::Opens | Cookie::Refused(_) => {}
    }
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
            if matches!(principal.credential, Credential::PluginUi { .. }) {
                return Err(plugin_ui_elsewhere());
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
    if matches!(principal.credential, Credential::PluginUi { .. }) && family != RouteFamily::Gateway
    {
        return Err(plugin_ui_elsewhere());
    }
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
        let found = scope
            .workspace_of(ws, &principal.user_id)
            .await?
            .ok_or_else(|| super::workspace_not_found(ws))?;
        let role = found.role;
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
        request.extensions_mut().insert(found);
    }
    request.extensions_mut().insert(scope);
    Ok(())
}

/// 403 for a plugin UI token used outside the gateway.
fn plugin_ui_elsewhere() -> ApiError {
    ApiError::forbidden(
        "FORBIDDEN",
        "a plugin's UI token opens that plugin's endpoints through the gateway, nothing else",
    )
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
    bearer(headers).is_some_and(|t| t.starts_with(plexica_sdk::api::core::INSTALL_TOKEN_PREFIX))
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

/// The bearer token of `headers`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Authenticates `token` as a token of tenant `slug`'s external identity provider, if the
/// tenant has one: the provider is the path's tenant's, never one the token names.
pub async fn authenticate_external(
    state: &AppState,
    slug: &TenantSlug,
    headers: &HeaderMap,
) -> ApiResult<Option<Principal>> {
    let Some(token) = bearer(headers) else {
        return Ok(None);
    };
    let Some(tenant) = state.tenant(slug).await? else {
        return Ok(None);
    };
    let Ok(Some(config)) = oidc::OidcConfig::from_settings(&tenant.settings) else {
        return Ok(None);
    };
    let claims = state.oidc.verify(&config, token).await?;
    if config.require_verified_email && claims.email_verified != Some(true) {
        return Err(ApiError::unauthenticated(
            "EMAIL_NOT_VERIFIED",
            "the provider has not verified this token's email (email_verified is not true)",
        ));
    }
    let email = claims
        .email
        .map(|e| e.trim().to_lowercase())
        .ok_or_else(|| {
            ApiError::unauthenticated("INVALID_TOKEN", "the provider's token carries no email")
        })?;
    let user = state
        .tenant_dbs
        .get(slug)
        .await?
        .user_by_email(&email)
        .await?
        .ok_or_else(|| {
            ApiError::forbidden(
                "UNKNOWN_IDENTITY",
                "the identity provider vouches for someone who is not a user of this tenant",
            )
        })?;
    Ok(Some(Principal {
        user_id: user.id,
        email: user.email,
        tenant: Some(tenant.slug),
        super_admin: false,
        credential: Credential::External {
            issuer: config.issuer,
        },
    }))
}

/// The console's access-token cookie (see [`super::session`]).
pub const ACCESS_COOKIE: &str = "plexica_access";
/// The console's refresh-token cookie, sent to [`super::session::SESSION_PATH`] only.
pub const REFRESH_COOKIE: &str = "plexica_refresh";

/// Does the request authenticate with the console's cookie (and no `Authorization`)?
fn by_cookie(headers: &HeaderMap) -> bool {
    bearer(headers).is_none() && cookie(headers, ACCESS_COOKIE).is_some()
}

/// Refuses a request that a page of another site may have made the browser send. The
/// browser says where a request comes from, and a page cannot forge it: `Sec-Fetch-Site`
/// must be `same-origin` or, from a browser that does not send it (plain HTTP to a host that
/// is not local), `Origin` must name this host. A request with neither is refused: only a
/// browser holds the cookies this guards.
pub fn same_origin(headers: &HeaderMap) -> ApiResult<()> {
    let refused = || {
        ApiError::forbidden(
            "CROSS_SITE_REQUEST",
            "a request signed in with the console's cookie must come from the console's own pages",
        )
    };
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" => Ok(()),
            _ => Err(refused()),
        };
    }
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
    };
    let origin = text(ORIGIN).ok_or_else(refused)?;
    let host = text(HOST).ok_or_else(refused)?;
    match origin.split_once("://") {
        Some((_, authority)) if authority.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(refused()),
    }
}

/// Authenticates the request: 401 without a valid access token (header or console cookie),
/// API token or install token.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> ApiResult<Principal> {
    let token = match bearer(headers) {
        Some(token) if token.starts_with(INSTALL_TOKEN_PREFIX) => {
            return install_principal(state, token).await;
        }
        Some(token) if token.starts_with(API_TOKEN_PREFIX) => {
            return api_token_principal(state, token).await;
        }
        Some(token) => token,
        // The cookie only ever holds an access token.
        None => cookie(headers, ACCESS_COOKIE).ok_or_else(|| {
            ApiError::unauthenticated(
                "UNAUTHENTICATED",
                "authentication required: `Authorization: Bearer <access token or plx_ API token>`",
            )
        })?,
    };
    session_principal(state, token).await
}

/// The plugin install whose token `token` is.
async fn install_principal(state: &AppState, token: &str) -> ApiResult<Principal> {
    let (tenant, plugin_id) = state
        .core
        .install_by_token_hash(&secrets::hash(token))
        .await?
        .ok_or_else(|| {
            ApiError::unauthenticated("INVALID_TOKEN", "unknown or revoked install token")
        })?;
    Ok(Principal {
        user_id: format!("plugin:{plugin_id}"),
        email: String::new(),
        tenant: Some(tenant),
        super_admin: false,
        credential: Credential::Install { plugin_id },
    })
}

/// The holder of API token `token`.
async fn api_token_principal(state: &AppState, token: &str) -> ApiResult<Principal> {
    let record = state
        .core
        .api_token_by_hash(&secrets::hash(token))
        .await?
        .filter(|t| t.revoked_at.is_none())
        .ok_or_else(|| {
            ApiError::unauthenticated("INVALID_TOKEN", "unknown or revoked API token")
        })?;
    if record.expires_at <= now_ms() {
        return Err(ApiError::unauthenticated(
            "TOKEN_EXPIRED",
            format!(
                "the API token expired at {}; create a new one with `plexica token create`",
                rfc3339(record.expires_at)
            ),
        ));
    }
    if let Some(tenant) = &record.tenant {
        let exists = match TenantSlug::parse(tenant) {
            Ok(slug) => state.tenant(&slug).await?.is_some(),
            Err(_) => false,
        };
        if !exists {
            return Err(ApiError::unauthenticated(
                "INVALID_TOKEN",
                "the token's tenant no longer exists",
            ));
        }
    }
    Ok(Principal {
        user_id: record.user_id,
        email: record.email,
        tenant: record.tenant,
        super_admin: record.super_admin,
        credential: Credential::ApiToken {
            id: record.id,
            scopes: record.scopes,
        },
    })
}

/// The login session whose access token `token` is.
async fn session_principal(state: &AppState, token: &str) -> ApiResult<Principal> {
    let claims = state.keys.verify(token).await?;
    if state.revoked_sessions.contains(&claims.sid) {
        return Err(ApiError::unauthenticated(
            "SESSION_REVOKED",
            "this session was logged out; log in again",
        ));
    }
    if let Some(tenant) = &claims.tenant {
        // A token outlives neither its tenant nor a tenant re-created under the same slug.
        let issued_ms = i64::try_from(claims.iat)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        let current = match TenantSlug::parse(tenant) {
            Ok(slug) => state.tenant(&slug).await?,
            Err(_) => None,
        };
        if current.is_none_or(|t| t.created_at > issued_ms + 1000) {
            return Err(ApiError::unauthenticated(
                "INVALID_TOKEN",
                "the token's tenant no longer exists",
            ));
        }
    }
    Ok(Principal {
        user_id: claims.sub,
        email: claims.email,
        tenant: claims.tenant,
        super_admin: claims.super_admin,
        credential: match (claims.aud.as_str(), claims.plugin) {
            (PLUGIN_UI_AUDIENCE, Some(plugin_id)) => Credential::PluginUi {
                session: claims.sid,
                plugin_id,
            },
            (AUDIENCE, None) => Credential::Session(claims.sid),
            _ => {
                return Err(ApiError::unauthenticated(
                    "INVALID_TOKEN",
                    "the token's audience and claims do not match",
                ));
            }
        },
    })
}
