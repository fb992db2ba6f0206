//! A real registry in-process (SQLite in a temp dir) to install from, a publisher with a
//! signing key, and packages built in the test.

use std::io::Cursor;

use plexica_registry::{Config, Registry};
use plexica_sdk::api::registry::CreatedToken;
use plexica_sdk::package::signing::SecretKey;
use plexica_sdk::package::{PackageFile, Source, sign_package, write_package};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

const ADMIN_PASSWORD: &str = "registry admin password";

/// A running registry and one publisher.
pub struct TestRegistry {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its data (SQLite and blobs).
    pub dir: TempDir,
    /// The publisher's token.
    pub token: String,
    /// The publisher's signing key (registered with the registry).
    pub key: SecretKey,
    http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A fresh registry and a core API (on `backend`, `adjust` applied) that installs from it and
/// trusts its publishers' keys; `None` when the backend is not available here.
pub async fn platform(
    backend: super::Backend,
    adjust: impl FnOnce(&mut plexica_core_api::Config),
) -> Option<(super::TestCore, TestRegistry)> {
    let registry = TestRegistry::start(|_| {}).await;
    let url = registry.url.clone();
    let core = super::TestCore::start_with(backend, |c| {
        c.registry_url = Some(url);
        c.trust_registry_keys = true;
        adjust(c);
    })
    .await?;
    Some((core, registry))
}

/// Serves `app` on a free loopback port (a plugin backend in tests); returns its URL.
pub async fn serve_backend(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Runs `$body` with a core API (on SQLite, then on PostgreSQL when configured) that installs
/// from a fresh registry.
#[allow(unused_macros)]
macro_rules! on_both_backends_with_registry {
    ($name:ident, |$core:ident, $registry:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run(
                $core: $crate::common::TestCore,
                $registry: $crate::common::registry::TestRegistry,
            ) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (core, registry) =
                    $crate::common::registry::platform($crate::common::Backend::Sqlite, |_| {})
                        .await
                        .expect("sqlite");
                run(core, registry).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some((core, registry)) =
                    $crate::common::registry::platform($crate::common::Backend::Postgres, |_| {}).await
                {
                    run(core, registry).await;
                }
            }
        }
    };
}

#[allow(unused_imports)]
pub(crate) use on_both_backends_with_registry;

impl TestRegistry {
    /// Starts a registry (`adjust` applied to its configuration) with publisher `ada`.
    pub async fn start(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::embedded(dir.path());
        config.publish_burst = 1000;
        adjust(&mut config);
        let (registry, _) = Registry::open(config, Some(ADMIN_PASSWORD.to_owned()))
            .await
            .expect("registry opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(registry.serve(listener, async {
            let _ = rx.await;
        }));
        let http = reqwest::Client::new();
        let admin = token(&http, &url, "admin", ADMIN_PASSWORD).await;
        let created = http
            .post(format!("{url}/api/v1/users"))
            .bearer_auth(&admin)
            .json(&json!({ "username": "ada", "password": "a long enough password" }))
            .send()
            .await
            .expect("request");
        assert_eq!(created.status(), StatusCode::CREATED);
        let token = token(&http, &url, "ada", "a long enough password").await;
        let key = SecretKey::generate();
        let registered = plexica_testkit::registry::register_key(&http, &url, &token, &key)
            .await
            .expect("register a key");
        assert_eq!(registered, StatusCode::CREATED);
        Self {
            url,
            dir,
            token,
            key,
            http,
            shutdown: Some(tx),
        }
    }

    /// Publishes `bytes`; panics unless the registry accepts them.
    pub async fn publish(&self, bytes: Vec<u8>) {
        let response = self
            .http
            .post(format!("{}/api/v1/packages", self.url))
            .bearer_auth(&self.token)
            .body(bytes)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::CREATED, "publish: {body}");
    }

    /// Signs `files` as a package with the publisher's key and publishes it.
    pub async fn publish_files(&self, files: &[(&str, &str)]) {
        self.publish(signed(&self.key, files)).await;
    }

    /// Yanks `id@version`.
    pub async fn yank(&self, id: &str, version: &str) {
        let response = self
            .http
            .delete(format!(
                "{}/api/v1/plugins/{id}/versions/{version}/yank",
                self.url
            ))
            .bearer_auth(&self.token)
            .json(&json!({ "reason": "broken" }))
            .send()
            .await
            .expect("request");
        assert!(
            response.status().is_success(),
            "yank: {}",
            response.status()
        );
    }
}

