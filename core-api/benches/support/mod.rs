//! What the core API's benches share: a real registry and core API in this process, a
//! publisher key registered with the registry, signed packages, a tenant.

// Each bench uses a part of this module.
#![allow(dead_code)]

use std::io::Cursor;

use plexica_core_api::{Config, CoreApi};
use plexica_sdk::api::registry::CreatedToken;
use plexica_sdk::package::signing::SecretKey;
use plexica_sdk::package::{PackageFile, Source, sign_package, write_package};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The bootstrap admin password of both services.
pub const PASSWORD: &str = "bench password 1234";

/// A registry and a core API that installs from it, serving on loopback.
pub struct Platform {
    /// The core API's URL.
    pub core: String,
    /// The core API itself (for its state).
    pub api: CoreApi,
    /// HTTP client.
    pub http: reqwest::Client,
    /// The super admin's access token.
    pub admin: String,
    registry: String,
    registry_token: String,
    key: SecretKey,
    _dir: tempfile::TempDir,
}

async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    (listener, url)
}

/// Sends `request`; status and JSON body (`Null` when none).
pub async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

impl Platform {
    /// Starts both (the core on `database_url` when given, else SQLite), registers a
    /// publisher key and logs the super admin in.
    pub async fn start(database_url: Option<String>, adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("registry")).expect("dir");
        std::fs::create_dir_all(dir.path().join("core")).expect("dir");
        let (registry_api, _) = plexica_registry::Registry::open(
            plexica_registry::Config::embedded(dir.path().join("registry")),
            Some(PASSWORD.to_owned()),
        )
        .await
        .expect("registry");
        let (listener, registry) = listen().await;
        tokio::spawn(registry_api.serve(listener, std::future::pending()));
        let mut config = Config::embedded(dir.path().join("core"));
        if let Some(url) = database_url {
            config.database_url = url;
        }
        config.registry_url = Some(registry.clone());
        config.trust_registry_keys = true;
        adjust(&mut config);
        let (api, _) = CoreApi::open(config, Some(PASSWORD.to_owned()))
            .await
            .expect("core API");
        let (listener, core) = listen().await;
        tokio::spawn(api.clone().serve(listener, std::future::pending()));
        let http = reqwest::Client::new();
        let (_, token) = send(
            http.post(format!("{registry}/api/v1/tokens"))
                .json(&json!({ "username": "admin", "password": PASSWORD })),
        )
        .await;
        let registry_token = serde_json::from_value::<CreatedToken>(token)
            .expect("registry token")
            .token;
        let key = SecretKey::generate();
        let status =
            plexica_testkit::registry::register_key(&http, &registry, &registry_token, &key)
                .await
                .expect("register a key");
        assert_eq!(status, StatusCode::CREATED);
        let (_, login) = send(
            http.post(format!("{core}/api/v1/auth/login"))
                .json(&json!({ "email": "admin", "password": PASSWORD })),
        )
        .await;
        let admin = login["access_token"].as_str().expect("token").to_owned();
        Self {
            core,
            api,
            http,
            admin,
            registry,
            registry_token,
            key,
            _dir: dir,
        }
    }

    /// Signs a package of `files` (`plexica.toml` among them) and publishes it.
    pub async fn publish(&self, files: Vec<(&str, Vec<u8>)>) {
        let files: Vec<PackageFile> = files
            .into_iter()
            .map(|(path, bytes)| PackageFile {
                path: path.to_owned(),
                size: bytes.len() as u64,
                source: Source::Bytes(bytes),
                executable: path.starts_with("bin/"),
            })
            .collect();
        let bytes = write_package(&files, None, Cursor::new(Vec::new()))
            .expect("package")
            .into_inner();
        let signed = sign_package(&bytes, &self.key, 1_700_000_000).expect("sign");
        let (status, body) = send(
            self.http
                .post(format!("{}/api/v1/packages", self.registry))
                .bearer_auth(&self.registry_token)
                .body(signed),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    /// Provisions tenant `slug`.
    pub async fn tenant(&self, slug: &str) {
        let (status, body) = send(
            self.http
                .post(format!("{}/api/v1/tenants", self.core))
                .bearer_auth(&self.admin)
                .json(&json!({ "slug": slug, "name": slug })),
        )
        .await;
        assert!(status.is_success(), "{body}");
    }
}

/// The `p`-th quantile of `sorted`.
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Milliseconds, two decimals.
pub fn ms(d: std::time::Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
