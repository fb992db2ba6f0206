//! The gateway: a call reaches the endpoint a plugin declares only when the target is
//! installed and active and the caller holds the endpoint's permission; the target sees the
//! platform's context headers and never the caller's credentials.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use common::registry::{TestRegistry, borrowed, frontend_plugin, platform, serve_backend};
use common::{TestCore, assert_error};
use plexica_core_api::discovery::Endpoint;
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
    with_active(SERVICES, adjust).await
}

/// Like [`with_active_crm`], with `crm` declaring `services` instead.
async fn with_active(
    services: &str,
    adjust: impl FnOnce(&mut plexica_core_api::Config),
) -> (TestCore, TestRegistry, common::TenantFixture) {
    let (core, registry) = platform(common::Backend::Sqlite, adjust)
        .await
        .expect("sqlite");
    let t = core.tenant("acme").await;
    registry
        .publish_files(&borrowed(&frontend_plugin("crm", "1.0.0", services)))
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
        .insert("acme", "crm", "1.0.0", endpoint(&backend));
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
        .insert("acme", "crm", "1.0.0", endpoint("http://127.0.0.1:9"));
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
    core.api.state().plugins.targets.insert(
        "acme",
        "crm",
        "1.0.0",
        Endpoint::new(backend, "unused"),
    );
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
        .insert("acme", "crm", "1.0.0", target.clone());
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

/// Service `crm.open`: endpoints without a permission, one segment or the rest.
const OPEN: &str = "[[services]]\nname = \"crm.open\"\nversion = \"1.0.0\"\n\
    [[services.endpoints]]\nmethod = \"GET\"\npath = \"/open/:id\"\n\
    [[services.endpoints]]\nmethod = \"GET\"\npath = \"/files/*\"\n";

/// Every request-target a backend received, as it received it.
type Seen = Arc<Mutex<Vec<String>>>;

fn seen_now(seen: &Seen) -> Vec<String> {
    seen.lock().expect("seen").clone()
}

/// A plugin backend that records the request-target of every request, then answers with
/// `answer`.
async fn recording_backend<F>(answer: F) -> (String, Seen)
where
    F: Fn(&axum::http::Uri) -> axum::response::Response + Clone + Send + Sync + 'static,
{
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let answer = answer.clone();
        let record = record.clone();
        async move {
            record.lock().expect("seen").push(uri.to_string());
            answer(&uri)
        }
    });
    (serve_backend(app).await, seen)
}

