//! Events through NATS JetStream (`--nats-url`): committed events reach the plugin once, with
//! their context, and a refused change sends nothing; a failing plugin's events are
//! dead-lettered after the retries and a retry from the store delivers them; two core API
//! replicas on one PostgreSQL database and one NATS share the work, every event reaching the
//! subscriber and no handler running twice; NATS cut away while changes commit loses nothing.

use crate::common;

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::plugin::{FAIL, HANDLED, handled_of, start_plugin, subscription, wait_for};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn nats() -> Option<String> {
    let url = std::env::var("PLEXICA_TEST_NATS_URL").ok();
    if url.is_none() {
        println!("skipped: PLEXICA_TEST_NATS_URL is not set");
    }
    url
}

fn config(nats: String) -> impl FnOnce(&mut plexica_core_api::Config) {
    move |c| {
        c.nats_url = Some(nats);
        c.retry_delays = vec![Duration::from_millis(100), Duration::from_millis(200)];
        c.delivery_timeout = Duration::from_secs(2);
    }
}

/// One test, one process-wide plugin: both scenarios run one after the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_through_jetstream() {
    let Some(url) = nats() else { return };
    single_replica(&url).await;
    let core = common::TestCore::start_with(common::Backend::Sqlite, config(url.clone()))
        .await
        .expect("starts");
    common::plugin::check_handler_retries(&core).await;
    drop(core);
    nats_down_then_back(&url).await;
    two_replicas(&url).await;
}

