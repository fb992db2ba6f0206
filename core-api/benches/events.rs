//! Event delivery benchmark (events-sdk.md budgets): commit → handler entered, and sustained
//! throughput, in a release build on loopback:
//!
//! ```sh
//! cargo bench -p plexica-core-api --bench events                       # embedded transport
//! PLEXICA_TEST_NATS_URL=nats://127.0.0.1:4222 \
//!   cargo bench -p plexica-core-api --bench events                     # and NATS JetStream
//! ```
//!
//! The core API (SQLite data dir; NATS when configured) and a plugin written with the SDK (one
//! `#[event_handler]`) run in this process, the plugin subscribed in every tenant like an
//! install. Producers commit events at a constant offered rate (open loop, one event per
//! transaction, spread over the tenants) through the core API's own outbox code and note when
//! each commit returned; the handler notes when it was entered. Reported: median,
//! p99 and max of commit → handler, the rate at which events were handled, the deepest
//! outbox + pending-delivery backlog seen (sampled every 100 ms), and that every event was
//! handled exactly once (the SDK's deduplication is on).
//!
//! `PLEXICA_BENCH_EVENT_SECONDS` (default 10) sets each run's length;
//! `PLEXICA_BENCH_EVENTS_PER_COMMIT` (default 1) how many events each transaction commits (more
//! than one measures the delivery pipeline beyond what one-event commits reach on the disk);
//! `PLEXICA_BENCH_EMBEDDED_RATES` / `PLEXICA_BENCH_NATS_RATES` (comma-separated, defaults
//! `3000` and `10000`) the offered rates; `PLEXICA_BENCH_TENANTS` (default 4) the tenants.
//!
//! The soak (issue 22): `PLEXICA_BENCH_SOAK_RETENTION_SECONDS=N` keeps relayed events N seconds
//! (pruned every N/4) and reports, every minute, the size of the databases' files and the
//! outbox rows left: with 3,600,000 events in all (an hour at 1,000/s, or
//! `PLEXICA_BENCH_EVENT_SECONDS=600 PLEXICA_BENCH_EMBEDDED_RATES=6000
//! PLEXICA_BENCH_EVENTS_PER_COMMIT=10`), the size must level off rather than grow.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench fails by panicking.
#![allow(missing_docs)] // criterion_group! defines undocumented functions.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use plexica_core_api::db::delivery::Subscription;
use plexica_core_api::slug::TenantSlug;
use plexica_core_api::{Config, CoreApi};
use plexica_sdk::api::events::Event;
use plexica_sdk::prelude::*;
use serde_json::json;

const PASSWORD: &str = "bench password 1234";
const SECRET: &str = "bench install secret";
/// Producer tasks committing concurrently, per tenant (SQLite has one writer per file: more
/// would only wait for its lock).
const PRODUCERS_PER_TENANT: usize = 1;

/// When each event's commit returned, µs since the epoch, by event number.
static COMMITTED: Mutex<Vec<u64>> = Mutex::new(Vec::new());
/// When the handler was entered for each event, µs since the epoch, by event number.
static ENTERED: Mutex<Vec<u64>> = Mutex::new(Vec::new());
/// When each event appeared on its NATS subject (JetStream runs), µs since the epoch, by
/// event number: splits commit → handler into relay and delivery.
static RELAYED: Mutex<Vec<u64>> = Mutex::new(Vec::new());
/// Ids of handled events, to count duplicates and losses.
static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
static DUPLICATES: AtomicUsize = AtomicUsize::new(0);
/// When the last event was handled, µs since the epoch.
static LAST_HANDLED: AtomicU64 = AtomicU64::new(0);

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[event_handler("plugin.bench.*")]
async fn on_bench(_ctx: &Context, ev: Event<serde_json::Value>) -> Result<()> {
    let entered = now_us();
    if let Some(i) = ev.data["i"].as_u64().and_then(|i| usize::try_from(i).ok()) {
        let mut all = ENTERED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = all.get_mut(i) {
            *slot = (*slot).max(entered);
        }
    }
    let fresh = SEEN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashSet::new)
        .insert(ev.id.clone());
    if !fresh {
        DUPLICATES.fetch_add(1, Ordering::Relaxed);
    }
    LAST_HANDLED.fetch_max(entered, Ordering::Relaxed);
    Ok(())
}

