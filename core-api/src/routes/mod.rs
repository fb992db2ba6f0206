//! The HTTP routes, one module per resource, and [`table`]: every route with its
//! [`AuthRule`]. The router is built from the table and each route's rule is enforced by
//! [`guard::enforce`] before its handler runs, so no route exists without a rule; the tests
//! walk the same table to prove that outsiders are refused everywhere.

mod auth;
mod console;
pub mod correlation;
mod data;
mod dlq;
mod events;
mod gateway;
pub mod guard;
mod openapi;
mod ops;
mod plugin_ui;
mod plugins;
mod response;
mod session;
mod shared;
mod tenants;
mod users;
mod workspaces;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::Method;
use axum::http::request::Parts;
use axum::{Json, Router};
use plexica_sdk::api::core::WorkspaceRole::{Admin, Member, Viewer};
use plexica_sdk::api::core::{
    self as dto, AddMemberRequest, ApiTokenInfo, CreateRoleRequest, CreateTeamRequest,
    CreateTenantRequest, CreateUserRequest, CreateWorkspaceRequest, CreatedApiToken, DataCount,
    DataFilter, DataQuery, DataRows, InsertRow, InsertedRow, InstallPluginRequest, LoginRequest,
    Me, NewApiTokenRequest, Page, PluginInstall, PluginLog, PluginUiToken, PutSharedValue,
    RefreshRequest, Role, RotatedSigningKey, RowsChanged, ServiceInfo, SetMemberRoleRequest,
    SetRolesRequest, SharedValue, Team, TokenPair, UiModules, UpdatePluginConfigRequest,
    UpdateRows, UpdateTenantRequest, UpdateUserRequest, UpdateWorkspaceRequest,
    UpgradePluginRequest, User, WorkspacePluginSettings,
};
use plexica_sdk::api::events::{DeadLetter, EventLog, PublishRequest, Published, Retried};
use plexica_sdk::api::registry::{SearchResults, VersionDetail};
use plexica_server::routes::entry;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_http::compression::CompressionLayer;

use crate::error::ApiError;
use crate::limits::RouteFamily;
use crate::state::AppState;
use guard::{AuthRule, Cookie};

/// A route of the core API: its rule is an [`AuthRule`].
pub type RouteSpec = plexica_server::routes::RouteSpec<AuthRule>;

type Entry = plexica_server::routes::Entry<AuthRule, AppState>;

const T_USERS_READ: AuthRule = AuthRule::Tenant("users:read");
const T_USERS_WRITE: AuthRule = AuthRule::Tenant("users:write");
const T_PLUGINS_READ: AuthRule = AuthRule::Tenant("plugins:read");
const T_PLUGINS_WRITE: AuthRule = AuthRule::Tenant("plugins:write");
const WS_READ: &str = "workspaces:read";
const WS_WRITE: &str = "workspaces:write";

