//! Request and response bodies of the core API (`/api/v1`, core-api.md), shared by
//! `plexica-core-api`, the `plexica` CLI and plugins.
//!
//! Types that carry a secret (passwords, tokens) print `<redacted>` in their `Debug` form.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Prefix of every long-lived core API token (for CI).
pub const API_TOKEN_PREFIX: &str = "plx_";

/// Prefix of every plugin install token (what a plugin's backend authenticates with).
pub const INSTALL_TOKEN_PREFIX: &str = "plxi_";

/// The environment `plexica plugin test` runs a plugin's tests in: a platform of their own,
/// the plugin installed and active in a tenant (read it with `plexica_sdk::testing::platform`).
pub mod test_platform {
    /// The core API's base URL.
    pub const URL: &str = "PLEXICA_TEST_PLATFORM_URL";
    /// A token of the plugin's install in [`TENANT`]: what its backend acts with.
    pub const INSTALL_TOKEN: &str = "PLEXICA_TEST_PLATFORM_INSTALL_TOKEN";
    /// A user API token (the tenant's administrator) to call the platform as a user would,
    /// e.g. the plugin's routes through the gateway.
    pub const USER_TOKEN: &str = "PLEXICA_TEST_PLATFORM_USER_TOKEN";
    /// The tenant the plugin is installed in.
    pub const TENANT: &str = "PLEXICA_TEST_PLATFORM_TENANT";
    /// A workspace of that tenant.
    pub const WORKSPACE: &str = "PLEXICA_TEST_PLATFORM_WORKSPACE";
}

/// Prefix of every refresh token.
pub const REFRESH_TOKEN_PREFIX: &str = "plxrt_";

/// The email the platform's super admin logs in with (no tenant).
pub const SUPER_ADMIN_EMAIL: &str = "admin";

/// Every error answer: `{"error":{"code":"WORKSPACE_NOT_FOUND","message":"…","details":{…}}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable, upper-snake-case code.
    pub code: String,
    /// For people.
    pub message: String,
    /// Structured context (the field at fault, the permission missing, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// One page of a list: `{data, total, page, per_page}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The items of this page.
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub data: Vec<T>,
    /// Items in all pages.
    pub total: u64,
    /// This page, from 1.
    pub page: u32,
    /// Items per page.
    pub per_page: u32,
}

macro_rules! redacted_debug {
    ($ty:ident { $($shown:ident),* } hides { $($hidden:ident),* }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($shown), &self.$shown))*
                    $(.field(stringify!($hidden), &"<redacted>"))*
                    .finish()
            }
        }
    };
}

/// `POST /api/v1/auth/login`. The super admin logs in with email `admin` and no tenant.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// The tenant's slug; absent for the super admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The account's email (`admin` for the super admin).
    pub email: String,
    /// The password.
    pub password: String,
}
redacted_debug!(LoginRequest { tenant, email } hides { password });

/// An access token and the refresh token that renews it (login and refresh answers).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenPair {
    /// A JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque, single use: trade it at `POST /auth/refresh` for a new pair.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}
redacted_debug!(TokenPair { token_type, expires_in } hides { access_token, refresh_token });

/// `POST /api/v1/auth/refresh`, and optionally `POST /api/v1/auth/logout`.
#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    /// The refresh token.
    pub refresh_token: String,
}
redacted_debug!(RefreshRequest {} hides { refresh_token });

/// `GET /api/v1/auth/me`: who the caller is and what they may do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// User id.
    pub id: String,
    /// Email (`admin` for the super admin).
    pub email: String,
    /// Display name.
    pub name: String,
    /// The tenant the caller belongs to; absent for the super admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// That tenant's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
    /// Is the caller the platform's super admin?
    pub super_admin: bool,
    /// Tenant roles (or `super_admin`).
    pub roles: Vec<String>,
    /// Effective permission strings (`resource:action`; `*` for all).
    pub permissions: Vec<String>,
    /// `session` (login), `api_token` or `external` (the tenant's identity provider).
    pub auth: String,
}

