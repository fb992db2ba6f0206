//! The transactional outbox: every change writes its `core.*` event in the same transaction
//! (committed change → event; refused or rolled-back change → none), with the envelope's
//! tenant, workspace, actor and the request's correlation id.

use crate::common;

use plexica_core_api::slug::TenantSlug;
use plexica_sdk::api::events::Event;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn tenant_events(core: &common::TestCore, slug: &str) -> Vec<Event> {
    let db = core
        .api
        .state()
        .tenant_dbs
        .get(&TenantSlug::parse(slug).expect("slug"))
        .await
        .expect("tenant db");
    common::outbox(db.pool())
        .await
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

async fn core_events(core: &common::TestCore) -> Vec<Event> {
    common::outbox(core.api.state().core.pool())
        .await
        .into_iter()
        .map(|(_, e)| e)
        .collect()
}

fn types(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.r#type.as_str()).collect()
}

/// Sends a request with correlation id `corr`.
async fn send(
    core: &common::TestCore,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    corr: &str,
) -> (StatusCode, Value) {
    let mut request = core
        .http
        .request(method, format!("{}{path}", core.url))
        .bearer_auth(token)
        .header("x-correlation-id", corr);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    assert_eq!(
        response
            .headers()
            .get("x-correlation-id")
            .and_then(|v| v.to_str().ok()),
        Some(corr),
        "the correlation id is echoed"
    );
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

on_both_backends!(every_change_writes_its_event, |core| {
    let a = core.tenant("alpha").await;
    let admin_id = core.me_id(&a.admin_token).await;
    let lifecycle = core_events(&core).await;
    assert_eq!(types(&lifecycle), ["core.tenant.created"]);
    assert_eq!(lifecycle[0].tenant, "alpha");
    assert_eq!(lifecycle[0].source, "core");
    assert_eq!(lifecycle[0].specversion, "1.0");
    let seeded = tenant_events(&core, "alpha").await;
    assert_eq!(
        types(&seeded),
        ["core.user.created", "core.workspace.created"]
    );
    assert_eq!(seeded[1].workspace.as_deref(), Some("default"));

    let t = &a.admin_token;
    let (status, user) = send(
        &core,
        Method::POST,
        "/api/v1/tenants/alpha/users",
        t,
        Some(json!({ "email": "bob@alpha.test", "password": "password-123" })),
        "corr-user",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let bob = user["id"].as_str().expect("id").to_owned();
    let (status, _) = send(
        &core,
        Method::POST,
        "/api/v1/tenants/alpha/workspaces",
        t,
        Some(json!({ "slug": "sales", "name": "Sales" })),
        "corr-ws",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let members = "/api/v1/tenants/alpha/workspaces/sales/members";
    let (status, _) = send(
        &core,
        Method::POST,
        members,
        t,
        Some(json!({ "user_id": bob, "role": "member" })),
        "corr-add",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Refused changes write nothing: an existing member, the last admin demoted.
    let (status, _) = send(
        &core,
        Method::POST,
        members,
        t,
        Some(json!({ "user_id": bob, "role": "member" })),
        "corr-dup",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = send(
        &core,
        Method::PATCH,
        &format!("{members}/{admin_id}"),
        t,
        Some(json!({ "role": "viewer" })),
        "corr-last",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = send(
        &core,
        Method::PATCH,
        &format!("{members}/{bob}"),
        t,
        Some(json!({ "role": "admin" })),
        "corr-role",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        &core,
        Method::POST,
        "/api/v1/tenants/alpha/workspaces/sales/teams",
        t,
        Some(json!({ "name": "core", "members": [bob] })),
        "corr-team",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = send(
        &core,
        Method::DELETE,
        &format!("{members}/{bob}"),
        t,
        None,
        "corr-remove",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(
        &core,
        Method::PATCH,
        "/api/v1/tenants/alpha/workspaces/sales",
        t,
        Some(json!({ "name": "Sales EU" })),
        "corr-wsup",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        &core,
        Method::DELETE,
        "/api/v1/tenants/alpha/workspaces/sales?force=true",
        t,
        None,
        "corr-wsdel",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(
        &core,
        Method::PUT,
        &format!("/api/v1/tenants/alpha/users/{bob}/roles"),
        t,
        Some(json!({ "roles": ["guest"] })),
        "corr-roles",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        &core,
        Method::DELETE,
        &format!("/api/v1/tenants/alpha/users/{bob}"),
        t,
        None,
        "corr-userdel",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let events = tenant_events(&core, "alpha").await;
    let emitted: Vec<(&str, &str)> = events[2..]
        .iter()
        .map(|e| (e.r#type.as_str(), e.correlationid.as_str()))
        .collect();
    assert_eq!(
        emitted,
        [
            ("core.user.created", "corr-user"),
            ("core.workspace.created", "corr-ws"),
            ("core.workspace.member.added", "corr-add"),
            ("core.workspace.member.role_updated", "corr-role"),
            ("core.team.created", "corr-team"),
            ("core.workspace.member.removed", "corr-remove"),
            ("core.workspace.updated", "corr-wsup"),
            ("core.workspace.deleted", "corr-wsdel"),
            ("core.user.updated", "corr-roles"),
            ("core.user.deleted", "corr-userdel"),
        ]
    );
    for event in &events[2..] {
        assert_eq!(event.tenant, "alpha");
        assert_eq!(
            event.actor.as_deref(),
            Some(admin_id.as_str()),
            "{}",
            event.r#type
        );
    }
    let added = &events[4];
    assert_eq!(added.workspace.as_deref(), Some("sales"));
    assert_eq!(added.data["user_id"], bob.as_str());
    assert_eq!(added.data["role"], "member");
    let ids: std::collections::HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique");

    // Tenant lifecycle events go to the core outbox.
    let admin = core.admin.clone();
    for (method, path, body) in [
        (
            Method::PATCH,
            "/api/v1/tenants/alpha",
            Some(json!({ "name": "Alpha Inc" })),
        ),
        (Method::POST, "/api/v1/tenants/alpha/suspend", None),
        (Method::POST, "/api/v1/tenants/alpha/activate", None),
        (Method::DELETE, "/api/v1/tenants/alpha", None),
    ] {
        let (status, body) = send(&core, method, path, &admin, body, "corr-tenant").await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let lifecycle = core_events(&core).await;
    assert_eq!(
        types(&lifecycle),
        [
            "core.tenant.created",
            "core.tenant.updated",
            "core.tenant.suspended",
            "core.tenant.activated",
            "core.tenant.deleted"
        ]
    );
    assert_eq!(lifecycle[4].data["hard"], false);
    // Repeating a state change that changes nothing emits nothing.
    let (status, _) = send(
        &core,
        Method::DELETE,
        "/api/v1/tenants/alpha",
        &admin,
        None,
        "corr-again",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(core_events(&core).await.len(), 5);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_provisioning_emits_nothing() {
    let failing = common::TestCore::start_with(common::Backend::Sqlite, |c| {
        c.fail_provisioning_after = Some(plexica_core_api::provision::ProvisionStep::Activate);
    })
    .await
    .expect("starts");
    let (status, _) = failing
        .call(
            Method::POST,
            "/api/v1/tenants",
            Some(&failing.admin),
            Some(json!({ "slug": "ghost", "name": "Ghost" })),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        core_events(&failing).await.is_empty(),
        "the undone provisioning left no event"
    );
}

on_both_backends!(plugins_publish_only_their_own_events, |core| {
    core.tenant("alpha").await;
    core.tenant("bravo").await;
    let now = plexica_sdk::api::time::now_ms();
    let token =
        plexica_core_api::auth::issue_install_token(&core.api.state().core, "alpha", "crm", now)
            .await
            .expect("install token");
    let publish = |tenant: &str, body: Value| {
        let path = format!("/api/v1/tenants/{tenant}/events");
        let token = token.clone();
        let core = &core;
        async move { send(core, Method::POST, &path, &token, Some(body), "corr-plugin").await }
    };
    let (status, body) = publish(
        "alpha",
        json!({ "type": "plugin.crm.contact.created", "data": { "name": "Ada" }, "workspace": "default" }),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["id"].as_str().expect("id").to_owned();
    let events = tenant_events(&core, "alpha").await;
    let published = events.iter().find(|e| e.id == id).expect("in the outbox");
    assert_eq!(published.r#type, "plugin.crm.contact.created");
    assert_eq!(published.source, "plugin/crm");
    assert_eq!(published.workspace.as_deref(), Some("default"));
    assert_eq!(published.correlationid, "corr-plugin");
    assert_eq!(published.data["name"], "Ada");

    for (body, status, code) in [
        (
            json!({ "type": "plugin.analytics.report.built", "data": {} }),
            StatusCode::FORBIDDEN,
            "EVENT_NAMESPACE",
        ),
        (
            json!({ "type": "core.workspace.created", "data": {} }),
            StatusCode::FORBIDDEN,
            "EVENT_NAMESPACE",
        ),
        (
            json!({ "type": "plugin.crm.Contact", "data": {} }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
        (
            json!({ "type": "plugin.crm.contact.created", "data": {}, "workspace": "nope" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        ),
    ] {
        let (got, answer) = publish("alpha", body.clone()).await;
        common::assert_error(got, &answer, status, code);
    }
    let (status, _) = publish(
        "bravo",
        json!({ "type": "plugin.crm.contact.created", "data": {} }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "never for another tenant");
    assert!(
        tenant_events(&core, "bravo")
            .await
            .iter()
            .all(|e| e.source == "core"),
        "nothing reached bravo"
    );
});

on_both_backends!(the_event_log_follows_commits, |core| {
    let alpha = core.tenant("alpha").await;
    let bravo = core.tenant("bravo").await;
    let (_, member) = core.user(&alpha, "mia@alpha.test", &["member"]).await;
    let log = "/api/v1/tenants/alpha/events";
    let (status, body) = core.get(log, &member).await;
    common::assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");

    let t = &alpha.admin_token;
    let (status, start) = core.get(log, t).await;
    assert_eq!(status, StatusCode::OK, "{start}");
    assert_eq!(
        start["events"],
        json!([]),
        "without a cursor: none, only the end"
    );
    let cursor = start["cursor"].as_u64().expect("cursor");
    let (_, all) = core.get(&format!("{log}?after=0"), t).await;
    let seeded: Vec<&str> = all["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert!(seeded.contains(&"core.workspace.created"), "{all}");
    assert_eq!(all["cursor"].as_u64(), Some(cursor));

    // A waiting read returns as soon as a matching event is committed.
    let waiting = {
        let (http, url, token) = (core.http.clone(), core.url.clone(), t.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let body: Value = http
                .get(format!(
                    "{url}{log}?after={cursor}&wait=10&type=core.workspace.*"
                ))
                .bearer_auth(token)
                .send()
                .await
                .expect("log")
                .json()
                .await
                .expect("json");
            (body, started.elapsed())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (status, _) = core
        .post(
            "/api/v1/tenants/bravo/workspaces",
            &bravo.admin_token,
            json!({ "slug": "elsewhere", "name": "Elsewhere" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = core
        .post(
            "/api/v1/tenants/alpha/users",
            t,
            json!({ "email": "bob@alpha.test", "password": "password-123" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = send(
        &core,
        Method::POST,
        "/api/v1/tenants/alpha/workspaces",
        t,
        Some(json!({ "slug": "sales", "name": "Sales" })),
        "corr-tail",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (body, waited) = waiting.await.expect("reader");
    assert!(
        waited < std::time::Duration::from_secs(5),
        "answered after {waited:?}"
    );
    let events = body["events"].as_array().expect("events");
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default(),
                e["workspace"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("core.workspace.created", "sales")],
        "only alpha's, only workspaces, the user's skipped"
    );
    assert_eq!(events[0]["correlationid"], "corr-tail");
    let after = body["cursor"].as_u64().expect("cursor");
    let (_, rest) = core.get(&format!("{log}?after={after}"), t).await;
    assert_eq!(rest["events"], json!([]), "{rest}");

    for (query, field) in [
        ("after=0&type=Core.*", "type"),
        ("after=0&wait=31", "wait"),
        ("after=0&limit=0", "limit"),
        ("after=0&limit=501", "limit"),
    ] {
        let (status, body) = core.get(&format!("{log}?{query}"), t).await;
        common::assert_error(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        );
        assert!(body.to_string().contains(field), "{query}: {body}");
    }
});

async fn count(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .expect("count")
}

/// Retention (issue 22): pruning removes relayed events, settled dead letters and dead
/// credentials, and never an event the relay has not taken, a pending dead letter, a live
/// session, or a revoked session whose access tokens may still be valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_what_is_done_with_and_nothing_else() {
    use plexica_core_api::retention::{Retention, prune};
    use std::time::Duration;
    for backend in [common::Backend::Sqlite, common::Backend::Postgres] {
        let Some(core) = common::TestCore::start_with(backend, |c| {
            c.retention = Retention {
                events: Duration::ZERO,
                dead_letters: Duration::ZERO,
                credentials: Duration::ZERO,
                interval: Duration::from_secs(3600),
                batch: 2,
            };
            c.refresh_token_ttl = Duration::from_secs(1);
        })
        .await
        else {
            continue;
        };
        let state = core.api.state().clone();
        let slug = common::fresh_slug("ret");
        let tenant = core.tenant(&slug).await;
        for i in 0..5 {
            let (status, _) = core
                .post(
                    &format!("/api/v1/tenants/{slug}/workspaces"),
                    &tenant.admin_token,
                    json!({ "slug": format!("w{i}"), "name": "W" }),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let db = state
            .tenant_dbs
            .get(&TenantSlug::parse(&slug).expect("slug"))
            .await
            .expect("db");
        let events = common::outbox(db.pool()).await;
        assert!(events.len() >= 5, "{}", events.len());
        let last = events.last().map(|(seq, _)| *seq).expect("events");

        // The storage rule: an event past the relay cursor stays, however old.
        let far_future = plexica_sdk::api::time::now_ms() + 3_600_000;
        let mut deleted = 0;
        loop {
            let n =
                plexica_core_api::db::retention::prune_outbox(db.pool(), last - 1, far_future, 2)
                    .await
                    .expect("prune");
            deleted += n;
            if n < 2 {
                break;
            }
        }
        assert_eq!(deleted, events.len() as u64 - 1);
        let left = common::outbox(db.pool()).await;
        assert_eq!(left.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [last]);

        // The scheduled pruning: once the relay took it, the last one goes too.
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while !common::outbox(db.pool()).await.is_empty() {
            assert!(std::time::Instant::now() < deadline, "never pruned");
            prune(&state.delivery()).await.expect("prune");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Events go on after a pruning: a new change still writes (and relays) its event.
        let (status, _) = core
            .post(
                &format!("/api/v1/tenants/{slug}/workspaces"),
                &tenant.admin_token,
                json!({ "slug": "after", "name": "After" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let after = common::outbox(db.pool()).await;
        assert_eq!(after.len(), 1);
        assert!(after[0].0 > last, "sequence numbers never go back");

        // Dead letters: the settled one goes, the pending one stays.
        let event = &events[0].1;
        let envelope = serde_json::to_string(event).expect("json");
        let pending = state
            .core
            .insert_dead_letter(event, "crm", &envelope, "down", 3, 0)
            .await
            .expect("dead letter");
        let settled = state
            .core
            .insert_dead_letter(event, "crm", &envelope, "down", 3, 0)
            .await
            .expect("dead letter");
        assert!(
            state
                .core
                .discard_dead_letter(&settled, 0)
                .await
                .expect("discard")
        );

        // Credentials: a session whose refresh token expired goes; a revoked one stays while
        // its access tokens may be valid; a revoked API token goes.
        let (status, created) = core
            .post(
                "/api/v1/auth/tokens",
                &tenant.admin_token,
                json!({ "name": "ci" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let token_id = created["id"].as_str().expect("id").to_owned();
        let (status, _) = core
            .call(
                Method::DELETE,
                &format!("/api/v1/auth/tokens/{token_id}"),
                Some(&tenant.admin_token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let revoked = core
            .login(Some(&slug), &tenant.admin_email, &tenant.admin_password)
            .await;
        let (status, _) = core.post("/api/v1/auth/logout", &revoked, json!({})).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let pool = state.core.pool();
        let sessions = count(pool, "SELECT COUNT(*) FROM sessions").await;
        let pruned = prune(&state.delivery()).await.expect("prune");
        assert!(pruned.dead_letters >= 1, "{pruned:?}");
        assert!(
            state
                .core
                .dead_letter_by_id(&settled)
                .await
                .expect("read")
                .is_none()
        );
        assert!(
            state
                .core
                .dead_letter_by_id(&pending)
                .await
                .expect("read")
                .is_some()
        );
        let now = plexica_sdk::api::time::now_ms();
        assert_eq!(
            count(
                pool,
                &format!("SELECT COUNT(*) FROM refresh_tokens WHERE expires_at < {now}")
            )
            .await,
            0
        );
        assert_eq!(
            count(
                pool,
                &format!("SELECT COUNT(*) FROM api_tokens WHERE id = '{token_id}'")
            )
            .await,
            0
        );
        // The tenant admin's first session (refresh token expired) went; the revoked one stays.
        let left = count(pool, "SELECT COUNT(*) FROM sessions").await;
        assert!(left < sessions, "{left} of {sessions}");
        assert_eq!(
            count(
                pool,
                "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL"
            )
            .await,
            1
        );
        // A revoked session still refuses its access token.
        let (status, _) = core.get("/api/v1/auth/me", &revoked).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}
