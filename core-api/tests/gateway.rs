//! The gateway: a call reaches the endpoint a plugin declares only when the target is
//! installed and active and the caller holds the endpoint's permission; the target sees the
//! platform's context headers and never the caller's credentials.

mod common;

use std::time::{Duration, Instant};

use axum::Json;
use axum::http::HeaderMap;
use common::registry::{TestRegistry, borrowed, frontend_plugin, platform, serve_backend};
use common::{TestCore, assert_error};
use plexica_core_api::plugins::runtime::Endpoint;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SERVICES: &str = "[[permissions]]\nkey = \"contacts:read\"\ndescription = \"Read\"\n\
    default-role = \"viewer\"\n\
    [[permissions]]\nkey = \"contacts:write\"\ndescription = \"Write\"\ndefault-role = \"admin\"\n\
    [[services]]\nname = \"crm.contacts\"\nversion = \"1.0.0\"\n\
    [[services.endpoints]]\nmethod = \"GET\"\npath = \"/contacts/:id\"\npermission = \"contacts:read\"\n\
    [[services.endpoints]]\nmethod = \"POST\"\npath = \"/contacts\"\npermission = \"contacts:write\"\n\
    [[services.endpoints]]\nmethod = \"GET\"\npath = \"/status\"\n";

/// A core API with a registry, tenant `acme`, and plugin `crm` (declaring [`SERVICES`])
/// installed and active there; `adjust` applies to the core's configuration.
async fn with_active_crm(
    adjust: impl FnOnce(&mut plexica_core_api::Config),
) -> (TestCore, TestRegistry, common::TenantFixture) {
    let (core, registry) = platform(common::Backend::Sqlite, adjust)
        .await
        .expect("sqlite");
    let t = core.tenant("acme").await;
    registry
        .publish_files(&borrowed(&frontend_plugin("crm", "1.0.0", SERVICES)))
        .await;
    let (status, body) = core
        .post(
            "/api/v1/tenants/acme/plugins",
            &t.admin_token,
            json!({ "id": "crm", "activate": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (core, registry, t)
}

/// A plugin backend that answers with what it was sent.
async fn echo_backend() -> String {
    async fn echo(headers: HeaderMap, uri: axum::http::Uri) -> Json<Value> {
        let headers: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
            .collect();
        Json(json!({ "uri": uri.to_string(), "headers": headers }))
    }
    serve_backend(axum::Router::new().fallback(echo)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_checks_then_forwards_with_context() {
    let (core, _registry, t) = with_active_crm(|_| {}).await;
    let admin = &t.admin_token;
    let gw = "/api/v1/tenants/acme/gateway/crm/crm.contacts";

    // Active, but its backend serves nowhere yet: 503.
    let (status, body) = core.get(&format!("{gw}/status"), admin).await;
    assert_error(
        status,
        &body,
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
    );

    let backend = echo_backend().await;
    let endpoint = |base_url: &str| Endpoint::new(base_url, "unused");
    core.api
        .state()
        .plugins
        .targets
        .insert("acme", "crm", endpoint(&backend));
    let admin_id = core.me_id(admin).await;
    let response = core
        .http
        .get(format!("{}{gw}/contacts/42?full=1", core.url))
        .bearer_auth(admin)
        .header("x-plexica-tenant", "someone-else")
        .header("x-correlation-id", "corr-gw")
        .header("cookie", "session=1")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let seen: Value = response.json().await.expect("json");
    assert_eq!(seen["uri"], "/contacts/42?full=1");
    let headers = &seen["headers"];
    assert_eq!(headers["x-plexica-tenant"], "acme", "{seen}");
    assert_eq!(headers["x-plexica-user"], json!(admin_id));
    assert_eq!(headers["x-correlation-id"], "corr-gw");
    assert_eq!(headers["x-request-id"], "corr-gw");
    assert!(headers.get("authorization").is_none(), "{seen}");
    assert!(headers.get("cookie").is_none(), "{seen}");

    // Unknown service, endpoint or plugin; traversal.
    let (status, body) = core
        .get("/api/v1/tenants/acme/gateway/crm/crm.deals/deals", admin)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "SERVICE_NOT_FOUND");
    let (status, body) = core.get(&format!("{gw}/contacts"), admin).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "ENDPOINT_NOT_FOUND");
    let (status, body) = core
        .get(
            "/api/v1/tenants/acme/gateway/billing/billing.invoices/x",
            admin,
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "SERVICE_NOT_FOUND");
    let (status, body) = core
        .get(&format!("{gw}/contacts/%2e%2e%2fadmin"), admin)
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "PATH_REFUSED");

    // A guest who is a viewer of `default`: reads with the workspace named, writes never.
    let (guest_id, guest) = core.user(&t, "guest@acme.test", &["guest"]).await;
    let (status, _) = core
        .post(
            "/api/v1/tenants/acme/workspaces/default/members",
            admin,
            json!({ "user_id": guest_id, "role": "viewer" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let as_viewer = |method: Method, path: String| {
        core.http
            .request(method, format!("{}{path}", core.url))
            .bearer_auth(&guest)
            .header("x-plexica-workspace", "default")
            .send()
    };
    let response = as_viewer(Method::GET, format!("{gw}/contacts/7"))
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let seen: Value = response.json().await.expect("json");
    assert_eq!(seen["headers"]["x-plexica-workspace"], "default");
    let response = as_viewer(Method::POST, format!("{gw}/contacts"))
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, body) = core.get(&format!("{gw}/contacts/7"), &guest).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    assert_eq!(body["error"]["details"]["required"], "contacts:read");

    // The backend goes away: a fast 503; deactivated: 503 too.
    core.api
        .state()
        .plugins
        .targets
        .insert("acme", "crm", endpoint("http://127.0.0.1:9"));
    let started = Instant::now();
    let (status, body) = core.get(&format!("{gw}/status"), admin).await;
    assert_error(
        status,
        &body,
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let (status, _) = core
        .post(
            "/api/v1/tenants/acme/plugins/crm/deactivate",
            admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = core.get(&format!("{gw}/status"), admin).await;
    assert_error(
        status,
        &body,
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
    );
}

/// A backend that takes connections and never answers; it answers again once `healthy` is set.
async fn stuck_backend(healthy: std::sync::Arc<std::sync::atomic::AtomicBool>) -> String {
    async fn answer() -> Json<Value> {
        Json(json!({ "ok": true }))
    }
    let app = axum::Router::new()
        .fallback(answer)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let healthy = healthy.clone();
                async move {
                    while !healthy.load(std::sync::atomic::Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    next.run(request).await
                }
            },
        ));
    serve_backend(app).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_stops_answering_is_cut_off_fast_and_recovers() {
    let (core, _registry, t) = with_active_crm(|c| {
        c.gateway_timeout = Duration::from_millis(200);
        c.breaker_cooldown = Duration::from_millis(800);
    })
    .await;
    let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let backend = stuck_backend(healthy.clone()).await;
    core.api
        .state()
        .plugins
        .targets
        .insert("acme", "crm", Endpoint::new(backend, "unused"));
    let status_path = "/api/v1/tenants/acme/gateway/crm/crm.contacts/status";
    for _ in 0..plexica_core_api::gateway::BREAKER_THRESHOLD {
        let (status, body) = core.get(status_path, &t.admin_token).await;
        assert_error(
            status,
            &body,
            StatusCode::GATEWAY_TIMEOUT,
            "SERVICE_TIMEOUT",
        );
    }
    // Open: refused at once.
    for _ in 0..20 {
        let started = Instant::now();
        let (status, body) = core.get(status_path, &t.admin_token).await;
        let took = started.elapsed();
        assert_error(
            status,
            &body,
            StatusCode::SERVICE_UNAVAILABLE,
            "CIRCUIT_OPEN",
        );
        assert!(took < Duration::from_millis(50), "{took:?}");
    }
    // The backend is back: after the cool-down the next call goes through and closes it.
    healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(900)).await;
    let (status, body) = core.get(status_path, &t.admin_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = core.get(status_path, &t.admin_token).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_shows_services_and_a_plugin_that_misses_its_heartbeats_is_unavailable() {
    let (core, _registry, t) = with_active_crm(|c| {
        c.heartbeat_interval = Duration::from_millis(100);
    })
    .await;
    let (status, services) = core
        .get("/api/v1/tenants/acme/services", &t.admin_token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(services[0]["name"], "crm.contacts", "{services}");
    assert_eq!(services[0]["status"], "UNAVAILABLE", "not running yet");
    assert_eq!(services[0]["endpoints"].as_array().map(Vec::len), Some(3));

    let target = Endpoint::new(echo_backend().await, "unused");
    core.api
        .state()
        .plugins
        .targets
        .insert("acme", "crm", target.clone());
    let (_, services) = core
        .get("/api/v1/tenants/acme/services", &t.admin_token)
        .await;
    assert_eq!(services[0]["status"], "AVAILABLE");
    let status_path = "/api/v1/tenants/acme/gateway/crm/crm.contacts/status";
    let (status, _) = core.get(status_path, &t.admin_token).await;
    assert_eq!(status, StatusCode::OK);

    // Three heartbeats missed: unavailable at once, in discovery and in the gateway.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, services) = core
        .get("/api/v1/tenants/acme/services", &t.admin_token)
        .await;
    assert_eq!(services[0]["status"], "UNAVAILABLE");
    let (status, body) = core.get(status_path, &t.admin_token).await;
    assert_error(
        status,
        &body,
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("heartbeat")
    );
    target.seen();
    let (status, _) = core.get(status_path, &t.admin_token).await;
    assert_eq!(status, StatusCode::OK);
}
