//! Health, readiness, the OpenAPI document and the reference page, over real HTTP; metrics
//! only for the super admin.

use crate::common;

use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_backends!(operations_routes, |core| {
    for path in ["/health/live", "/health/ready"] {
        let (status, body) = core.call(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(body["status"], "ok");
    }
    let (status, doc) = core
        .call(Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["paths"]["/api/v1/tenants/{t}/workspaces"]["get"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("workspaces:read"))
    );
    // Every route is in the document, with its path parameters, success answers and error
    // envelope, and the document is valid.
    let routes = plexica_core_api::routes::table();
    plexica_testkit::services::check_openapi(&doc, &routes)
        .unwrap_or_else(|problem| panic!("the OpenAPI document: {problem}"));
    let page = core
        .http
        .get(format!("{}/api/docs", core.url))
        .send()
        .await
        .expect("docs")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains("/api/v1/tenants/{t}/workspaces/{ws}/members") && !page.contains("<script")
    );
    let (status, jwks) = core
        .call(Method::GET, "/.well-known/jwks.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    let (status, _) = core.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let metrics = core
        .http
        .get(format!("{}/metrics", core.url))
        .bearer_auth(&core.admin)
        .send()
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), StatusCode::OK);
    // The event gauges are recorded every few seconds from start-up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = core
            .http
            .get(format!("{}/metrics", core.url))
            .bearer_auth(&core.admin)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        if [
            "core_events_outbox_depth",
            "core_event_subscriptions_active",
            "core_tenants",
        ]
        .iter()
        .all(|g| text.contains(g))
        {
            // Latencies are histograms (they add up across replicas), every family has its
            // help, counters exist at zero before anything happened, and Prometheus' own
            // linter accepts the whole exposition.
            assert!(
                text.contains("# TYPE core_http_request_seconds histogram")
                    && text.contains("core_http_request_seconds_bucket{"),
                "{text}"
            );
            assert!(
                text.contains("# HELP core_events_dead_lettered_total ")
                    && text.contains("\ncore_events_dead_lettered_total "),
                "{text}"
            );
            if let Some(lint) = plexica_testkit::services::promtool_check_metrics(&text) {
                lint.unwrap_or_else(|problems| panic!("promtool: {problems}\n{text}"));
            }
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no event gauges in:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (status, body) = core
        .call(Method::GET, "/api/v1/nothing-here", None, None)
        .await;
    common::assert_error(status, &body, StatusCode::NOT_FOUND, "NOT_FOUND");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_event_transport() {
    // NATS that is not there: the server starts, but is not ready.
    let core = common::TestCore::start_with(common::Backend::Sqlite, |c| {
        c.nats_url = Some("nats://127.0.0.1:1".to_owned());
    })
    .await
    .expect("starts without NATS");
    let (status, body) = core.call(Method::GET, "/health/ready", None, None).await;
    common::assert_error(
        status,
        &body,
        StatusCode::SERVICE_UNAVAILABLE,
        "EVENT_TRANSPORT_UNAVAILABLE",
    );
    assert_eq!(body["error"]["details"]["transport"], "nats");
    let (status, _) = core.call(Method::GET, "/health/live", None, None).await;
    assert_eq!(status, StatusCode::OK, "alive all the same");

    let Ok(url) = std::env::var("PLEXICA_TEST_NATS_URL") else {
        println!("skipped: PLEXICA_TEST_NATS_URL is not set");
        return;
    };
    let core = common::TestCore::start_with(common::Backend::Sqlite, |c| c.nats_url = Some(url))
        .await
        .expect("starts with NATS");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, body) = core.call(Method::GET, "/health/ready", None, None).await;
        if status == StatusCode::OK {
            assert_eq!(body["events"], "nats");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never ready: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// PostgreSQL goes away under a running core API (a real cut: a TCP proxy closes every
/// connection and refuses new ones): requests answer 503 with `Retry-After` within the pool's
/// 5 s acquire timeout, readiness fails, a write refused meanwhile is not half there; once
/// PostgreSQL is back, everything works again without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_then_back() {
    use plexica_testkit::faults::FaultProxy;
    use std::time::{Duration, Instant};
    let Some(url) = plexica_testkit::postgres_database("plexica_core").await else {
        return;
    };
    let (proxy, proxied) = FaultProxy::in_front_of(&url).await.expect("proxy");
    let core = common::TestCore::start_with(common::Backend::Postgres, |c| {
        c.database_url = proxied;
    })
    .await
    .expect("starts");
    let tenant = core.tenant("faulty").await;
    let workspaces = "/api/v1/tenants/faulty/workspaces";
    let (status, _) = core
        .post(
            workspaces,
            &tenant.admin_token,
            json!({ "slug": "before", "name": "B" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    proxy.cut();
    let started = Instant::now();
    let response = core
        .call_raw(Method::GET, workspaces, Some(&tenant.admin_token), None)
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered in {:?}",
        started.elapsed()
    );
    let (status, _) = core
        .post(
            workspaces,
            &tenant.admin_token,
            json!({ "slug": "during", "name": "D" }),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = core.call(Method::GET, "/health/ready", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _) = core.call(Method::GET, "/health/live", None, None).await;
    assert_eq!(status, StatusCode::OK, "alive all the same");

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    while core.call(Method::GET, "/health/ready", None, None).await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "never ready again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, list) = core.get(workspaces, &tenant.admin_token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let slugs: Vec<&str> = list["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|w| w["slug"].as_str()).collect())
        .unwrap_or_default();
    assert!(slugs.contains(&"before"), "{list}");
    assert!(
        !slugs.contains(&"during"),
        "a refused write is not there: {list}"
    );
    let (status, _) = core
        .post(
            workspaces,
            &tenant.admin_token,
            json!({ "slug": "after", "name": "A" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}
