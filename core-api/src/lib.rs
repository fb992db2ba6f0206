//! The Plexica core API (core-api.md): tenants, auth, roles and permissions, users,
//! workspaces, members and teams.
//!
//! [`CoreApi::open`] connects the databases described by a [`Config`] (SQLite files by
//! default, PostgreSQL with a schema per tenant for the distributed shape), repairs what a
//! crash left and applies pending migrations; [`CoreApi::router`] is the HTTP service;
//! [`CoreApi::serve`] runs it. The `plexica-core-api` binary and `plexica up` are thin
//! wrappers, so tests start the very same service in-process.

pub mod auth;
pub mod authz;
pub mod backup;
pub mod caches;
pub mod config;
pub mod db;
pub mod discovery;
pub mod error;
pub mod events;
pub mod gateway;
pub mod invalidation;
pub mod limits;
pub mod metrics;
pub mod plugins;
pub mod provision;
pub mod registry;
pub mod retention;
pub mod routes;
pub mod slug;
pub mod state;
pub mod transport;

/// Random ids, secrets and passwords, and the hash under which secrets are stored (shared with
/// the registry).
pub use plexica_server::secrets;
pub use plexica_server::shutdown_signal;
use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use plexica_sdk::api::core::SUPER_ADMIN_EMAIL;
use plexica_sdk::api::time::now_ms;
use tokio::net::TcpListener;

pub use config::Config;
pub use state::AppState;

use crate::auth::passwords;
use crate::db::core::PlatformUser;

/// Why the core API could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A database could not be opened, migrated or repaired.
    #[error(transparent)]
    Database(#[from] db::DbError),
    /// Other start-up work failed.
    #[error("{0}")]
    Startup(String),
}

/// A core API whose databases are open.
#[derive(Clone)]
pub struct CoreApi {
    state: AppState,
}

impl CoreApi {
    /// Opens the databases, repairs what a crash left, applies pending tenant migrations and,
    /// on an empty database, creates the super admin `admin` with `bootstrap_password`, or
    /// with a generated one that is returned so that the caller can print it once.
    pub async fn open(
        config: Config,
        bootstrap_password: Option<String>,
    ) -> Result<(Self, Option<String>), StartError> {
        let state = AppState::open(config).await?;
        state.provisioner.recover().await?;
        let mut generated = None;
        if state.core.platform_user_count().await? == 0 {
            let password = match bootstrap_password {
                Some(p) => p,
                None => {
                    let p = secrets::new_password();
                    generated = Some(p.clone());
                    p
                }
            };
            passwords::check(&password).map_err(|e| {
                StartError::Startup(format!("PLEXICA_BOOTSTRAP_ADMIN_PASSWORD: {}", e.message))
            })?;
            let hash = passwords::hash(password)
                .await
                .map_err(|e| StartError::Startup(e.message))?;
            state
                .core
                .create_platform_user(
                    &PlatformUser {
                        id: secrets::new_id("u_"),
                        email: SUPER_ADMIN_EMAIL.to_owned(),
                        name: "Platform administrator".to_owned(),
                        password_hash: hash,
                    },
                    now_ms(),
                )
                .await?;
        }
        events::embedded::spawn(state.delivery());
        retention::spawn(state.delivery());
        {
            let state = state.clone();
            state.invalidator.clone().spawn_listener(
                state.config.database_url.clone(),
                move |tenant, plugin| {
                    let plugins = state.plugins.clone();
                    tokio::spawn(async move { plugins.converge(&tenant, &plugin).await });
                },
            );
        }
        let refresher = state.clone();
        tokio::spawn(async move {
            let window = i64::try_from(refresher.config.access_token_ttl.as_millis())
                .unwrap_or(i64::MAX)
                + 60_000;
            loop {
                tokio::time::sleep(refresher.config.revocation_refresh).await;
                // Ends with the core database's pool (the service was stopped).
                if refresher.core.pool().is_closed() {
                    break;
                }
                if let Err(e) = refresher
                    .revoked_sessions
                    .reload(&refresher.core, now_ms() - window)
                    .await
                {
                    tracing::warn!(error = %e, "could not reload revoked sessions");
                }
            }
        });
        Ok((Self { state }, generated))
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The HTTP service.
    pub fn router(&self) -> Router {
        routes::router(self.state.clone())
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                routes::correlation::correlate,
            ))
            .layer(axum::middleware::from_fn(|request, next| {
                plexica_server::metrics::track("core", request, next)
            }))
            .layer(tower_http::trace::TraceLayer::new_for_http())
            .layer(tower_http::catch_panic::CatchPanicLayer::new())
    }

    /// Serves on `listener` until `shutdown` completes, then closes the databases.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let address = listener.local_addr()?;
        let host = match address.ip() {
            ip if ip.is_unspecified() => std::net::IpAddr::from([127, 0, 0, 1]),
            ip => ip,
        };
        self.state
            .process_runtime
            .set_core_url(&format!("http://{}", SocketAddr::new(host, address.port())));
        let restarting = tokio::spawn({
            let state = self.state.clone();
            async move { state.plugins.reconcile().await }
        });
        let failures = tokio::spawn(self.state.plugins.clone().watch_failures());
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        restarting.abort();
        failures.abort();
        self.state.plugins.runtime.shutdown().await;
        self.state.tenant_dbs.close_all().await;
        self.state.core.close().await;
        result
    }
}
