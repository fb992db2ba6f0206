//! A real registry, in-process on an ephemeral port, on SQLite (temp dir) or PostgreSQL (a
//! fresh database per test on `PLEXICA_TEST_POSTGRES_URL`), and helpers to make signed packages.

use std::io::Cursor;

use plexica_registry::{Config, Registry};
use plexica_sdk::api::registry::CreatedToken;
use plexica_sdk::package::signing::{SecretKey, Signature, TrustedComment};
use plexica_sdk::package::{PackageFile, Source, sign_package, write_package};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

/// Password of the bootstrap `admin` in tests.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

pub use plexica_testkit::Backend;

/// A running registry.
pub struct TestRegistry {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Data directory (SQLite file and blobs).
    pub dir: TempDir,
    /// The database URL in use.
    pub database_url: String,
    /// The admin's token (all scopes).
    pub admin_token: String,
    /// HTTP client.
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A fresh PostgreSQL database URL, or `None` (with one line saying so) when not configured.
pub async fn postgres_database() -> Option<String> {
    plexica_testkit::postgres_database("plexica_reg").await
}

impl TestRegistry {
    /// Starts a registry on `backend`; `None` when the backend is not available here.
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a registry on `backend` with `adjust` applied to its configuration.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::embedded(dir.path());
        if backend == Backend::Postgres {
            config.database_url = postgres_database().await?;
        }
        adjust(&mut config);
        let database_url = config.database_url.clone();
        let (registry, _) = Registry::open(config, Some(ADMIN_PASSWORD.to_owned()))
            .await
            .expect("registry opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = registry
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await;
        });
        let http = reqwest::Client::new();
        let mut this = Self {
            url,
            dir,
            database_url,
            admin_token: String::new(),
            http,
            shutdown: Some(tx),
        };
        this.admin_token = this.login("admin", ADMIN_PASSWORD).await;
        Some(this)
    }

    /// `url` + `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A token for `username`.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = self
            .http
            .post(self.at("/api/v1/tokens"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("request");
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "login of {username}"
        );
        response.json::<CreatedToken>().await.expect("token").token
    }

    /// Creates a publisher with a registered signing key; returns (token, key).
    pub async fn publisher(&self, username: &str) -> (String, SecretKey) {
        let response = self
            .http
            .post(self.at("/api/v1/users"))
            .bearer_auth(&self.admin_token)
            .json(&json!({ "username": username, "password": "a long enough password" }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::CREATED, "create {username}");
        let token = self.login(username, "a long enough password").await;
        let key = SecretKey::generate();
        let status = plexica_testkit::registry::register_key(&self.http, &self.url, &token, &key)
            .await
            .expect("register a key");
        assert_eq!(status, StatusCode::CREATED, "register key");
        (token, key)
    }

    /// Publishes `bytes` with `token`; returns status and JSON body.
    pub async fn publish(&self, token: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        self.send(
            self.http
                .post(self.at("/api/v1/packages"))
                .bearer_auth(token)
                .body(bytes),
        )
        .await
    }

    /// Sends a request; returns status and JSON body (or `null`).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("request");
        let status = response.status();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// GET `path` without a token.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.get(self.at(path))).await
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The error code of an error envelope.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["code"].as_str().unwrap_or("")
}

/// A valid manifest of a frontend plugin.
pub fn manifest(id: &str, version: &str, extra: &str) -> String {
    format!(
        "[plugin]\nid = \"{id}\"\nname = \"{id} plugin\"\nversion = \"{version}\"\n\
         description = \"The {id} plugin, for tests\"\nauthors = [\"T <t@example.com>\"]\n\
         license = \"MIT\"\n{extra}\n[frontend]\ndist = \"ui\"\nremote-entry = \"remoteEntry.js\"\n"
    )
}

fn file(path: &str, bytes: Vec<u8>) -> PackageFile {
    PackageFile {
        path: path.to_owned(),
        size: bytes.len() as u64,
        source: Source::Bytes(bytes),
        executable: false,
    }
}

/// An unsigned package with `manifest_text` and a remote entry of `payload` bytes.
pub fn unsigned_with(manifest_text: &str, payload: Vec<u8>) -> Vec<u8> {
    let files = vec![
        file("plexica.toml", manifest_text.as_bytes().to_vec()),
        file("ui/remoteEntry.js", payload),
    ];
    write_package(&files, None, Cursor::new(Vec::new()))
        .expect("package")
        .into_inner()
}

/// A signed package of `id@version`.
pub fn signed(key: &SecretKey, id: &str, version: &str) -> Vec<u8> {
    let bytes = unsigned_with(&manifest(id, version, ""), b"export default 1;\n".to_vec());
    sign_package(&bytes, key, 1_700_000_000).expect("sign")
}

/// A package of `id@version` whose signature names `other_version` in its trusted comment.
pub fn signed_for_other_version(
    key: &SecretKey,
    id: &str,
    version: &str,
    other_version: &str,
) -> Vec<u8> {
    let bytes = unsigned_with(&manifest(id, version, ""), b"export default 1;\n".to_vec());
    let package = plexica_sdk::package::read_package(&bytes, &Default::default()).expect("read");
    let comment = TrustedComment {
        id: id.to_owned(),
        version: other_version.to_owned(),
        key_id: key.id,
        timestamp: 1,
    };
    let signature: Signature = key.sign(
        package.checksums_text.expect("checksums").as_bytes(),
        &comment.render(),
    );
    plexica_sdk::package::rewrite_with_signature(&bytes, &signature.to_text()).expect("rewrite")
}

/// Runs an async test body on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, |$reg:ident| $body:block) => {
        $crate::on_both_backends!($name, config = |_: &mut plexica_registry::Config| {}, |$reg| $body);
    };
    ($name:ident, config = $adjust:expr, |$reg:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($reg: common::TestRegistry) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let reg = common::TestRegistry::start_with(common::Backend::Sqlite, $adjust)
                    .await
                    .expect("sqlite");
                run(reg).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(reg) =
                    common::TestRegistry::start_with(common::Backend::Postgres, $adjust).await
                {
                    run(reg).await;
                }
            }
        }
    };
}

/// An unsigned package of `manifest_text` with `files` (path, bytes) besides the remote
/// entry; the manifest is not checked against the files.
pub fn unsigned_with_files(manifest_text: &str, files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut all = vec![
        file("plexica.toml", manifest_text.as_bytes().to_vec()),
        file("ui/remoteEntry.js", b"export default 1;\n".to_vec()),
    ];
    all.extend(files.iter().map(|(path, bytes)| file(path, bytes.clone())));
    write_package(&all, None, Cursor::new(Vec::new()))
        .expect("package")
        .into_inner()
}

/// A signed package of `manifest_text` with `files` (path, bytes) besides the remote entry.
pub fn signed_with_files(
    key: &SecretKey,
    manifest_text: &str,
    files: &[(&str, Vec<u8>)],
) -> Vec<u8> {
    let bytes = unsigned_with_files(manifest_text, files);
    sign_package(&bytes, key, 1_700_000_000).expect("sign")
}

/// A real PNG (320×180), as a screenshot.
pub fn png() -> Vec<u8> {
    include_bytes!("../fixtures/shot.png").to_vec()
}