fn entries() -> Vec<Entry> {
    use AuthRule::{Authenticated, Identity, Plugin, Public, SuperAdmin, Tenant, Workspace};
    use Method as M;
    let mut all = vec![
        entry(M::GET, "/", Public, "The tenant console", console::index)
            .gives_media(200, "text/html"),
        entry(
            M::GET,
            "/_console/{file}",
            Public,
            "A file of the console's build (content-hashed name)",
            console::file,
        )
        .gives_media(200, "*/*"),
        entry(M::GET, "/health/live", Public, "Liveness", ops::live).gives::<Value>(200),
        entry(
            M::GET,
            "/health/ready",
            Public,
            "Readiness: database answers",
            ops::ready,
        )
        .gives::<Value>(200),
        entry(
            M::GET,
            "/metrics",
            SuperAdmin,
            "Prometheus metrics",
            ops::metrics,
        )
        .gives_media(200, "text/plain; version=0.0.4"),
        entry(
            M::GET,
            "/api/openapi.json",
            Public,
            "This document",
            ops::openapi,
        )
        .gives::<Value>(200),
        entry(
            M::GET,
            "/api/docs",
            Public,
            "API reference page (no network needed)",
            ops::docs,
        )
        .gives_media(200, "text/html"),
        entry(
            M::GET,
            "/.well-known/jwks.json",
            Public,
            "Access-token public keys",
            auth::jwks,
        )
        .gives::<Value>(200),
        entry(
            M::POST,
            "/api/v1/auth/login",
            Public,
            "Log in: access and refresh token",
            auth::login,
        )
        .takes::<LoginRequest>()
        .gives::<TokenPair>(200),
        entry(
            M::POST,
            "/api/v1/auth/refresh",
            Public,
            "Trade a refresh token for a new pair",
            auth::refresh,
        )
        .takes::<RefreshRequest>()
        .gives::<TokenPair>(200),
        entry(
            M::POST,
            "/api/v1/auth/logout",
            Identity,
            "Revoke the session",
            auth::logout,
        )
        .gives_nothing(204),
        entry(
            M::POST,
            session::SESSION_PATH,
            Public,
            "Sign in from the console: the session goes into cookies",
            session::sign_in,
        )
        .takes::<LoginRequest>()
        .gives::<Me>(200),
        entry(
            M::POST,
            "/api/v1/auth/session/refresh",
            Public,
            "Renew the console's session from its refresh cookie",
            session::renew,
        )
        .gives::<Me>(200),
        entry(
            M::DELETE,
            session::SESSION_PATH,
            Public,
            "Sign out of the console: revoke the session, clear its cookies",
            session::sign_out,
        )
        .gives_nothing(204),
        entry(
            M::GET,
            "/api/v1/auth/me",
            Identity,
            "The caller, roles and permissions",
            auth::me,
        )
        .gives::<Me>(200),
        entry(
            M::POST,
            "/api/v1/auth/tokens",
            Authenticated,
            "Create an API token (shown once)",
            auth::create_token,
        )
        .takes::<NewApiTokenRequest>()
        .gives::<CreatedApiToken>(201),
        entry(
            M::GET,
            "/api/v1/auth/tokens",
            Authenticated,
            "The caller's API tokens",
            auth::list_tokens,
        )
        .gives::<Vec<ApiTokenInfo>>(200),
        entry(
            M::DELETE,
            "/api/v1/auth/tokens/{id}",
            Authenticated,
            "Revoke an API token",
            auth::revoke_token,
        )
        .gives_nothing(204),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/events",
            Plugin,
            "Publish one of the calling plugin's own events (`plugin.<id>.…`)",
            events::publish,
        )
        .takes::<PublishRequest>()
        .gives::<Published>(202),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/ui-modules",
            AuthRule::Member,
            "The console's modules of the tenant's active plugins that the caller may see (`?workspace=`)",
            plugin_ui::list,
        )
        .gives::<UiModules>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/plugins/{id}/ui-token",
            AuthRule::Member,
            "A short-lived token for a plugin's frontend: its own endpoints through the gateway",
            plugin_ui::ui_token,
        )
        .gives::<PluginUiToken>(200),
        entry(
            M::GET,
            "/plugins/{id}/{version}/{*path}",
            Authenticated,
            "A file of an active plugin's frontend, as installed in the caller's tenant",
            plugin_ui::asset,
        )
        .gives_media(200, "*/*"),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/services",
            AuthRule::Member,
            "Service discovery: the services of the tenant's active plugins and their status",
            gateway::services,
        )
        .gives::<Vec<ServiceInfo>>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/data/{table}",
            Plugin,
            "Insert a row into one of the caller's own tables",
            data::insert,
        )
        .takes::<InsertRow>()
        .gives::<InsertedRow>(201),
        entry(
            M::PATCH,
            "/api/v1/tenants/{t}/data/{table}",
            Plugin,
            "Set columns on the caller's rows matching a filter",
            data::update,
        )
        .takes::<UpdateRows>()
        .gives::<RowsChanged>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/data/{table}/query",
            Plugin,
            "Rows of one of the caller's own tables (filter, order, limit)",
            data::query,
        )
        .takes::<DataQuery>()
        .gives::<DataRows>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/data/{table}/count",
            Plugin,
            "How many of the caller's rows match a filter",
            data::count,
        )
        .takes::<DataFilter>()
        .gives::<DataCount>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/data/{table}/delete",
            Plugin,
            "Remove the caller's rows matching a filter",
            data::delete,
        )
        .takes::<DataFilter>()
        .gives::<RowsChanged>(200),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/shared/{namespace}/{key}",
            Plugin,
            "A shared value (the owner, or a plugin its manifest lets read)",
            shared::get,
        )
        .gives::<SharedValue>(200),
        entry(
            M::PUT,
            "/api/v1/tenants/{t}/shared/{namespace}/{key}",
            Plugin,
            "Write a shared value in a namespace the caller declares (`ttl_seconds` optional)",
            shared::put,
        )
        .takes::<PutSharedValue>()
        .gives::<SharedValue>(200),
        entry(
            M::DELETE,
            "/api/v1/tenants/{t}/shared/{namespace}/{key}",
            Plugin,
            "Remove a shared value (the owner only)",
            shared::delete,
        )
        .gives_nothing(204),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/plugin-config",
            Plugin,
            "The calling plugin's own configuration (`?workspace=` adds its overrides)",
            plugins::own_config,
        )
        .gives::<Value>(200),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/events",
            Tenant("events:read"),
            "The tenant's committed events after a cursor (`?after=&type=&wait=&limit=`)",
            events::log,
        )
        .gives::<EventLog>(200),
        entry(
            M::POST,
            "/api/v1/admin/signing-keys/rotate",
            SuperAdmin,
            "Rotate the access-token signing key (older tokens stay valid until they expire)",
            auth::rotate_signing_key,
        )
        .gives::<RotatedSigningKey>(201),
        entry(
            M::GET,
            "/api/v1/admin/dlq",
            SuperAdmin,
            "Dead letters (`?state=`)",
            dlq::list,
        )
        .gives::<Page<DeadLetter>>(200),
        entry(
            M::POST,
            "/api/v1/admin/dlq/retry",
            SuperAdmin,
            "Retry every pending dead letter (`?type=`)",
            dlq::retry_all,
        )
        .gives::<Retried>(202),
        entry(
            M::GET,
            "/api/v1/admin/dlq/{id}",
            SuperAdmin,
            "A dead letter with its event",
            dlq::get,
        )
        .gives::<DeadLetter>(200),
        entry(
            M::POST,
            "/api/v1/admin/dlq/{id}/retry",
            SuperAdmin,
            "Deliver a dead letter again, to its subscriber only",
            dlq::retry,
        )
        .gives::<DeadLetter>(202),
        entry(
            M::DELETE,
            "/api/v1/admin/dlq/{id}",
            SuperAdmin,
            "Discard a dead letter",
            dlq::discard,
        )
        .gives_nothing(204),
        entry(
            M::POST,
            "/api/v1/tenants",
            SuperAdmin,
            "Provision a tenant",
            tenants::create,
        )
        .takes::<CreateTenantRequest>()
        .gives::<dto::Tenant>(201)
        .gives::<dto::Tenant>(200)
        .gives::<dto::Tenant>(202),
        entry(
            M::GET,
            "/api/v1/tenants",
            SuperAdmin,
            "List tenants",
            tenants::list,
        )
        .gives::<Page<dto::Tenant>>(200),
        entry(
            M::GET,
            "/api/v1/tenants/{t}",
            SuperAdmin,
            "A tenant with usage",
            tenants::get,
        )
        .gives::<dto::Tenant>(200),
        entry(
            M::PATCH,
            "/api/v1/tenants/{t}",
            SuperAdmin,
            "Rename, change settings",
            tenants::update,
        )
        .takes::<UpdateTenantRequest>()
        .gives::<dto::Tenant>(200),
        entry(
            M::DELETE,
            "/api/v1/tenants/{t}",
            SuperAdmin,
            "Soft delete (`?hard=true`: drop its data)",
            tenants::delete,
        )
        .gives::<dto::Tenant>(200)
        .gives_nothing(204),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/suspend",
            SuperAdmin,
            "Suspend",
            tenants::suspend,
        )
        .gives::<dto::Tenant>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/activate",
            SuperAdmin,
            "Re-activate",
            tenants::activate,
        )
        .gives::<dto::Tenant>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/users",
            T_USERS_WRITE,
            "Create a user",
            users::create,
        )
        .takes::<CreateUserRequest>()
        .gives::<User>(201),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/users",
            T_USERS_READ,
            "List users",
            users::list,
        )
        .gives::<Page<User>>(200),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/users/{id}",
            T_USERS_READ,
            "A user",
            users::get,
        )
        .gives::<User>(200),
        entry(
            M::PATCH,
            "/api/v1/tenants/{t}/users/{id}",
            T_USERS_WRITE,
            "Rename, set password",
            users::update,
        )
        .takes::<UpdateUserRequest>()
        .gives::<User>(200),
        entry(
            M::DELETE,
            "/api/v1/tenants/{t}/users/{id}",
            T_USERS_WRITE,
            "Delete a user",
            users::delete,
        )
        .gives_nothing(204),
        entry(
            M::PUT,
            "/api/v1/tenants/{t}/users/{id}/roles",
            Tenant("roles:write"),
            "Set a user's roles",
            users::set_roles,
        )
        .takes::<SetRolesRequest>()
        .gives::<User>(200),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/roles",
            Tenant("roles:read"),
            "List roles",
            users::roles,
        )
        .gives::<Vec<Role>>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/roles",
            Tenant("roles:write"),
            "Create a role",
            users::create_role,
        )
        .takes::<CreateRoleRequest>()
        .gives::<Role>(201),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/workspaces",
            Tenant(WS_WRITE),
            "Create a workspace (creator is ADMIN)",
            workspaces::create,
        )
        .takes::<CreateWorkspaceRequest>()
        .gives::<dto::Workspace>(201),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/workspaces",
            Tenant(WS_READ),
            "The caller's workspaces (all for tenant admins)",
            workspaces::list,
        )
        .gives::<Page<dto::Workspace>>(200),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/workspaces/{ws}",
            Workspace(WS_READ, Viewer),
            "A workspace",
            workspaces::get,
        )
        .gives::<dto::Workspace>(200),
        entry(
            M::PATCH,
            "/api/v1/tenants/{t}/workspaces/{ws}",
            Workspace(WS_WRITE, Admin),
            "Update a workspace",
            workspaces::update,
        )
        .takes::<UpdateWorkspaceRequest>()
        .gives::<dto::Workspace>(200),
        entry(
            M::DELETE,
            "/api/v1/tenants/{t}/workspaces/{ws}",
            Workspace(WS_WRITE, Admin),
            "Delete a workspace (`?force=true` with members or teams)",
            workspaces::delete,
        )
        .gives_nothing(204),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/workspaces/{ws}/members",
            Workspace(WS_READ, Viewer),
            "Members",
            workspaces::members,
        )
        .gives::<Vec<dto::Member>>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/workspaces/{ws}/members",
            Workspace(WS_WRITE, Admin),
            "Add a member",
            workspaces::add_member,
        )
        .takes::<AddMemberRequest>()
        .gives::<dto::Member>(201),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/workspaces/{ws}/members/{user}",
            Workspace(WS_READ, Viewer),
            "A member",
            workspaces::member,
        )
        .gives::<dto::Member>(200),
        entry(
            M::PATCH,
            "/api/v1/tenants/{t}/workspaces/{ws}/members/{user}",
            Workspace(WS_WRITE, Admin),
            "Change a member's role",
            workspaces::set_member_role,
        )
        .takes::<SetMemberRoleRequest>()
        .gives::<dto::Member>(200),
        entry(
            M::DELETE,
            "/api/v1/tenants/{t}/workspaces/{ws}/members/{user}",
            Workspace(WS_WRITE, Admin),
            "Remove a member",
            workspaces::remove_member,
        )
        .gives_nothing(204),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/workspaces/{ws}/teams",
            Workspace(WS_READ, Viewer),
            "Teams",
            workspaces::teams,
        )
        .gives::<Vec<Team>>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/workspaces/{ws}/teams",
            Workspace(WS_WRITE, Member),
            "Create a team",
            workspaces::create_team,
        )
        .takes::<CreateTeamRequest>()
        .gives::<Team>(201),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/workspaces/{ws}/plugins/{id}/settings",
            Workspace(WS_READ, Viewer),
            "A plugin's settings in the workspace (overrides and effective values)",
            plugins::workspace_settings,
        )
        .gives::<WorkspacePluginSettings>(200),
        entry(
            M::PUT,
            "/api/v1/tenants/{t}/workspaces/{ws}/plugins/{id}/settings",
            Workspace(WS_WRITE, Admin),
            "Replace the workspace's overrides of a plugin's settings",
            plugins::put_workspace_settings,
        )
        .takes::<WorkspacePluginSettings>()
        .gives::<WorkspacePluginSettings>(200),
        entry(
            M::GET,
            "/api/v1/plugins",
            Authenticated,
            "The plugin catalog (from the registry)",
            plugins::catalog,
        )
        .gives::<SearchResults>(200),
        entry(
            M::GET,
            "/api/v1/plugins/{plugin}",
            Authenticated,
            "The registry's metadata of the version an install would pick (`?version_req=`)",
            plugins::offer,
        )
        .gives::<VersionDetail>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/plugins",
            T_PLUGINS_WRITE,
            "Install a plugin from the registry",
            plugins::install,
        )
        .takes::<InstallPluginRequest>()
        .gives::<PluginInstall>(201),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/plugins",
            T_PLUGINS_READ,
            "Installed plugins (secrets redacted)",
            plugins::list,
        )
        .gives::<Vec<PluginInstall>>(200),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/plugins/{id}",
            T_PLUGINS_READ,
            "An installed plugin",
            plugins::get,
        )
        .gives::<PluginInstall>(200),
        entry(
            M::PUT,
            "/api/v1/tenants/{t}/plugins/{id}/dev",
            T_PLUGINS_WRITE,
            "Install and activate an unsigned package in place (development mode only)",
            plugins::dev_install,
        )
        .takes_media("application/octet-stream")
        .gives::<PluginInstall>(200),
        entry(
            M::GET,
            "/api/v1/tenants/{t}/plugins/{id}/logs",
            T_PLUGINS_WRITE,
            "The log of a plugin's backend (`?lines=`, `?after=`; secrets blanked)",
            plugins::logs,
        )
        .gives::<PluginLog>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/plugins/{id}/activate",
            T_PLUGINS_WRITE,
            "Start a plugin and deliver its events",
            plugins::activate,
        )
        .gives::<PluginInstall>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/plugins/{id}/deactivate",
            T_PLUGINS_WRITE,
            "Stop a plugin",
            plugins::deactivate,
        )
        .gives::<PluginInstall>(200),
        entry(
            M::PATCH,
            "/api/v1/tenants/{t}/plugins/{id}/config",
            T_PLUGINS_WRITE,
            "Change a plugin's configuration",
            plugins::configure,
        )
        .takes::<UpdatePluginConfigRequest>()
        .gives::<PluginInstall>(200),
        entry(
            M::POST,
            "/api/v1/tenants/{t}/plugins/{id}/upgrade",
            T_PLUGINS_WRITE,
            "Upgrade a plugin (new migrations only, configuration carried)",
            plugins::upgrade,
        )
        .takes::<UpgradePluginRequest>()
        .gives::<PluginInstall>(200),
        entry(
            M::DELETE,
            "/api/v1/tenants/{t}/plugins/{id}",
            T_PLUGINS_WRITE,
            "Uninstall a plugin (`?purge=true` drops its tables)",
            plugins::uninstall,
        )
        .gives_nothing(204),
    ];
    for method in [M::GET, M::POST, M::PUT, M::PATCH, M::DELETE] {
        all.push(
            entry(
                method,
                GATEWAY,
                AuthRule::Member,
                "Call an endpoint a plugin declares (checked and forwarded)",
                gateway::call,
            )
            // Whatever the plugin's endpoint answers, passed on.
            .gives_media(200, "*/*")
            .gives_media(201, "*/*")
            .gives_media(202, "*/*")
            .gives_nothing(204),
        );
    }
    all
}

