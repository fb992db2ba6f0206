//! The real `plexica-core-api` binary, started by a test in a data directory of its own and
//! killed with SIGKILL (or dropped) by it; everything it writes is kept.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

/// The super admin's password at every start.
pub const BOOTSTRAP_PASSWORD: &str = "boot-Secret-7Qx9vLw2";

/// A running binary and everything it wrote.
pub struct Server {
    child: tokio::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Everything it wrote (stderr and stdout), line by line.
    pub log: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    /// A client for it.
    pub http: reqwest::Client,
}

fn pipe_into(
    stream: impl AsyncRead + Unpin + Send + 'static,
    log: Arc<Mutex<String>>,
    mut ready: Option<tokio::sync::oneshot::Sender<String>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(addr) = line.split("listening on http://").nth(1)
                && let Some(tx) = ready.take()
            {
                let _ = tx.send(addr.trim().to_owned());
            }
            let mut log = log
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            log.push_str(&line);
            log.push('\n');
        }
    })
}

impl Server {
    /// Starts the binary on `dir` (and `database_url` for PostgreSQL) with a debug log.
    pub async fn start(dir: &Path, database_url: Option<&str>) -> Self {
        Self::start_with(dir, database_url, &[]).await
    }

    /// [`Self::start`] with `extra` arguments.
    pub async fn start_with(dir: &Path, database_url: Option<&str>, extra: &[&str]) -> Self {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_plexica-core-api"));
        command
            .args(extra)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(dir)
            .arg("--provisioning-timeout-seconds")
            .arg("0")
            .arg("--key-encryption-key-file")
            .arg(dir.join("kek"))
            .env("PLEXICA_BOOTSTRAP_ADMIN_PASSWORD", BOOTSTRAP_PASSWORD)
            .env_remove("PLEXICA_KEY_ENCRYPTION_KEY")
            .env("PLEXICA_LOG", "debug")
            .env_remove("PLEXICA_DATABASE_URL")
            .env_remove("PLEXICA_LISTEN")
            .env_remove("PLEXICA_DATA_DIR")
            .env_remove("PLEXICA_ISSUER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(url) = database_url {
            command.arg("--database-url").arg(url);
        }
        let mut child = command.spawn().expect("start plexica-core-api");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let stderr = child.stderr.take().expect("stderr");
        let stdout = child.stdout.take().expect("stdout");
        let readers = vec![
            pipe_into(stderr, log.clone(), Some(tx)),
            pipe_into(stdout, log.clone(), None),
        ];
        let addr = match tokio::time::timeout(Duration::from_secs(60), rx).await {
            Ok(Ok(addr)) => addr,
            _ => {
                let _ = child.kill().await;
                let text = log
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                panic!("the binary did not say where it listens; its output:\n{text}");
            }
        };
        Self {
            child,
            url: format!("http://{addr}"),
            log,
            readers,
            http: reqwest::Client::new(),
        }
    }

    /// SIGKILL, then everything it wrote.
    pub async fn kill(mut self) -> String {
        self.child.kill().await.expect("SIGKILL");
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(10), reader).await;
        }
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// Logs in; returns the token pair.
    pub async fn login(&self, tenant: Option<&str>, email: &str, password: &str) -> Value {
        let mut body = json!({ "email": email, "password": password });
        if let Some(t) = tenant {
            body["tenant"] = json!(t);
        }
        let (status, pair) = self.post("/api/v1/auth/login", None, body).await;
        assert_eq!(status, StatusCode::OK, "login {email}: {pair}");
        pair
    }
}

/// Signs in at `url` (a server or a load balancer in front of some); the access token.
pub async fn token(
    http: &reqwest::Client,
    url: &str,
    tenant: Option<&str>,
    email: &str,
    password: &str,
) -> String {
    let mut body = json!({ "email": email, "password": password });
    if let Some(t) = tenant {
        body["tenant"] = json!(t);
    }
    let response = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK, "login {email}");
    let pair: Value = response.json().await.expect("json");
    pair["access_token"].as_str().expect("token").to_owned()
}