async fn single_replica(url: &str) {
    let core = common::TestCore::start_with(common::Backend::Sqlite, config(url.to_owned()))
        .await
        .expect("starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = start_plugin(dir.path(), None).await;
    let slug = common::fresh_slug("js");
    let tenant = core.tenant(&slug).await;
    core.subscribe(&subscription(&slug, &plugin)).await;
    // No wait for the consumer: it starts at the subscription, however late it opens.
    let response = core
        .http
        .post(format!("{}/api/v1/tenants/{slug}/workspaces", core.url))
        .bearer_auth(&tenant.admin_token)
        .header("x-correlation-id", "corr-js")
        .json(&json!({ "slug": "sales", "name": "Sales" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    // The tenant's `default` workspace was made just before the subscription (within the
    // consumer's start margin): its event may come too, and is not what this checks.
    let ours = || -> Vec<_> {
        handled_of(&slug)
            .into_iter()
            .filter(|h| h.2.as_deref() != Some("default"))
            .collect()
    };
    wait_for("the handler", || !ours().is_empty()).await;
    let handled = ours();
    assert_eq!(handled.len(), 1, "{handled:?}");
    assert_eq!(handled[0].0, "core.workspace.created");
    assert_eq!(handled[0].2.as_deref(), Some("sales"));
    assert_eq!(handled[0].3, "corr-js");

    // A refused change (its transaction rolled back) sends nothing.
    let (status, _) = core
        .post(
            &format!("/api/v1/tenants/{slug}/workspaces"),
            &tenant.admin_token,
            json!({ "slug": "sales", "name": "Sales again" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        ours().len(),
        1,
        "nothing from the refused change: {:?}",
        ours()
    );

    FAIL.store(true, Ordering::SeqCst);
    let (status, _) = core
        .post(
            &format!("/api/v1/tenants/{slug}/workspaces"),
            &tenant.admin_token,
            json!({ "slug": "ops", "name": "Ops" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let deadline = Instant::now() + Duration::from_secs(20);
    let letter = loop {
        let (_, page) = core
            .get("/api/v1/admin/dlq?state=PENDING", &core.admin)
            .await;
        if let Some(letter) = page["data"]
            .as_array()
            .and_then(|l| l.iter().find(|d| d["tenant"] == slug.as_str()))
        {
            break letter.clone();
        }
        assert!(Instant::now() < deadline, "no dead letter: {page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(letter["attempts"], 3, "{letter}");
    FAIL.store(false, Ordering::SeqCst);
    let id = letter["id"].as_str().expect("id");
    let (status, _) = core
        .call(
            Method::POST,
            &format!("/api/v1/admin/dlq/{id}/retry"),
            Some(&core.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_for("the retried delivery", || {
        handled_of(&slug)
            .iter()
            .any(|h| h.2.as_deref() == Some("ops"))
    })
    .await;
}

async fn two_replicas(url: &str) {
    let Some(first) =
        common::TestCore::start_with(common::Backend::Postgres, config(url.to_owned())).await
    else {
        return;
    };
    let second = first.replica(config(url.to_owned())).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = start_plugin(dir.path(), None).await;
    let slug = common::fresh_slug("rep");
    let tenant = first.tenant(&slug).await;
    first.subscribe(&subscription(&slug, &plugin)).await;
    let token = second
        .login(Some(&slug), &tenant.admin_email, &tenant.admin_password)
        .await;
    for i in 0..20 {
        let (core, token) = if i % 2 == 0 {
            (&first, &tenant.admin_token)
        } else {
            (&second, &token)
        };
        let (status, body) = core
            .post(
                &format!("/api/v1/tenants/{slug}/workspaces"),
                token,
                json!({ "slug": format!("ws-{i}"), "name": format!("Workspace {i}") }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let ours = || -> Vec<_> {
        handled_of(&slug)
            .into_iter()
            .filter(|h| h.2.as_deref() != Some("default"))
            .collect()
    };
    wait_for("20 events", || ours().len() >= 20).await;
    // A little longer, to see any second delivery.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let handled = ours();
    let ids: HashSet<&String> = handled.iter().map(|h| &h.4).collect();
    assert_eq!(handled.len(), 20, "every event once: {handled:?}");
    assert_eq!(ids.len(), 20);
    let workspaces: HashSet<&str> = handled.iter().filter_map(|h| h.2.as_deref()).collect();
    assert_eq!(workspaces.len(), 20);
    assert!(
        HANDLED
            .lock()
            .expect("lock")
            .iter()
            .all(|h| h.1 != "nobody")
    );
}

/// NATS goes away while changes commit (a real cut: a TCP proxy closes the connection and
/// refuses new ones): the events wait in the outboxes, readiness says so, and once NATS is
/// back every one of them reaches the handler, each once.
async fn nats_down_then_back(url: &str) {
    use plexica_testkit::faults::FaultProxy;
    let (proxy, proxied) = FaultProxy::in_front_of(url).await.expect("proxy");
    let core = common::TestCore::start_with(common::Backend::Sqlite, config(proxied))
        .await
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(15);
    while core.call(Method::GET, "/health/ready", None, None).await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let plugin = start_plugin(dir.path(), None).await;
    let slug = common::fresh_slug("cut");
    let tenant = core.tenant(&slug).await;
    core.subscribe(&subscription(&slug, &plugin)).await;
    let ours = || -> Vec<_> {
        handled_of(&slug)
            .into_iter()
            .filter(|h| h.2.as_deref().is_some_and(|w| w.starts_with("cut-")))
            .collect()
    };
    let create = |name: String| {
        let core = &core;
        let token = tenant.admin_token.clone();
        let slug = slug.clone();
        async move {
            let (status, body) = core
                .post(
                    &format!("/api/v1/tenants/{slug}/workspaces"),
                    &token,
                    json!({ "slug": name, "name": "Cut" }),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    };
    create("cut-0".to_owned()).await;
    wait_for("the first event", || ours().len() == 1).await;

    proxy.cut();
    let deadline = Instant::now() + Duration::from_secs(15);
    while core.call(Method::GET, "/health/ready", None, None).await.0 == StatusCode::OK {
        assert!(Instant::now() < deadline, "readiness never saw NATS go");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 1..=20 {
        create(format!("cut-{i}")).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ours().len(), 1, "nothing is delivered while NATS is away");

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(30);
    while ours().len() < 21 {
        assert!(
            Instant::now() < deadline,
            "{} of 21 events delivered after NATS came back",
            ours().len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let handled = ours();
    let mut ids: Vec<&str> = handled.iter().map(|h| h.4.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 21, "each event handled once: {handled:?}");
    assert_eq!(handled.len(), 21, "none twice: {handled:?}");
    assert_eq!(
        core.call(Method::GET, "/health/ready", None, None).await.0,
        StatusCode::OK
    );
}
