//! [`Plugin`]: start-up checks and the HTTP server of a plugin's backend.

use std::future::Future;
use std::path::Path;

use std::sync::{Arc, Mutex};

use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;

use super::context::CoreConnection;
use super::error::{Error, Result};
use super::handler::{check_handlers, handlers};
use super::hook::{duplicate_hooks, hooks, receive_hook};
use super::inbox::{EVENTS_PATH, Inbox, RecentIds, receive};
use super::platform_auth::{PLATFORM_SECRET_ENV, PlatformClaims, PlatformSecret, authenticate};
pub use crate::api::events::CHECK_ONLY_ENV;
use crate::api::events::{BackendDescription, HOOKS_PATH, HandlerInfo};
use crate::manifest::Manifest;

pub use crate::api::env::{LISTEN_ENV, PACKAGE_DIR_ENV};

/// `path` as the backend finds it: a relative path under [`PACKAGE_DIR_ENV`] when the platform
/// set it, else as given.
fn package_path(path: &Path) -> std::path::PathBuf {
    match std::env::var_os(PACKAGE_DIR_ENV) {
        Some(dir) if path.is_relative() => Path::new(&dir).join(path),
        _ => path.to_path_buf(),
    }
}

/// The address used when [`LISTEN_ENV`] is unset.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// A plugin's backend: its validated manifest and its HTTP routes.
///
/// ```no_run
/// use plexica_sdk::prelude::*;
///
/// #[tokio::main]
/// async fn main() -> Result<()> {
///     Plugin::from_manifest("plexica.toml")?
///         .routes(Router::new().route("/ping", get(|| async { "pong" })))
///         .run()
///         .await
/// }
/// ```
#[derive(Debug)]
pub struct Plugin {
    manifest: Manifest,
    health_route: String,
    routes: Router,
    platform_secret: Option<Arc<[u8]>>,
    dedup: bool,
    core: Option<Arc<CoreConnection>>,
}

impl Plugin {
    /// Loads and validates the manifest at `path` (a `plexica.toml` or the directory holding
    /// it), and checks that the registered `#[event_handler]`s match its `events.subscribes`
    /// exactly (see [`check_handlers`](super::check_handlers)) and that no hook is implemented
    /// twice.
    pub fn from_manifest(path: impl AsRef<Path>) -> Result<Self> {
        let path = package_path(path.as_ref());
        let path = path.as_path();
        let manifest = Manifest::from_file(path)?;
        let Some(health_route) = manifest.backend.as_ref().map(|b| b.health.clone()) else {
            return Err(Error::NoBackend {
                manifest: path.to_path_buf(),
                plugin: manifest.plugin.id,
            });
        };
        if !is_plain_route(&health_route) {
            return Err(Error::HealthRoute {
                manifest: path.to_path_buf(),
                route: health_route,
            });
        }
        let mismatches = check_handlers(&manifest.events.subscribes, handlers());
        if !mismatches.is_empty() {
            return Err(Error::HandlerMismatch {
                manifest: path.to_path_buf(),
                mismatches,
            });
        }
        let duplicates = duplicate_hooks(hooks());
        if !duplicates.is_empty() {
            return Err(Error::DuplicateHooks(duplicates));
        }
        let platform_secret = std::env::var(PLATFORM_SECRET_ENV)
            .ok()
            .filter(|s| !s.is_empty())
            .map(|s| Arc::from(s.into_bytes()));
        Ok(Self {
            manifest,
            health_route,
            routes: Router::new(),
            platform_secret,
            dedup: true,
            core: CoreConnection::from_env().map(Arc::new),
        })
    }

