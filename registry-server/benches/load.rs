//! Load benchmark of the registry (quality.md budgets), a release build on loopback:
//!
//! ```sh
//! cargo bench -p plexica-registry --bench load
//! ```
//!
//! It seeds 10,000 plugins × 10 versions straight into a fresh SQLite database, starts the real
//! `plexica-registry` binary on it (one process), and drives it from this process with an
//! open-loop, constant-rate load generator (latency is measured from each request's scheduled
//! start, so a slow server cannot hide its queueing). Prints median and p99 per scenario.
//!
//! The data set, the generators and the reporting live in `loadgen/`, shared with `peer.rs`,
//! which runs the same scenarios against a peer registry (`bench/verdaccio.sh` runs both and
//! prints them side by side from the JSON lines written to `$PLEXICA_BENCH_RESULTS`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench fails by panicking.
#![allow(missing_docs)] // criterion_group! defines undocumented functions.

mod loadgen;

use std::io::Cursor;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use loadgen::{Expect, PLUGINS, VERSIONS, plugin_id, spread};
use plexica_registry::storage::MetadataStore;
use plexica_registry::storage::sql::SqlStore;
use plexica_sdk::package::signing::SecretKey;
use plexica_sdk::package::{PackageFile, Source, sign_package, write_package};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Executor;

const PASSWORD: &str = "bench password 1234";

fn manifest(id: &str, version: &str, keywords: &str) -> String {
    format!(
        "[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"{version}\"\n\
         description = \"Benchmark plugin {id} for {keywords}\"\nauthors = [\"B <b@example.com>\"]\n\
         license = \"MIT\"\nkeywords = [\"{keywords}\"]\ncategories = [\"utility\"]\n\
         [frontend]\ndist = \"ui\"\nremote-entry = \"remoteEntry.js\"\n"
    )
}

fn package(key: &SecretKey, id: &str, version: &str, payload: Vec<u8>) -> Vec<u8> {
    let text = manifest(id, version, "bench");
    let files = vec![
        PackageFile {
            path: "plexica.toml".into(),
            size: text.len() as u64,
            source: Source::Bytes(text.into_bytes()),
            executable: false,
        },
        PackageFile {
            path: "ui/remoteEntry.js".into(),
            size: payload.len() as u64,
            source: Source::Bytes(payload),
            executable: false,
        },
    ];
    let bytes = write_package(&files, None, Cursor::new(Vec::new()))
        .expect("package")
        .into_inner();
    sign_package(&bytes, key, 1).expect("sign")
}

/// A README of about 3 KiB, as the plugin pages render one.
fn readme(id: &str) -> String {
    let mut text = format!(
        "# {id}\n\nA plugin for Plexica that keeps **contacts**, deals and a pipeline.\n\n\
         ## Install\n\n```sh\nplexica tenant plugin install acme {id}\n```\n\n\
         ## Configuration\n\n| Key | Type | Default |\n|---|---|---|\n| `api-key` | secret | — |\n\
         | `currency` | string | `EUR` |\n\n## Features\n\n"
    );
    for i in 0..30 {
        text.push_str(&format!(
            "- Feature {i}: works with [the docs](https://example.com/{id}/{i}) and `code {i}`.\n"
        ));
    }
    text.push_str("\n<script>alert('never runs')</script>\n");
    text
}

