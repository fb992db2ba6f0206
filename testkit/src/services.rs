//! Programs the tests start beside the servers, each on free loopback ports and stopped on
//! drop: an S3-compatible store ([`Moto`], `moto_server`), a load balancer ([`Haproxy`],
//! Debian's `haproxy`) and a plugin backend reading pushes with the official CloudEvents SDK
//! for JavaScript ([`CloudEventsReceiver`]); two linters, Prometheus'
//! ([`promtool_check_metrics`]) and OpenAPI's ([`check_openapi`]); and an API tester
//! ([`Schemathesis`]). Without the program a test is skipped (one line says so) outside CI,
//! and fails in CI, whose `.ci/run` installs them all.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A free loopback port (bound, then released for the program that takes it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Starts `command`, or `None` when its program is not installed and this is not CI.
fn start(mut command: Command, program: &str, install: &str) -> Option<Child> {
    match command.spawn() {
        Ok(child) => Some(child),
        Err(_) if std::env::var_os("CI").is_none() => {
            println!("skipped: {program} is not installed ({install})");
            None
        }
        Err(e) => panic!("CI must provide {program}: {e}"),
    }
}

/// A plugin backend that reads every push with the official CloudEvents SDK for JavaScript
/// (`testkit/cloudevents/receiver.mjs`, `HTTP.toEvent`): each push becomes one JSON line —
/// `{"ok": true, "contentType", "batch", "events": [...]}` or `{"ok": false, "error"}` — and is
/// answered as a plugin would (`{"handled": n}` to a batch, 400 to what the SDK refuses).
#[derive(Debug)]
pub struct CloudEventsReceiver {
    child: Child,
    /// Its base URL.
    pub url: String,
    pushes: std::sync::mpsc::Receiver<serde_json::Value>,
}

impl CloudEventsReceiver {
    /// Starts it, or `None` outside CI when Node or the SDK (`npm ci --prefix
    /// testkit/cloudevents`) is missing.
    pub fn start() -> Option<Self> {
        use std::io::BufRead;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cloudevents");
        if !dir.join("node_modules").join("cloudevents").exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must provide the CloudEvents SDK: npm ci --prefix testkit/cloudevents"
            );
            println!(
                "skipped: the CloudEvents SDK is not installed (npm ci --prefix testkit/cloudevents)"
            );
            return None;
        }
        let mut command = Command::new("node");
        command
            .arg(dir.join("receiver.mjs"))
            .current_dir(&dir)
            .stdout(Stdio::piped());
        let mut child = start(command, "node", "apt-get install nodejs npm")?;
        let Some(stdout) = child.stdout.take() else {
            panic!("receiver.mjs started without the stdout it was given");
        };
        let mut lines = std::io::BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let port = first
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("receiver.mjs did not start: {first:?}"));
        let (sender, pushes) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "ok": false, "error": line }));
                if sender.send(value).is_err() {
                    break;
                }
            }
        });
        Some(Self {
            child,
            url: format!("http://127.0.0.1:{}", port.trim()),
            pushes,
        })
    }

    /// The next push it read, waiting at most `timeout`.
    pub fn next_push(&self, timeout: Duration) -> Option<serde_json::Value> {
        self.pushes.recv_timeout(timeout).ok()
    }
}

impl Drop for CloudEventsReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Checks that OpenAPI `document` describes every route of `routes`: each with its path
/// parameters, its success answers and the error body, and that `openapi-spec-validator`
/// (from PyPI) finds it valid. `Err` says what is wrong; the validator is skipped outside CI
/// when it is not installed.
pub fn check_openapi<R>(
    document: &serde_json::Value,
    routes: &[plexica_server::routes::RouteSpec<R>],
) -> Result<(), String> {
    for route in routes {
        let template = plexica_server::openapi::template(route.path);
        let name = format!("{} {template}", route.method);
        let operation = &document["paths"][&template][route.method.as_str().to_lowercase()];
        if !operation.is_object() {
            return Err(format!("{name} is missing"));
        }
        let declared: Vec<&str> = operation["parameters"]
            .as_array()
            .map(|p| p.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        let wanted: Vec<&str> = plexica_server::openapi::parameters(route.path)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        if declared != wanted {
            return Err(format!(
                "{name} declares {declared:?}, its path has {wanted:?}"
            ));
        }
        if route.answers.is_empty() {
            return Err(format!(
                "{name}: the table says nothing of its success answer"
            ));
        }
        let responses = &operation["responses"];
        if let Some(answer) = route
            .answers
            .iter()
            .find(|a| !responses[a.status.to_string()].is_object())
        {
            return Err(format!("{name} does not document its {}", answer.status));
        }
        if !responses["default"]["content"]["application/json"]["schema"].is_object() {
            return Err(format!("{name} does not document its error body"));
        }
    }
    openapi_spec_validator(document).unwrap_or(Ok(()))
}

fn openapi_spec_validator(document: &serde_json::Value) -> Option<Result<(), String>> {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => return Some(Err(format!("no temporary directory: {e}"))),
    };
    let file = dir.path().join("openapi.json");
    if let Err(e) = std::fs::write(&file, document.to_string()) {
        return Some(Err(format!("cannot write the document: {e}")));
    }
    let mut command = Command::new("openapi-spec-validator");
    command
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = start(
        command,
        "openapi-spec-validator",
        "pip install openapi-spec-validator",
    )?;
    Some(linted(child.wait_with_output(), "openapi-spec-validator"))
}

