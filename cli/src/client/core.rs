//! The core API (core-api.md), one method per route, with the wire types of
//! `plexica_sdk::api::core`. A session's access token is renewed with its refresh token when
//! it is about to expire, and the new pair handed to a callback that stores it.

use std::sync::Mutex;

use plexica_sdk::api::core::{
    AddMemberRequest, ApiTokenInfo, CreateRoleRequest, CreateTeamRequest, CreateTenantRequest,
    CreateUserRequest, CreateWorkspaceRequest, CreatedApiToken, InstallPluginRequest, LoginRequest,
    Me, Member, NewApiTokenRequest, Page, PluginInstall, PluginLog, RefreshRequest, Role,
    SetMemberRoleRequest, SetRolesRequest, Team, Tenant, TokenPair, UpdatePluginConfigRequest,
    UpdateTenantRequest, UpdateWorkspaceRequest, UpgradePluginRequest, User, Workspace,
    WorkspacePluginSettings,
};
use plexica_sdk::api::events::{DeadLetter, EventLog, Retried};
use plexica_sdk::api::registry::VersionDetail;
use reqwest::Method;
use reqwest::blocking::Response;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ClientError, Idempotent, NO_BODY, Transport, decode, endpoint};
use crate::credentials::{ApiSession, Token, now_unix};
use crate::profile::ServiceUrl;

/// The environment variable that sets the correlation id of a command's requests (by default
/// each invocation makes one), so that a script can tie its steps and their events together.
pub const CORRELATION_ENV: &str = "PLEXICA_CORRELATION_ID";

/// Renew an access token this many seconds before it expires.
const RENEW_MARGIN_SECONDS: i64 = 30;

/// Stores a renewed session.
type SessionSink = Box<dyn Fn(&ApiSession) + Send + Sync>;

/// A client of one core API, with the caller's session when there is one.
pub struct CoreClient {
    base: ServiceUrl,
    correlation_id: String,
    session: Mutex<Option<ApiSession>>,
    on_renew: Option<SessionSink>,
    login_command: String,
    transport: Transport,
}

impl std::fmt::Debug for CoreClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The session a login or refresh answer makes.
pub fn session_from(
    pair: TokenPair,
    username: Option<String>,
    tenant: Option<String>,
) -> ApiSession {
    ApiSession {
        token: Token::new(pair.access_token),
        refresh_token: Some(Token::new(pair.refresh_token)),
        expires_at_unix: Some(now_unix() + i64::try_from(pair.expires_in).unwrap_or(0)),
        username,
        tenant,
    }
}

