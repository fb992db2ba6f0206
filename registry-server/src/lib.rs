//! The Plexica plugin registry (registry.md): stores, verifies and serves signed plugin
//! packages.
//!
//! [`Registry::open`] connects the stores described by a [`Config`] (SQLite and a local blob
//! directory by default; PostgreSQL and S3-compatible storage for the distributed shape);
//! [`Registry::router`] is the HTTP service; [`Registry::serve`] runs it. The `plexica-registry`
//! binary is a thin wrapper, so tests start the very same service in-process.

pub mod accounts;
pub mod auth;
pub mod catalog;
pub mod documents;
pub mod error;
pub mod limits;
mod metrics;
pub mod openapi;
pub mod publish;
pub mod routes;
pub mod search;
pub mod state;
pub mod storage;
mod web;

pub use plexica_server::shutdown_signal;
use std::future::Future;

use axum::Router;
use plexica_sdk::api::registry::CreateUserRequest;
use tokio::net::TcpListener;

pub use state::{AppState, BlobConfig, Config};
pub use storage::blobs::S3Config;

/// A registry whose stores are open.
#[derive(Clone)]
pub struct Registry {
    state: AppState,
}

/// Why the registry could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A store could not be opened.
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    /// Start-up work (bootstrap, cleanup) failed.
    #[error("{0}")]
    Startup(String),
}

impl Registry {
    /// Opens the stores, removes blobs of uploads that never committed, and on an empty
    /// database creates the `admin` user with `bootstrap_password`, or with a generated one
    /// that is returned so that the caller can print it once.
    pub async fn open(
        config: Config,
        bootstrap_password: Option<String>,
    ) -> Result<(Self, Option<String>), StartError> {
        let state = AppState::open(config).await?;
        publish::clean_stale_uploads(&state).await?;
        let mut generated = None;
        if state.meta.user_count().await? == 0 {
            let password = match bootstrap_password {
                Some(p) => p,
                None => {
                    let p = plexica_server::secrets::random_hex::<12>("");
                    generated = Some(p.clone());
                    p
                }
            };
            accounts::create_account(
                &state,
                CreateUserRequest {
                    username: "admin".to_owned(),
                    password,
                    admin: true,
                    invite: None,
                },
            )
            .await
            .map(|_| ())
            .map_err(|e| StartError::Startup(e.detail))?;
        }
        Ok((Self { state }, generated))
    }

    /// The shared state (stores and configuration).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The HTTP service.
    pub fn router(&self) -> Router {
        routes::router(self.state.clone())
            .merge(web::router(self.state.clone()))
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                limits::limit_anonymous,
            ))
            .layer(axum::middleware::from_fn(|request, next| {
                plexica_server::metrics::track("registry", request, next)
            }))
            .layer(tower_http::trace::TraceLayer::new_for_http())
            .layer(tower_http::catch_panic::CatchPanicLayer::new())
    }

    /// Serves on `listener` until `shutdown` completes, reloading the search index every
    /// [`Config::search_refresh_ms`] meanwhile.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let search = self.state.search.clone();
        let meta = self.state.meta.clone();
        let interval = std::time::Duration::from_millis(self.state.config.search_refresh_ms.max(1));
        let refresher = tokio::spawn(async move { search.keep_fresh(meta, interval).await });
        let pruner = tokio::spawn(prune_credentials(self.state.clone()));
        let service = self
            .router()
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let served = axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await;
        refresher.abort();
        pruner.abort();
        served
    }
}

/// Between two prunings of dead credentials.
const PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// Prunes tokens and invites dead for longer than [`Config::credential_retention_ms`], now and
/// every [`PRUNE_INTERVAL`], in batches of 1,000; runs until dropped.
async fn prune_credentials(state: AppState) {
    loop {
        let before = plexica_sdk::api::time::now_ms() - state.config.credential_retention_ms;
        loop {
            match state.meta.prune_credentials(before, 1000).await {
                Ok(n) if n >= 1000 => tokio::task::yield_now().await,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "pruning tokens failed; tried again later");
                    break;
                }
            }
        }
        tokio::time::sleep(PRUNE_INTERVAL).await;
    }
}
