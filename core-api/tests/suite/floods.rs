//! Floods (docs/security.md, "Rate limits"): one credential, one tenant or one address sends
//! more than its share; it is refused with 429 and `Retry-After` while everyone else is served.
//! And credentials that end, end on every replica.

use crate::common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::{TestCore, assert_error};
use plexica_core_api::limits::RateLimit;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Held by every test of this file while it runs: the flood of one would be the noise of
/// another's timings.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An API token of the holder of `session`, with every scope the holder has.
async fn api_token(core: &TestCore, session: &str) -> String {
    let (status, created) = core
        .post(
            "/api/v1/auth/tokens",
            session,
            json!({ "name": "flood", "scopes": ["*"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["token"].as_str().expect("token").to_owned()
}

/// A `GET` of `path` as `token` through `http`; the status and `Retry-After`.
async fn get(
    http: &reqwest::Client,
    core: &TestCore,
    path: &str,
    token: &str,
) -> (StatusCode, Option<u64>) {
    let response = http
        .get(format!("{}{path}", core.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (response.status(), retry_after)
}

/// Sends `GET path` as `token` until it is refused with 429, every answer before that being
/// `until_then`, at most `burst + 1` times; the answers before the refusal and its
/// `Retry-After`.
async fn until_refused(
    core: &TestCore,
    path: &str,
    token: &str,
    until_then: StatusCode,
    burst: usize,
) -> (usize, Option<u64>) {
    for answered in 0..=burst {
        let (status, retry_after) = get(&core.http, core, path, token).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            return (answered, retry_after);
        }
        assert_eq!(status, until_then, "{path}, answer {answered}");
    }
    panic!("{path} was not refused after {burst} requests");
}

/// A client whose connections come from `address` (any of 127.0.0.0/8 reaches loopback).
fn client_from(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .build()
        .expect("client")
}

on_both_backends!(
    a_credential_flood_is_refused_and_other_credentials_are_served,
    config = |c: &mut plexica_core_api::Config| {
        c.limits.per_credential = Some(RateLimit::new(1, Duration::from_secs(60), 40));
    },
    |core| {
        let _serial = ONE_AT_A_TIME.lock().await;
        let a = core.tenant("alpha").await;
        let token = api_token(&core, &a.admin_token).await;
        let path = "/api/v1/tenants/alpha/workspaces";
        let (served, refusal) = until_refused(&core, path, &token, StatusCode::OK, 40).await;
        assert_eq!(served, 40, "the credential's burst is 40");
        assert!(
            refusal.is_some_and(|s| (1..=60).contains(&s)),
            "{refusal:?}"
        );
        let (status, body) = core.get(path, &token).await;
        assert_error(status, &body, StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
        // The same user's session is another credential.
        let (status, body) = core.get(path, &a.admin_token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // The gateway is a budget of its own, limited the same way.
        let gateway = "/api/v1/tenants/alpha/gateway/nothing/nothing.svc/x";
        // (No such plugin: 404 until refused.)
        let (calls, refusal) =
            until_refused(&core, gateway, &token, StatusCode::NOT_FOUND, 40).await;
        assert_eq!(calls, 40, "the credential's gateway burst is 40");
        assert!(refusal.is_some());
    }
);

/// The 99th percentile of `samples`.
fn p99(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[(samples.len() * 99 / 100).min(samples.len() - 1)]
}

/// `n` workspace lists of tenant `slug`, one every 20 ms (50/s, within its limit); their
/// latencies, all answered 200.
async fn latencies(core: &TestCore, slug: &str, token: &str, n: usize) -> Vec<Duration> {
    let path = format!("/api/v1/tenants/{slug}/workspaces");
    let mut samples = Vec::with_capacity(n);
    let mut ticks = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..n {
        ticks.tick().await;
        let started = Instant::now();
        let (status, _) = get(&core.http, core, &path, token).await;
        samples.push(started.elapsed());
        assert_eq!(status, StatusCode::OK, "the quiet tenant is never refused");
    }
    samples
}

// Tenant A floods with eight clients for three seconds while tenant B lists its workspaces 50
// times a second; B's p99 under the flood stays within 4× its quiet p99 plus 25 ms (the flood
// shares the test's two cores with the server and with PostgreSQL).
on_both_backends!(
    a_tenants_flood_leaves_other_tenants_p99_alone,
    config = |c: &mut plexica_core_api::Config| {
        c.limits.per_tenant = Some(RateLimit::per_second(60));
        c.limits.per_credential = None;
    },
    |core| {
        let _serial = ONE_AT_A_TIME.lock().await;
        let a = core.tenant("alpha").await;
        let b = core.tenant("beta").await;
        let quiet = p99(latencies(&core, "beta", &b.admin_token, 150).await);
        let flood_for = Duration::from_secs(3);
        let started = Instant::now();
        let flooders: Vec<_> = (0..8)
            .map(|_| {
                let http = core.http.clone();
                let url = format!("{}/api/v1/tenants/alpha/workspaces", core.url);
                let token = a.admin_token.clone();
                tokio::spawn(async move {
                    let (mut served, mut refused) = (0u32, 0u32);
                    while started.elapsed() < flood_for {
                        let response = http
                            .get(&url)
                            .bearer_auth(&token)
                            .send()
                            .await
                            .expect("request");
                        match response.status() {
                            StatusCode::OK => served += 1,
                            StatusCode::TOO_MANY_REQUESTS => {
                                assert!(response.headers().contains_key("retry-after"));
                                refused += 1;
                            }
                            other => panic!("the flood got {other}"),
                        }
                    }
                    (served, refused)
                })
            })
            .collect();
        let flooded = p99(latencies(&core, "beta", &b.admin_token, 150).await);
        let (mut served, mut refused) = (0, 0);
        for flooder in flooders {
            let (s, r) = flooder.await.expect("flooder");
            served += s;
            refused += r;
        }
        let elapsed = started.elapsed().as_secs_f64();
        eprintln!(
            "tenant B p99: quiet {quiet:?}, under the flood {flooded:?}; tenant A: {served} \
             served, {refused} refused in {elapsed:.1} s"
        );
        assert!(refused > 0, "the flood is refused");
        // A burst of 60, then 60 a second (and a little for the clock).
        let allowed = 60.0 + 60.0 * elapsed + 10.0;
        assert!(
            f64::from(served) <= allowed,
            "{served} served, at most {allowed}"
        );
        let bound = quiet * 4 + Duration::from_millis(25);
        assert!(
            flooded <= bound,
            "tenant B's p99 went from {quiet:?} to {flooded:?} (bound {bound:?})"
        );
    }
);

on_both_backends!(
    anonymous_and_refused_requests_are_limited_per_address,
    config = |c: &mut plexica_core_api::Config| {
        c.limits.per_address = Some(RateLimit::new(1, Duration::from_secs(60), 30));
    },
    |core| {
        let _serial = ONE_AT_A_TIME.lock().await;
        core.tenant("alpha").await;
        let path = "/api/v1/tenants/alpha/workspaces";
        // Guessed tokens: refused as unauthenticated until the address has spent its burst
        // (the set-up's logins spent some of it).
        let (_, refusal) =
            until_refused(&core, path, "plx_guessed", StatusCode::UNAUTHORIZED, 30).await;
        assert!(refusal.is_some_and(|s| s >= 1), "{refusal:?}");
        // Anonymous routes too.
        let response = core
            .call_raw(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({ "email": "admin", "password": common::ADMIN_PASSWORD })),
            )
            .await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        // Another address is not held back, and a valid credential from this one is served.
        let (status, _) = get(
            &client_from(Ipv4Addr::new(127, 0, 0, 2)),
            &core,
            path,
            "plx_guessed",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, body) = core.get("/api/v1/tenants", &core.admin).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
);

/// Polls `path` as `token` on `replica` until it is refused; how long that took.
async fn time_to_refusal(replica: &TestCore, path: &str, token: &str) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body) = replica.get(path, token).await;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return started.elapsed();
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still served after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// Two replicas on one PostgreSQL database: what the first ends (a user's removal, a password
// reset, a tenant's suspension or deletion), the second refuses within 5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_end_on_every_replica_within_five_seconds() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let Some(core) = TestCore::start(common::Backend::Postgres).await else {
        return;
    };
    let replica = core.replica(|_| {}).await;
    let a = core.tenant("alpha").await;
    let path = "/api/v1/tenants/alpha/workspaces";
    let budget = Duration::from_secs(5);

    // Removal: the session and the API token.
    let (bob, session, token) = member(&core, &replica, &a, "bob@alpha.test").await;
    let (status, body) = core
        .delete(
            &format!("/api/v1/tenants/alpha/users/{bob}"),
            &a.admin_token,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for credential in [&session, &token] {
        let took = time_to_refusal(&replica, path, credential).await;
        assert!(took < budget, "removal took {took:?} to reach the replica");
    }

    // A password reset by the admin: the old session and API token.
    let (carol, session, token) = member(&core, &replica, &a, "carol@alpha.test").await;
    let (status, body) = core
        .patch(
            &format!("/api/v1/tenants/alpha/users/{carol}"),
            &a.admin_token,
            json!({ "password": "a-new-password-1" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for credential in [&session, &token] {
        let took = time_to_refusal(&replica, path, credential).await;
        assert!(
            took < budget,
            "the reset took {took:?} to reach the replica"
        );
    }

    // Suspension of the tenant: its users can read who they are, and nothing else.
    let (_, session, token) = member(&core, &replica, &a, "dave@alpha.test").await;
    let (status, body) = core
        .post("/api/v1/tenants/alpha/suspend", &core.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for credential in [&session, &token] {
        let took = time_to_refusal(&replica, path, credential).await;
        assert!(
            took < budget,
            "the suspension took {took:?} to reach the replica"
        );
    }
    let (status, body) = replica.get("/api/v1/auth/me", &session).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Deletion of a tenant.
    let b = core.tenant("beta").await;
    let (_, session, token) = member(&core, &replica, &b, "erin@beta.test").await;
    let (status, body) = core.delete("/api/v1/tenants/beta", &core.admin).await;
    assert!(status.is_success(), "{status} {body}");
    for credential in [&session, &token] {
        let took = time_to_refusal(&replica, "/api/v1/tenants/beta/workspaces", credential).await;
        assert!(
            took < budget,
            "the deletion took {took:?} to reach the replica"
        );
    }
    replica.stop().await;
}

/// A member of `tenant` made on `core`, with a session and an API token from `replica`, both
/// served there: `(id, session, token)`.
async fn member(
    core: &TestCore,
    replica: &TestCore,
    tenant: &common::TenantFixture,
    email: &str,
) -> (String, String, String) {
    let (id, _) = core.user(tenant, email, &["member"]).await;
    let session = replica
        .login(Some(&tenant.slug), email, "password-123")
        .await;
    let token = api_token(replica, &session).await;
    for credential in [&session, &token] {
        let (status, body) = replica
            .get(
                &format!("/api/v1/tenants/{}/workspaces", tenant.slug),
                credential,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    (id, session, token)
}

// A flood of made-up methods and paths adds no metric series.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_labels_come_from_bounded_sets() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let core = TestCore::start(common::Backend::Sqlite)
        .await
        .expect("sqlite");
    for (method, path) in [
        ("BREW", "/random/path/abc123"),
        ("X-RANDOM-1", "/api/v1/tenants/xyz789/workspaces"),
    ] {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        core.http
            .request(method, format!("{}{path}", core.url))
            .send()
            .await
            .expect("request");
    }
    let metrics = core
        .http
        .get(format!("{}/metrics", core.url))
        .bearer_auth(&core.admin)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let ours: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("core_http_requests_total"))
        .collect();
    assert!(
        ours.iter()
            .any(|l| l.contains("method=\"OTHER\"") && l.contains("route=\"unmatched\"")),
        "{ours:#?}"
    );
    assert!(
        ours.iter().any(|l| l.contains("method=\"OTHER\"")
            && l.contains("route=\"/api/v1/tenants/{t}/workspaces\"")),
        "{ours:#?}"
    );
    for raw in ["BREW", "X-RANDOM", "abc123", "xyz789"] {
        assert!(!metrics.contains(raw), "`{raw}` became a label");
    }
}