const MANIFEST: &str = r#"[plugin]
id = "bench"
name = "Bench"
version = "1.0.0"
description = "Receives the benchmark's events"
authors = ["Bench <bench@example.com>"]
license = "MIT"

[backend]
entry = "bin/bench"

[events]
subscribes = ["plugin.bench.*"]
batches = true
"#;

fn env_list(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter_map(|r| r.trim().parse().ok())
        .collect()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLEXICA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let seconds = env_number("PLEXICA_BENCH_EVENT_SECONDS", 10);
    let tenants = usize::try_from(env_number("PLEXICA_BENCH_TENANTS", 4)).unwrap_or(4);
    let per_commit =
        usize::try_from(env_number("PLEXICA_BENCH_EVENTS_PER_COMMIT", 1).max(1)).unwrap_or(1);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!(
        "| transport | offered | handled/s | median | p99 | max | deepest backlog | events | CPU |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for rate in env_list("PLEXICA_BENCH_EMBEDDED_RATES", "3000") {
        runtime.block_on(run("embedded", None, rate, seconds, tenants, per_commit));
    }
    if let Ok(nats) = std::env::var("PLEXICA_TEST_NATS_URL") {
        for rate in env_list("PLEXICA_BENCH_NATS_RATES", "10000") {
            runtime.block_on(run(
                "NATS JetStream",
                Some(&nats),
                rate,
                seconds,
                tenants,
                per_commit,
            ));
        }
    }
}

