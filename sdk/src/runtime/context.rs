//! [`Context`]: who a handler runs for, and the platform it can call back.

use std::sync::Arc;

use serde::Serialize;

use super::error::{Error, Result};
use super::platform_auth::PlatformClaims;
use crate::api::events::{PublishRequest, Published};
pub use crate::api::signing::{CORRELATION_HEADER, TENANT_HEADER, USER_HEADER, WORKSPACE_HEADER};

tokio::task_local! {
    /// The context of the event, hook or request the current task works for.
    static CURRENT: Context;
}

pub use crate::api::env::{CORE_URL_ENV, INSTALL_TOKEN_ENV};

/// How a plugin reaches the core API: its base URL and the install's token.
pub struct CoreConnection {
    http: reqwest::Client,
    base_url: String,
    install_token: String,
}

impl std::fmt::Debug for CoreConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreConnection")
            .field("base_url", &self.base_url)
            .field("install_token", &"<redacted>")
            .finish()
    }
}

impl CoreConnection {
    /// A connection to the core API at `base_url`, authenticating with `install_token`.
    pub fn new(base_url: impl Into<String>, install_token: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            install_token: install_token.into(),
        }
    }

    /// The connection the platform configured (`PLEXICA_CORE_URL`, `PLEXICA_INSTALL_TOKEN`).
    pub fn from_env() -> Option<Self> {
        let url = std::env::var(CORE_URL_ENV).ok().filter(|u| !u.is_empty())?;
        let token = std::env::var(INSTALL_TOKEN_ENV)
            .ok()
            .filter(|t| !t.is_empty())?;
        Some(Self::new(url, token))
    }
}

/// The tenant, workspace, actor and correlation id a handler or request runs for, and the way
/// back to the platform.
///
/// Cheap to clone. Handlers receive it by reference; tests build one with
/// [`testing::context`](super::testing::context) or
/// [`testing::ContextBuilder`](super::testing::ContextBuilder).
#[derive(Debug, Clone)]
pub struct Context {
    tenant: String,
    workspace: Option<String>,
    actor: Option<String>,
    correlation_id: String,
    event_id: Option<String>,
    core: Option<Arc<CoreConnection>>,
}

impl PartialEq for Context {
    fn eq(&self, other: &Self) -> bool {
        self.tenant == other.tenant
            && self.workspace == other.workspace
            && self.actor == other.actor
            && self.correlation_id == other.correlation_id
            && self.event_id == other.event_id
    }
}

impl Eq for Context {}

impl Context {
    /// A context for `tenant`, optionally scoped to a workspace and attributed to an actor.
    pub(crate) fn new(
        tenant: String,
        workspace: Option<String>,
        actor: Option<String>,
        correlation_id: String,
    ) -> Self {
        Self {
            tenant,
            workspace,
            actor,
            correlation_id,
            event_id: None,
            core: None,
        }
    }

    /// The same context, handling event `id` (the cause of what it publishes).
    pub(crate) fn handling(mut self, id: String) -> Self {
        self.event_id = Some(id);
        self
    }

    /// The same context, able to call the core API through `core`.
    pub(crate) fn connected(mut self, core: Option<Arc<CoreConnection>>) -> Self {
        self.core = core;
        self
    }

    /// The context of the handler, hook or plugin route the current task runs for, if any:
    /// code called from them reaches it without passing it along.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// Runs `work` with this context as [`Context::current`] (the runtime does this around
    /// every handler, hook and plugin route).
    pub async fn scope<F: std::future::Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }

    /// The tenant's slug, e.g. `acme`.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The workspace's slug, for workspace-scoped events and requests.
    pub fn workspace(&self) -> Option<&str> {
        self.workspace.as_deref()
    }

    /// The id of the user who caused the work, when a user did.
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// The id shared by every event and call caused by the same original request.
    pub fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    /// The id of the event being handled, if any.
    pub fn event_id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }

    /// Publishing this plugin's own events.
    pub fn events(&self) -> Events<'_> {
        Events { ctx: self }
    }

    /// The core API, as this plugin's install in the context's tenant.
    pub fn core(&self) -> CoreApi<'_> {
        CoreApi { ctx: self }
    }

    /// Other plugins' services, through the platform's gateway.
    pub fn services(&self) -> Services<'_> {
        Services { ctx: self }
    }

    /// The tenant's shared data.
    pub fn shared(&self) -> Shared<'_> {
        Shared { ctx: self }
    }

    /// The plugin's own tables (`ctx.data()`).
    pub fn data(&self) -> super::data::Data<'_> {
        super::data::Data { ctx: self }
    }

    /// The connection to the platform, or [`Error::NotConnected`] outside it (unit tests).
    pub(super) fn connection(&self) -> Result<&CoreConnection> {
        self.core.as_deref().ok_or(Error::NotConnected)
    }
}

