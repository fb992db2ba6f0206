//! Load benchmark of the core API (quality.md budgets), a release build on loopback:
//!
//! ```sh
//! PLEXICA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo bench -p plexica-core-api --bench load
//! ```
//!
//! For each backend (SQLite; PostgreSQL when `PLEXICA_TEST_POSTGRES_URL` is set) it starts the
//! real `plexica-core-api` binary (a second process), provisions tenants one after the other
//! (provisioning latency), then drives the authenticated workspace list at a constant 1,000
//! requests per second from this process with the open-loop generator of
//! `plexica_testkit::load` (latency counted from each request's scheduled start). It reports
//! median and p99, and the server's resident memory idle and at its peak under that load.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench fails by panicking.
#![allow(missing_docs)] // criterion_group! defines undocumented functions.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use plexica_testkit::load::{self, Expect};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = "bench password 1234";
const TENANTS: usize = 40;
const WORKSPACES: usize = 20;

/// The server process, killed on drop.
struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(database_url: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut command = Command::new(env!("CARGO_BIN_EXE_plexica-core-api"));
        command
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("PLEXICA_BOOTSTRAP_ADMIN_PASSWORD", PASSWORD)
            .env("PLEXICA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(url) = database_url {
            command.args(["--database-url", url]);
        }
        let mut child = command.spawn().expect("core API starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("the server prints its address")
                .expect("line");
            if let Some(url) = line.strip_prefix("plexica-core-api listening on ") {
                break url.trim().to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            url,
            _dir: dir,
        }
    }

    /// `(current, peak)` resident memory in MiB, from `/proc`.
    fn rss_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

async fn post(client: &reqwest::Client, url: &str, token: &str, body: Value) -> Value {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().await.expect("json")
}

async fn login(
    client: &reqwest::Client,
    base: &str,
    tenant: Option<&str>,
    email: &str,
    password: &str,
) -> String {
    let mut body = json!({ "email": email, "password": password });
    if let Some(t) = tenant {
        body["tenant"] = json!(t);
    }
    let answer: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    answer["access_token"]
        .as_str()
        .expect("access token")
        .to_owned()
}

async fn scenario(backend: &str, database_url: Option<&str>, budget_provision: &str) {
    let server = Server::start(database_url);
    let base = server.url.clone();
    let client = load::client();
    let admin = login(&client, &base, None, "admin", PASSWORD).await;
    // Idle: past the time a hashing thread keeps its Argon2 memory after the last hash.
    tokio::time::sleep(plexica_server::passwords::KEEP_MEMORY + Duration::from_secs(1)).await;
    let (idle, _) = server.rss_mib();

    let provision = load::sequential(TENANTS, Expect::status(StatusCode::CREATED), |i| {
        client
            .post(format!("{base}/api/v1/tenants"))
            .bearer_auth(&admin)
            .json(&json!({ "slug": format!("tenant-{i}"), "name": format!("Tenant {i}") }))
    })
    .await;
    load::report(
        &format!("core-{backend}"),
        &format!("tenant provisioning, {backend}"),
        &provision,
        budget_provision,
    );

    // The first tenant's admin, with workspaces to list.
    let bench_user = post(
        &client,
        &format!("{base}/api/v1/tenants/tenant-0/users"),
        &admin,
        json!({ "email": "bench@tenant-0.test", "password": PASSWORD, "roles": ["admin"] }),
    )
    .await;
    assert_eq!(bench_user["email"], "bench@tenant-0.test");
    let user = login(
        &client,
        &base,
        Some("tenant-0"),
        "bench@tenant-0.test",
        PASSWORD,
    )
    .await;
    for w in 0..WORKSPACES {
        post(
            &client,
            &format!("{base}/api/v1/tenants/tenant-0/workspaces"),
            &user,
            json!({ "slug": format!("ws-{w}"), "name": format!("Workspace {w}") }),
        )
        .await;
    }
    let list = format!("{base}/api/v1/tenants/tenant-0/workspaces?per_page=20");
    // Warm up connections and caches.
    load::constant_rate(200, 400, Expect::status(StatusCode::OK), |_| {
        client.get(&list).bearer_auth(&user)
    })
    .await;
    let outcome = load::constant_rate(1000, 10_000, Expect::status(StatusCode::OK), |_| {
        client.get(&list).bearer_auth(&user)
    })
    .await;
    let (_, peak) = server.rss_mib();
    load::report(
        &format!("core-{backend}"),
        &format!("workspace list (authenticated), 1,000 req/s, {backend}"),
        &outcome,
        "p99 < 5 ms",
    );
    println!(
        "| resident memory, {backend} | idle {idle:.1} MiB | peak under load {peak:.1} MiB | | < 40 / < 150 MiB |"
    );
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    load::header("budget");
    scenario("SQLite", None, "p50 < 30 ms").await;
    match plexica_testkit::postgres_database("plexica_bench").await {
        Some(url) => scenario("PostgreSQL", Some(&url), "p50 < 300 ms").await,
        None => println!("PostgreSQL skipped: PLEXICA_TEST_POSTGRES_URL is not set"),
    }
}