/// The gateway's path.
const GATEWAY: &str = "/api/v1/tenants/{t}/gateway/{plugin}/{service}/{*path}";

/// Whether the console's cookie opens `spec`'s route. Plugin code runs in the console's page,
/// where the browser adds the cookie to its requests too: so the cookie opens no route that
/// hands out a credential outliving the session, nor a plugin's backend (its UI token does).
fn cookie_for(spec: &RouteSpec) -> Cookie {
    if spec.path.starts_with(session::SESSION_PATH) {
        Cookie::ConsoleOnly
    } else if spec.path == GATEWAY {
        Cookie::Refused(
            "the gateway takes a bearer token (a plugin's frontend: its UI token), not the console's cookie",
        )
    } else if spec.path == "/api/v1/auth/tokens" && spec.method == Method::POST {
        Cookie::Refused(
            "API tokens are made with a login of the CLI (`plexica token create`), not from the console",
        )
    } else {
        Cookie::Opens
    }
}

/// Every route and its rule.
pub fn table() -> Vec<RouteSpec> {
    plexica_server::routes::table(entries())
}

/// The router: every route of [`table`], each behind its rule.
pub fn router(state: AppState) -> Router {
    entries()
        .into_iter()
        .fold(Router::new(), |router, Entry { spec, handler }| {
            let family = if spec.path == GATEWAY {
                RouteFamily::Gateway
            } else {
                RouteFamily::Api
            };
            let guard = axum::middleware::from_fn_with_state(
                (state.clone(), spec.rule, family, cookie_for(&spec)),
                guard::enforce,
            );
            let handler = handler.route_layer(guard);
            // The console's files and plugins' frontends go to browsers, gzipped when they
            // ask; API answers stay as they are.
            let handler = if console::is_web_file(spec.path) {
                handler.layer(CompressionLayer::new())
            } else {
                handler
            };
            router.route(spec.path, handler)
        })
        .fallback(console::fallback)
        .with_state(state)
}

