//! The platform's servers in the test's process, on free loopback ports.

use plexica_core_api::{Config, CoreApi};

async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    (listener, url)
}

/// A core API on `config`, its super admin's password `password`; returns it and its URL.
pub async fn serve_core(config: Config, password: &str) -> (CoreApi, String) {
    let (api, _) = CoreApi::open(config, Some(password.to_owned()))
        .await
        .expect("core API opens");
    let (listener, url) = listen().await;
    tokio::spawn(api.clone().serve(listener, std::future::pending()));
    (api, url)
}

/// A registry on `config`, its admin's password `password`; returns its URL.
pub async fn serve_registry(config: plexica_registry::Config, password: &str) -> String {
    let (registry, _) = plexica_registry::Registry::open(config, Some(password.to_owned()))
        .await
        .expect("registry opens");
    let (listener, url) = listen().await;
    tokio::spawn(registry.serve(listener, std::future::pending()));
    url
}

/// The password of [`LiveRegistry`]'s `admin`.
pub const ADMIN_PASSWORD: &str = "registry admin password";

/// An embedded registry serving on a thread of its own until dropped (for tests that are not
/// async).
pub struct LiveRegistry {
    /// Its base URL.
    pub url: String,
    _data: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LiveRegistry {
    pub fn start() -> Self {
        let data = tempfile::tempdir().expect("tempdir");
        let config = plexica_registry::Config::embedded(data.path());
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            runtime.block_on(async move {
                let (registry, _) =
                    plexica_registry::Registry::open(config, Some(ADMIN_PASSWORD.to_owned()))
                        .await
                        .expect("registry");
                let (listener, url) = listen().await;
                let _ = url_tx.send(url);
                let _ = registry
                    .serve(listener, async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        let url = url_rx.recv().expect("registry url");
        Self {
            url,
            _data: data,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for LiveRegistry {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
