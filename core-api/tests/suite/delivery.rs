//! Embedded event delivery end to end: a real plugin backend (the SDK's `Plugin`, with an
//! `#[event_handler]`) subscribed in one tenant receives that tenant's events, signed, with
//! tenant, workspace and correlation id; failures are retried then dead-lettered; a retry from
//! the dead letter store delivers once; the SDK refuses forged, stale and replayed pushes.

use crate::common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::plugin::{FAIL, SECRET, handled_of, start_plugin, subscription, wait_for};
use plexica_sdk::api::events::{
    BATCH_BUDGET_HEADER, BATCH_CONTENT_TYPE, EVENT_CONTENT_TYPE, EVENTS_PATH,
};
use plexica_sdk::api::signing::{SIGNATURE_HEADER, SignedRequest};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// The platform's signature of a push of `body` (as `content_type`, with a time `budget`).
fn sign_push(
    secret: &[u8],
    at: i64,
    content_type: &str,
    budget: Option<&str>,
    body: &[u8],
) -> String {
    let push = SignedRequest {
        method: "POST",
        target: EVENTS_PATH,
        body,
    };
    push.sign(secret, at, |name| match name {
        "content-type" => Some(content_type),
        BATCH_BUDGET_HEADER => budget,
        _ => None,
    })
}