/// A JSON body; unreadable ones are refused with the error envelope: 413 when larger than
/// the server takes, 422 when mistyped, 400 otherwise.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "VALIDATION_FAILED",
                e.body_text(),
            )),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => Err(
                ApiError::new(e.status(), "PAYLOAD_TOO_LARGE", e.body_text()),
            ),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

/// Query parameters; bad ones are refused with the error envelope (422).
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| {
                ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "VALIDATION_FAILED",
                    e.body_text(),
                )
            })
    }
}

/// `?page=&per_page=` (page from 1; 1–100 per page, default 20).
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct Paging {
    /// Page number.
    #[serde(default)]
    pub page: Option<u32>,
    /// Page size.
    #[serde(default)]
    pub per_page: Option<u32>,
}

impl Paging {
    /// `(page, per_page)` after defaults and bounds.
    pub fn resolve(self) -> Result<(u32, u32), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(20);
        if page == 0 || page > 1_000_000 {
            return Err(ApiError::invalid("page", "`page` counts from 1"));
        }
        if !(1..=100).contains(&per_page) {
            return Err(ApiError::invalid("per_page", "`per_page` is 1–100"));
        }
        Ok((page, per_page))
    }
}

/// 404 `WORKSPACE_NOT_FOUND`: the tenant has no workspace `slug` (or the caller may not see it).
fn workspace_not_found(slug: &str) -> ApiError {
    ApiError::not_found(
        "WORKSPACE_NOT_FOUND",
        format!("no workspace `{}`", slug.escape_debug()),
    )
}

/// Checks that `value` (if any) is a JSON object of at most 64 KiB.
pub fn check_settings(value: Option<serde_json::Value>) -> Result<serde_json::Value, ApiError> {
    match value {
        None => Ok(serde_json::json!({})),
        Some(v @ serde_json::Value::Object(_)) if v.to_string().len() <= 64 * 1024 => Ok(v),
        Some(serde_json::Value::Object(_)) => Err(ApiError::invalid(
            "settings",
            "`settings` is at most 64 KiB",
        )),
        Some(_) => Err(ApiError::invalid(
            "settings",
            "`settings` must be a JSON object",
        )),
    }
}