impl CoreConnection {
    /// Sends `request` (a path under the context's tenant) with the install token, the
    /// context's correlation id and workspace; decodes a 2xx answer, turns any other into
    /// [`Error::Refused`] with the platform's code and message.
    pub(super) async fn send<T: serde::de::DeserializeOwned>(
        &self,
        ctx: &Context,
        request: impl FnOnce(&reqwest::Client, String) -> reqwest::RequestBuilder,
        path: &str,
    ) -> Result<T> {
        let url = format!("{}/api/v1/tenants/{}/{path}", self.base_url, ctx.tenant);
        let mut request = request(&self.http, url.clone())
            .bearer_auth(&self.install_token)
            .header(CORRELATION_HEADER, &ctx.correlation_id);
        if let Some(ws) = &ctx.workspace {
            request = request.header(WORKSPACE_HEADER, ws);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Error::Core(format!("cannot reach {url}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            let (code, message) = error_of(response).await;
            return Err(Error::Refused {
                status: status.as_u16(),
                code,
                message,
            });
        }
        response
            .json()
            .await
            .map_err(|e| Error::Core(format!("unexpected answer from {url}: {e}")))
    }
}

/// The code and message of an error answer (`{"error":{"code","message"}}`).
async fn error_of(response: reqwest::Response) -> (String, String) {
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    (
        body["error"]["code"]
            .as_str()
            .unwrap_or("HTTP_ERROR")
            .to_owned(),
        body["error"]["message"]
            .as_str()
            .unwrap_or("no message")
            .to_owned(),
    )
}

/// `ctx.services()`: calls to the endpoints other plugins declare in their `[[services]]`,
/// through the platform's gateway, in the context's tenant and workspace, carrying its
/// correlation id. The target must grant this plugin (its service's `callers` lists it);
/// otherwise the call is refused with `CALLER_NOT_GRANTED`.
#[derive(Debug, Clone, Copy)]
pub struct Services<'a> {
    ctx: &'a Context,
}

impl Services<'_> {
    /// `method path` of service `service` (e.g. `crm.contacts`) of plugin `plugin`; the JSON
    /// answer as `T`. A refusal or failure of the target is [`Error::Service`] with the
    /// gateway's or the target's status and code.
    pub async fn call<T: serde::de::DeserializeOwned>(
        &self,
        plugin: &str,
        service: &str,
        method: axum::http::Method,
        path: &str,
    ) -> Result<T> {
        self.send(plugin, service, method, path, None::<&()>).await
    }

    /// Like [`Services::call`], with a JSON body.
    pub async fn call_with<B: Serialize, T: serde::de::DeserializeOwned>(
        &self,
        plugin: &str,
        service: &str,
        method: axum::http::Method,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.send(plugin, service, method, path, Some(body)).await
    }

    async fn send<B: Serialize, T: serde::de::DeserializeOwned>(
        &self,
        plugin: &str,
        service: &str,
        method: axum::http::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        let core = self.ctx.connection()?;
        let path = format!(
            "gateway/{plugin}/{service}/{}",
            path.trim_start_matches('/')
        );
        let request = |http: &reqwest::Client, url: String| {
            let request = http.request(method, url);
            match body {
                Some(body) => request.json(body),
                None => request,
            }
        };
        core.send(self.ctx, request, &path)
            .await
            .map_err(|e| match e {
                Error::Refused {
                    status,
                    code,
                    message,
                } => Error::Service {
                    status,
                    code,
                    message,
                },
                other => other,
            })
    }
}

/// `ctx.shared()`: the tenant's shared data. A plugin writes the namespaces its manifest
/// declares in `[[shared]]` and reads those whose owner lets it (`read = [...]`).
#[derive(Debug, Clone, Copy)]
pub struct Shared<'a> {
    ctx: &'a Context,
}