/// `POST /api/v1/auth/tokens`: a long-lived API token for CI.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewApiTokenRequest {
    /// A label, e.g. the pipeline using it.
    pub name: String,
    /// Permissions the token is limited to (`resource:action`); default: all of the caller's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Lifetime in seconds; default 90 days, at most one year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<u64>,
}

/// An API token as listed (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiTokenInfo {
    /// Public id, for revocation.
    pub id: String,
    /// Label.
    pub name: String,
    /// Permissions it is limited to (`*` for all of the owner's).
    pub scopes: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// The answer to `POST /api/v1/auth/tokens`: the secret is shown this once.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiToken {
    /// The token's description.
    #[serde(flatten)]
    pub info: ApiTokenInfo,
    /// `plx_…`.
    pub token: String,
}
redacted_debug!(CreatedApiToken { info } hides { token });

/// Lifecycle state of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TenantStatus {
    /// Its data space is being created.
    Provisioning,
    /// In service.
    Active,
    /// Its users are refused with `TENANT_SUSPENDED`.
    Suspended,
    /// Soft-deleted: kept, refused, can be re-activated.
    PendingDeletion,
    /// Gone.
    Deleted,
}

impl TenantStatus {
    /// Every state.
    pub const ALL: [TenantStatus; 5] = [
        Self::Provisioning,
        Self::Active,
        Self::Suspended,
        Self::PendingDeletion,
        Self::Deleted,
    ];

    /// Its name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioning => "PROVISIONING",
            Self::Active => "ACTIVE",
            Self::Suspended => "SUSPENDED",
            Self::PendingDeletion => "PENDING_DELETION",
            Self::Deleted => "DELETED",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// `POST /api/v1/tenants`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateTenantRequest {
    /// `^[a-z][a-z0-9-]{1,49}[a-z0-9]$`, not reserved.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Email of the first tenant admin; default `admin@<slug>.local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_email: Option<String>,
    /// Free-form settings (a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Value>,
}

/// `PATCH /api/v1/tenants/{slug}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateTenantRequest {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New settings (replaces the object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Value>,
}

/// Counts shown with a tenant's details.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantUsage {
    /// Users.
    pub users: u64,
    /// Workspaces.
    pub workspaces: u64,
}

/// The first admin's credentials, in the answer that created the tenant (shown once).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InitialAdmin {
    /// Login email.
    pub email: String,
    /// Generated password.
    pub password: String,
}
redacted_debug!(InitialAdmin { email } hides { password });

/// A tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tenant {
    /// Stable id.
    pub id: String,
    /// URL name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Lifecycle state.
    pub status: TenantStatus,
    /// Free-form settings.
    pub settings: Value,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// Counts (on `GET /tenants/{slug}` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<TenantUsage>,
    /// The first admin's credentials, only in the answer that provisioned the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_admin: Option<InitialAdmin>,
}

/// A user of a tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// Stable id.
    pub id: String,
    /// Login email, unique in the tenant.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Tenant roles.
    pub roles: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    /// A generated password, only in the answer that created the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_password: Option<String>,
    /// Only in the answer to a password change: `true`, the user's other sessions (and their
    /// refresh tokens) and every API token were revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_revoked: Option<bool>,
}

/// `POST /api/v1/tenants/{t}/users`. Without a password one is generated and returned once.
#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUserRequest {
    /// Login email.
    pub email: String,
    /// Display name; default: the email's local part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Password (at least 8 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Tenant roles; default `member`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}
redacted_debug!(CreateUserRequest { email, name, roles } hides { password });

/// `PATCH /api/v1/tenants/{t}/users/{id}`.
#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateUserRequest {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}
redacted_debug!(UpdateUserRequest { name } hides { password });

/// `PUT /api/v1/tenants/{t}/users/{id}/roles`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetRolesRequest {
    /// The complete set of tenant roles.
    pub roles: Vec<String>,
}

