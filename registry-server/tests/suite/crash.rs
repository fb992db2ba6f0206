//! The real `plexica-registry` binary, killed with SIGKILL in the middle of a slow upload:
//! after a restart nothing of that upload is visible or stored, and the retried publish
//! succeeds. Its logs never contain passwords or tokens.

use crate::common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "bootstrap password for the crash test";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn start(data: &Path, database_url: Option<&str>, port: u16, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_plexica-registry"));
    if let Some(url) = database_url {
        command.env("PLEXICA_DATABASE_URL", url);
    }
    command
        .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data)
        .env("PLEXICA_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD)
        .env("PLEXICA_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start plexica-registry")
}

async fn wait_ready(base: &str) {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/health/ready")).send().await
            && r.status() == StatusCode::OK
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("registry did not become ready");
}

fn blob_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for shard in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if shard.file_name() == "tmp" {
            continue;
        }
        for blob in std::fs::read_dir(shard.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            found.push(blob.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_upload_leaves_nothing_and_the_retry_succeeds_on_sqlite() {
    sigkill_mid_upload(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_upload_leaves_nothing_and_the_retry_succeeds_on_postgres() {
    if let Some(url) = common::postgres_database().await {
        sigkill_mid_upload(Some(&url)).await;
    }
}

async fn sigkill_mid_upload(database_url: Option<&str>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let log = dir.path().join("registry.log");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&data, database_url, port, &log);
    wait_ready(&base).await;

    let http = reqwest::Client::new();
    let token_of = |body: serde_json::Value| body["token"].as_str().expect("token").to_owned();
    let admin = token_of(
        http.post(format!("{base}/api/v1/tokens"))
            .json(&json!({"username": "admin", "password": PASSWORD}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json"),
    );
    http.post(format!("{base}/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({"username": "ada", "password": "a long enough password"}))
        .send()
        .await
        .expect("create user");
    let token = token_of(
        http.post(format!("{base}/api/v1/tokens"))
            .json(&json!({"username": "ada", "password": "a long enough password"}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json"),
    );
    let key = plexica_sdk::package::signing::SecretKey::generate();
    let registered = plexica_testkit::registry::register_key(&http, &base, &token, &key)
        .await
        .expect("register a key");
    assert_eq!(registered.as_u16(), 201, "register key");
    let package = common::signed(&key, "crashy", "1.0.0");

    // A slow client: headers and half the body, then the server dies.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "POST /api/v1/packages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        package.len()
    )
    .expect("headers");
    let half = package.len() / 2;
    for chunk in package[..half].chunks(64) {
        stream.write_all(chunk).expect("body");
        std::thread::sleep(Duration::from_millis(2));
    }
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);

    let mut server = start(&data, database_url, port, &log);
    wait_ready(&base).await;
    let status = http
        .get(format!("{base}/api/v1/plugins/crashy"))
        .send()
        .await
        .expect("get")
        .status();
    assert_eq!(status, StatusCode::NOT_FOUND, "no visible version");
    assert!(blob_files(&data.join("blobs")).is_empty(), "no orphan blob");

    let response = http
        .post(format!("{base}/api/v1/packages"))
        .bearer_auth(&token)
        .body(package.clone())
        .send()
        .await
        .expect("retry");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        blob_files(&data.join("blobs")),
        vec![plexica_sdk::package::sha256_hex(&package)]
    );
    server.kill().expect("stop");
    server.wait().expect("reaped");

    let logs = std::fs::read_to_string(&log).expect("logs");
    assert!(
        logs.contains("plexica-registry listening"),
        "the log was captured"
    );
    for secret in [
        PASSWORD,
        "a long enough password",
        token.as_str(),
        admin.as_str(),
    ] {
        assert!(!logs.contains(secret), "a secret leaked into the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_registry_prints_a_generated_admin_password_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let run = |log: &Path| {
        let log_file = std::fs::File::create(log).expect("log");
        Command::new(env!("CARGO_BIN_EXE_plexica-registry"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(dir.path().join("data"))
            .env_remove("PLEXICA_BOOTSTRAP_ADMIN_PASSWORD")
            .env_remove("PLEXICA_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start")
    };
    let first_log = dir.path().join("first.log");
    let mut server = run(&first_log);
    wait_ready(&base).await;
    let text = std::fs::read_to_string(&first_log).expect("log");
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("created user `admin` with password: "))
        .expect("the generated password is printed")
        .to_owned();
    let login = reqwest::Client::new()
        .post(format!("{base}/api/v1/tokens"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::CREATED);
    server.kill().expect("stop");
    server.wait().expect("reaped");
    let second_log = dir.path().join("second.log");
    let mut server = run(&second_log);
    wait_ready(&base).await;
    server.kill().expect("stop");
    server.wait().expect("reaped");
    let text = std::fs::read_to_string(&second_log).expect("log");
    assert!(
        !text.contains("created user"),
        "printed only on the empty database"
    );
}

/// PostgreSQL goes away under a running registry (a TCP proxy closes every connection and
/// refuses new ones): what needs the database answers 503 with `Retry-After`, readiness fails,
/// search (in memory) still answers; once PostgreSQL is back, all works without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_then_back() {
    use plexica_testkit::faults::FaultProxy;
    use std::time::{Duration, Instant};
    let Some(url) = common::postgres_database().await else {
        return;
    };
    let (proxy, proxied) = FaultProxy::in_front_of(&url).await.expect("proxy");
    let reg = common::TestRegistry::start_with(common::Backend::Postgres, |c| {
        c.database_url = proxied;
    })
    .await
    .expect("registry");
    let (token, key) = reg.publisher("ada").await;
    let (status, _) = reg
        .publish(&token, common::signed(&key, "steady", "1.0.0"))
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);

    proxy.cut();
    let started = Instant::now();
    let response = reg
        .http
        .get(reg.at("/api/v1/plugins/steady"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        reg.get("/health/ready").await.0,
        reqwest::StatusCode::SERVICE_UNAVAILABLE
    );
    let (status, results) = reg.get("/api/v1/plugins?q=steady").await;
    assert_eq!(
        status,
        reqwest::StatusCode::OK,
        "search is served from memory"
    );
    assert_eq!(results["total"], 1);

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    while reg.get("/health/ready").await.0 != reqwest::StatusCode::OK {
        assert!(Instant::now() < deadline, "never ready again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        reg.get("/api/v1/plugins/steady").await.0,
        reqwest::StatusCode::OK
    );
    let (status, _) = reg
        .publish(&token, common::signed(&key, "steady", "1.1.0"))
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
}