impl Shared<'_> {
    fn path(namespace: &str, key: &str) -> String {
        format!("shared/{namespace}/{key}")
    }

    /// The value of `key` in `namespace` as `T`; `None` when there is none (or it expired).
    pub async fn get<T: serde::de::DeserializeOwned>(
        &self,
        namespace: &str,
        key: &str,
    ) -> Result<Option<T>> {
        let core = self.ctx.connection()?;
        let found: Result<crate::api::core::SharedValue> = core
            .send(
                self.ctx,
                |http, url| http.get(url),
                &Self::path(namespace, key),
            )
            .await;
        match found {
            Ok(v) => Ok(Some(serde_json::from_value(v.value).map_err(Error::other)?)),
            Err(Error::Refused { code, .. }) if code == "SHARED_VALUE_NOT_FOUND" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `value` under `key` in `namespace`, living `ttl` when given.
    pub async fn put(
        &self,
        namespace: &str,
        key: &str,
        value: &impl Serialize,
        ttl: Option<std::time::Duration>,
    ) -> Result<()> {
        let core = self.ctx.connection()?;
        let body = crate::api::core::PutSharedValue {
            value: serde_json::to_value(value).map_err(Error::other)?,
            ttl_seconds: ttl.map(|t| t.as_secs().max(1)),
        };
        let _: crate::api::core::SharedValue = core
            .send(
                self.ctx,
                |http, url| http.put(url).json(&body),
                &Self::path(namespace, key),
            )
            .await?;
        Ok(())
    }
}

/// `ctx.core()`: typed calls to the core API as the plugin's install, in the context's tenant
/// (and workspace), carrying its correlation id.
#[derive(Debug, Clone, Copy)]
pub struct CoreApi<'a> {
    ctx: &'a Context,
}

impl CoreApi<'_> {
    /// The plugin's configuration in this tenant, with the context's workspace's overrides on
    /// top, as `T` (a struct of the manifest's `[[config]]` keys, or `serde_json::Value`).
    /// Secrets come in clear: they are the plugin's own.
    pub async fn config<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        let core = self.ctx.connection()?;
        let workspace = self.ctx.workspace.clone();
        core.send(
            self.ctx,
            move |http, url| {
                let request = http.get(url);
                match workspace {
                    Some(ws) => request.query(&[("workspace", ws)]),
                    None => request,
                }
            },
            "plugin-config",
        )
        .await
    }
}

/// `ctx.events()`: publishes the plugin's own events (`plugin.<its id>.…`) in the context's
/// tenant and workspace, with its correlation id and the handled event as their cause.
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    ctx: &'a Context,
}

impl Events<'_> {
    /// Publishes an event of `event_type` with `data`; returns its id.
    pub async fn publish(&self, event_type: &str, data: impl Serialize) -> Result<String> {
        let core = self.ctx.connection()?;
        let request = PublishRequest {
            event_type: event_type.to_owned(),
            data: serde_json::to_value(data).map_err(Error::other)?,
            workspace: self.ctx.workspace.clone(),
            correlationid: Some(self.ctx.correlation_id.clone()),
            causationid: self.ctx.event_id.clone(),
        };
        let published: Published = core
            .send(
                self.ctx,
                |http, url| http.post(url).json(&request),
                "events",
            )
            .await?;
        Ok(published.id)
    }
}

/// Why a plugin route could not get its [`Context`].
#[derive(Debug, Clone, Copy)]
pub struct MissingTenant;

impl axum::response::IntoResponse for MissingTenant {
    fn into_response(self) -> axum::response::Response {
        let body = serde_json::json!({ "error": {
            "code": "NO_TENANT",
            "message": "this route is called through the platform, which names the tenant (X-Plexica-Tenant)",
        }});
        (axum::http::StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    }
}

/// A plugin route takes `ctx: Context` like any axum extractor: tenant, workspace, user and
/// correlation id are what the platform asserted in the request it signed
/// ([`PlatformClaims`], from `X-Plexica-Tenant`, `X-Plexica-Workspace`, `X-Plexica-User`,
/// `X-Correlation-Id`); an unsigned request never gets this far.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Context {
    type Rejection = MissingTenant;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> std::result::Result<Self, MissingTenant> {
        let core = parts.extensions.get::<Arc<CoreConnection>>().cloned();
        let claims = parts
            .extensions
            .get::<PlatformClaims>()
            .ok_or(MissingTenant)?;
        Context::from_claims(claims, core).ok_or(MissingTenant)
    }
}

impl Context {
    /// The context of a request the platform signed, from what it asserted; `None` when it
    /// names no tenant.
    pub(crate) fn from_claims(
        claims: &PlatformClaims,
        core: Option<Arc<CoreConnection>>,
    ) -> Option<Self> {
        let correlation = claims
            .correlation_id
            .clone()
            .unwrap_or_else(crate::api::events::new_event_id);
        Some(
            Self::new(
                claims.tenant.clone()?,
                claims.workspace.clone(),
                claims.user.clone(),
                correlation,
            )
            .connected(core),
        )
    }
}
