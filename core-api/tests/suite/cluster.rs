//! The distributed deployment of docs/deployment.md, on one machine: two `plexica-core-api`
//! binaries and two registries on one PostgreSQL, NATS JetStream and S3-compatible store
//! (moto), each pair behind HAProxy (Debian's, started here) with `/health/ready` checks.
//! Under a steady load of writes and plugin calls through the balancer, one core API replica
//! is killed with SIGKILL: the client retries what the balancer could not answer (502/503),
//! every write lands exactly where it was meant to, every event reaches the plugin (counted),
//! and the survivor serves everything.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::binary::{BOOTSTRAP_PASSWORD, Server};
use common::registry::{TestRegistry, recording_events, recording_plugin, signed};
use plexica_registry::storage::blobs::S3Config;
use plexica_registry::{BlobConfig, Config as RegistryConfig, Registry};
use plexica_testkit::services::{Haproxy, Moto};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Workspaces written during the load, by [`WRITERS`] clients in turn.
const WORKSPACES: usize = 60;
const WRITERS: usize = 3;
/// Plugin calls made during the load, by [`READERS`] clients in turn.
const CALLS: usize = 200;
const READERS: usize = 2;

/// The answer a client got in the end, and how many attempts it took.
#[derive(Debug)]
struct Final {
    status: Option<StatusCode>,
    attempts: u32,
}

