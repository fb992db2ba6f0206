//! The Plexica plugin registry as a library: [`app`] builds the HTTP service, [`serve`] runs it.
//!
//! The binary `plexica-registry` is a thin wrapper over this crate so that tests start the very same
//! service in-process on an ephemeral port.

use axum::{Json, Router, routing::get};
use tokio::net::TcpListener;

/// Builds the HTTP service.
pub fn app() -> Router {
    Router::new().route("/health/live", get(live))
}

/// Serves [`app`] on an already bound listener until the process is asked to stop.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, app())
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Liveness: the process is up and answering.
async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
