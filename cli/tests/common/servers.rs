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