/// Query string pairs.
pub type Query<'a> = &'a [(&'a str, String)];

impl CoreClient {
    /// A client of `base` acting with `session` where routes need it.
    pub fn new(base: ServiceUrl, session: Option<ApiSession>) -> Result<Self, ClientError> {
        let correlation_id = std::env::var(CORRELATION_ENV)
            .ok()
            .filter(|id| (1..=128).contains(&id.len()))
            .unwrap_or_else(plexica_sdk::api::events::new_event_id);
        Ok(Self {
            correlation_id,
            session: Mutex::new(session),
            on_renew: None,
            login_command: format!("plexica login --api-url {base}"),
            base,
            transport: Transport::new()?,
        })
    }

    /// The command that logs in, for the help of a call made without a session (default:
    /// `plexica login --api-url URL`).
    pub fn login_command(mut self, command: String) -> Self {
        self.login_command = command;
        self
    }

    /// Reports each retry through `notice`.
    pub fn on_retry(mut self, notice: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.transport.on_retry(notice);
        self
    }

    /// Hands each renewed session to `sink` (to store it).
    pub fn on_renew(mut self, sink: impl Fn(&ApiSession) + Send + Sync + 'static) -> Self {
        self.on_renew = Some(Box::new(sink));
        self
    }

    /// The API's base URL.
    pub fn base(&self) -> &ServiceUrl {
        &self.base
    }

    /// The correlation id sent with every request of this client.
    pub fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    /// The access token, renewed first when it is about to expire.
    fn bearer(&self) -> Result<Token, ClientError> {
        let mut guard = self
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let session = guard.as_ref().ok_or_else(|| ClientError::NotLoggedIn {
            url: self.base.to_string(),
            help: format!(
                "run `{}` (or `plexica up`), or set PLEXICA_TOKEN",
                self.login_command
            ),
        })?;
        let due = session
            .expires_at_unix
            .is_some_and(|at| at - RENEW_MARGIN_SECONDS <= now_unix());
        if let (true, Some(refresh)) = (due, session.refresh_token.clone()) {
            let pair = self.refresh(&refresh)?;
            let renewed = session_from(pair, session.username.clone(), session.tenant.clone());
            if let Some(sink) = &self.on_renew {
                sink(&renewed);
            }
            *guard = Some(renewed);
        }
        Ok(guard
            .as_ref()
            .map(|s| s.token.clone())
            .unwrap_or_else(|| Token::new(String::new())))
    }

    fn call<B: Serialize>(
        &self,
        method: Method,
        segments: &[&str],
        query: Query<'_>,
        body: Option<&B>,
        authenticated: bool,
    ) -> Result<Response, ClientError> {
        let token = if authenticated {
            Some(self.bearer()?)
        } else {
            None
        };
        let mut url = endpoint(&self.base, segments);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        self.transport.call(
            method,
            &url,
            body,
            token.as_ref(),
            Some(&self.correlation_id),
        )
    }

    fn json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: Query<'_>,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        decode(self.call(method, segments, query, body, true)?)
    }

    fn no_content(
        &self,
        method: Method,
        segments: &[&str],
        query: Query<'_>,
    ) -> Result<(), ClientError> {
        self.call(method, segments, query, NO_BODY, true).map(drop)
    }

    // Auth.

    /// `POST /auth/login`.
    pub fn login(&self, request: &LoginRequest) -> Result<TokenPair, ClientError> {
        decode(self.call(Method::POST, &["auth", "login"], &[], Some(request), false)?)
    }

    /// `POST /auth/refresh`.
    pub fn refresh(&self, refresh_token: &Token) -> Result<TokenPair, ClientError> {
        let request = RefreshRequest {
            refresh_token: refresh_token.expose().to_owned(),
        };
        decode(self.call(
            Method::POST,
            &["auth", "refresh"],
            &[],
            Some(&request),
            false,
        )?)
    }

    /// `POST /auth/logout`.
    pub fn logout(&self) -> Result<(), ClientError> {
        self.no_content(Method::POST, &["auth", "logout"], &[])
    }

    /// `GET /auth/me`.
    pub fn me(&self) -> Result<Me, ClientError> {
        self.json(Method::GET, &["auth", "me"], &[], NO_BODY)
    }

    /// `POST /auth/tokens`.
    pub fn create_token(
        &self,
        request: &NewApiTokenRequest,
    ) -> Result<CreatedApiToken, ClientError> {
        self.json(Method::POST, &["auth", "tokens"], &[], Some(request))
    }

    /// `GET /auth/tokens`.
    pub fn tokens(&self) -> Result<Vec<ApiTokenInfo>, ClientError> {
        self.json(Method::GET, &["auth", "tokens"], &[], NO_BODY)
    }

    /// `DELETE /auth/tokens/{id}`.
    pub fn revoke_token(&self, id: &str) -> Result<(), ClientError> {
        self.no_content(Method::DELETE, &["auth", "tokens", id], &[])
    }

    // Dead letters.

    /// `GET /tenants/{t}/events`: committed events after a cursor (`after`, `type`, `wait`,
    /// `limit`).
    pub fn event_log(&self, tenant: &str, query: Query<'_>) -> Result<EventLog, ClientError> {
        self.json(Method::GET, &["tenants", tenant, "events"], query, NO_BODY)
    }

    /// `GET /admin/dlq`.
    pub fn dead_letters(&self, query: Query<'_>) -> Result<Page<DeadLetter>, ClientError> {
        self.json(Method::GET, &["admin", "dlq"], query, NO_BODY)
    }

    /// `GET /admin/dlq/{id}`.
    pub fn dead_letter(&self, id: &str) -> Result<DeadLetter, ClientError> {
        self.json(Method::GET, &["admin", "dlq", id], &[], NO_BODY)
    }

    /// `POST /admin/dlq/{id}/retry`.
    pub fn retry_dead_letter(&self, id: &str) -> Result<DeadLetter, ClientError> {
        self.json(Method::POST, &["admin", "dlq", id, "retry"], &[], NO_BODY)
    }

    /// `POST /admin/dlq/retry[?type=]`.
    pub fn retry_dead_letters(&self, query: Query<'_>) -> Result<Retried, ClientError> {
        self.json(Method::POST, &["admin", "dlq", "retry"], query, NO_BODY)
    }

    /// `DELETE /admin/dlq/{id}`.
    pub fn discard_dead_letter(&self, id: &str) -> Result<(), ClientError> {
        self.no_content(Method::DELETE, &["admin", "dlq", id], &[])
    }

    // Tenants.

    /// `POST /tenants`: the tenant and the HTTP status (201 new, 200 existing, 202 pending).
    pub fn create_tenant(
        &self,
        request: &CreateTenantRequest,
    ) -> Result<(u16, Tenant), ClientError> {
        let response = self.call(Method::POST, &["tenants"], &[], Some(request), true)?;
        let status = response.status().as_u16();
        Ok((status, decode(response)?))
    }

    /// `GET /tenants`.
    pub fn tenants(&self, query: Query<'_>) -> Result<Page<Tenant>, ClientError> {
        self.json(Method::GET, &["tenants"], query, NO_BODY)
    }

    /// `GET /tenants/{slug}`.
    pub fn tenant(&self, slug: &str) -> Result<Tenant, ClientError> {
        self.json(Method::GET, &["tenants", slug], &[], NO_BODY)
    }

    /// `PATCH /tenants/{slug}`.
    pub fn update_tenant(
        &self,
        slug: &str,
        request: &UpdateTenantRequest,
    ) -> Result<Tenant, ClientError> {
        self.json(Method::PATCH, &["tenants", slug], &[], Some(request))
    }

    /// `POST /tenants/{slug}/{suspend|activate}`.
    pub fn tenant_action(&self, slug: &str, action: &str) -> Result<Tenant, ClientError> {
        self.json(Method::POST, &["tenants", slug, action], &[], NO_BODY)
    }

    /// `DELETE /tenants/{slug}[?hard=true]`: the tenant after a soft delete, `None` after a
    /// hard one.
    pub fn delete_tenant(&self, slug: &str, hard: bool) -> Result<Option<Tenant>, ClientError> {
        let query = [("hard", hard.to_string())];
        let response = self.call(Method::DELETE, &["tenants", slug], &query, NO_BODY, true)?;
        if hard {
            Ok(None)
        } else {
            decode(response).map(Some)
        }
    }

    // Users and roles.

    /// `POST /tenants/{t}/users`.
    pub fn create_user(
        &self,
        tenant: &str,
        request: &CreateUserRequest,
    ) -> Result<User, ClientError> {
        self.json(
            Method::POST,
            &["tenants", tenant, "users"],
            &[],
            Some(request),
        )
    }

    /// `GET /tenants/{t}/users`.
    pub fn users(&self, tenant: &str, query: Query<'_>) -> Result<Page<User>, ClientError> {
        self.json(Method::GET, &["tenants", tenant, "users"], query, NO_BODY)
    }

    /// `DELETE /tenants/{t}/users/{id}`.
    pub fn delete_user(&self, tenant: &str, id: &str) -> Result<(), ClientError> {
        self.no_content(Method::DELETE, &["tenants", tenant, "users", id], &[])
    }

    /// `PUT /tenants/{t}/users/{id}/roles`.
    pub fn set_roles(
        &self,
        tenant: &str,
        id: &str,
        request: &SetRolesRequest,
    ) -> Result<User, ClientError> {
        self.json(
            Method::PUT,
            &["tenants", tenant, "users", id, "roles"],
            &[],
            Some(request),
        )
    }

    /// `GET /tenants/{t}/roles`.
    pub fn roles(&self, tenant: &str) -> Result<Vec<Role>, ClientError> {
        self.json(Method::GET, &["tenants", tenant, "roles"], &[], NO_BODY)
    }

    /// `POST /tenants/{t}/roles`.
    pub fn create_role(
        &self,
        tenant: &str,
        request: &CreateRoleRequest,
    ) -> Result<Role, ClientError> {
        self.json(
            Method::POST,
            &["tenants", tenant, "roles"],
            &[],
            Some(request),
        )
    }

    // Workspaces.

    /// `POST /tenants/{t}/workspaces`.
    pub fn create_workspace(
        &self,
        tenant: &str,
        request: &CreateWorkspaceRequest,
    ) -> Result<Workspace, ClientError> {
        self.json(
            Method::POST,
            &["tenants", tenant, "workspaces"],
            &[],
            Some(request),
        )
    }

    /// `GET /tenants/{t}/workspaces`.
    pub fn workspaces(
        &self,
        tenant: &str,
        query: Query<'_>,
    ) -> Result<Page<Workspace>, ClientError> {
        self.json(
            Method::GET,
            &["tenants", tenant, "workspaces"],
            query,
            NO_BODY,
        )
    }

    /// `GET /tenants/{t}/workspaces/{ws}`.
    pub fn workspace(&self, tenant: &str, ws: &str) -> Result<Workspace, ClientError> {
        self.json(
            Method::GET,
            &["tenants", tenant, "workspaces", ws],
            &[],
            NO_BODY,
        )
    }

    /// `PATCH /tenants/{t}/workspaces/{ws}`.
    pub fn update_workspace(
        &self,
        tenant: &str,
        ws: &str,
        request: &UpdateWorkspaceRequest,
    ) -> Result<Workspace, ClientError> {
        self.json(
            Method::PATCH,
            &["tenants", tenant, "workspaces", ws],
            &[],
            Some(request),
        )
    }

    /// `DELETE /tenants/{t}/workspaces/{ws}[?force=true]`.
    pub fn delete_workspace(&self, tenant: &str, ws: &str, force: bool) -> Result<(), ClientError> {
        self.no_content(
            Method::DELETE,
            &["tenants", tenant, "workspaces", ws],
            &[("force", force.to_string())],
        )
    }

    /// `GET /tenants/{t}/workspaces/{ws}/members`.
    pub fn members(&self, tenant: &str, ws: &str) -> Result<Vec<Member>, ClientError> {
        self.json(
            Method::GET,
            &["tenants", tenant, "workspaces", ws, "members"],
            &[],
            NO_BODY,
        )
    }

    /// `POST /tenants/{t}/workspaces/{ws}/members`.
    pub fn add_member(
        &self,
        tenant: &str,
        ws: &str,
        request: &AddMemberRequest,
    ) -> Result<Member, ClientError> {
        self.json(
            Method::POST,
            &["tenants", tenant, "workspaces", ws, "members"],
            &[],
            Some(request),
        )
    }

    /// `PATCH /tenants/{t}/workspaces/{ws}/members/{user}`.
    pub fn set_member_role(
        &self,
        tenant: &str,
        ws: &str,
        user: &str,
        request: &SetMemberRoleRequest,
    ) -> Result<Member, ClientError> {
        self.json(
            Method::PATCH,
            &["tenants", tenant, "workspaces", ws, "members", user],
            &[],
            Some(request),
        )
    }

    /// `DELETE /tenants/{t}/workspaces/{ws}/members/{user}`.
    pub fn remove_member(&self, tenant: &str, ws: &str, user: &str) -> Result<(), ClientError> {
        self.no_content(
            Method::DELETE,
            &["tenants", tenant, "workspaces", ws, "members", user],
            &[],
        )
    }

    /// `GET /tenants/{t}/workspaces/{ws}/teams`.
    pub fn teams(&self, tenant: &str, ws: &str) -> Result<Vec<Team>, ClientError> {
        self.json(
            Method::GET,
            &["tenants", tenant, "workspaces", ws, "teams"],
            &[],
            NO_BODY,
        )
    }

    /// `POST /tenants/{t}/workspaces/{ws}/teams`.
    pub fn create_team(
        &self,
        tenant: &str,
        ws: &str,
        request: &CreateTeamRequest,
    ) -> Result<Team, ClientError> {
        self.json(
            Method::POST,
            &["tenants", tenant, "workspaces", ws, "teams"],
            &[],
            Some(request),
        )
    }

    // Plugins in a tenant.

    /// `POST /tenants/{t}/plugins`: installs (and, with `activate`, activates) a plugin from
    /// the core API's registry.
    pub fn install_plugin(
        &self,
        tenant: &str,
        request: &InstallPluginRequest,
    ) -> Result<PluginInstall, ClientError> {
        self.json(
            Method::POST,
            &["tenants", tenant, "plugins"],
            &[],
            Some(request),
        )
    }

    #[cfg(feature = "platform")]
    /// `PUT /tenants/{t}/plugins/{id}/dev`: installs and activates the unsigned package
    /// `package` in place of what is installed (a core API in development mode only; any
    /// other answers 403 `DEV_MODE_REQUIRED`).
    pub fn dev_install(
        &self,
        tenant: &str,
        id: &str,
        package: Vec<u8>,
    ) -> Result<PluginInstall, ClientError> {
        let token = self.bearer()?;
        let url = endpoint(&self.base, &["tenants", tenant, "plugins", id, "dev"]);
        let package = bytes::Bytes::from(package);
        let response = self.transport.send(Idempotent::No, |http| {
            http.put(url.clone())
                .bearer_auth(token.expose())
                .header("x-correlation-id", &self.correlation_id)
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(ACCEPT, "application/json")
                .timeout(super::TRANSFER_TIMEOUT)
                .body(package.clone())
        })?;
        decode(response)
    }

    /// Any route of the core API as the caller (`plexica api`): `path` is relative to
    /// `/api/v1/` unless it starts with `/`, and may not leave this API's origin (the token
    /// goes nowhere else). Answers the response of a success; an error answer is an error.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        headers: &[(String, String)],
    ) -> Result<Response, ClientError> {
        let base = self.base.url();
        let joined = match path.starts_with('/') {
            true => base.join(path),
            false => base.join(&format!("/api/v1/{path}")),
        };
        let url = joined
            .ok()
            .filter(|url| url.origin() == base.origin())
            .ok_or_else(|| ClientError::Protocol {
                url: path.to_owned(),
                reason: format!("not a path of {base}"),
            })?;
        let token = self.bearer()?;
        let idempotent = match method == Method::GET || method == Method::HEAD {
            true => Idempotent::Yes,
            false => Idempotent::No,
        };
        let body = body.map(bytes::Bytes::from);
        self.transport.send(idempotent, |http| {
            let mut request = http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose())
                .header("x-correlation-id", &self.correlation_id)
                .header(ACCEPT, "application/json");
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str());
            }
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            request
        })
    }

    /// `GET /plugins/{id}?version_req=`: the registry's metadata of the version an install
    /// with that requirement would pick.
    pub fn plugin_offer(
        &self,
        id: &str,
        version_req: Option<&str>,
    ) -> Result<VersionDetail, ClientError> {
        let query: Vec<(&str, String)> = version_req
            .map(|req| ("version_req", req.to_owned()))
            .into_iter()
            .collect();
        self.json(Method::GET, &["plugins", id], &query, NO_BODY)
    }

    /// `GET /tenants/{t}/plugins`.
    pub fn plugin_installs(&self, tenant: &str) -> Result<Vec<PluginInstall>, ClientError> {
        self.json(Method::GET, &["tenants", tenant, "plugins"], &[], NO_BODY)
    }

    /// `GET /tenants/{t}/plugins/{id}` (404 `PLUGIN_NOT_INSTALLED`).
    pub fn plugin_install(&self, tenant: &str, id: &str) -> Result<PluginInstall, ClientError> {
        self.json(
            Method::GET,
            &["tenants", tenant, "plugins", id],
            &[],
            NO_BODY,
        )
    }

    /// `GET /tenants/{t}/plugins/{id}/logs` (`lines`, `after`).
    pub fn plugin_log(
        &self,
        tenant: &str,
        id: &str,
        query: Query<'_>,
    ) -> Result<PluginLog, ClientError> {
        self.json(
            Method::GET,
            &["tenants", tenant, "plugins", id, "logs"],
            query,
            NO_BODY,
        )
    }

    /// `POST /tenants/{t}/plugins/{id}/{activate|deactivate}`.
    pub fn plugin_action(
        &self,
        tenant: &str,
        id: &str,
        action: &str,
    ) -> Result<PluginInstall, ClientError> {
        self.json(
            Method::POST,
            &["tenants", tenant, "plugins", id, action],
            &[],
            NO_BODY,
        )
    }

    /// `PATCH /tenants/{t}/plugins/{id}/config` (a `null` value resets a field to its
    /// default).
    pub fn configure_plugin(
        &self,
        tenant: &str,
        id: &str,
        request: &UpdatePluginConfigRequest,
    ) -> Result<PluginInstall, ClientError> {
        self.json(
            Method::PATCH,
            &["tenants", tenant, "plugins", id, "config"],
            &[],
            Some(request),
        )
    }

    /// `POST /tenants/{t}/plugins/{id}/upgrade`.
    pub fn upgrade_plugin(
        &self,
        tenant: &str,
        id: &str,
        request: &UpgradePluginRequest,
    ) -> Result<PluginInstall, ClientError> {
        self.json(
            Method::POST,
            &["tenants", tenant, "plugins", id, "upgrade"],
            &[],
            Some(request),
        )
    }

    /// `DELETE /tenants/{t}/plugins/{id}?purge=`: `purge` also drops the plugin's data.
    pub fn uninstall_plugin(&self, tenant: &str, id: &str, purge: bool) -> Result<(), ClientError> {
        self.no_content(
            Method::DELETE,
            &["tenants", tenant, "plugins", id],
            &[("purge", purge.to_string())],
        )
    }

    /// `GET /tenants/{t}/workspaces/{ws}/plugins/{id}/settings`.
    pub fn workspace_plugin_settings(
        &self,
        tenant: &str,
        ws: &str,
        id: &str,
    ) -> Result<WorkspacePluginSettings, ClientError> {
        self.json(
            Method::GET,
            &[
                "tenants",
                tenant,
                "workspaces",
                ws,
                "plugins",
                id,
                "settings",
            ],
            &[],
            NO_BODY,
        )
    }

    /// `PUT /tenants/{t}/workspaces/{ws}/plugins/{id}/settings`: replaces the workspace's
    /// overrides (`effective` is ignored by the server).
    pub fn put_workspace_plugin_settings(
        &self,
        tenant: &str,
        ws: &str,
        id: &str,
        request: &WorkspacePluginSettings,
    ) -> Result<WorkspacePluginSettings, ClientError> {
        self.json(
            Method::PUT,
            &[
                "tenants",
                tenant,
                "workspaces",
                ws,
                "plugins",
                id,
                "settings",
            ],
            &[],
            Some(request),
        )
    }

    #[cfg(feature = "platform")]
    /// `GET /tenants/{t}/gateway/{plugin}/{service}/{path}`: a plugin's endpoint through the
    /// gateway, answering JSON.
    pub fn gateway_get(
        &self,
        tenant: &str,
        plugin: &str,
        service: &str,
        path: &str,
    ) -> Result<serde_json::Value, ClientError> {
        let mut segments = vec!["tenants", tenant, "gateway", plugin, service];
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
        self.json(Method::GET, &segments, &[], NO_BODY)
    }
}