async fn seed(database_url: &str) {
    let store = SqlStore::connect(database_url).await.expect("database");
    let hash = plexica_registry::auth::hash_password(PASSWORD.to_owned())
        .await
        .expect("hash");
    store.create_user("bench", &hash, true).await.expect("user");
    store.close().await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await.expect("pool");
    let mut tx = pool.begin().await.expect("tx");
    let manifest_json = serde_json::to_string(
        &plexica_sdk::manifest::Manifest::parse(&manifest("seed", "1.0.0", "bench"))
            .expect("manifest"),
    )
    .expect("json");
    for p in 0..PLUGINS {
        let id = plugin_id(p);
        let keywords = loadgen::plugin_keywords(p).join(",");
        sqlx::query(
            "INSERT INTO plugins (id, name, description, keywords, categories, latest, downloads, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'utility', $5, $6, 0, $7)",
        )
        .bind(&id)
        .bind(format!("{} {p}", loadgen::WORDS[p % loadgen::WORDS.len()]))
        .bind(loadgen::plugin_description(p))
        .bind(keywords)
        .bind(format!("1.{}.0", VERSIONS - 1))
        .bind((p * 37 % 1000) as i64)
        .bind(p as i64)
        .execute(&mut *tx)
        .await
        .expect("plugin");
        sqlx::query("INSERT INTO plugin_owners (plugin_id, user_id) VALUES ($1, 1)")
            .bind(&id)
            .execute(&mut *tx)
            .await
            .expect("owner");
        sqlx::query(
            "INSERT INTO version_documents (plugin_id, version, kind, body) VALUES ($1, $2, 'readme', $3)",
        )
        .bind(&id)
        .bind(format!("1.{}.0", VERSIONS - 1))
        .bind(readme(&id))
        .execute(&mut *tx)
        .await
        .expect("readme");
        for v in 0..VERSIONS {
            let version = format!("1.{v}.0");
            sqlx::query(
                "INSERT INTO versions (plugin_id, version_key, version, manifest, digest, content_digest, size, \
                 yanked, published_at, published_by) VALUES ($1, $2, $3, $4, $5, $6, 1000, 0, $7, 1)",
            )
            .bind(&id)
            .bind(&version)
            .bind(&version)
            .bind(&manifest_json)
            .bind(format!("{:064x}", p * VERSIONS + v))
            .bind(format!("{:064x}", p * VERSIONS + v))
            .bind((p * VERSIONS + v) as i64)
            .execute(&mut *tx)
            .await
            .expect("version");
        }
    }
    tx.commit().await.expect("commit");
    pool.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .expect("checkpoint");
    pool.close().await;
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("registry.db").display()
    );
    let seeded = Instant::now();
    seed(&database_url).await;
    eprintln!(
        "seeded {PLUGINS} plugins × {VERSIONS} versions in {:.1?}",
        seeded.elapsed()
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let base = format!("http://127.0.0.1:{port}");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_plexica-registry"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(dir.path())
            .args([
                "--publish-burst",
                "1000000",
                "--publish-interval-seconds",
                "0",
                // One client address makes all the load: the per-address limit is for
                // strangers, not for this.
                "--address-rate-limit",
                "off",
            ])
            .env("PLEXICA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server"),
    );
    let client = loadgen::client();
    for _ in 0..200 {
        if client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token: serde_json::Value = client
        .post(format!("{base}/api/v1/tokens"))
        .json(&json!({"username": "bench", "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("token");
    let token = token["token"].as_str().expect("token").to_owned();
    let key = SecretKey::generate();
    let registered = plexica_testkit::registry::register_key(&client, &base, &token, &key)
        .await
        .expect("register a key");
    assert_eq!(registered.as_u16(), 201, "register key");

    loadgen::header("budget");

    let mut packages: Vec<Vec<u8>> = (0..100)
        .map(|i| {
            package(
                &key,
                "bench-publish",
                &format!("1.0.{i}"),
                loadgen::noise(1 << 20, i + 1),
            )
        })
        .collect();
    eprintln!("publishing signed packages of {} bytes", packages[0].len());
    let publish = loadgen::sequential(packages.len(), Expect::status(StatusCode::CREATED), |i| {
        client
            .post(format!("{base}/api/v1/packages"))
            .bearer_auth(&token)
            .body(std::mem::take(&mut packages[i]))
    })
    .await;
    loadgen::report(
        "publish",
        "publish 1 MiB package (sequential)",
        &publish,
        "p50 < 15 ms, p99 < 50 ms",
    );

    let search_url =
        |i: usize| format!("{base}/api/v1/plugins?q={}&per_page=20", loadgen::query(i));
    let search = loadgen::constant_rate(200, 2000, Expect::status(StatusCode::OK), |i| {
        client.get(search_url(i))
    })
    .await;
    loadgen::report(
        "search",
        "search, 10,000 plugins, 200 req/s",
        &search,
        "p99 < 10 ms",
    );
    let search_one = loadgen::sequential(20, Expect::status(StatusCode::OK), |i| {
        client.get(search_url(i))
    })
    .await;
    loadgen::report(
        "search_sequential",
        "search, 10,000 plugins, one client (sequential)",
        &search_one,
        "—",
    );

    let search_page = loadgen::constant_rate(200, 2000, Expect::status(StatusCode::OK), |i| {
        client.get(format!("{base}/search?q={}", loadgen::query(i)))
    })
    .await;
    loadgen::report(
        "search_page",
        "search page (HTML), 10,000 plugins, 200 req/s",
        &search_page,
        "p99 < 15 ms",
    );
    let plugin_page = loadgen::constant_rate(200, 2000, Expect::status(StatusCode::OK), |i| {
        client.get(format!("{base}/plugins/{}", plugin_id(spread(i))))
    })
    .await;
    loadgen::report(
        "plugin_page",
        "plugin page (HTML, 3 KiB README), 10,000 plugins, 200 req/s",
        &plugin_page,
        "p99 < 10 ms",
    );

    let metadata = loadgen::constant_rate(1000, 10_000, Expect::status(StatusCode::OK), |i| {
        client.get(format!(
            "{base}/api/v1/plugins/{}/versions/1.{}.0",
            plugin_id(spread(i)),
            i % VERSIONS
        ))
    })
    .await;
    loadgen::report(
        "version_metadata",
        "version metadata, 1,000 req/s",
        &metadata,
        "p99 < 3 ms",
    );

    let index_url = |p: usize| format!("{base}/api/v1/index/{}", plugin_id(p));
    let mut etags = Vec::new();
    for p in 0..100 {
        let response = client.get(index_url(p)).send().await.expect("index");
        etags.push(response.headers()["etag"].clone());
    }
    let index = loadgen::constant_rate(1000, 10_000, Expect::status(StatusCode::OK), |i| {
        client.get(index_url(spread(i)))
    })
    .await;
    loadgen::report("index", "index fetch, 1,000 req/s", &index, "p99 < 3 ms");
    let cached = loadgen::constant_rate(
        1000,
        10_000,
        Expect::status(StatusCode::NOT_MODIFIED),
        |i| {
            client
                .get(index_url(i % 100))
                .header("if-none-match", &etags[i % 100])
        },
    )
    .await;
    loadgen::report(
        "index_304",
        "index fetch answered 304, 1,000 req/s",
        &cached,
        "cheaper than 200",
    );

    let big = package(
        &key,
        "bench-download",
        "1.0.0",
        loadgen::noise(40 << 20, 99),
    );
    let size = big.len();
    let response = client
        .post(format!("{base}/api/v1/packages"))
        .bearer_auth(&token)
        .body(big)
        .send()
        .await
        .expect("publish big");
    assert_eq!(response.status(), StatusCode::CREATED);
    let download = loadgen::sequential(
        10,
        Expect {
            status: StatusCode::OK,
            body_len: Some(size),
        },
        |_| {
            client.get(format!(
                "{base}/api/v1/plugins/bench-download/versions/1.0.0/download"
            ))
        },
    )
    .await;
    loadgen::report_download(
        "download",
        &format!(
            "download {:.0} MiB, single stream",
            size as f64 / f64::from(1 << 20)
        ),
        size,
        &download,
        "≥ 300 MiB/s",
    );
}