async fn token(http: &reqwest::Client, url: &str, username: &str, password: &str) -> String {
    let response = http
        .post(format!("{url}/api/v1/tokens"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED, "login {username}");
    response.json::<CreatedToken>().await.expect("token").token
}

/// An unsigned package of `files` (`(path, text)`, `plexica.toml` among them).
pub fn unsigned(files: &[(&str, &str)]) -> Vec<u8> {
    let files: Vec<PackageFile> = files
        .iter()
        .map(|(path, text)| PackageFile {
            path: (*path).to_owned(),
            size: text.len() as u64,
            source: Source::Bytes(text.as_bytes().to_vec()),
            executable: path.starts_with("bin/"),
        })
        .collect();
    write_package(&files, None, Cursor::new(Vec::new()))
        .expect("package")
        .into_inner()
}

/// A package of `files` signed with `key`.
pub fn signed(key: &SecretKey, files: &[(&str, &str)]) -> Vec<u8> {
    sign_package(&unsigned(files), key, 1_700_000_000).expect("sign")
}

/// A manifest of plugin `id@version` with `extra` TOML (sections after `[plugin]`'s keys are
/// fine: `extra` starts with the plugin table's remaining keys, if any).
pub fn manifest(id: &str, version: &str, extra: &str) -> String {
    format!(
        "[plugin]\nid = \"{id}\"\nname = \"{id} plugin\"\nversion = \"{version}\"\n\
         description = \"The {id} plugin, for tests\"\nauthors = [\"T <t@example.com>\"]\n\
         license = \"MIT\"\n{extra}\n"
    )
}

/// A frontend-only plugin (nothing to run) with `extra` TOML after `[plugin]`.
pub fn frontend_plugin(id: &str, version: &str, extra: &str) -> Vec<(String, String)> {
    let mut text = manifest(id, version, "");
    text.push_str("[frontend]\ndist = \"ui\"\nremote-entry = \"remoteEntry.js\"\n");
    text.push_str(extra);
    vec![
        ("plexica.toml".into(), text),
        ("ui/remoteEntry.js".into(), "export default 1;\n".into()),
    ]
}

/// `(String, String)` pairs as `(&str, &str)`.
pub fn borrowed(files: &[(String, String)]) -> Vec<(&str, &str)> {
    files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect()
}

/// The backend of [`recording_plugin`]: answers its health route and every GET with `ok`, and
/// appends a line `ID TYPE SLUG` for every event pushed to it (one, or a batch) to `events.log`
/// in its working directory.
const RECORDING_BACKEND: &str = r#"#!/usr/bin/python3
import json, os, socketserver
from http.server import BaseHTTPRequestHandler

class Backend(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = b""
        if self.path.startswith("/_plexica/events"):
            events = json.loads(body or b"null")
            batch = isinstance(events, list)
            events = events if batch else [events]
            with open("events.log", "a") as log:
                for event in events:
                    slug = (event.get("data") or {}).get("slug", "-")
                    log.write("%s %s %s\n" % (event["id"], event["type"], slug))
            if batch:
                answer = json.dumps({"handled": len(events)}).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *args):
        pass

listen = os.environ["PLEXICA_PLUGIN_LISTEN"]
if listen.startswith("unix:"):
    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True
    Server(listen[len("unix:"):], Backend).serve_forever()
else:
    class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
        daemon_threads = True
        allow_reuse_address = True
    host, port = listen.rsplit(":", 1)
    Server((host, int(port)), Backend).serve_forever()
"#;

/// Plugin `id@1.0.0` with a Python backend that records the events pushed to it (see
/// [`recording_events`]), subscribed to `core.workspace.*`, offering service `{id}.api` with
/// `GET /ping` to any tenant user.
pub fn recording_plugin(id: &str) -> Vec<(String, String)> {
    let text = manifest(id, "1.0.0", "")
        + &format!(
            "[backend]\nentry = \"bin/{id}\"\n\
             [events]\nsubscribes = [\"core.workspace.*\"]\n\
             [[services]]\nname = \"{id}.api\"\nversion = \"1.0.0\"\n\
             [[services.endpoints]]\nmethod = \"GET\"\npath = \"/ping\"\n"
        );
    vec![
        ("plexica.toml".into(), text),
        (format!("bin/{id}"), RECORDING_BACKEND.into()),
    ]
}

/// The lines (`ID TYPE SLUG`) every copy of a [`recording_plugin`] backend under `root`
/// recorded, one per event pushed.
pub fn recording_events(root: &std::path::Path) -> Vec<String> {
    let mut ids = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.file_name().is_some_and(|n| n == "events.log") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                ids.extend(text.lines().map(str::to_owned));
            }
        }
    }
    ids
}