async fn run(backend: common::Backend, tenant_a: &str, tenant_b: &str) {
    let Some(core) = common::TestCore::start_with(backend, |c| {
        c.retry_delays = vec![Duration::from_millis(100), Duration::from_millis(200)];
        c.delivery_timeout = Duration::from_secs(2);
    })
    .await
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let a = core.tenant(tenant_a).await;
    let b = core.tenant(tenant_b).await;
    let install_token =
        plexica_core_api::auth::issue_install_token(&core.api.state().core, tenant_a, "crm", 0)
            .await
            .expect("install token");
    let plugin_url = start_plugin(dir.path(), Some((core.url.clone(), install_token))).await;
    core.api
        .state()
        .core
        .put_subscription(&subscription(tenant_a, &plugin_url), 0)
        .await
        .expect("subscribe");

    // A workspace created in A reaches the handler with its tenant, workspace and correlation.
    let response = core
        .http
        .post(format!("{}/api/v1/tenants/{tenant_a}/workspaces", core.url))
        .bearer_auth(&a.admin_token)
        .header("x-correlation-id", "corr-sales")
        .json(&json!({ "slug": "sales", "name": "Sales" }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::CREATED);
    wait_for("the handler", || {
        handled_of(tenant_a)
            .iter()
            .any(|h| h.0 == "core.workspace.created" && h.2.as_deref() == Some("sales"))
    })
    .await;
    let handled = handled_of(tenant_a);
    let sales = handled
        .iter()
        .find(|h| h.2.as_deref() == Some("sales"))
        .expect("sales");
    assert_eq!(sales.3, "corr-sales");
    // The handler published its own event through the core API, caused by this one.
    let db = core
        .api
        .state()
        .tenant_dbs
        .get(&plexica_core_api::slug::TenantSlug::parse(tenant_a).expect("slug"))
        .await
        .expect("db");
    let mut published = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while published.is_none() {
        assert!(
            Instant::now() < deadline,
            "the plugin's event never arrived"
        );
        published = common::outbox(db.pool())
            .await
            .into_iter()
            .map(|(_, e)| e)
            .find(|e| {
                e.r#type == "plugin.crm.pipeline.created" && e.workspace.as_deref() == Some("sales")
            });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let published = published.expect("published");
    assert_eq!(published.source, "plugin/crm");
    assert_eq!(published.correlationid, "corr-sales");
    assert_eq!(published.causationid.as_deref(), Some(sales.4.as_str()));
    // B's changes never reach A's subscriber.
    let (status, _) = core
        .post(
            &format!("/api/v1/tenants/{tenant_b}/workspaces"),
            &b.admin_token,
            json!({ "slug": "secret-b", "name": "B only" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // The plugin is failing: retries at the configured delays, then a dead letter.
    FAIL.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let (status, _) = core
        .post(
            &format!("/api/v1/tenants/{tenant_a}/workspaces"),
            &a.admin_token,
            json!({ "slug": "ops", "name": "Ops" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut dead = serde_json::Value::Null;
    let deadline = Instant::now() + Duration::from_secs(15);
    while dead["total"] != 1 {
        assert!(Instant::now() < deadline, "no dead letter: {dead}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        dead = core
            .get("/api/v1/admin/dlq?state=PENDING", &core.admin)
            .await
            .1;
    }
    assert!(
        started.elapsed() >= Duration::from_millis(240),
        "retried after the delays"
    );
    let letter = &dead["data"][0];
    assert_eq!(letter["tenant"], tenant_a);
    assert_eq!(letter["plugin_id"], "crm");
    assert_eq!(letter["event_type"], "core.workspace.created");
    assert_eq!(letter["attempts"], 3);
    assert!(
        letter["error"]
            .as_str()
            .is_some_and(|e| e.contains("the CRM database is down")),
        "{letter}"
    );
    let id = letter["id"].as_str().expect("id").to_owned();
    let (status, shown) = core
        .get(&format!("/api/v1/admin/dlq/{id}"), &core.admin)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["event"]["workspace"], "ops");
    assert!(
        !handled_of(tenant_a)
            .iter()
            .any(|h| h.2.as_deref() == Some("ops"))
    );

    // The plugin recovers; a retry from the store delivers once.
    FAIL.store(false, Ordering::SeqCst);
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
        handled_of(tenant_a)
            .iter()
            .any(|h| h.2.as_deref() == Some("ops"))
    })
    .await;
    let mut state = serde_json::Value::Null;
    let deadline = Instant::now() + Duration::from_secs(10);
    while state != "RESOLVED" {
        assert!(Instant::now() < deadline, "not resolved: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        state = core
            .get(&format!("/api/v1/admin/dlq/{id}"), &core.admin)
            .await
            .1["state"]
            .clone();
    }
    let (status, _) = core
        .call(
            Method::POST,
            &format!("/api/v1/admin/dlq/{id}/retry"),
            Some(&core.admin),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a resolved dead letter is not retried"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ops = handled_of(tenant_a)
        .iter()
        .filter(|h| h.2.as_deref() == Some("ops"))
        .count();
    assert_eq!(ops, 1, "delivered exactly once");
    assert!(
        handled_of(tenant_b).is_empty(),
        "nothing of {tenant_b} reached {tenant_a}'s plugin"
    );

    // Pushes the SDK refuses: no signature, another secret, a stale one; a replay is not
    // handled again.
    let sign_delivery =
        |secret: &[u8], at: i64, body: &[u8]| sign_push(secret, at, "application/json", None, body);
    let sign_batch = |secret: &[u8], at: i64, budget: Option<&str>, body: &[u8]| {
        sign_push(secret, at, BATCH_CONTENT_TYPE, budget, body)
    };
    let http = reqwest::Client::new();
    let envelope = serde_json::to_string(&plexica_sdk::api::events::Event::new(
        "core.workspace.updated",
        "core",
        tenant_a,
        "corr-forged",
        json!({}),
    ))
    .expect("json");
    let now = plexica_sdk::api::time::now_ms() / 1000;
    let push = |signature: Option<String>| {
        let mut request = http
            .post(format!("{plugin_url}{EVENTS_PATH}"))
            .header("content-type", "application/json")
            .body(envelope.clone());
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        request.send()
    };
    for (label, signature) in [
        ("unsigned", None),
        (
            "another secret",
            Some(sign_delivery(b"not-the-secret", now, envelope.as_bytes())),
        ),
        (
            "stale",
            Some(sign_delivery(
                SECRET.as_bytes(),
                now - 600,
                envelope.as_bytes(),
            )),
        ),
    ] {
        let status = push(signature).await.expect("push").status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{label}");
    }
    let good = sign_delivery(SECRET.as_bytes(), now, envelope.as_bytes());
    assert_eq!(
        push(Some(good.clone())).await.expect("push").status(),
        StatusCode::OK
    );
    let replay = push(Some(good)).await.expect("push");
    assert_eq!(replay.status(), StatusCode::OK);
    assert_eq!(
        replay.json::<serde_json::Value>().await.expect("json")["status"],
        "duplicate"
    );
    let forged = handled_of(tenant_a)
        .iter()
        .filter(|h| h.3 == "corr-forged")
        .count();
    assert_eq!(forged, 1, "a replayed event is handled once");

    // A batch (CloudEvents' batched mode) is handled in order up to the first failure, and
    // the answer says how many went through; a forged batch is refused whole.
    let event = |correlation: &str, kind: &str| {
        serde_json::to_string(&plexica_sdk::api::events::Event::new(
            kind,
            "core",
            tenant_a,
            correlation,
            json!({}),
        ))
        .expect("json")
    };
    let batch = format!(
        "[{},{},{},{}]",
        event("corr-batch-1", "core.workspace.updated"),
        envelope,
        event("corr-batch-2", "core.user.created"),
        event("corr-batch-3", "core.workspace.updated"),
    );
    let push_batch = |signature: String| {
        http.post(format!("{plugin_url}{EVENTS_PATH}"))
            .header("content-type", BATCH_CONTENT_TYPE)
            .header(SIGNATURE_HEADER, signature)
            .body(batch.clone())
            .send()
    };
    let forged = push_batch(sign_batch(b"not-the-secret", now, None, batch.as_bytes()))
        .await
        .expect("push");
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let answer = push_batch(sign_batch(SECRET.as_bytes(), now, None, batch.as_bytes()))
        .await
        .expect("push");
    assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(body["handled"], 2, "the new one and the duplicate: {body}");
    assert_eq!(body["error"]["code"], "HANDLER_FAILED", "{body}");
    // Past the push's time budget the plugin answers with what it handled so far (at least
    // one): a success with fewer than all, the rest to be sent again.
    let budgeted = http
        .post(format!("{plugin_url}{EVENTS_PATH}"))
        .header("content-type", BATCH_CONTENT_TYPE)
        .header(BATCH_BUDGET_HEADER, "0")
        .header(
            SIGNATURE_HEADER,
            sign_batch(SECRET.as_bytes(), now, Some("0"), batch.as_bytes()),
        )
        .body(batch.clone())
        .send()
        .await
        .expect("push");
    assert_eq!(budgeted.status(), StatusCode::OK);
    let body: serde_json::Value = budgeted.json().await.expect("json");
    assert_eq!(body["handled"], 1, "{body}");
    let of = |correlation: &str| {
        handled_of(tenant_a)
            .iter()
            .filter(|h| h.3 == correlation)
            .count()
    };
    assert_eq!(
        (of("corr-batch-1"), of("corr-forged"), of("corr-batch-3")),
        (1, 1, 0),
        "in order, the duplicate skipped, nothing after the failure"
    );

    // Many changes in a row reach the subscriber in commit order (several per stream claim).
    let slugs: Vec<String> = (0..30).map(|n| format!("burst-{n:02}")).collect();
    for slug in &slugs {
        let (status, body) = core
            .post(
                &format!("/api/v1/tenants/{tenant_a}/workspaces"),
                &a.admin_token,
                json!({ "slug": slug, "name": slug }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let burst = || -> Vec<String> {
        handled_of(tenant_a)
            .iter()
            .filter(|h| h.0 == "core.workspace.created")
            .filter_map(|h| h.2.clone().filter(|ws| ws.starts_with("burst-")))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while burst().len() < slugs.len() {
        if Instant::now() > deadline {
            let (_, dead) = core.get("/api/v1/admin/dlq", &core.admin).await;
            panic!(
                "the burst was not handled: {:?}; dead letters: {dead}",
                burst()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(burst(), slugs, "handled once each, in commit order");

    // Two writers at once, the first to begin committing last (its events are appended as it
    // commits, `TenantTx::commit`): both events are relayed (none passed over by the relay's
    // cursor).
    let workspace_event = |correlation: &str| {
        let mut event = plexica_sdk::api::events::Event::new(
            "core.workspace.updated",
            "core",
            tenant_a,
            correlation,
            json!({}),
        );
        event.workspace = Some("sales".to_owned());
        event
    };
    let (first, second) = (
        workspace_event("corr-first"),
        workspace_event("corr-second"),
    );
    let writing_first = db.begin().await.expect("begin");
    let writing_second = {
        let db = db.clone();
        tokio::spawn(async move {
            let tx = db.begin().await.expect("begin");
            tx.commit([&second]).await.expect("commit");
        })
    };
    // Longer than the relay's idle wait: it runs while the first is still open.
    tokio::time::sleep(Duration::from_millis(600)).await;
    writing_first.commit([&first]).await.expect("commit");
    writing_second.await.expect("second writer");
    wait_for("both writers' events", || {
        of("corr-first") == 1 && of("corr-second") == 1
    })
    .await;
}

/// One test for both backends, one after the other: the plugin's handler and its failure
/// switch are process-wide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_on_sqlite_then_postgres() {
    run(common::Backend::Sqlite, "alpha", "bravo").await;
    run(common::Backend::Postgres, "charlie", "delta").await;
    for backend in [common::Backend::Sqlite, common::Backend::Postgres] {
        let config = |c: &mut plexica_core_api::Config| {
            c.retry_delays = vec![Duration::from_millis(100), Duration::from_millis(200)];
        };
        if let Some(core) = common::TestCore::start_with(backend, config).await {
            common::plugin::check_handler_retries(&core).await;
        }
    }
}

/// Every push is a CloudEvent that the official SDK for JavaScript reads (`HTTP.toEvent`): one
/// event in structured mode (`application/cloudevents+json`) to a plugin that did not ask for
/// batches, and the batched mode only to one that did (the binding says it must be solicited).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_are_cloudevents_the_javascript_sdk_reads() {
    let Some(receiver) = plexica_testkit::services::CloudEventsReceiver::start() else {
        return;
    };
    let config = |c: &mut plexica_core_api::Config| c.retry_delays = vec![Duration::from_secs(1)];
    let Some(core) = common::TestCore::start_with(common::Backend::Sqlite, config).await else {
        return;
    };
    let tenant = core.tenant("echo").await;
    let store = &core.api.state().core;
    let create = |slug: &'static str| {
        core.post(
            "/api/v1/tenants/echo/workspaces",
            &tenant.admin_token,
            json!({ "slug": slug, "name": slug }),
        )
    };
    // Each push the SDK read: (batch?, content type, event types and workspace slugs).
    let read = |wanted: usize| {
        let mut pushes = Vec::new();
        let mut events = 0;
        while events < wanted {
            let push = receiver
                .next_push(Duration::from_secs(20))
                .expect("the plugin received no push");
            assert_eq!(
                push["ok"], true,
                "the CloudEvents SDK refused a push: {push}"
            );
            let read: Vec<(String, String)> = push["events"]
                .as_array()
                .expect("events")
                .iter()
                .map(|e| {
                    assert_eq!(e["specversion"], "1.0", "{e}");
                    assert_eq!(e["source"], "core", "{e}");
                    (
                        e["type"].as_str().unwrap_or_default().to_owned(),
                        e["data"]["slug"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                // The tenant's own default workspace may be relayed after the subscription.
                .filter(|(_, slug)| slug != "default")
                .collect();
            if read.is_empty() {
                continue;
            }
            events += read.len();
            pushes.push((
                push["batch"] == true,
                push["contentType"].as_str().unwrap_or_default().to_owned(),
                read,
            ));
        }
        pushes
    };

    // Not solicited: every event alone, in structured mode.
    let mut single = subscription("echo", &receiver.url);
    single.batches = false;
    store
        .put_subscription(&single, plexica_sdk::api::time::now_ms())
        .await
        .expect("subscribe");
    for slug in ["one", "two", "three"] {
        assert_eq!(create(slug).await.0, StatusCode::CREATED);
    }
    let pushes = read(3);
    assert_eq!(pushes.len(), 3, "{pushes:?}");
    for (batch, content_type, events) in &pushes {
        assert!(!batch, "{pushes:?}");
        assert_eq!(content_type, EVENT_CONTENT_TYPE);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].0, "core.workspace.created");
    }
    let slugs: Vec<&str> = pushes.iter().map(|p| p.2[0].1.as_str()).collect();
    assert_eq!(slugs, ["one", "two", "three"]);

    // Solicited: a stream held back by a failed push goes, once the plugin answers, as one
    // batch in commit order.
    let mut batched = subscription(
        "echo",
        &format!(
            "http://127.0.0.1:{}",
            plexica_testkit::services::free_port()
        ),
    );
    store
        .put_subscription(&batched, plexica_sdk::api::time::now_ms())
        .await
        .expect("subscribe");
    for slug in ["four", "five", "six"] {
        assert_eq!(create(slug).await.0, StatusCode::CREATED);
    }
    batched.endpoint = receiver.url.clone();
    store
        .put_subscription(&batched, plexica_sdk::api::time::now_ms())
        .await
        .expect("subscribe");
    let pushes = read(3);
    let (batch, content_type, events) = &pushes[0];
    assert!(batch, "{pushes:?}");
    assert_eq!(content_type, BATCH_CONTENT_TYPE);
    assert!(events.len() >= 2, "{pushes:?}");
    let slugs: Vec<&str> = pushes
        .iter()
        .flat_map(|p| p.2.iter().map(|(_, slug)| slug.as_str()))
        .collect();
    assert_eq!(slugs, ["four", "five", "six"]);
}