/// A run of `schemathesis` (from PyPI): requests generated from an OpenAPI document, sent to
/// a live server, and each answer checked against what the document says of its operation
/// (no 5xx, a documented status, its content type, its body's schema).
#[derive(Debug, Clone, Copy)]
pub struct Schemathesis<'a> {
    /// The server, `http://127.0.0.1:port`.
    pub base_url: &'a str,
    /// The document's path on it (`/api/openapi.json`).
    pub document: &'a str,
    /// The bearer token of every request; it reaches the program through its environment.
    pub token: &'a str,
    /// Path parameters pinned to a value that exists (`("t", "acme")`).
    pub parameters: &'a [(&'a str, &'a str)],
    /// Operations left out, as `METHOD /path`, with why in the caller's comment.
    pub excluded: &'a [&'a str],
}

impl Schemathesis<'_> {
    /// Runs it (blocking): `Err` with its report when an answer breaks the document; `None`
    /// when it is not installed (outside CI).
    pub fn run(&self) -> Option<Result<(), String>> {
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => return Some(Err(format!("no temporary directory: {e}"))),
        };
        let mut config = String::from(
            "headers = { Authorization = \"Bearer ${PLEXICA_SCHEMATHESIS_TOKEN}\" }\n\n[parameters]\n",
        );
        for (name, value) in self.parameters {
            config.push_str(&format!("\"path.{name}\" = {value:?}\n"));
        }
        let file = dir.path().join("schemathesis.toml");
        if let Err(e) = std::fs::write(&file, config) {
            return Some(Err(format!("cannot write the configuration: {e}")));
        }
        let mut command = Command::new("schemathesis");
        command
            .current_dir(dir.path())
            .env("PLEXICA_SCHEMATHESIS_TOKEN", self.token)
            .arg("--config-file")
            .arg(&file)
            .arg("run")
            .arg(format!("{}{}", self.base_url, self.document))
            .args(["--url", self.base_url])
            .args([
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,\
                 response_schema_conformance",
            ])
            .args(["--phases", "coverage,fuzzing", "--max-examples", "10"])
            .args(["--seed", "1", "--no-shrink", "--workers", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for operation in self.excluded {
            command.args(["--exclude-name", operation]);
        }
        let child = start(command, "schemathesis", "pip install schemathesis")?;
        Some(linted(child.wait_with_output(), "schemathesis"))
    }
}

/// Lints a Prometheus text exposition with `promtool check metrics` (Debian's `prometheus`):
/// `Err` with what it printed when it finds a problem; `None` when it is not installed
/// (outside CI).
pub fn promtool_check_metrics(exposition: &str) -> Option<Result<(), String>> {
    use std::io::Write;
    let mut command = Command::new("promtool");
    command
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = start(command, "promtool", "apt-get install prometheus")?;
    let written = match child.stdin.take() {
        Some(mut stdin) => stdin.write_all(exposition.as_bytes()),
        None => Ok(()),
    };
    Some(linted(
        written.and_then(|()| child.wait_with_output()),
        "promtool",
    ))
}

/// A linter's verdict: `Ok` when it exited successfully, else `Err` with what it printed (or
/// why `program` could not run).
fn linted(output: std::io::Result<std::process::Output>, program: &str) -> Result<(), String> {
    let output = output.map_err(|e| format!("could not run {program}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Waits until `url` answers anything.
async fn answers(url: &str, what: &str) {
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(url).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not start");
}

/// A `moto_server`: S3's API in memory.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts one; `None` when `moto_server` is not installed (outside CI).
    pub async fn start() -> Option<Self> {
        let port = free_port();
        let mut command = Command::new("moto_server");
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = start(command, "moto_server", "pip install 'moto[server]'")?;
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        answers(&moto.endpoint, "moto_server").await;
        Some(moto)
    }

    /// Creates bucket `name`.
    pub async fn bucket(&self, name: &str) {
        let response = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .expect("create bucket");
        assert!(response.status().is_success(), "{}", response.status());
    }
}

/// An HAProxy in HTTP mode: one frontend per group of servers, round robin over the servers
/// that pass their health check (`GET /health/ready` every 200 ms; two failures take a server
/// out, two successes bring it back). A request that cannot connect is sent to another server.
pub struct Haproxy {
    child: Child,
    /// Keeps the configuration file for as long as HAProxy runs.
    _dir: tempfile::TempDir,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Haproxy {
    /// Starts one with a frontend per `(name, servers)` (servers as `host:port`); returns it
    /// and each frontend's `http://127.0.0.1:PORT`, in order. `None` when `haproxy` is not
    /// installed (outside CI).
    pub async fn start(groups: &[(&str, Vec<String>)]) -> Option<(Self, Vec<String>)> {
        let mut config = String::from(
            "global\n  maxconn 4096\n\
             defaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n\
             \x20 timeout server 30s\n  retries 3\n  option redispatch\n\
             \x20 default-server inter 200ms fall 2 rise 2\n",
        );
        let mut urls = Vec::new();
        for (name, servers) in groups {
            let port = free_port();
            urls.push(format!("http://127.0.0.1:{port}"));
            config.push_str(&format!(
                "frontend {name}\n  bind 127.0.0.1:{port}\n  default_backend {name}_servers\n\
                 backend {name}_servers\n  balance roundrobin\n  option httpchk GET /health/ready\n"
            ));
            for (i, server) in servers.iter().enumerate() {
                config.push_str(&format!("  server {name}{i} {server} check\n"));
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, config).expect("write haproxy.cfg");
        let mut command = Command::new("haproxy");
        command
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = start(command, "haproxy", "apt-get install haproxy")?;
        let haproxy = Self { child, _dir: dir };
        for url in &urls {
            answers(url, "haproxy").await;
        }
        Some((haproxy, urls))
    }
}
