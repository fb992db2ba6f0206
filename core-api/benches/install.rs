//! Install benchmark (issue budget: install of a cached package with three migrations,
//! p50 < 100 ms), a release build on loopback:
//!
//! ```sh
//! PLEXICA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo bench -p plexica-core-api --bench install
//! ```
//!
//! A real registry and a real core API run in this process (SQLite; PostgreSQL too when
//! `PLEXICA_TEST_POSTGRES_URL` is set). One signed package with three migrations is published
//! and installed once (which downloads and caches it); then it is uninstalled with `purge`
//! and installed again `PLEXICA_BENCH_INSTALLS` times (default 100), each install timed from
//! request to answer: index revalidation (`304`), the cached package read and verified
//! (checksums and signature), dependency and configuration checks, the three migrations and
//! the event in one tenant transaction.

use std::io::Cursor;
use std::time::{Duration, Instant};

use plexica_sdk::api::registry::CreatedToken;
use plexica_sdk::package::signing::SecretKey;
use plexica_sdk::package::{PackageFile, Source, sign_package, write_package};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = "bench password 1234";

const MANIFEST: &str = r#"
[plugin]
id = "crm"
name = "CRM"
version = "1.0.0"
description = "Contacts and deals, for the install benchmark"
authors = ["Bench <b@example.com>"]
license = "MIT"
workspace-aware = true

[backend]
entry = "bin/crm"
migrations = "migrations"

[[config]]
key = "currency"
type = "select"
options = ["USD", "EUR", "GBP"]
default = "USD"
"#;

const MIGRATIONS: [(&str, &str); 3] = [
    (
        "migrations/0001_contacts.sql",
        "CREATE TABLE crm_contacts (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, name TEXT NOT NULL);",
    ),
    (
        "migrations/0002_deals.sql",
        "CREATE TABLE crm_deals (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, amount BIGINT NOT NULL);",
    ),
    (
        "migrations/0003_indexes.sql",
        "CREATE INDEX crm_contacts_name ON crm_contacts (name);\nCREATE INDEX crm_deals_amount ON crm_deals (amount);",
    ),
];

/// 256 KiB that do not compress, standing in for a backend binary.
fn backend_bytes() -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..256 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn package(key: &SecretKey) -> Vec<u8> {
    let mut files = vec![
        ("plexica.toml", MANIFEST.as_bytes().to_vec()),
        ("bin/crm", backend_bytes()),
    ];
    files.extend(
        MIGRATIONS
            .iter()
            .map(|(p, sql)| (*p, sql.as_bytes().to_vec())),
    );
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
    sign_package(&bytes, key, 1_700_000_000).expect("sign")
}

async fn serve_registry(dir: &std::path::Path) -> String {
    let config = plexica_registry::Config::embedded(dir);
    let (registry, _) = plexica_registry::Registry::open(config, Some(PASSWORD.to_owned()))
        .await
        .expect("registry");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(registry.serve(listener, std::future::pending()));
    url
}

async fn serve_core(dir: &std::path::Path, database_url: Option<String>, registry: &str) -> String {
    let mut config = plexica_core_api::Config::embedded(dir);
    if let Some(url) = database_url {
        config.database_url = url;
    }
    config.registry_url = Some(registry.to_owned());
    config.trust_registry_keys = true;
    let (api, _) = plexica_core_api::CoreApi::open(config, Some(PASSWORD.to_owned()))
        .await
        .expect("core API");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(api.serve(listener, std::future::pending()));
    url
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn run(label: &str, database_url: Option<String>, installs: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("registry")).expect("dir");
    std::fs::create_dir_all(dir.path().join("core")).expect("dir");
    let registry = serve_registry(&dir.path().join("registry")).await;
    let core = serve_core(&dir.path().join("core"), database_url, &registry).await;
    let http = reqwest::Client::new();
    let (_, token) = send(
        http.post(format!("{registry}/api/v1/tokens"))
            .json(&json!({ "username": "admin", "password": PASSWORD })),
    )
    .await;
    let token: CreatedToken = serde_json::from_value(token).expect("registry token");
    let key = SecretKey::generate();
    let (status, _) = send(
        http.put(format!("{registry}/api/v1/keys"))
            .bearer_auth(&token.token)
            .json(&json!({ "public_key": key.public_key().to_line() })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = send(
        http.post(format!("{registry}/api/v1/packages"))
            .bearer_auth(&token.token)
            .body(package(&key)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, login) = send(
        http.post(format!("{core}/api/v1/auth/login"))
            .json(&json!({ "email": "admin", "password": PASSWORD })),
    )
    .await;
    let admin = login["access_token"].as_str().expect("token").to_owned();
    let (status, body) = send(
        http.post(format!("{core}/api/v1/tenants"))
            .bearer_auth(&admin)
            .json(&json!({ "slug": "bench", "name": "Bench" })),
    )
    .await;
    assert!(status.is_success(), "{body}");
    let plugins = format!("{core}/api/v1/tenants/bench/plugins");
    let mut times = Vec::with_capacity(installs);
    for i in 0..=installs {
        let started = Instant::now();
        let (status, body) = send(
            http.post(&plugins)
                .bearer_auth(&admin)
                .json(&json!({ "id": "crm", "config": { "currency": "EUR" } })),
        )
        .await;
        let took = started.elapsed();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["migrations"].as_array().map(Vec::len), Some(3));
        if i > 0 {
            times.push(took);
        }
        let (status, _) = send(
            http.delete(format!("{plugins}/crm?purge=true"))
                .bearer_auth(&admin),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    times.sort();
    println!(
        "| {label} | {installs} | {:.2} ms | {:.2} ms | {:.2} ms |",
        percentile(&times, 0.5).as_secs_f64() * 1000.0,
        percentile(&times, 0.99).as_secs_f64() * 1000.0,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
}

fn main() {
    let installs = std::env::var("PLEXICA_BENCH_INSTALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!("| backend | installs | p50 | p99 | max |");
    println!("|---|---|---|---|---|");
    runtime.block_on(run("SQLite", None, installs));
    if let Ok(base) = std::env::var("PLEXICA_TEST_POSTGRES_URL") {
        let url = runtime
            .block_on(async { plexica_testkit::postgres_database("plexica_bench_install").await });
        let _ = base;
        if let Some(url) = url {
            runtime.block_on(run("PostgreSQL", Some(url), installs));
        }
    }
}