/// A tenant role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Role {
    /// Name, e.g. `admin`.
    pub name: String,
    /// Permission strings (`resource:action`, `*` for all).
    pub permissions: Vec<String>,
    /// Created at provisioning (cannot be changed).
    pub builtin: bool,
}

/// `POST /api/v1/tenants/{t}/roles`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateRoleRequest {
    /// `^[a-z][a-z0-9_-]{1,39}$`.
    pub name: String,
    /// Permission strings.
    pub permissions: Vec<String>,
}

/// A role inside a workspace: `admin > member > viewer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceRole {
    /// Read.
    Viewer,
    /// Read and contribute.
    Member,
    /// Everything in the workspace.
    Admin,
}

impl WorkspaceRole {
    /// Every role, lowest first.
    pub const ALL: [WorkspaceRole; 3] = [Self::Viewer, Self::Member, Self::Admin];

    /// Its name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Member => "member",
            Self::Admin => "admin",
        }
    }

    /// Parses the name, any case.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(text))
    }
}

/// A workspace, with the caller's role in it and counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workspace {
    /// Stable id.
    pub id: String,
    /// URL name, unique in the tenant.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Free-form settings.
    pub settings: Value,
    /// The tenant's default workspace (cannot be deleted).
    pub is_default: bool,
    /// The caller's role (tenant admins count as `admin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<WorkspaceRole>,
    /// Members.
    pub member_count: u64,
    /// Teams.
    pub team_count: u64,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// `POST /api/v1/tenants/{t}/workspaces`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateWorkspaceRequest {
    /// `^[a-z][a-z0-9-]{1,62}$`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Free-form settings (a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Value>,
}

/// `PATCH /api/v1/tenants/{t}/workspaces/{ws}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateWorkspaceRequest {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New settings (replaces the object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Value>,
}

/// A workspace member.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    /// The user's id.
    pub user_id: String,
    /// The user's email.
    pub email: String,
    /// The user's name.
    pub name: String,
    /// Role in the workspace.
    pub role: WorkspaceRole,
    /// RFC 3339.
    pub added_at: String,
}

/// `POST /api/v1/tenants/{t}/workspaces/{ws}/members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddMemberRequest {
    /// The user's id (or email).
    pub user_id: String,
    /// Role in the workspace.
    pub role: WorkspaceRole,
}

/// `PATCH /api/v1/tenants/{t}/workspaces/{ws}/members/{user}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetMemberRoleRequest {
    /// The new role.
    pub role: WorkspaceRole,
}

/// A team in a workspace.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    /// Stable id.
    pub id: String,
    /// Name, unique in the workspace.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Members' user ids.
    pub members: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// `POST /api/v1/tenants/{t}/workspaces/{ws}/teams`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateTeamRequest {
    /// Name, unique in the workspace.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// User ids of workspace members to put in the team.
    #[serde(default)]
    pub members: Vec<String>,
}

/// The state of a plugin in a tenant: `INSTALLED → ACTIVE ⇄ INACTIVE`, or `FAILED` when its
/// backend could not be kept running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PluginState {
    /// Installed (migrations applied), not running.
    Installed,
    /// Running and receiving events.
    Active,
    /// Deactivated after having been active.
    Inactive,
    /// Its backend failed to start or keep running.
    Failed,
}

impl PluginState {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Installed => "INSTALLED",
            Self::Active => "ACTIVE",
            Self::Inactive => "INACTIVE",
            Self::Failed => "FAILED",
        }
    }

    /// Parses the wire form.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Installed, Self::Active, Self::Inactive, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// `POST /api/v1/tenants/{t}/plugins`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstallPluginRequest {
    /// Plugin id in the registry.
    pub id: String,
    /// SemVer requirement (default: the highest version not yanked). `=1.2.0` pins a version,
    /// which may then be a yanked one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_req: Option<String>,
    /// Configuration values (defaults fill the rest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub config: Option<serde_json::Map<String, Value>>,
    /// Activate right after installing.
    #[serde(default)]
    pub activate: bool,
}