/// One run: a fresh core API and plugin, `rate` events per second for `seconds`, committed
/// `per_commit` at a time.
async fn run(
    transport: &str,
    nats: Option<&str>,
    rate: u64,
    seconds: u64,
    tenants: usize,
    per_commit: usize,
) {
    let total = usize::try_from(rate * seconds).unwrap_or(usize::MAX);
    *COMMITTED.lock().unwrap_or_else(|e| e.into_inner()) = vec![0; total];
    *ENTERED.lock().unwrap_or_else(|e| e.into_inner()) = vec![0; total];
    *RELAYED.lock().unwrap_or_else(|e| e.into_inner()) = vec![0; total];
    *SEEN.lock().unwrap_or_else(|e| e.into_inner()) = Some(HashSet::new());
    DUPLICATES.store(0, Ordering::Relaxed);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::embedded(dir.path());
    config.key_encryption =
        plexica_core_api::auth::sealing::KeySource::File(dir.path().join("kek"));
    config.nats_url = nats.map(str::to_owned);
    let soak = std::env::var("PLEXICA_BENCH_SOAK_RETENTION_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    if let Some(keep) = soak {
        config.retention.events = keep;
        config.retention.interval = (keep / 4).max(Duration::from_secs(1));
    }
    let (api, _) = CoreApi::open(config, Some(PASSWORD.to_owned()))
        .await
        .expect("core API");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(api.clone().serve(listener, async {
        stopped.await.ok();
    }));

    let manifest = dir.path().join("plexica.toml");
    std::fs::write(&manifest, MANIFEST).expect("manifest");
    let plugin = Plugin::from_manifest(&manifest)
        .expect("plugin")
        .platform_secret(SECRET);
    let plugin_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", plugin_listener.local_addr().expect("addr"));
    let (plugin_stop, plugin_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(plugin.serve(plugin_listener, async {
        plugin_stopped.await.ok();
    }));

    let slugs = provision(&url, tenants).await;
    let state = api.state().clone();
    let (mut dbs, mut ids) = (Vec::new(), Vec::new());
    for slug in &slugs {
        state
            .core
            .put_subscription(
                &Subscription {
                    tenant: slug.clone(),
                    plugin_id: "bench".into(),
                    endpoint: endpoint.clone(),
                    secret: SECRET.into(),
                    patterns: vec!["plugin.bench.*".into()],
                    workspace_aware: false,
                    active: true,
                    batches: true,
                },
                plexica_sdk::api::time::now_ms(),
            )
            .await
            .expect("subscribe");
        ids.push(
            state
                .core
                .tenant(slug)
                .await
                .expect("tenant")
                .expect("tenant exists")
                .id,
        );
        let slug = TenantSlug::parse(slug).expect("slug");
        dbs.push(state.tenant_dbs.get(&slug).await.expect("tenant db"));
    }
    // NATS consumers start within a second of a subscription.
    tokio::time::sleep(Duration::from_millis(if nats.is_some() {
        2000
    } else {
        200
    }))
    .await;

    let watcher = match nats {
        Some(url) => Some(watch_subjects(url, &slugs).await),
        None => None,
    };
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let sampling = Arc::new(AtomicBool::new(true));
    let deepest = {
        let (state, dbs, sampling) = (state.clone(), dbs.clone(), sampling.clone());
        let ids = ids.clone();
        tokio::spawn(async move {
            let mut deepest = 0;
            while sampling.load(Ordering::Relaxed) {
                let mut depth = 0;
                for (db, id) in dbs.iter().zip(&ids) {
                    let cursor = state
                        .core
                        .relay_cursor(&format!("tenant:{id}"), db.pool())
                        .await
                        .unwrap_or(0);
                    depth += plexica_core_api::db::outbox::depth(db.pool(), cursor)
                        .await
                        .unwrap_or(0);
                }
                let (pending, _, _) = state.core.delivery_gauges().await.unwrap_or_default();
                deepest = deepest.max(depth + pending);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            deepest
        })
    };
    let sizes = soak.map(|_| {
        let (dbs, sampling, root) = (dbs.clone(), sampling.clone(), dir.path().to_path_buf());
        let next = next.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut last = Instant::now();
            while sampling.load(Ordering::Relaxed) {
                if samples.is_empty() || last.elapsed() >= Duration::from_secs(60) {
                    last = Instant::now();
                    let mut rows = 0;
                    for db in &dbs {
                        rows += sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM outbox")
                            .fetch_one(db.pool())
                            .await
                            .unwrap_or(0);
                    }
                    let committed = next.load(Ordering::Relaxed).min(total);
                    samples.push((started.elapsed(), committed, database_bytes(&root), rows));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            samples
        })
    });
    let cpu_before = cpu_seconds();
    let first_commit = now_us();
    let mut producers = tokio::task::JoinSet::new();
    for _ in 0..PRODUCERS_PER_TENANT * tenants {
        let (next, dbs, state, slugs) = (next.clone(), dbs.clone(), state.clone(), slugs.clone());
        producers.spawn(async move {
            loop {
                let first = next.fetch_add(per_commit, Ordering::Relaxed);
                if first >= total {
                    return;
                }
                let last = (first + per_commit).min(total);
                let at = started + interval * u32::try_from(first).unwrap_or(u32::MAX);
                tokio::time::sleep_until(at.into()).await;
                let tenant = (first / per_commit) % dbs.len();
                let tx = dbs[tenant].begin().await.expect("begin");
                let events: Vec<Event> = (first..last)
                    .map(|i| {
                        Event::new(
                            "plugin.bench.tick",
                            "plugin/bench",
                            slugs[tenant].as_str(),
                            format!("bench-{i}"),
                            json!({ "i": i }),
                        )
                    })
                    .collect();
                tx.commit(&events).await.expect("commit");
                let committed = now_us();
                let mut all = COMMITTED.lock().unwrap_or_else(|e| e.into_inner());
                for slot in &mut all[first..last] {
                    *slot = committed;
                }
                drop(all);
                state.delivery_wake.notify_one();
            }
        });
    }
    while producers.join_next().await.is_some() {}
    let produced_in = started.elapsed();
    let drain_deadline = Instant::now() + Duration::from_secs(60);
    while handled() < total && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cpu = (cpu_seconds() - cpu_before) / started.elapsed().as_secs_f64();
    sampling.store(false, Ordering::Relaxed);
    let deepest = deepest.await.unwrap_or(0);
    let handled = handled();
    let span_us = LAST_HANDLED
        .load(Ordering::Relaxed)
        .saturating_sub(first_commit);
    let committed = COMMITTED.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let entered = ENTERED.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // An event handled before its producer saw the commit return counts as 0.
    let mut latencies: Vec<u64> = committed
        .iter()
        .zip(&entered)
        .filter(|(_, e)| **e > 0)
        .map(|(c, e)| e.saturating_sub(*c))
        .collect();
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len().saturating_sub(1)) as f64 * q).round() as usize)
            .map_or_else(
                || "—".to_owned(),
                |us| format!("{:.2} ms", *us as f64 / 1000.0),
            )
    };
    println!(
        "| {transport} | {rate}/s for {seconds} s, {per_commit} per commit ({:.0}/s committed) | {:.0} | {} | {} | {} | {deepest} | {handled} of {total} handled, {} duplicate(s) | {:.0} % |",
        total as f64 / produced_in.as_secs_f64(),
        handled as f64 / (span_us as f64 / 1e6).max(f64::EPSILON),
        at(0.5),
        at(0.99),
        at(1.0),
        DUPLICATES.load(Ordering::Relaxed),
        cpu * 100.0,
    );
    if let Some(watcher) = watcher {
        watcher.abort();
        let relayed = RELAYED.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let split = |from: &[u64], to: &[u64]| {
            let mut spans: Vec<u64> = from
                .iter()
                .zip(to)
                .filter(|(f, t)| **f > 0 && **t > 0)
                .map(|(f, t)| t.saturating_sub(*f))
                .collect();
            spans.sort_unstable();
            let at = |q: f64| {
                spans
                    .get(((spans.len().saturating_sub(1)) as f64 * q).round() as usize)
                    .map_or(0.0, |us| *us as f64 / 1000.0)
            };
            format!("median {:.2} ms, p99 {:.2} ms", at(0.5), at(0.99))
        };
        println!(
            "|   ↳ where the time goes | commit → on the NATS subject: {} | on the subject → handler: {} |||||||",
            split(&committed, &relayed),
            split(&relayed, &entered),
        );
    }
    if let Some(sizes) = sizes {
        println!();
        println!("| after | events committed | database files | outbox rows |");
        println!("|---|---|---|---|");
        for (after, committed, bytes, rows) in sizes.await.unwrap_or_default() {
            println!(
                "| {} s | {committed} | {:.1} MiB | {rows} |",
                after.as_secs(),
                bytes as f64 / f64::from(1 << 20)
            );
        }
        println!();
    }
    stop.send(()).ok();
    plugin_stop.send(()).ok();
}

