//! Tenants (super admin): provisioning (idempotent, validated, rolled back on failure at any
//! step), listing, details, updates, state changes, soft and hard deletion, and the start-up
//! repair of data spaces left without a tenant.

use crate::common;

use common::{ADMIN_PASSWORD, Backend, TestCore, assert_error};
use plexica_core_api::provision::ProvisionStep;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// `POST /tenants` as the super admin.
async fn provision(core: &TestCore, body: Value) -> (StatusCode, Value) {
    core.post("/api/v1/tenants", &core.admin, body).await
}

fn slugs(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|t| t["slug"].as_str().expect("slug").to_owned())
        .collect()
}

on_both_backends!(provisioning_is_idempotent, |core| {
    let request = json!({
        "slug": "acme",
        "name": "Acme Corp",
        "admin_email": "Boss@Acme.test",
        "settings": { "plan": "pro" },
    });
    let response = core
        .call_raw(
            Method::POST,
            "/api/v1/tenants",
            Some(&core.admin),
            Some(request.clone()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some("/api/v1/tenants/acme")
    );
    let created: Value = response.json().await.expect("json");
    assert_eq!(created["status"], "ACTIVE", "{created}");
    assert_eq!(created["slug"], "acme");
    assert_eq!(created["name"], "Acme Corp");
    assert_eq!(created["settings"], json!({ "plan": "pro" }));
    assert_eq!(created["initial_admin"]["email"], "boss@acme.test");
    let password = created["initial_admin"]["password"]
        .as_str()
        .expect("password")
        .to_owned();
    assert!(password.len() >= 12, "a generated password: {password}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(core.data_space_exists("acme").await);

    // The first admin logs in; the default workspace exists with them as its ADMIN.
    let token = core.login(Some("acme"), "boss@acme.test", &password).await;
    let (status, ws) = core
        .get("/api/v1/tenants/acme/workspaces/default", &token)
        .await;
    assert_eq!(status, StatusCode::OK, "{ws}");
    assert_eq!(ws["is_default"], true);
    assert_eq!(ws["member_count"], 1);
    let (status, members) = core
        .get("/api/v1/tenants/acme/workspaces/default/members", &token)
        .await;
    assert_eq!(status, StatusCode::OK, "{members}");
    let members = members.as_array().expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["email"], "boss@acme.test");
    assert_eq!(members[0]["role"], "admin");
    let (status, roles) = core.get("/api/v1/tenants/acme/roles", &token).await;
    assert_eq!(status, StatusCode::OK);
    let mut names: Vec<&str> = roles
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["admin", "guest", "member"]);

    // The same request again: 200, the same tenant, no second password.
    let (status, again) = provision(&core, request.clone()).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], id.as_str());
    assert_eq!(again["status"], "ACTIVE");
    assert!(
        again.get("initial_admin").is_none_or(Value::is_null),
        "the password is shown once: {again}"
    );
    assert_eq!(core.tenant_total().await, 1);
    // The first admin's password did not change.
    let (status, _) = core
        .login_pair(Some("acme"), "boss@acme.test", &password)
        .await;
    assert_eq!(status, StatusCode::OK);

    // The same slug with anything different is a conflict.
    for different in [
        json!({ "slug": "acme", "name": "Another Acme", "admin_email": "Boss@Acme.test", "settings": { "plan": "pro" } }),
        json!({ "slug": "acme", "name": "Acme Corp", "admin_email": "boss@acme.test", "settings": { "plan": "free" } }),
        json!({ "slug": "acme", "name": "Acme Corp" }),
    ] {
        let (status, body) = provision(&core, different).await;
        assert_error(status, &body, StatusCode::CONFLICT, "TENANT_EXISTS");
    }
    assert_eq!(core.tenant_total().await, 1);

    // Concurrent identical requests: one tenant, one 201 (the only answer with a password).
    let request = json!({ "slug": "racer", "name": "Racer" });
    let (r1, r2, r3) = tokio::join!(
        provision(&core, request.clone()),
        provision(&core, request.clone()),
        provision(&core, request.clone())
    );
    let answers = [r1, r2, r3];
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "exactly one 201: {answers:?}");
    for (status, body) in &answers {
        assert!(
            [StatusCode::CREATED, StatusCode::OK, StatusCode::ACCEPTED].contains(status),
            "{status} {body}"
        );
        assert_eq!(body["slug"], "racer");
    }
    let ids: Vec<&Value> = answers.iter().map(|(_, b)| &b["id"]).collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "one tenant id: {ids:?}"
    );
    assert_eq!(core.tenant_total().await, 2);
    let (status, racer) = core.get("/api/v1/tenants/racer", &core.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(racer["status"], "ACTIVE");
    assert_eq!(racer["usage"], json!({ "users": 1, "workspaces": 1 }));
});