/// `GET /api/v1/tenants/{t}/plugins/{id}/logs`: lines of the backend's log, secrets blanked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginLog {
    /// The plugin.
    pub plugin_id: String,
    /// The version whose backend wrote the log.
    pub version: String,
    /// Complete lines, oldest first.
    pub lines: Vec<String>,
    /// Pass as `after` to get only what is written from now on (`--follow`).
    pub next_offset: u64,
}

/// `GET /api/v1/tenants/{t}/ui-modules`: what the console shows of the tenant's plugins.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UiModules {
    /// The active and the failed plugins that have a frontend, by id.
    pub plugins: Vec<PluginUi>,
}

/// The frontend of one installed plugin, as the console loads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginUi {
    /// Plugin id; also the Module Federation remote's name.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// `ACTIVE`, or `FAILED` (then `error` says why, and the console shows it in the
    /// plugin's places instead of loading it).
    pub state: PluginState,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Path of the remote's ES-module entry on this origin
    /// (`/plugins/{id}/{version}/{remote-entry}`).
    pub remote_entry: String,
    /// The modules the caller may see, in manifest order.
    pub modules: Vec<UiModule>,
}

/// `POST /api/v1/tenants/{t}/plugins/{id}/ui-token`: what the console's `host.fetch` sends
/// for a plugin's frontend.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginUiToken {
    /// A bearer token that opens the plugin's own endpoints through the gateway, as the
    /// signed-in user, and nothing else.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// One `[[frontend.modules]]` entry the caller may see.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UiModule {
    /// Exposed name: the remote exposes it as `./{name}`.
    pub name: String,
    /// `page`, `widget`, `component` or `layout`.
    pub kind: String,
    /// Where the console mounts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_point: Option<String>,
    /// A page's route in the console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Its menu entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menu: Option<UiMenu>,
}

/// A module's menu entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UiMenu {
    /// Label.
    pub label: String,
    /// Icon name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Position: lower first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
}

/// A plugin installed in a tenant. Secret configuration values read as `********`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginInstall {
    /// Plugin id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Lifecycle state.
    pub state: PluginState,
    /// The tenant's configuration (secrets redacted).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Map<String, Value>,
    /// The configuration fields of the installed version (its manifest's `[[config]]`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub config_fields: Vec<crate::manifest::ConfigField>,
    /// Permissions the plugin registered in the tenant.
    pub permissions: Vec<String>,
    /// TCP ports its backend may connect to besides the core API's (its manifest's
    /// `outbound-ports`; its sandbox allows no others).
    #[serde(default)]
    pub outbound_ports: Vec<u16>,
    /// Migrations applied, in order.
    pub migrations: Vec<String>,
    /// sha256 of the installed package.
    pub digest: String,
    /// Why it is `FAILED`, if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// RFC 3339.
    pub installed_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// `PATCH /api/v1/tenants/{t}/plugins/{id}/config`: values to change (`null` resets a field to
/// its default; a secret sent back as `********` keeps its value).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdatePluginConfigRequest {
    /// Fields to set.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Map<String, Value>,
}

/// `POST /api/v1/tenants/{t}/plugins/{id}/upgrade`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpgradePluginRequest {
    /// SemVer requirement of the new version (default: the highest not yanked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_req: Option<String>,
    /// Values to change in the carried configuration, as in [`UpdatePluginConfigRequest`]
    /// (`null` resets a field): how a field the new version requires is given.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Map<String, Value>,
}

/// `GET/PUT /api/v1/tenants/{t}/workspaces/{ws}/plugins/{id}/settings`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspacePluginSettings {
    /// The workspace's own values (fields marked `workspace-override`; `null` removes one).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub overrides: serde_json::Map<String, Value>,
    /// What applies in the workspace: the tenant's configuration with the overrides on top
    /// (secrets redacted). Ignored on `PUT`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub effective: serde_json::Map<String, Value>,
}

/// A row of a plugin's own table, as a JSON object of its columns.
pub type DataRow = serde_json::Map<String, Value>;