/// `GET target` on the core API, the request-target sent byte for byte as given (no URL
/// library in between to normalise it), over HTTP/1.0; the status and the JSON body (or null).
async fn raw_get(core: &TestCore, target: &str, token: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = core.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let request =
        format!("GET {target} HTTP/1.0\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_paths_are_refused_and_the_target_sees_exactly_the_checked_path() {
    let (core, _registry, t) = with_active(OPEN, |_| {}).await;
    let admin = &t.admin_token;
    let (backend, seen) =
        recording_backend(|uri| Json(json!({ "uri": uri.to_string() })).into_response()).await;
    core.api.state().plugins.targets.insert(
        "acme",
        "crm",
        "1.0.0",
        Endpoint::new(backend, "unused"),
    );
    let gw = "/api/v1/tenants/acme/gateway/crm/crm.open";

    for hostile in [
        // Matched `/open/:id` and was sent as `/?admin=1` before.
        "open/..%3Fadmin=1",
        "open/%2E%2E%3Fadmin=1",
        "open/..",
        "open/.",
        "open/%2e%2e",
        "open/%2e",
        "open/.%2E",
        "files/a/../../admin",
        "files/a/%2e%2e/%2e%2e/admin",
        "files/a//b",
        "files/a/",
        "open/a%2Fb",
        "open/a%2fb",
        "open/a%5Cb",
        "open/a%3Fb",
        "open/a%23b",
        "open/a%00b",
        "open/a%0D%0AX-Injected:%201",
        "open/a%09b",
        "open/a%7Fb",
        "open/a%C2%85b",
        "open/%252e%252e",
        "files/%252E%252E/admin",
        "files/a%252Fb",
        "open/%FF",
        "open/a%zzb",
        "open/a%2",
        // Fullwidth `．．` and `／`: a target that normalises (NFKC) would see `..` and `/`.
        "files/%EF%BC%8E%EF%BC%8E/admin",
        "open/a%EF%BC%8Fb",
    ] {
        let (status, body) = raw_get(&core, &format!("{gw}/{hostile}"), admin).await;
        assert_eq!(status, 400, "{hostile}: {body}");
        assert_eq!(body["error"]["code"], "PATH_REFUSED", "{hostile}: {body}");
        assert_eq!(
            seen_now(&seen),
            Vec::<String>::new(),
            "{hostile} reached the target"
        );
    }

    // Odd but valid: the target receives the decoded segments, each encoded again, and the
    // query as it came.
    for (sent, received) in [
        ("open/a%20b", "/open/a%20b"),
        ("open/a+b", "/open/a%2Bb"),
        ("open/%61bc", "/open/abc"),
        ("open/caf%C3%A9", "/open/caf%C3%A9"),
        ("open/...", "/open/..."),
        ("open/100%25", "/open/100%25"),
        (
            "open/x?admin=1&next=%2e%2e/y",
            "/open/x?admin=1&next=%2e%2e/y",
        ),
        ("files/a%20b/c~d/e.txt", "/files/a%20b/c~d/e.txt"),
        ("open/Hello%E2%80%A6", "/open/Hello%E2%80%A6"),
    ] {
        let (status, body) = raw_get(&core, &format!("{gw}/{sent}"), admin).await;
        assert_eq!(status, 200, "{sent}: {body}");
        assert_eq!(body["uri"], received, "{sent}");
        assert_eq!(seen_now(&seen).last().map(String::as_str), Some(received));
    }
    assert_eq!(seen_now(&seen).len(), 9);
}

/// What a hostile target answers on `/open/…`: headers that would speak for the core API's
/// origin, and redirects out of the plugin.
fn hostile_answer(uri: &axum::http::Uri) -> axum::response::Response {
    let redirect = |status: u16, location: &str| {
        axum::response::Response::builder()
            .status(status)
            .header("location", location)
            .body(axum::body::Body::empty())
            .expect("answer")
    };
    match uri.path() {
        "/open/inside" => return redirect(303, "/open/42?from=inside#top"),
        "/open/away" => return redirect(302, "https://evil.example/steal"),
        "/open/scheme-relative" => return redirect(302, "//evil.example/steal"),
        "/open/relative" => return redirect(302, "../../admin"),
        "/open/back" => return redirect(307, "/open/followed"),
        _ => {}
    }
    let mut answer = axum::response::Response::builder().status(200);
    for (name, value) in HOSTILE_HEADERS.iter().chain(SAFE_HEADERS) {
        answer = answer.header(*name, *value);
    }
    answer
        .body(axum::body::Body::from("{\"ok\":true}"))
        .expect("answer")
}

/// Headers the caller must never see.
const HOSTILE_HEADERS: &[(&str, &str)] = &[
    ("set-cookie", "plexica_session=stolen; Path=/; HttpOnly"),
    ("set-cookie", "other=1; Domain=127.0.0.1"),
    ("set-cookie2", "legacy=1"),
    ("clear-site-data", "\"*\""),
    ("access-control-allow-origin", "*"),
    ("access-control-allow-credentials", "true"),
    ("access-control-expose-headers", "*"),
    ("strict-transport-security", "max-age=0"),
    ("content-security-policy-report-only", "default-src *"),
    ("permissions-policy", "camera=*"),
    ("cross-origin-resource-policy", "cross-origin"),
    ("alt-svc", "h2=\"evil.example:443\""),
    ("refresh", "0; url=https://evil.example/"),
    ("service-worker-allowed", "/"),
    ("server-timing", "db;dur=53"),
    ("link", "<https://evil.example/x.css>; rel=stylesheet"),
    ("www-authenticate", "Basic realm=\"Plexica\""),
    ("nel", "{\"report_to\":\"evil\",\"max_age\":86400}"),
    ("report-to", "{\"group\":\"evil\"}"),
    ("x-plexica-user", "root"),
    ("x-accel-redirect", "/internal/secrets"),
    ("x-sendfile", "/etc/passwd"),
    ("x-frame-options", "ALLOWALL"),
    ("keep-alive", "timeout=600"),
    ("proxy-authenticate", "Basic"),
    ("x-listed-as-hop", "1"),
    ("connection", "x-listed-as-hop"),
];

/// Headers the caller sees as the target sent them.
const SAFE_HEADERS: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("content-language", "en"),
    ("etag", "\"v1\""),
    ("last-modified", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ("vary", "accept"),
    ("retry-after", "5"),
    ("x-total-count", "2"),
    // Overridden below.
    (
        "content-security-policy",
        "default-src *; script-src 'unsafe-inline'",
    ),
    ("x-content-type-options", "sniff-please"),
    ("cache-control", "public, max-age=600, s-maxage=3600"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_targets_answer_keeps_only_headers_safe_for_the_core_apis_origin() {
    let (core, _registry, t) = with_active(OPEN, |_| {}).await;
    let (backend, seen) = recording_backend(hostile_answer).await;
    core.api.state().plugins.targets.insert(
        "acme",
        "crm",
        "1.0.0",
        Endpoint::new(backend, "unused"),
    );
    let gw = "/api/v1/tenants/acme/gateway/crm/crm.open";
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let get = |path: &str| {
        http.get(format!("{}{gw}/{path}", core.url))
            .bearer_auth(&t.admin_token)
            .send()
    };

    let answer = get("open/1").await.expect("request");
    assert_eq!(answer.status(), StatusCode::OK);
    let headers = answer.headers().clone();
    for (name, _) in HOSTILE_HEADERS {
        assert!(
            headers.get(*name).is_none(),
            "{name} reached the caller: {headers:?}"
        );
    }
    for (name, value) in &SAFE_HEADERS[..7] {
        assert_eq!(
            headers.get(*name).map(|v| v.to_str().expect("text")),
            Some(*value),
            "{name}"
        );
    }
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers.get_all("content-security-policy").iter().count(), 1);
    assert_eq!(
        headers["content-security-policy"],
        "sandbox; default-src 'none'; frame-ancestors 'none'"
    );
    assert_eq!(headers["cache-control"], "private, max-age=600");
    assert_eq!(answer.text().await.expect("body"), "{\"ok\":true}");

    // A redirect within the plugin is rewritten under the caller's gateway path; one out of
    // it is dropped; none is followed by the gateway.
    let answer = get("open/inside").await.expect("request");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        answer.headers()["location"],
        format!("{gw}/open/42?from=inside")
    );
    for away in ["open/away", "open/scheme-relative", "open/relative"] {
        let answer = get(away).await.expect("request");
        assert_eq!(answer.status(), StatusCode::FOUND, "{away}");
        assert!(
            answer.headers().get("location").is_none(),
            "{away}: {:?}",
            answer.headers()
        );
    }
    let answer = get("open/back").await.expect("request");
    assert_eq!(answer.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(answer.headers()["location"], format!("{gw}/open/followed"));
    assert_eq!(
        seen_now(&seen),
        [
            "/open/1",
            "/open/inside",
            "/open/away",
            "/open/scheme-relative",
            "/open/relative",
            "/open/back",
        ],
        "the gateway followed a redirect"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_ui_token_opens_its_own_plugins_endpoints_and_nothing_else() {
    let (core, registry, t) = with_active_crm(|_| {}).await;
    let billing = "[[services]]\nname = \"billing.invoices\"\nversion = \"1.0.0\"\n\
        [[services.endpoints]]\nmethod = \"GET\"\npath = \"/status\"\n";
    registry
        .publish_files(&borrowed(&frontend_plugin("billing", "1.0.0", billing)))
        .await;
    let (status, body) = core
        .post(
            "/api/v1/tenants/acme/plugins",
            &t.admin_token,
            json!({ "id": "billing", "activate": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let backend = echo_backend().await;
    let targets = &core.api.state().plugins.targets;
    for id in ["crm", "billing"] {
        targets.insert("acme", id, "1.0.0", Endpoint::new(&backend, "unused"));
    }
    let (status, minted) = core
        .post(
            "/api/v1/tenants/acme/plugins/crm/ui-token",
            &t.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{minted}");
    assert_eq!(minted["expires_in"], 300);
    let ui = minted["token"].as_str().expect("token").to_owned();

    // Its own plugin's endpoint, as the user.
    let (status, seen) = core
        .get("/api/v1/tenants/acme/gateway/crm/crm.contacts/status", &ui)
        .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    let admin_id = core.me_id(&t.admin_token).await;
    assert_eq!(seen["headers"]["x-plexica-user"], json!(admin_id));
    assert!(seen["headers"].get("authorization").is_none(), "{seen}");

    // Another plugin's endpoint, and every other route: refused.
    let (status, body) = core
        .get(
            "/api/v1/tenants/acme/gateway/billing/billing.invoices/status",
            &ui,
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    for (method, path) in [
        (Method::GET, "/api/v1/auth/me"),
        (Method::GET, "/api/v1/tenants/acme/workspaces"),
        (Method::GET, "/api/v1/tenants/acme/services"),
        (Method::POST, "/api/v1/tenants/acme/plugins/crm/ui-token"),
        (Method::POST, "/api/v1/auth/tokens"),
        (Method::GET, "/plugins/crm/1.0.0/remoteEntry.js"),
    ] {
        let (status, body) = core
            .call(
                method.clone(),
                path,
                Some(&ui),
                Some(json!({ "name": "ci" })),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
    }

    // Issued to sessions only, for active plugins only.
    let (status, api_token) = core
        .post(
            "/api/v1/auth/tokens",
            &t.admin_token,
            json!({ "name": "ci" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{api_token}");
    let api_token = api_token["token"].as_str().expect("token");
    let (status, body) = core
        .post(
            "/api/v1/tenants/acme/plugins/crm/ui-token",
            api_token,
            json!({}),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    let (status, body) = core
        .post(
            "/api/v1/tenants/acme/plugins/nope/ui-token",
            &t.admin_token,
            json!({}),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "PLUGIN_NOT_FOUND");

    // It ends with its session.
    let (status, _) = core
        .post("/api/v1/auth/logout", &t.admin_token, json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = core
        .get("/api/v1/tenants/acme/gateway/crm/crm.contacts/status", &ui)
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "SESSION_REVOKED");
}
