//! Test kit: build a [`Context`] and an [`Event`] for a unit test and call a handler directly,
//! or [`dispatch`] an envelope through the `#[event_handler]` registry, without any server.
//!
//! ```standalone_crate
//! use plexica_sdk::prelude::*;
//! use plexica_sdk::testing;
//!
//! #[derive(Deserialize, Serialize)]
//! struct WorkspaceCreated { workspace_id: String }
//!
//! #[event_handler("core.workspace.created")]
//! async fn seed(ctx: &Context, ev: Event<WorkspaceCreated>) -> Result<()> {
//!     assert_eq!(ctx.tenant(), "acme");
//!     assert_eq!(ev.workspace_id, "ws-1");
//!     Ok(())
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let ctx = testing::context("acme");
//! let data = WorkspaceCreated { workspace_id: "ws-1".into() };
//! // Call the function itself…
//! seed(&ctx, testing::event("core.workspace.created", data)).await?;
//! // …or go through the registration, as a delivery would.
//! let envelope = json!({ "type": "core.workspace.created", "data": { "workspace_id": "ws-1" } });
//! testing::dispatch(ctx, testing::envelope(envelope)).await?;
//! # Ok::<(), plexica_sdk::runtime::Error>(()) }).unwrap();
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::context::{Context, CoreConnection};
use super::error::{Error, Result};
use super::event::{Envelope, Event};
use super::handler::{self, handlers};

/// The tenant of events built by [`event`] and [`envelope`].
pub const TENANT: &str = "acme";

/// The `time` of events built by [`event`] and [`envelope`].
pub const TIME: &str = "2026-01-01T00:00:00.000Z";

/// A context for `tenant`, with no workspace and no actor.
pub fn context(tenant: impl Into<String>) -> Context {
    ContextBuilder::new(tenant).build()
}

/// Builds a [`Context`] with a workspace, an actor or a given correlation id.
#[derive(Debug, Clone)]
pub struct ContextBuilder {
    tenant: String,
    workspace: Option<String>,
    actor: Option<String>,
    correlation_id: Option<String>,
    core: Option<std::sync::Arc<CoreConnection>>,
}

impl ContextBuilder {
    /// Starts a context for `tenant`.
    pub fn new(tenant: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            workspace: None,
            actor: None,
            correlation_id: None,
            core: None,
        }
    }

    /// Scopes the context to a workspace.
    pub fn workspace(mut self, workspace: impl Into<String>) -> Self {
        self.workspace = Some(workspace.into());
        self
    }

    /// Attributes the work to a user.
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// Sets the correlation id (default: a fresh `test-correlation-N`).
    pub fn correlation_id(mut self, correlation_id: impl Into<String>) -> Self {
        self.correlation_id = Some(correlation_id.into());
        self
    }

    /// Connects the context to a real core API at `base_url` as an install holding
    /// `install_token`, for tests that run against a platform (`ctx.data()`, `ctx.events()`…
    /// then really call it). Without it those calls are [`Error::NotConnected`].
    pub fn core(mut self, base_url: impl Into<String>, install_token: impl Into<String>) -> Self {
        self.core = Some(std::sync::Arc::new(CoreConnection::new(
            base_url,
            install_token,
        )));
        self
    }

    /// The context.
    pub fn build(self) -> Context {
        let correlation_id = self
            .correlation_id
            .unwrap_or_else(|| format!("test-correlation-{}", next_serial()));
        Context::new(self.tenant, self.workspace, self.actor, correlation_id).connected(self.core)
    }
}

/// The platform `plexica plugin test` started for this test run: the plugin installed and
/// active in [`Platform::tenant`]. `None` under a plain `cargo test`.
#[derive(Clone)]
pub struct Platform {
    /// The core API's base URL.
    pub url: String,
    /// The plugin's install token.
    pub install_token: String,
    /// A user API token (the tenant's administrator).
    pub user_token: String,
    /// The tenant.
    pub tenant: String,
    /// A workspace of the tenant.
    pub workspace: String,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("url", &self.url)
            .field("tenant", &self.tenant)
            .field("workspace", &self.workspace)
            .finish_non_exhaustive()
    }
}

impl Platform {
    /// A context of the plugin in the platform's tenant and workspace, connected: `ctx.data()`,
    /// `ctx.events()`, `ctx.config()`… reach the real core API.
    pub fn context(&self) -> Context {
        ContextBuilder::new(&self.tenant)
            .workspace(&self.workspace)
            .core(&self.url, &self.install_token)
            .build()
    }

