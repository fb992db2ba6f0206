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

use std::io::Cursor;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plexica_registry::storage::MetadataStore;
use plexica_registry::storage::sql::SqlStore;
use plexica_sdk::package::signing::SecretKey;
use plexica_sdk::package::{PackageFile, Source, sign_package, write_package};
use serde_json::json;
use sqlx::Executor;

const PLUGINS: usize = 10_000;
const VERSIONS: usize = 10;
const PASSWORD: &str = "bench password 1234";
const WORDS: &[&str] = &[
    "crm", "sales", "billing", "invoice", "report", "chart", "mail", "chat", "task", "note",
    "calendar", "storage", "backup", "audit", "search", "export", "import", "sync", "form", "hr",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(name: &str, mut latencies: Vec<Duration>, budget: &str) {
    latencies.sort();
    println!(
        "| {name} | {:.2} ms | {:.2} ms | {} | {budget} |",
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.len()
    );
}

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

/// Incompressible bytes (packages are mostly compressed assets).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
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
        let id = format!(
            "{}-{}-{p}",
            WORDS[p % WORDS.len()],
            WORDS[(p / 7) % WORDS.len()]
        );
        let keywords = format!(
            "{},{}",
            WORDS[(p / 3) % WORDS.len()],
            WORDS[(p / 11) % WORDS.len()]
        );
        sqlx::query(
            "INSERT INTO plugins (id, name, description, keywords, categories, latest, downloads, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'utility', $5, $6, 0, $7)",
        )
        .bind(&id)
        .bind(format!("{} {}", WORDS[p % WORDS.len()], p))
        .bind(format!("A plugin about {} and {}", WORDS[(p / 5) % WORDS.len()], WORDS[(p / 13) % WORDS.len()]))
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

/// Sends `total` requests at `rate` per second (open loop); returns each latency, measured
/// from the request's scheduled start.
async fn constant_rate(
    client: &reqwest::Client,
    rate: u32,
    total: usize,
    url: impl Fn(usize) -> (String, Option<String>),
    expect: reqwest::StatusCode,
) -> Vec<Duration> {
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let scheduled = start + interval * u32::try_from(i).unwrap_or(u32::MAX);
        tokio::time::sleep_until(scheduled.into()).await;
        let (target, etag) = url(i);
        let mut request = client.get(target);
        if let Some(etag) = etag {
            request = request.header("if-none-match", etag);
        }
        tasks.push(tokio::spawn(async move {
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), expect);
            let _ = response.bytes().await.expect("body");
            scheduled.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.push(task.await.expect("task"));
    }
    latencies
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
            ])
            .env("PLEXICA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server"),
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client");
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
    client
        .put(format!("{base}/api/v1/keys"))
        .bearer_auth(&token)
        .json(&json!({"public_key": key.public_key().to_line()}))
        .send()
        .await
        .expect("key");

    println!("| scenario | median | p99 | requests | budget |");
    println!("|---|---|---|---|---|");

    let packages: Vec<Vec<u8>> = (0..100)
        .map(|i| {
            package(
                &key,
                "bench-publish",
                &format!("1.0.{i}"),
                noise(1 << 20, i + 1),
            )
        })
        .collect();
    let mut publish = Vec::with_capacity(packages.len());
    for bytes in packages {
        let started = Instant::now();
        let response = client
            .post(format!("{base}/api/v1/packages"))
            .bearer_auth(&token)
            .body(bytes)
            .send()
            .await
            .expect("publish");
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        publish.push(started.elapsed());
    }
    report(
        "publish 1 MiB package (sequential)",
        publish,
        "p50 < 15 ms, p99 < 50 ms",
    );

    let search = constant_rate(
        &client,
        200,
        2000,
        |i| {
            let q = WORDS[i % WORDS.len()];
            (format!("{base}/api/v1/plugins?q={q}&per_page=20"), None)
        },
        reqwest::StatusCode::OK,
    )
    .await;
    report("search, 10,000 plugins, 200 req/s", search, "p99 < 10 ms");

    let metadata = constant_rate(
        &client,
        1000,
        10_000,
        |i| {
            let p = (i * 7919) % PLUGINS;
            let id = format!(
                "{}-{}-{p}",
                WORDS[p % WORDS.len()],
                WORDS[(p / 7) % WORDS.len()]
            );
            (
                format!("{base}/api/v1/plugins/{id}/versions/1.{}.0", i % VERSIONS),
                None,
            )
        },
        reqwest::StatusCode::OK,
    )
    .await;
    report("version metadata, 1,000 req/s", metadata, "p99 < 3 ms");

    let index_url = |p: usize| {
        let id = format!(
            "{}-{}-{p}",
            WORDS[p % WORDS.len()],
            WORDS[(p / 7) % WORDS.len()]
        );
        format!("{base}/api/v1/index/{id}")
    };
    let etags: Arc<Vec<String>> = Arc::new({
        let mut etags = Vec::new();
        for p in 0..100 {
            let response = client.get(index_url(p)).send().await.expect("index");
            etags.push(
                response.headers()["etag"]
                    .to_str()
                    .expect("etag")
                    .to_owned(),
            );
        }
        etags
    });
    let index = constant_rate(
        &client,
        1000,
        10_000,
        |i| (index_url((i * 7919) % PLUGINS), None),
        reqwest::StatusCode::OK,
    )
    .await;
    report("index fetch, 1,000 req/s", index, "p99 < 3 ms");
    let cached = constant_rate(
        &client,
        1000,
        10_000,
        |i| (index_url(i % 100), Some(etags[i % 100].clone())),
        reqwest::StatusCode::NOT_MODIFIED,
    )
    .await;
    report(
        "index fetch answered 304, 1,000 req/s",
        cached,
        "cheaper than 200",
    );

    let big = package(&key, "bench-download", "1.0.0", noise(40 << 20, 99));
    let size = big.len();
    let response = client
        .post(format!("{base}/api/v1/packages"))
        .bearer_auth(&token)
        .body(big)
        .send()
        .await
        .expect("publish big");
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    let mut seconds = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let bytes = client
            .get(format!(
                "{base}/api/v1/plugins/bench-download/versions/1.0.0/download"
            ))
            .send()
            .await
            .expect("download")
            .bytes()
            .await
            .expect("bytes");
        assert_eq!(bytes.len(), size);
        seconds.push(started.elapsed());
    }
    seconds.sort();
    let median = percentile(&seconds, 0.5).as_secs_f64();
    println!(
        "| download {:.0} MiB, single stream | {:.0} MiB/s | {:.0} MiB/s (slowest) | 10 | ≥ 300 MiB/s |",
        size as f64 / (1 << 20) as f64,
        size as f64 / (1 << 20) as f64 / median,
        size as f64 / (1 << 20) as f64 / seconds[seconds.len() - 1].as_secs_f64()
    );
}