    /// Sets the secret every request must be signed with (by default `PLEXICA_PLATFORM_SECRET`,
    /// which the platform sets; without one, every request is refused with 401).
    pub fn platform_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.platform_secret = Some(Arc::from(secret.into()));
        self
    }

    /// Sets how handlers reach the core API (by default from `PLEXICA_CORE_URL` and
    /// `PLEXICA_INSTALL_TOKEN`, which the platform sets).
    pub fn core(mut self, base_url: impl Into<String>, install_token: impl Into<String>) -> Self {
        self.core = Some(Arc::new(CoreConnection::new(base_url, install_token)));
        self
    }

    /// Turns off the deduplication of redelivered events (on by default: an event id handled
    /// successfully is not handled again while it is among the last 10,000).
    pub fn without_dedup(mut self) -> Self {
        self.dedup = false;
        self
    }

    /// The validated manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Adds the plugin's own routes; may be called several times (routes are merged, and, as in
    /// axum, overlapping routes panic). The platform's routes (health) take precedence.
    pub fn routes(mut self, routes: Router) -> Self {
        self.routes = self.routes.merge(routes);
        self
    }

    /// The plugin's own routes, each run with its [`Context`](super::Context) as
    /// `Context::current()` when the platform's signed request named a tenant, and able to
    /// call the core API.
    fn plugin_routes(&self) -> Router {
        let core = self.core.clone();
        self.routes.clone().layer(axum::middleware::from_fn(
            move |mut request: axum::extract::Request, next: axum::middleware::Next| {
                let core = core.clone();
                async move {
                    if let Some(core) = &core {
                        request.extensions_mut().insert(core.clone());
                    }
                    let ctx = request
                        .extensions()
                        .get::<PlatformClaims>()
                        .and_then(|claims| super::Context::from_claims(claims, core));
                    match ctx {
                        Some(ctx) => ctx.scope(next.run(request)).await,
                        None => next.run(request).await,
                    }
                }
            },
        ))
    }

    /// The complete HTTP application: the platform's routes first, then the plugin's, all
    /// behind the check of the platform's signature (401 to anything it did not sign).
    pub fn router(&self) -> Router {
        let plugin = &self.manifest.plugin;
        let health = serde_json::json!({
            "status": "ok",
            "plugin": plugin.id,
            "version": plugin.version.to_string(),
        });
        let inbox = Inbox {
            recent: self
                .dedup
                .then(|| Arc::new(Mutex::new(RecentIds::new(10_000)))),
            core: self.core.clone(),
        };
        Router::new()
            .route(
                &self.health_route,
                get(move || std::future::ready(Json(health.clone()))),
            )
            .route(EVENTS_PATH, post(receive).with_state(inbox.clone()))
            .route(
                &format!("{HOOKS_PATH}/{{hook}}"),
                post(receive_hook).with_state(inbox),
            )
            .fallback_service(self.plugin_routes())
            .layer(axum::middleware::from_fn_with_state(
                PlatformSecret(self.platform_secret.clone()),
                authenticate,
            ))
    }

    /// What this backend registered: its handlers and hooks, sorted.
    pub fn describe(&self) -> BackendDescription {
        let mut handlers: Vec<HandlerInfo> = handlers()
            .map(|h| HandlerInfo {
                name: h.name.to_owned(),
                event_type: h.event_type.to_owned(),
                retries: h.retries,
                workspace_required: h.workspace_required,
            })
            .collect();
        handlers.sort_by(|a, b| (&a.name, &a.event_type).cmp(&(&b.name, &b.event_type)));
        let mut hooks: Vec<String> = hooks().map(|h| h.hook.as_str().to_owned()).collect();
        hooks.sort();
        BackendDescription {
            plugin: self.manifest.plugin.id.clone(),
            version: self.manifest.plugin.version.to_string(),
            handlers,
            hooks,
        }
    }

    /// Serves [`router`](Self::router) on the address in `PLEXICA_PLUGIN_LISTEN` (`host:port`
    /// or `unix:<path>`; default `127.0.0.1:8080`) until SIGTERM or Ctrl-C, then lets in-flight
    /// requests finish.
    ///
    /// With `PLEXICA_CHECK_ONLY=1`, prints [`describe`](Self::describe) as JSON on stdout and
    /// returns instead: the start-up checks of [`from_manifest`](Self::from_manifest) have
    /// passed by then.
    pub async fn run(self) -> Result<()> {
        if std::env::var_os(CHECK_ONLY_ENV).is_some_and(|v| v == "1") {
            let description = serde_json::to_string(&self.describe()).map_err(Error::other)?;
            println!("{description}");
            return Ok(());
        }
        let (address, origin) = match std::env::var_os(LISTEN_ENV) {
            Some(address) => (address.to_string_lossy().into_owned(), LISTEN_ENV),
            None => (DEFAULT_LISTEN.to_owned(), "the default"),
        };
        let listen_error = |source| Error::Listen {
            address: address.clone(),
            origin,
            source,
        };
        let shutdown = shutdown_signal()?;
        let plugin = format!(
            "{} {}",
            self.manifest.plugin.id, self.manifest.plugin.version
        );
        #[cfg(unix)]
        if let Some(path) = address.strip_prefix("unix:") {
            let listener = tokio::net::UnixListener::bind(path).map_err(listen_error)?;
            eprintln!("{plugin} listening on unix:{path}");
            return self.serve(listener, shutdown).await;
        }
        let listener = TcpListener::bind(&address).await.map_err(listen_error)?;
        if let Ok(local) = listener.local_addr() {
            eprintln!("{plugin} listening on http://{local}");
        }
        self.serve(listener, shutdown).await
    }

    /// Serves [`router`](Self::router) on `listener` until `shutdown` completes, then lets
    /// in-flight requests finish. For tests and embedders; plugins call [`run`](Self::run).
    pub async fn serve<L>(
        self,
        listener: L,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()>
    where
        L: axum::serve::Listener,
        L::Addr: std::fmt::Debug,
    {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(Error::Serve)
    }
}

/// Is `route` an absolute path without axum parameters or wildcards?
fn is_plain_route(route: &str) -> bool {
    route.starts_with('/')
        && route
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b))
}

/// A future completing on the first SIGTERM or SIGINT; the handlers are installed now, so a
/// failure to install them is reported before serving.
#[cfg(unix)]
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).map_err(Error::Signal)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(Error::Signal)?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

/// A future completing on the first Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}