/// Notes when each event of `slugs` appears on its NATS subject (a plain subscription beside
/// the stream's), in [`RELAYED`].
async fn watch_subjects(url: &str, slugs: &[String]) -> tokio::task::JoinHandle<()> {
    use futures_util::StreamExt;
    let client = async_nats::connect(url).await.expect("NATS");
    let mut subscriptions = Vec::new();
    for slug in slugs {
        subscriptions.push(
            client
                .subscribe(format!("plexica.{slug}.>"))
                .await
                .expect("subscribe"),
        );
    }
    let mut all = futures_util::stream::select_all(subscriptions);
    tokio::spawn(async move {
        let _client = client;
        while let Some(message) = all.next().await {
            let seen = now_us();
            let i = serde_json::from_slice::<serde_json::Value>(&message.payload)
                .ok()
                .and_then(|v| v["data"]["i"].as_u64())
                .and_then(|i| usize::try_from(i).ok());
            if let Some(i) = i {
                let mut relayed = RELAYED.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(slot) = relayed.get_mut(i)
                    && *slot == 0
                {
                    *slot = seen;
                }
            }
        }
    })
}

/// The bytes of every SQLite file (`*.db`, `*.db-wal`, `*.db-shm`) under `root`.
fn database_bytes(root: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                dirs.push(path);
            } else if path.to_string_lossy().contains(".db") {
                total += meta.len();
            }
        }
    }
    total
}

/// CPU time this process has used (user + system), seconds, from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // After the command name: state is field 3, utime 14 and stime 15 (1-based).
    let ticks = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(14) + ticks(15)) / 100.0
}

/// Events handled so far (distinct ids).
fn handled() -> usize {
    SEEN.lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map_or(0, HashSet::len)
}

/// Creates `count` tenants through the API; returns their slugs.
async fn provision(url: &str, count: usize) -> Vec<String> {
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({ "email": "admin", "password": PASSWORD }))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("token");
    let token = login["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    // Unique per run: the JetStream stream outlives runs, and a consumer starts a little
    // before its subscription, so a repeated slug would be handed the previous run's tail.
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = format!(
        "{}r{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    );
    let mut slugs = Vec::with_capacity(count);
    for n in 0..count {
        let slug = format!("bench-{run}-{n}");
        let response = http
            .post(format!("{url}/api/v1/tenants"))
            .bearer_auth(&token)
            .json(&json!({ "slug": slug, "name": format!("Bench {n}") }))
            .send()
            .await
            .expect("create tenant");
        assert!(
            response.status().is_success(),
            "tenant {slug}: {}",
            response.status()
        );
        slugs.push(slug);
    }
    slugs
}