/// Sends `request()` until it is answered by a server rather than by the balancer (a 502, 503
/// or 504, or no connection: the replica serving it died), as a client of a replicated
/// service does; gives up after 40 attempts.
async fn with_retries(request: impl Fn() -> reqwest::RequestBuilder) -> Final {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let status = match request().timeout(Duration::from_secs(20)).send().await {
            Ok(response) => Some(response.status()),
            Err(_) => None,
        };
        let retry = matches!(
            status,
            None | Some(
                StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            )
        );
        if !retry || attempts >= 40 {
            return Final { status, attempts };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Serves a registry with `config` on a free port; dropping the sender stops it.
async fn serve_registry(config: RegistryConfig) -> (String, tokio::sync::oneshot::Sender<()>) {
    let (registry, _) = Registry::open(config, Some("registry admin password".to_owned()))
        .await
        .expect("registry opens");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(registry.serve(listener, async {
        let _ = rx.await;
    }));
    (addr.to_string(), tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_loses_nothing() {
    let (Some(core_db), Some(registry_db)) = (
        plexica_testkit::postgres_database("plexica_cluster").await,
        plexica_testkit::postgres_database("plexica_cluster_reg").await,
    ) else {
        return;
    };
    let Ok(nats) = std::env::var("PLEXICA_TEST_NATS_URL") else {
        println!("skipped: PLEXICA_TEST_NATS_URL is not set");
        return;
    };
    let Some(moto) = Moto::start().await else {
        return;
    };
    moto.bucket("cluster-packages").await;
    let s3 = S3Config {
        bucket: "cluster-packages".to_owned(),
        endpoint: Some(moto.endpoint.clone()),
        region: "us-east-1".to_owned(),
        access_key_id: Some("test".to_owned()),
        secret_access_key: Some("test".to_owned()),
    };

    // Two registries on one database and bucket, behind their balancer.
    let shared = |c: &mut RegistryConfig| {
        c.database_url = registry_db.clone();
        c.blobs = BlobConfig::S3(s3.clone());
        c.publish_burst = 1000;
    };
    let publisher = TestRegistry::start(shared).await;
    let second_dir = tempfile::tempdir().expect("tempdir");
    let mut second = RegistryConfig::embedded(second_dir.path());
    shared(&mut second);
    let (second, _second_running) = serve_registry(second).await;
    let first = publisher.url.trim_start_matches("http://").to_owned();
    let Some((_registry_balancer, urls)) =
        Haproxy::start(&[("registry", vec![first, second])]).await
    else {
        return;
    };
    let registry = urls[0].clone();

    // Two core API binaries on one database and NATS, installing through that balancer, then
    // their own balancer.
    let root = tempfile::tempdir().expect("tempdir");
    let (dir_a, dir_b) = (root.path().join("a"), root.path().join("b"));
    let args = [
        "--registry-url",
        registry.as_str(),
        "--trust-registry-keys",
        "--nats-url",
        nats.as_str(),
        "--delivery-timeout-seconds",
        "2",
        "--retry-delays",
        "200ms,200ms,500ms,1s,1s,2s,2s,5s",
    ];
    std::fs::create_dir_all(&dir_a).expect("mkdir");
    std::fs::create_dir_all(&dir_b).expect("mkdir");
    let a = Server::start_with(&dir_a, Some(&core_db), &args).await;
    // The replicas share the key that seals the token signing keys.
    std::fs::copy(dir_a.join("kek"), dir_b.join("kek")).expect("share the key");
    let b = Server::start_with(&dir_b, Some(&core_db), &args).await;
    let replicas = vec![
        a.url.trim_start_matches("http://").to_owned(),
        b.url.trim_start_matches("http://").to_owned(),
    ];
    let Some((_core_balancer, urls)) = Haproxy::start(&[("core", replicas)]).await else {
        return;
    };
    let lb = urls[0].clone();
    let http = reqwest::Client::new();

    // Set up through the balancers, as an operator and a publisher would.
    let admin = common::binary::token(&http, &lb, None, "admin", BOOTSTRAP_PASSWORD).await;
    let slug = common::fresh_slug("cluster");
    let created: Value = http
        .post(format!("{lb}/api/v1/tenants"))
        .bearer_auth(&admin)
        .json(&json!({ "slug": slug, "name": "Cluster" }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let email = created["initial_admin"]["email"].as_str().expect("email");
    let password = created["initial_admin"]["password"]
        .as_str()
        .expect("password");
    let token = common::binary::token(&http, &lb, Some(&slug), email, password).await;
    let package = signed(
        &publisher.key,
        &common::registry::borrowed(&recording_plugin("rec")),
    );
    let published = http
        .post(format!("{registry}/api/v1/packages"))
        .bearer_auth(&publisher.token)
        .body(package)
        .send()
        .await
        .expect("request");
    assert_eq!(published.status(), StatusCode::CREATED);
    let installed = http
        .post(format!("{lb}/api/v1/tenants/{slug}/plugins"))
        .bearer_auth(&token)
        .json(&json!({ "id": "rec", "activate": true }))
        .send()
        .await
        .expect("request");
    assert_eq!(installed.status(), StatusCode::CREATED);
    // Each replica runs its own copy of the backend.
    let ping = format!("/api/v1/tenants/{slug}/gateway/rec/rec.api/ping");
    for replica in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(30);
        while replica.get(&ping, &token).await.0 != StatusCode::OK {
            assert!(
                Instant::now() < deadline,
                "{} never ran the backend",
                replica.url
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    // The load, through the balancer; replica A is killed while it runs.
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let (http, lb, token, slug, next) = (
            http.clone(),
            lb.clone(),
            token.clone(),
            slug.clone(),
            next.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut finals = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= WORKSPACES {
                    return finals;
                }
                let body = json!({ "slug": format!("w-{i}"), "name": format!("W {i}") });
                let answer = with_retries(|| {
                    http.post(format!("{lb}/api/v1/tenants/{slug}/workspaces"))
                        .bearer_auth(&token)
                        .json(&body)
                })
                .await;
                finals.push((i, answer));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..READERS {
        let (http, url, token) = (http.clone(), format!("{lb}{ping}"), token.clone());
        readers.push(tokio::spawn(async move {
            let mut finals = Vec::new();
            for _ in 0..CALLS / READERS {
                finals.push(with_retries(|| http.get(&url).bearer_auth(&token)).await);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            finals
        }));
    }
    while next.load(std::sync::atomic::Ordering::SeqCst) < WORKSPACES / 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed_at = started.elapsed();
    a.kill().await;

    let mut writes = Vec::new();
    for writer in writers {
        writes.extend(writer.await.expect("writer"));
    }
    let mut calls = Vec::new();
    for reader in readers {
        calls.extend(reader.await.expect("reader"));
    }
    let retried = writes.iter().filter(|(_, f)| f.attempts > 1).count()
        + calls.iter().filter(|f| f.attempts > 1).count();
    println!(
        "killed A after {} ms; {} requests, {retried} retried by the client",
        killed_at.as_millis(),
        writes.len() + calls.len()
    );
    // Every write was answered by a server: made (201), or made by an attempt whose answer
    // the dead replica never sent (409 on the client's retry).
    for (i, answer) in &writes {
        let ok = match answer.status {
            Some(StatusCode::CREATED) => true,
            Some(StatusCode::CONFLICT) => answer.attempts > 1,
            _ => false,
        };
        assert!(ok, "workspace w-{i}: {answer:?}");
    }
    for answer in &calls {
        assert_eq!(
            answer.status,
            Some(StatusCode::OK),
            "plugin call: {answer:?}"
        );
    }

    // The survivor serves everything: every workspace is there, one more can be made.
    let (status, body) = b
        .get(
            &format!("/api/v1/tenants/{slug}/workspaces?per_page=100"),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = body.to_string();
    for i in 0..WORKSPACES {
        assert!(listed.contains(&format!("\"w-{i}\"")), "w-{i} is missing");
    }
    let after = with_retries(|| {
        http.post(format!("{lb}/api/v1/tenants/{slug}/workspaces"))
            .bearer_auth(&token)
            .json(&json!({ "slug": "after", "name": "After" }))
    })
    .await;
    assert_eq!(after.status, Some(StatusCode::CREATED), "{after:?}");

    // Every event reached the plugin: the ones A had in flight are redelivered by B.
    let wanted: Vec<String> = (0..WORKSPACES)
        .map(|i| format!("w-{i}"))
        .chain(["after".to_owned()])
        .collect();
    let deadline = Instant::now() + Duration::from_secs(90);
    let (delivered, pushes) = loop {
        let lines = recording_events(root.path());
        let created: Vec<&str> = lines
            .iter()
            .filter(|l| l.contains(" core.workspace.created "))
            .filter_map(|l| l.rsplit(' ').next())
            .collect();
        let mut distinct = created.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|w| !distinct.contains(&w.as_str()))
            .collect();
        if missing.is_empty() {
            break (wanted.len(), created.len());
        }
        assert!(
            Instant::now() < deadline,
            "events never delivered for {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!(
        "all {delivered} workspace events delivered, in {pushes} pushes in all (a push repeated \
         after the kill is one the SDK's dedup absorbs)"
    );
}