/// `POST /api/v1/tenants/{t}/data/{table}`: a row to insert into one of the calling plugin's
/// tables (columns left out take their defaults; a workspace-aware plugin's `workspace_id` is
/// set by the platform).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InsertRow {
    /// Column → value.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub values: DataRow,
}

/// The row an insert stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InsertedRow {
    /// Every column, defaults filled in.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub row: DataRow,
}

/// `POST …/data/{table}/query`: which rows, in which order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataQuery {
    /// Column → value, all of which must match (`null` matches a missing value).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub filter: DataRow,
    /// Column names, `-name` for descending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_by: Vec<String>,
    /// At most this many rows (1–1000, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Rows skipped first (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}

/// The rows a query found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataRows {
    /// Rows, in the asked order.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub rows: Vec<DataRow>,
}

/// `POST …/data/{table}/count` and `POST …/data/{table}/delete`: the rows concerned (delete
/// needs at least one column).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataFilter {
    /// Column → value, all of which must match.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub filter: DataRow,
}

/// How many rows matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataCount {
    /// Rows.
    pub count: u64,
}

/// `PATCH …/data/{table}`: set columns on the rows matching a filter (of at least one column).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateRows {
    /// Column → value, all of which must match.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub filter: DataRow,
    /// Column → new value.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub set: DataRow,
}

/// How many rows an update or delete changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowsChanged {
    /// Rows.
    pub rows: u64,
}

/// A value of the tenant's shared data (`/tenants/{t}/shared/{namespace}/{key}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SharedValue {
    /// Namespace (`<owner id>` or `<owner id>.<name>`).
    pub namespace: String,
    /// Key.
    pub key: String,
    /// The JSON value.
    pub value: Value,
    /// When it expires, RFC 3339 (never returned after that).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// RFC 3339.
    pub updated_at: String,
}

/// `PUT /tenants/{t}/shared/{namespace}/{key}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PutSharedValue {
    /// The JSON value (at most 256 KiB).
    pub value: Value,
    /// Seconds it lives (1 s to a year); none: until overwritten or deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
}

/// Whether a service can be called now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceStatus {
    /// Its plugin runs and answered its recent heartbeats.
    Available,
    /// Its plugin is not running, or missed its heartbeats.
    Unavailable,
}

/// An endpoint of a service, as its manifest declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceEndpoint {
    /// HTTP method.
    pub method: String,
    /// Path pattern (`/contacts/:id`).
    pub path: String,
    /// Permission the caller needs, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

/// One entry of `GET /tenants/{t}/services` (service discovery).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceInfo {
    /// The plugin offering it.
    pub plugin: String,
    /// Service name (`crm.contacts`).
    pub name: String,
    /// Service version.
    pub version: String,
    /// Callable now?
    pub status: ServiceStatus,
    /// Its endpoints.
    pub endpoints: Vec<ServiceEndpoint>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let pair = TokenPair {
            access_token: "eyJsecret".into(),
            refresh_token: "plxrt_secret".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
        };
        let login = LoginRequest {
            tenant: None,
            email: "admin".into(),
            password: "hunter22".into(),
        };
        let text = format!("{pair:?} {login:?}");
        assert!(
            !text.contains("secret") && !text.contains("hunter22"),
            "{text}"
        );
        assert!(text.contains("admin"));
    }

    #[test]
    fn statuses_and_roles_round_trip() {
        for status in TenantStatus::ALL {
            assert_eq!(TenantStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        assert_eq!(WorkspaceRole::parse("ADMIN"), Some(WorkspaceRole::Admin));
        assert!(WorkspaceRole::Admin > WorkspaceRole::Member);
        assert!(WorkspaceRole::Member > WorkspaceRole::Viewer);
    }
}

/// `POST /api/v1/admin/signing-keys/rotate`: the key that signs access tokens from now on
/// (tokens signed with older keys stay valid until they expire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotatedSigningKey {
    /// The new key's id (the `kid` of tokens it signs, listed in the JWKS).
    pub kid: String,
}