    /// The URL of `path` of the plugin's `service` through the gateway (add
    /// [`Platform::user_token`] as the bearer).
    pub fn gateway_url(&self, plugin: &str, service: &str, path: &str) -> String {
        format!(
            "{}/api/v1/tenants/{}/gateway/{plugin}/{service}/{}",
            self.url.trim_end_matches('/'),
            self.tenant,
            path.trim_start_matches('/')
        )
    }
}

/// The platform of `plexica plugin test`, from its environment
/// ([`crate::api::core::test_platform`]); `None` when a variable is missing (a plain
/// `cargo test`).
pub fn platform() -> Option<Platform> {
    use crate::api::core::test_platform as env;
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Some(Platform {
        url: var(env::URL)?,
        install_token: var(env::INSTALL_TOKEN)?,
        user_token: var(env::USER_TOKEN)?,
        tenant: var(env::TENANT)?,
        workspace: var(env::WORKSPACE)?,
    })
}

/// An event of type `event_type` carrying `data`, for tenant [`TENANT`], with a fresh id, no
/// workspace and no actor. Its fields are public: adjust them as the test needs.
pub fn event<T>(event_type: impl Into<String>, data: T) -> Event<T> {
    let event_type = event_type.into();
    let id = format!("00000000-0000-7000-8000-{:012x}", next_serial());
    Event {
        specversion: "1.0".to_owned(),
        source: source_of(&event_type),
        r#type: event_type,
        correlationid: id.clone(),
        id,
        time: TIME.to_owned(),
        datacontenttype: "application/json".to_owned(),
        tenant: TENANT.to_owned(),
        workspace: None,
        causationid: None,
        actor: None,
        data,
    }
}

/// Completes a partial JSON envelope: every attribute missing from `partial` (an object with at
/// least `type`) is filled in as [`event`] would, so a test writes only what it is about.
/// Anything that is not an object is returned unchanged.
pub fn envelope(partial: Envelope) -> Envelope {
    let Envelope::Object(mut fields) = partial else {
        return partial;
    };
    let event_type = fields
        .get("type")
        .and_then(Envelope::as_str)
        .unwrap_or_default()
        .to_owned();
    let defaults = event(event_type, Envelope::Null);
    if let Ok(Envelope::Object(defaults)) = serde_json::to_value(defaults) {
        for (key, value) in defaults {
            fields.entry(key).or_insert(value);
        }
    }
    Envelope::Object(fields)
}

/// Delivers `envelope` (anything serializable as one: an [`Event`], or JSON) to every
/// registered `#[event_handler]` whose type matches, as the runtime would, and returns the
/// first handler error. Fails with [`Error::NoHandler`] when no handler matches.
pub async fn dispatch(ctx: Context, envelope: impl Serialize) -> Result<()> {
    let envelope = serde_json::to_value(envelope).map_err(Error::other)?;
    handler::dispatch(handlers(), ctx, envelope).await
}

/// A number unique within the test process.
fn next_serial() -> u64 {
    static SERIAL: AtomicU64 = AtomicU64::new(1);
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

/// The `source` a real event of this type would carry: `core` or `plugin/<id>`.
fn source_of(event_type: &str) -> String {
    let mut segments = event_type.split('.');
    match (segments.next(), segments.next()) {
        (Some("plugin"), Some(id)) => format!("plugin/{id}"),
        _ => "core".to_owned(),
    }
}

/// `request` as the platform would send it to a backend given `secret` (see
/// [`Plugin::platform_secret`](super::Plugin::platform_secret)): signed now over its method,
/// target, body and context headers, for tests that call a backend's routes through
/// [`Plugin::router`](super::Plugin::router). Without a signature every route answers 401.
///
/// ```standalone_crate
/// use plexica_sdk::testing;
/// use axum::http::Request;
///
/// let request = Request::get("/contacts")
///     .header("x-plexica-tenant", "acme")
///     .body(axum::body::Bytes::new())?;
/// let signed = testing::signed(request, b"test-secret");
/// assert!(signed.headers().contains_key("x-plexica-signature"));
/// # Ok::<(), axum::http::Error>(())
/// ```
pub fn signed(
    request: axum::http::Request<axum::body::Bytes>,
    secret: &[u8],
) -> axum::http::Request<axum::body::Body> {
    use crate::api::signing::{SIGNATURE_HEADER, SignedRequest};
    let (mut parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let now = crate::api::time::now_ms() / 1000;
    let headers = &parts.headers;
    let signature = SignedRequest {
        method: parts.method.as_str(),
        target,
        body: &body,
    }
    .sign(secret, now, |name| {
        headers.get(name).and_then(|v| v.to_str().ok())
    });
    if let Ok(value) = axum::http::HeaderValue::from_str(&signature) {
        parts.headers.insert(SIGNATURE_HEADER, value);
    }
    axum::http::Request::from_parts(parts, axum::body::Body::from(body))
}