on_both_backends!(bad_slugs_are_refused_and_nothing_is_created, |core| {
    let long = "a".repeat(52);
    let huge = "a".repeat(10 * 1024);
    let bad: Vec<&str> = vec![
        "acme'; DROP TABLE tenants;--",
        "acme\"; DROP SCHEMA public CASCADE;--",
        "ac'me",
        "ac\"me",
        "..",
        "../etc",
        "acme/../../x",
        "..%2Fetc",
        "Acme",
        "ACME",
        "\u{430}cme",
        "acm\u{435}",
        "\u{ff41}\u{ff43}\u{ff4d}\u{ff45}",
        "acm\u{e9}",
        "admin",
        "api",
        "www",
        "core",
        "public",
        "system",
        "master",
        &long,
        &huge,
        "",
        "ab",
        "1acme",
        "-acme",
        "acme-",
        "acme--x",
        "acme_x",
        "acme.x",
        "ac me",
        " acme",
        "acme\n",
        "acme\u{0}",
        "tenant_acme",
    ];
    for slug in &bad {
        let (status, body) = provision(&core, json!({ "slug": slug, "name": "Acme" })).await;
        assert_error(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        );
        assert_eq!(
            body["error"]["details"]["field"], "slug",
            "{slug:?}: {body}"
        );
        assert!(
            body.to_string().len() < 2048,
            "the answer does not echo a 10 KB slug back whole"
        );
    }
    // A slug that is not a string, and a missing one.
    for body in [
        json!({ "slug": 42, "name": "Acme" }),
        json!({ "name": "Acme" }),
        json!({ "slug": ["acme"], "name": "Acme" }),
    ] {
        let (status, response) = provision(&core, body.clone()).await;
        assert_error(
            status,
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        );
    }
    // Other fields: names, emails, settings.
    for (body, field) in [
        (json!({ "slug": "acme", "name": "" }), "name"),
        (json!({ "slug": "acme", "name": huge }), "name"),
        (json!({ "slug": "acme", "name": "Ac\u{7}me" }), "name"),
        (
            json!({ "slug": "acme", "name": "Acme", "admin_email": "not an email" }),
            "admin_email",
        ),
        (
            json!({ "slug": "acme", "name": "Acme", "admin_email": "a@b@c" }),
            "admin_email",
        ),
        (
            json!({ "slug": "acme", "name": "Acme", "settings": "x" }),
            "settings",
        ),
        (
            json!({ "slug": "acme", "name": "Acme", "settings": [1, 2] }),
            "settings",
        ),
        (
            json!({ "slug": "acme", "name": "Acme", "settings": { "blob": huge.repeat(7) } }),
            "settings",
        ),
    ] {
        let (status, response) = provision(&core, body).await;
        assert_error(
            status,
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        );
        assert_eq!(response["error"]["details"]["field"], field, "{response}");
    }

    // Nothing was created: no row, no data space of any name.
    assert_eq!(core.tenant_total().await, 0);
    assert_eq!(core.data_spaces().await, Vec::<String>::new());
    for name in [
        "acme", "admin", "api", "www", "core", "public", "system", "master", "etc", "acme-x",
    ] {
        assert!(!core.data_space_exists(name).await, "data space for {name}");
    }
    // The core tables survived the SQL in the slugs.
    let (status, body) = provision(&core, json!({ "slug": "acme", "name": "Acme" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(core.tenant_total().await, 1);
    let spaces = core.data_spaces().await;
    assert!(
        !spaces.is_empty() && spaces.iter().all(|n| n.starts_with("tenant_acme")),
        "{spaces:?}"
    );
    assert!(core.data_space_exists("acme").await);
});

/// For every provisioning step: a server failing right after it answers an error and leaves
/// no row and no data space; a normal server on the same data then provisions the same
/// tenant.
async fn failed_provisioning_leaves_nothing(backend: Backend) {
    for step in ProvisionStep::ALL {
        let Some(core) =
            TestCore::start_with(backend, |c| c.fail_provisioning_after = Some(step)).await
        else {
            return;
        };
        let request = json!({ "slug": "acme-corp", "name": "Acme", "settings": { "a": 1 } });
        let (status, body) = provision(&core, request.clone()).await;
        assert_error(
            status,
            &body,
            StatusCode::SERVICE_UNAVAILABLE,
            "PROVISIONING_FAILED",
        );
        assert!(body.get("initial_admin").is_none(), "{body}");
        assert_eq!(
            core.tenant_total().await,
            0,
            "after failing at {step:?}: a tenant row remains"
        );
        let (status, _) = core.get("/api/v1/tenants/acme-corp", &core.admin).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{step:?}");
        assert!(
            !core.data_space_exists("acme-corp").await,
            "after failing at {step:?}: the data space remains"
        );
        assert_eq!(
            core.data_spaces().await,
            Vec::<String>::new(),
            "after failing at {step:?}"
        );
        // Retrying on the same (faulty) server fails the same way and still leaves nothing.
        let (status, _) = provision(&core, request.clone()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{step:?}");
        assert_eq!(core.tenant_total().await, 0, "{step:?}");

        // A healthy server on the same data provisions it.
        let core = core.restart_with(|_| {}).await;
        let (status, body) = provision(&core, request).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "after a failure at {step:?}: {body}"
        );
        assert_eq!(body["status"], "ACTIVE");
        let (status, body) = core.get("/api/v1/tenants/acme-corp", &core.admin).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body["usage"],
            json!({ "users": 1, "workspaces": 1 }),
            "{step:?}"
        );
        assert!(core.data_space_exists("acme-corp").await);
        core.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_provisioning_leaves_nothing_sqlite() {
    failed_provisioning_leaves_nothing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_provisioning_leaves_nothing_postgres() {
    failed_provisioning_leaves_nothing(Backend::Postgres).await;
}

on_both_backends!(list_filters_and_pages, |core| {
    for (slug, name) in [
        ("alpha", "Alpha Industries"),
        ("bravo", "Bravo Ltd"),
        ("charlie-co", "Charlie Company"),
    ] {
        let (status, body) = provision(&core, json!({ "slug": slug, "name": name })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, page) = core.get("/api/v1/tenants?per_page=2", &core.admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 3);
    assert_eq!(page["page"], 1);
    assert_eq!(page["per_page"], 2);
    assert_eq!(slugs(&page), ["alpha", "bravo"]);
    let (_, page) = core
        .get("/api/v1/tenants?per_page=2&page=2", &core.admin)
        .await;
    assert_eq!(
        (page["total"].as_u64(), page["page"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(slugs(&page), ["charlie-co"]);
    let (_, page) = core
        .get("/api/v1/tenants?per_page=2&page=3", &core.admin)
        .await;
    assert_eq!(page["total"], 3);
    assert!(slugs(&page).is_empty());
    let (_, page) = core.get("/api/v1/tenants", &core.admin).await;
    assert_eq!(
        (page["page"].as_u64(), page["per_page"].as_u64()),
        (Some(1), Some(20)),
        "defaults"
    );
    assert_eq!(slugs(&page), ["alpha", "bravo", "charlie-co"]);

    // Search: slug or name, case-insensitive, LIKE wildcards taken literally.
    for (search, expected) in [
        ("bra", vec!["bravo"]),
        ("COMPANY", vec!["charlie-co"]),
        ("ltd", vec!["bravo"]),
        ("a", vec!["alpha", "bravo", "charlie-co"]),
        ("%", vec![]),
        ("_", vec![]),
        ("zzz", vec![]),
        ("'; DROP TABLE tenants;--", vec![]),
    ] {
        let (status, page) = core
            .call(
                Method::GET,
                &format!("/api/v1/tenants?search={}", urlencode(search)),
                Some(&core.admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{search}: {page}");
        assert_eq!(slugs(&page), expected, "search {search:?}");
        assert_eq!(page["total"], expected.len(), "search {search:?}");
    }

    // Status filter.
    let (status, _) = core
        .post("/api/v1/tenants/bravo/suspend", &core.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = core
        .get("/api/v1/tenants?status=SUSPENDED", &core.admin)
        .await;
    assert_eq!(slugs(&page), ["bravo"]);
    let (_, page) = core
        .get(
            "/api/v1/tenants?status=active&search=a&per_page=1",
            &core.admin,
        )
        .await;
    assert_eq!(page["total"], 2);
    assert_eq!(slugs(&page), ["alpha"]);
    let (_, page) = core
        .get("/api/v1/tenants?status=&search=", &core.admin)
        .await;
    assert_eq!(page["total"], 3, "empty filters are no filters");

    // Bad parameters.
    let too_long = "x".repeat(201);
    for query in [
        "status=BOGUS",
        "status=ACTIVE'--",
        "per_page=0",
        "per_page=101",
        "page=0",
        "page=abc",
        "per_page=-1",
        &format!("search={too_long}"),
    ] {
        let (status, body) = core
            .get(&format!("/api/v1/tenants?{query}"), &core.admin)
            .await;
        assert_error(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        );
    }
});

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

on_both_backends!(details_and_updates, |core| {
    let a = core.tenant("alpha").await;
    let (status, t) = core.get("/api/v1/tenants/alpha", &core.admin).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["usage"], json!({ "users": 1, "workspaces": 1 }));
    assert_eq!(t["status"], "ACTIVE");
    assert!(t.get("initial_admin").is_none_or(Value::is_null));
    // Usage follows the tenant's data.
    let (status, _) = core
        .post(
            "/api/v1/tenants/alpha/users",
            &a.admin_token,
            json!({ "email": "u@alpha.test", "password": "password-123" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for slug in ["one", "two"] {
        let (status, _) = core
            .post(
                "/api/v1/tenants/alpha/workspaces",
                &a.admin_token,
                json!({ "slug": slug, "name": slug }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, t) = core.get("/api/v1/tenants/alpha", &core.admin).await;
    assert_eq!(t["usage"], json!({ "users": 2, "workspaces": 3 }));

    // PATCH name and settings.
    let (status, updated) = core
        .patch(
            "/api/v1/tenants/alpha",
            &core.admin,
            json!({ "name": "Alpha Renamed" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "Alpha Renamed");
    let (status, updated) = core
        .patch(
            "/api/v1/tenants/alpha",
            &core.admin,
            json!({ "settings": { "theme": "dark", "seats": 5 } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        updated["name"], "Alpha Renamed",
        "a PATCH keeps what it does not name"
    );
    let (_, t) = core.get("/api/v1/tenants/alpha", &core.admin).await;
    assert_eq!(t["name"], "Alpha Renamed");
    assert_eq!(t["settings"], json!({ "theme": "dark", "seats": 5 }));
    assert_eq!(t["slug"], "alpha");
    for (body, field) in [
        (json!({ "settings": "dark" }), "settings"),
        (json!({ "settings": [1] }), "settings"),
        (json!({ "settings": 3 }), "settings"),
        (json!({ "name": "" }), "name"),
        (json!({ "name": "x".repeat(201) }), "name"),
    ] {
        let (status, response) = core.patch("/api/v1/tenants/alpha", &core.admin, body).await;
        assert_error(
            status,
            &response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
        );
        assert_eq!(response["error"]["details"]["field"], field);
    }
    let (status, body) = core
        .patch("/api/v1/tenants/alpha", &core.admin, json!({ "name": 5 }))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_FAILED",
    );
    let (_, t) = core.get("/api/v1/tenants/alpha", &core.admin).await;
    assert_eq!(
        t["settings"],
        json!({ "theme": "dark", "seats": 5 }),
        "refused updates change nothing"
    );
    // Unknown tenants.
    for path in [
        "/api/v1/tenants/nosuch",
        "/api/v1/tenants/Alpha",
        "/api/v1/tenants/..%2F..",
    ] {
        let (status, body) = core.get(path, &core.admin).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, body) = core
        .patch(
            "/api/v1/tenants/nosuch",
            &core.admin,
            json!({ "name": "x" }),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");
});

on_both_backends!(suspend_and_soft_delete, |core| {
    let a = core.tenant("alpha").await;
    let workspaces = "/api/v1/tenants/alpha/workspaces";
    let (status, _) = core
        .post(
            workspaces,
            &a.admin_token,
            json!({ "slug": "keep-me", "name": "Keep" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // Suspend / activate.
    let (status, t) = core
        .post("/api/v1/tenants/alpha/suspend", &core.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["status"], "SUSPENDED");
    let (_, t) = core.get("/api/v1/tenants/alpha", &core.admin).await;
    assert_eq!(t["status"], "SUSPENDED");
    let (status, body) = core.get(workspaces, &a.admin_token).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "TENANT_SUSPENDED");
    let (status, t) = core
        .post("/api/v1/tenants/alpha/suspend", &core.admin, json!({}))
        .await;
    assert_eq!(
        (status, &t["status"]),
        (StatusCode::OK, &json!("SUSPENDED")),
        "suspending twice is harmless"
    );
    let (status, t) = core
        .post("/api/v1/tenants/alpha/activate", &core.admin, json!({}))
        .await;
    assert_eq!((status, &t["status"]), (StatusCode::OK, &json!("ACTIVE")));
    let (status, _) = core.get(workspaces, &a.admin_token).await;
    assert_eq!(status, StatusCode::OK);

    // Soft delete: kept but refused; activate restores.
    let (status, t) = core.delete("/api/v1/tenants/alpha", &core.admin).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["status"], "PENDING_DELETION");
    let (_, t) = core.get("/api/v1/tenants/alpha", &core.admin).await;
    assert_eq!(t["status"], "PENDING_DELETION");
    let (_, page) = core
        .get("/api/v1/tenants?status=PENDING_DELETION", &core.admin)
        .await;
    assert_eq!(slugs(&page), ["alpha"]);
    let (status, body) = core.get(workspaces, &a.admin_token).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "TENANT_DELETED");
    let (status, body) = core
        .post(
            "/api/v1/tenants/alpha/users",
            &a.admin_token,
            json!({ "email": "x@alpha.test" }),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "TENANT_DELETED");
    let (status, body) = core
        .login_pair(Some("alpha"), &a.admin_email, &a.admin_password)
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "TENANT_DELETED");
    let (status, body) = core
        .post("/api/v1/tenants/alpha/suspend", &core.admin, json!({}))
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "INVALID_TENANT_STATE");
    assert!(
        core.data_space_exists("alpha").await,
        "a soft delete keeps the data"
    );
    let (status, t) = core
        .post("/api/v1/tenants/alpha/activate", &core.admin, json!({}))
        .await;
    assert_eq!((status, &t["status"]), (StatusCode::OK, &json!("ACTIVE")));
    let (status, page) = core.get(workspaces, &a.admin_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 2, "data survives a soft delete: {page}");
    let (status, _) = core
        .login_pair(Some("alpha"), &a.admin_email, &a.admin_password)
        .await;
    assert_eq!(status, StatusCode::OK);
    // Unknown tenants have no state to change.
    for path in [
        "/api/v1/tenants/nosuch/suspend",
        "/api/v1/tenants/nosuch/activate",
    ] {
        let (status, body) = core.post(path, &core.admin, json!({})).await;
        assert_error(status, &body, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");
    }
    let (status, body) = core.delete("/api/v1/tenants/nosuch", &core.admin).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");
});

on_both_backends!(hard_delete_drops_everything, |core| {
    let a = core.tenant("alpha").await;
    let (status, _) = core
        .post(
            "/api/v1/tenants/alpha/workspaces",
            &a.admin_token,
            json!({ "slug": "old-data", "name": "Old" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, t) = core.get("/api/v1/tenants/alpha", &core.admin).await;
    let old_id = t["id"].as_str().expect("id").to_owned();
    let (status, pair) = core
        .login_pair(Some("alpha"), &a.admin_email, &a.admin_password)
        .await;
    assert_eq!(status, StatusCode::OK);
    let refresh_token = pair["refresh_token"].as_str().expect("refresh").to_owned();
    let (status, created) = core
        .post(
            "/api/v1/auth/tokens",
            &a.admin_token,
            json!({ "name": "ci" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let api_token = created["token"].as_str().expect("token").to_owned();
    // Another tenant is not touched.
    let (status, _) = provision(&core, json!({ "slug": "bravo", "name": "Bravo" })).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, body) = core
        .delete("/api/v1/tenants/alpha?hard=true", &core.admin)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = core.get("/api/v1/tenants/alpha", &core.admin).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");
    let (_, page) = core.get("/api/v1/tenants", &core.admin).await;
    assert_eq!(slugs(&page), ["bravo"]);
    assert!(!core.data_space_exists("alpha").await);
    let spaces = core.data_spaces().await;
    assert!(
        spaces.iter().all(|n| !n.starts_with("tenant_alpha")),
        "{spaces:?}"
    );
    assert!(core.data_space_exists("bravo").await);
    let (status, body) = core
        .delete("/api/v1/tenants/alpha?hard=true", &core.admin)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");

    // Its credentials are refused: access token on tenant routes, API token, refresh
    // token, password.
    let (status, body) = core
        .get("/api/v1/tenants/alpha/workspaces", &a.admin_token)
        .await;
    assert!(
        [StatusCode::UNAUTHORIZED, StatusCode::NOT_FOUND].contains(&status),
        "{status} {body}"
    );
    let (status, body) = core.get("/api/v1/auth/me", &a.admin_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = core.get("/api/v1/auth/me", &api_token).await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
    let (status, body) = core
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({ "refresh_token": refresh_token })),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "old refresh token after hard delete: {body}"
    );
    let (status, body) = core
        .login_pair(Some("alpha"), &a.admin_email, &a.admin_password)
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "INVALID_CREDENTIALS",
    );

    // The slug can be provisioned again, afresh.
    let (status, fresh) =
        provision(&core, json!({ "slug": "alpha", "name": "Tenant alpha" })).await;
    assert_eq!(status, StatusCode::CREATED, "{fresh}");
    assert_ne!(fresh["id"], old_id.as_str());
    let (_, t) = core.get("/api/v1/tenants/alpha", &core.admin).await;
    assert_eq!(
        t["usage"],
        json!({ "users": 1, "workspaces": 1 }),
        "nothing of the old tenant: {t}"
    );
    assert_eq!(t["status"], "ACTIVE");
    let new_password = fresh["initial_admin"]["password"]
        .as_str()
        .expect("password");
    assert_ne!(new_password, a.admin_password);
    let (status, _) = core
        .login_pair(Some("alpha"), &a.admin_email, &a.admin_password)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old password is gone with the old tenant"
    );
    let token = core
        .login(Some("alpha"), &a.admin_email, new_password)
        .await;
    let (status, page) = core.get("/api/v1/tenants/alpha/workspaces", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(slugs(&page), ["default"]);
    let (status, body) = core
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({ "refresh_token": refresh_token })),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "old refresh token after re-provisioning: {body}"
    );
    let (status, _) = core.get("/api/v1/auth/me", &api_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
});

on_both_backends!(hard_delete_refuses_old_access_tokens_everywhere, |core| {
    let a = core.tenant("alpha").await;
    let (status, body) = core
        .delete("/api/v1/tenants/alpha?hard=true", &core.admin)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_refused_everywhere(&core, &a.admin_token, "old access token after hard delete").await;
    let (status, fresh) =
        provision(&core, json!({ "slug": "alpha", "name": "Tenant alpha" })).await;
    assert_eq!(status, StatusCode::CREATED, "{fresh}");
    assert_refused_everywhere(
        &core,
        &a.admin_token,
        "old access token after re-provisioning",
    )
    .await;
});

/// `token` must be refused by every kind of route: caller-scoped ones with 401, tenant routes
/// with 401/403/404.
async fn assert_refused_everywhere(core: &TestCore, token: &str, what: &str) {
    // Minting a long-lived API token is the worst thing a dead credential could do.
    let (status, body) = core
        .post(
            "/api/v1/auth/tokens",
            token,
            json!({ "name": "after-delete" }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{what}: POST /auth/tokens answered {body}"
    );
    let (status, body) = core.get("/api/v1/auth/me", token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{what}: GET /auth/me answered {body}"
    );
    let (status, body) = core.get("/api/v1/auth/tokens", token).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{what}: GET /auth/tokens answered {body}"
    );
    let (status, body) = core.get("/api/v1/tenants/alpha/workspaces", token).await;
    assert!(
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND
        ]
        .contains(&status),
        "{what}: tenant route answered {status} {body}"
    );
}

/// Start-up repair through the library: a data space without a tenant row, and an abandoned
/// provisioning (row `PROVISIONING`, data space created), are removed; real tenants stay.
async fn restart_removes_stray_data_spaces(backend: Backend) {
    use plexica_core_api::db::core::TenantRecord;
    use plexica_core_api::slug::TenantSlug;
    use plexica_core_api::{Config, CoreApi};
    use plexica_sdk::api::core::TenantStatus;

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::embedded(dir.path());
    config.key_encryption =
        plexica_core_api::auth::sealing::KeySource::File(dir.path().join("kek"));
    if backend == Backend::Postgres {
        let Some(url) = plexica_testkit::postgres_database("plexica_core").await else {
            return;
        };
        config.database_url = url;
    }
    let database_url = config.database_url.clone();
    let (api, _) = CoreApi::open(config.clone(), Some(ADMIN_PASSWORD.to_owned()))
        .await
        .expect("first open");
    let state = api.state();
    // A real tenant.
    let request = plexica_core_api::provision::NewTenant {
        slug: TenantSlug::parse("alpha").expect("slug"),
        name: "Alpha".to_owned(),
        admin_email: "admin@alpha.test".to_owned(),
        settings: json!({}),
    };
    let outcome = state
        .provisioner
        .provision(&request, &plexica_core_api::events::Cause::system())
        .await
        .expect("provision");
    assert!(
        matches!(
            outcome,
            plexica_core_api::provision::Provisioned::Created(..)
        ),
        "{outcome:?}"
    );
    // An abandoned provisioning, two hours old, with its data space.
    let stale = TenantSlug::parse("stale").expect("slug");
    let two_hours_ago = plexica_sdk::api::time::now_ms() - 2 * 3600 * 1000;
    let inserted = state
        .core
        .insert_tenant(&TenantRecord {
            id: "tn_stale".to_owned(),
            slug: "stale".to_owned(),
            name: "Stale".to_owned(),
            status: TenantStatus::Provisioning,
            settings: json!({}),
            request_fingerprint: "x".to_owned(),
            created_at: two_hours_ago,
            updated_at: two_hours_ago,
        })
        .await
        .expect("insert");
    assert!(inserted);
    state
        .tenant_dbs
        .spaces()
        .create(&stale)
        .await
        .expect("create stale data space");
    state.tenant_dbs.close_all().await;
    state.core.close().await;
    drop(api);

    // A stray data space without a tenant row.
    match backend {
        Backend::Sqlite => {
            std::fs::write(dir.path().join("tenants").join("tenant_ghost.db"), b"")
                .expect("ghost file");
            std::fs::write(dir.path().join("tenants").join("tenant_ghost.db-wal"), b"")
                .expect("ghost wal");
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&database_url)
                .await
                .expect("pg");
            sqlx::query("CREATE SCHEMA tenant_ghost")
                .execute(&mut conn)
                .await
                .expect("ghost schema");
            sqlx::query("CREATE TABLE tenant_ghost.users (id TEXT)")
                .execute(&mut conn)
                .await
                .expect("ghost table");
        }
    }
    let before = common::data_spaces(backend, dir.path(), &database_url).await;
    assert!(
        before.iter().any(|n| n.starts_with("tenant_ghost")),
        "{before:?}"
    );
    assert!(
        before.iter().any(|n| n.starts_with("tenant_stale")),
        "{before:?}"
    );

    let (api, generated) = CoreApi::open(config, Some("another password".to_owned()))
        .await
        .expect("reopen");
    assert!(generated.is_none());
    let after = common::data_spaces(backend, dir.path(), &database_url).await;
    assert!(
        after.iter().all(|n| !n.starts_with("tenant_ghost")),
        "the stray data space is gone: {after:?}"
    );
    assert!(
        after.iter().all(|n| !n.starts_with("tenant_stale")),
        "the abandoned one too: {after:?}"
    );
    assert!(
        after
            .iter()
            .any(|n| n == "tenant_alpha" || n == "tenant_alpha.db"),
        "alpha stays: {after:?}"
    );
    let state = api.state();
    assert!(
        state.core.tenant("stale").await.expect("query").is_none(),
        "the abandoned row is gone"
    );
    let alpha = state
        .core
        .tenant("alpha")
        .await
        .expect("query")
        .expect("alpha row");
    assert_eq!(alpha.status, TenantStatus::Active);
    let db = state
        .tenant_dbs
        .get(&TenantSlug::parse("alpha").expect("slug"))
        .await
        .expect("alpha db");
    assert_eq!(db.usage().await.expect("usage"), (1, 1));
    // The bootstrap password is only used on an empty database.
    let admin = state
        .core
        .platform_user_by_email("admin")
        .await
        .expect("query")
        .expect("admin");
    assert!(
        plexica_core_api::auth::passwords::verify(
            ADMIN_PASSWORD.to_owned(),
            Some(admin.password_hash)
        )
        .await
    );
    state.tenant_dbs.close_all().await;
    state.core.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_removes_stray_data_spaces_sqlite() {
    restart_removes_stray_data_spaces(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_removes_stray_data_spaces_postgres() {
    restart_removes_stray_data_spaces(Backend::Postgres).await;
}

/// A tenant whose data space lacks the tenant migrations (one provisioned by an older
/// version) is brought up to date at the next start-up.
async fn start_up_migrates_every_tenant(backend: Backend) {
    use plexica_core_api::db::core::TenantRecord;
    use plexica_core_api::slug::TenantSlug;
    use plexica_core_api::{Config, CoreApi};
    use plexica_sdk::api::core::TenantStatus;

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::embedded(dir.path());
    config.key_encryption =
        plexica_core_api::auth::sealing::KeySource::File(dir.path().join("kek"));
    if backend == Backend::Postgres {
        let Some(url) = plexica_testkit::postgres_database("plexica_core").await else {
            return;
        };
        config.database_url = url;
    }
    let (api, _) = CoreApi::open(config.clone(), Some(ADMIN_PASSWORD.to_owned()))
        .await
        .expect("first open");
    let state = api.state();
    let slug = TenantSlug::parse("legacy").expect("slug");
    state
        .tenant_dbs
        .spaces()
        .create(&slug)
        .await
        .expect("empty data space");
    let now = plexica_sdk::api::time::now_ms();
    let inserted = state
        .core
        .insert_tenant(&TenantRecord {
            id: "tn_legacy".to_owned(),
            slug: "legacy".to_owned(),
            name: "Legacy".to_owned(),
            status: TenantStatus::Active,
            settings: json!({}),
            request_fingerprint: "old".to_owned(),
            created_at: now,
            updated_at: now,
        })
        .await
        .expect("row");
    assert!(inserted);
    let before = state
        .tenant_dbs
        .get(&slug)
        .await
        .expect("pool")
        .usage()
        .await;
    assert!(before.is_err(), "no tables yet: {before:?}");
    state.tenant_dbs.close_all().await;
    state.core.close().await;
    drop(api);

    let (api, _) = CoreApi::open(config, Some(ADMIN_PASSWORD.to_owned()))
        .await
        .expect("second open");
    let usage = api
        .state()
        .tenant_dbs
        .get(&slug)
        .await
        .expect("pool")
        .usage()
        .await
        .expect("the tenant tables exist after start-up");
    assert_eq!(usage, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_migrates_every_tenant_sqlite() {
    start_up_migrates_every_tenant(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_migrates_every_tenant_postgres() {
    start_up_migrates_every_tenant(Backend::Postgres).await;
}

/// Waits (up to `within`) until `check` holds; returns how long that took.
async fn holds_within(
    within: std::time::Duration,
    mut check: impl AsyncFnMut() -> bool,
) -> Option<std::time::Duration> {
    let started = std::time::Instant::now();
    while started.elapsed() < within {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}

/// Two replicas on one PostgreSQL database whose caches would keep a stale view for a minute:
/// a role change, a removed workspace member, a revoked session and a suspension made on one
/// hold on the other within a second, because the change is pushed (`NOTIFY`), not waited out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_replica_holds_on_the_other_within_a_second() {
    use std::time::Duration;
    let slow = |c: &mut plexica_core_api::Config| {
        c.cache_ttl = Duration::from_secs(60);
        c.revocation_refresh = Duration::from_secs(60);
    };
    let Some(a) = TestCore::start_with(Backend::Postgres, slow).await else {
        return;
    };
    let b = a.replica(slow).await;
    // The listeners start with the servers: give them a moment to be listening.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tenant = a.tenant("agreed").await;
    let workspaces = "/api/v1/tenants/agreed/workspaces";
    let users = "/api/v1/tenants/agreed/users";
    let (id, member) = a.user(&tenant, "m@agreed.test", &["member"]).await;
    // B caches the member's permissions and the tenant.
    assert_eq!(b.get(users, &member).await.0, StatusCode::OK);

    // A role change on A: B refuses what the role gave within a second.
    let (status, body) = a
        .call(
            Method::PUT,
            &format!("/api/v1/tenants/agreed/users/{id}/roles"),
            Some(&tenant.admin_token),
            Some(json!({ "roles": ["guest"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let took = holds_within(Duration::from_secs(1), async || {
        b.get(users, &member).await.0 == StatusCode::FORBIDDEN
    })
    .await;
    assert!(took.is_some(), "the role change did not reach B within 1 s");

    // A member removed from a workspace on A: B refuses them the workspace within a second.
    let (status, body) = a
        .post(
            workspaces,
            &tenant.admin_token,
            json!({ "slug": "deals", "name": "Deals" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (other, viewer) = a.user(&tenant, "v@agreed.test", &["member"]).await;
    let members = format!("{workspaces}/deals/members");
    let (status, body) = a
        .post(
            &members,
            &tenant.admin_token,
            json!({ "user_id": other, "role": "viewer" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(b.get(&members, &viewer).await.0, StatusCode::OK);
    let (status, body) = a
        .delete(&format!("{members}/{other}"), &tenant.admin_token)
        .await;
    assert!(status.is_success(), "{status}: {body}");
    let took = holds_within(Duration::from_secs(1), async || {
        b.get(&members, &viewer).await.0 == StatusCode::NOT_FOUND
    })
    .await;
    assert!(took.is_some(), "the removal did not reach B within 1 s");

    // A session revoked on A: B refuses its access token within a second.
    let session = a
        .login(Some("agreed"), &tenant.admin_email, &tenant.admin_password)
        .await;
    assert_eq!(b.get("/api/v1/auth/me", &session).await.0, StatusCode::OK);
    let (status, _) = a.post("/api/v1/auth/logout", &session, json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let took = holds_within(Duration::from_secs(1), async || {
        b.get("/api/v1/auth/me", &session).await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(took.is_some(), "the revocation did not reach B within 1 s");

    // A suspension on A: B refuses the tenant's users within a second.
    assert_eq!(
        b.get(workspaces, &tenant.admin_token).await.0,
        StatusCode::OK
    );
    let (status, _) = a
        .post("/api/v1/tenants/agreed/suspend", &a.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let took = holds_within(Duration::from_secs(1), async || {
        b.get(workspaces, &tenant.admin_token).await.0 == StatusCode::FORBIDDEN
    })
    .await;
    assert!(took.is_some(), "the suspension did not reach B within 1 s");
}

/// Plugin placement: every replica runs every active backend. A plugin activated on replica A
/// starts on B too (B serves its gateway calls), each replica pushes events to its own copy
/// (each event once in all), and a deactivation on A stops B's copy within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replica_runs_every_active_backend() {
    use std::time::Duration;
    let registry = common::registry::TestRegistry::start(|_| {}).await;
    let url = registry.url.clone();
    let config = |c: &mut plexica_core_api::Config| {
        c.registry_url = Some(url.clone());
        c.trust_registry_keys = true;
        c.cache_ttl = Duration::from_secs(60);
    };
    let Some(a) = TestCore::start_with(Backend::Postgres, config).await else {
        return;
    };
    let b = a.replica(config).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    registry
        .publish_files(&common::registry::borrowed(
            &common::registry::recording_plugin("rec"),
        ))
        .await;
    let tenant = a.tenant("placed").await;
    let ping = "/api/v1/tenants/placed/gateway/rec/rec.api/ping";
    // B caches that nothing is installed.
    assert_eq!(
        b.get(ping, &tenant.admin_token).await.0,
        StatusCode::NOT_FOUND
    );

    let (status, body) = a
        .post(
            "/api/v1/tenants/placed/plugins",
            &tenant.admin_token,
            json!({ "id": "rec", "activate": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(a.get(ping, &tenant.admin_token).await.0, StatusCode::OK);
    // B fetches the package from the registry and starts its own copy.
    let took = holds_within(Duration::from_secs(30), async || {
        b.get(ping, &tenant.admin_token).await.0 == StatusCode::OK
    })
    .await;
    assert!(took.is_some(), "B never ran its copy of the backend");
    let b_state = b.api.state();
    let a_state = a.api.state();
    let (b_copy, a_copy) = (
        b_state
            .plugins
            .targets
            .get("placed", "rec")
            .expect("B's copy"),
        a_state
            .plugins
            .targets
            .get("placed", "rec")
            .expect("A's copy"),
    );
    assert_ne!(
        b_copy.address, a_copy.address,
        "two copies, one per replica"
    );

    // Workspaces made through both replicas: each event reaches one copy, once.
    for (i, core) in [&a, &b, &a, &b].into_iter().enumerate() {
        let (status, body) = core
            .post(
                "/api/v1/tenants/placed/workspaces",
                &tenant.admin_token,
                json!({ "slug": format!("ws-{i}"), "name": format!("WS {i}") }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let recorded = || {
        let mut ids = common::registry::recording_events(a.dir.path());
        ids.extend(common::registry::recording_events(b.dir.path()));
        ids
    };
    let took = holds_within(Duration::from_secs(20), async || recorded().len() >= 4).await;
    assert!(took.is_some(), "events recorded: {:?}", recorded());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut ids = recorded();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!((total, ids.len()), (4, 4), "each event once: {ids:?}");

    // Deactivated on A: B refuses within a second and stops its copy.
    let (status, body) = a
        .post(
            "/api/v1/tenants/placed/plugins/rec/deactivate",
            &tenant.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let took = holds_within(Duration::from_secs(1), async || {
        b.get(ping, &tenant.admin_token).await.0 == StatusCode::SERVICE_UNAVAILABLE
            && b_state.plugins.targets.get("placed", "rec").is_none()
    })
    .await;
    assert!(
        took.is_some(),
        "the deactivation did not reach B within 1 s"
    );
}
