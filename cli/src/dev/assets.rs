//! The plugin's built frontend (`frontend.dist`), served from the working directory on
//! loopback with `Cache-Control: no-store`: a rebuilt file is what the next request gets.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// The asset server, running on a thread of its own until dropped.
#[derive(Debug)]
pub struct AssetServer {
    /// Where it listens.
    pub address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Serves `dist` on `127.0.0.1:port` (0: any free port).
pub fn serve(dist: PathBuf, port: u16) -> std::io::Result<AssetServer> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind(SocketAddr::from((
        [127, 0, 0, 1],
        port,
    ))))?;
    let address = listener.local_addr()?;
    let app = Router::new().fallback_service(ServeDir::new(dist)).layer(
        SetResponseHeaderLayer::overriding(CACHE_CONTROL, HeaderValue::from_static("no-store")),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        runtime.block_on(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
    });
    Ok(AssetServer {
        address,
        stop: Some(stop),
        thread: Some(thread),
    })
}

impl Drop for AssetServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
