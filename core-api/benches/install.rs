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

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench fails by panicking.
#![allow(missing_docs)] // criterion_group! defines undocumented functions.

mod support;

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::json;
use support::{Platform, ms, percentile, send};

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

fn package() -> Vec<(&'static str, Vec<u8>)> {
    let mut files = vec![
        ("plexica.toml", MANIFEST.as_bytes().to_vec()),
        ("bin/crm", backend_bytes()),
    ];
    files.extend(
        MIGRATIONS
            .iter()
            .map(|(p, sql)| (*p, sql.as_bytes().to_vec())),
    );
    files
}

async fn run(label: &str, database_url: Option<String>, installs: usize) {
    let platform = Platform::start(database_url, |_| {}).await;
    platform.publish(package()).await;
    platform.tenant("bench").await;
    let (http, admin, core) = (&platform.http, &platform.admin, &platform.core);
    let plugins = format!("{core}/api/v1/tenants/bench/plugins");
    let mut times = Vec::with_capacity(installs);
    for i in 0..=installs {
        let started = Instant::now();
        let (status, body) = send(
            http.post(&plugins)
                .bearer_auth(admin)
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
                .bearer_auth(admin),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    times.sort();
    println!(
        "| {label} | {installs} | {} | {} | {} |",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(times.last().copied().unwrap_or_default()),
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
