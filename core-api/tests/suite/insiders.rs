//! Insiders (docs/security.md, "Accounts and grants"): a lesser role, or a credential narrower
//! than its user, tries to grant, change or remove more than it holds; credentials that should
//! have ended are tried again; a suspended tenant's user tries to mint a token. Each attempt is
//! refused precisely, and the test checks that nothing changed.

use crate::common;

use common::assert_error;
use plexica_core_api::limits::RateLimit;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// An API token of the holder of `session`, limited to `scopes`.
async fn scoped_token(core: &common::TestCore, session: &str, scopes: &[&str]) -> String {
    let (status, created) = core
        .post(
            "/api/v1/auth/tokens",
            session,
            json!({ "name": "scoped", "scopes": scopes }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["token"].as_str().expect("token").to_owned()
}

/// The emails of tenant `slug`'s users.
async fn emails(core: &common::TestCore, slug: &str, token: &str) -> Vec<String> {
    let (status, users) = core
        .get(&format!("/api/v1/tenants/{slug}/users?per_page=100"), token)
        .await;
    assert_eq!(status, StatusCode::OK, "{users}");
    users["data"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["email"].as_str().map(str::to_owned))
        .collect()
}

on_both_backends!(no_one_grants_or_changes_what_they_do_not_hold, |core| {
    let a = core.tenant("alpha").await;
    let admin_id = core.me_id(&a.admin_token).await;
    // A custom role that manages users, and nothing else.
    let (status, body) = core
        .post(
            "/api/v1/tenants/alpha/roles",
            &a.admin_token,
            json!({ "name": "user-admin", "permissions": ["users:read", "users:write"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, ursula) = core.user(&a, "ursula@alpha.test", &["user-admin"]).await;

    // She cannot take over the tenant admin: not their password, not their account.
    let (status, body) = core
        .patch(
            &format!("/api/v1/tenants/alpha/users/{admin_id}"),
            &ursula,
            json!({ "password": "taken-over-123" }),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    assert_eq!(body["error"]["details"]["held"], "*", "{body}");
    let (status, body) = core
        .delete(&format!("/api/v1/tenants/alpha/users/{admin_id}"), &ursula)
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    let (status, _) = core
        .login_pair(Some("alpha"), &a.admin_email, &a.admin_password)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the admin's password did not change"
    );
    // Someone who holds no more than she does is hers to manage.
    let (carl_id, _) = core.user(&a, "carl@alpha.test", &[]).await;
    let (status, body) = core
        .patch(
            &format!("/api/v1/tenants/alpha/users/{carl_id}"),
            &ursula,
            json!({ "name": "Carl" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The admin's API token scoped to `users:write` cannot make an admin, nor a user whose
    // role holds what the token does not carry.
    let users_only = scoped_token(&core, &a.admin_token, &["users:write"]).await;
    for (email, role) in [
        ("mallory@alpha.test", "admin"),
        ("mike@alpha.test", "guest"),
    ] {
        let (status, body) = core
            .post(
                "/api/v1/tenants/alpha/users",
                &users_only,
                json!({ "email": email, "password": "password-123", "roles": [role] }),
            )
            .await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    }
    let wider = scoped_token(&core, &a.admin_token, &["users:write", "workspaces:read"]).await;
    let (status, body) = core
        .post(
            "/api/v1/tenants/alpha/users",
            &wider,
            json!({ "email": "gus@alpha.test", "password": "password-123", "roles": ["guest"] }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a guest holds only what the token carries: {body}"
    );
    let known = emails(&core, "alpha", &a.admin_token).await;
    assert!(
        !known
            .iter()
            .any(|e| e.starts_with("mallory") || e.starts_with("mike")),
        "{known:?}"
    );

    // A token scoped to `roles:write` cannot make a role granting more than it carries, nor
    // give one.
    let roles_only = scoped_token(&core, &a.admin_token, &["roles:write"]).await;
    let (status, body) = core
        .post(
            "/api/v1/tenants/alpha/roles",
            &roles_only,
            json!({ "name": "root", "permissions": ["*"] }),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    let (status, body) = core
        .call(
            Method::PUT,
            &format!("/api/v1/tenants/alpha/users/{carl_id}/roles"),
            Some(&roles_only),
            Some(json!({ "roles": ["admin"] })),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "FORBIDDEN");
    let (_, roles) = core
        .get("/api/v1/tenants/alpha/roles", &a.admin_token)
        .await;
    assert!(!roles.to_string().contains("\"root\""), "{roles}");
    let (_, carl) = core
        .get(
            &format!("/api/v1/tenants/alpha/users/{carl_id}"),
            &a.admin_token,
        )
        .await;
    assert_eq!(carl["roles"], json!([]), "{carl}");

    // The tenant admin's shortcut to every workspace needs `workspaces:admin` in the token too.
    let (_, wendy) = core.user(&a, "wendy@alpha.test", &["member"]).await;
    let (status, body) = core
        .post(
            "/api/v1/tenants/alpha/workspaces",
            &wendy,
            json!({ "slug": "wendys", "name": "Wendy's" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let workspaces_only = scoped_token(
        &core,
        &a.admin_token,
        &["workspaces:read", "workspaces:write"],
    )
    .await;
    let (status, body) = core
        .post(
            "/api/v1/tenants/alpha/workspaces/wendys/members",
            &workspaces_only,
            json!({ "user_id": carl_id, "role": "admin" }),
        )
        .await;
    assert!(
        status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
        "{status} {body}"
    );
    let (_, members) = core
        .get("/api/v1/tenants/alpha/workspaces/wendys/members", &wendy)
        .await;
    assert!(!members.to_string().contains(&carl_id), "{members}");
    // With the session (everything the admin holds), the shortcut stands.
    let (status, body) = core
        .post(
            "/api/v1/tenants/alpha/workspaces/wendys/members",
            &a.admin_token,
            json!({ "user_id": carl_id, "role": "viewer" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
});

on_both_backends!(a_new_password_ends_the_users_other_credentials, |core| {
    let a = core.tenant("alpha").await;
    let (bob_id, _) = core.user(&a, "bob@alpha.test", &["member"]).await;
    let (status, first) = core
        .login_pair(Some("alpha"), "bob@alpha.test", "password-123")
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, second) = core
        .login_pair(Some("alpha"), "bob@alpha.test", "password-123")
        .await;
    let session = first["access_token"].as_str().expect("access").to_owned();
    let api_token = scoped_token(&core, &session, &["workspaces:read"]).await;
    let (status, body) = core
        .patch(
            &format!("/api/v1/tenants/alpha/users/{bob_id}"),
            &a.admin_token,
            json!({ "password": "new-password-456" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["credentials_revoked"], true, "{body}");
    for (label, token) in [
        ("first session", session.as_str()),
        (
            "second session",
            second["access_token"].as_str().expect("access"),
        ),
        ("API token", api_token.as_str()),
    ] {
        let (status, body) = core.get("/api/v1/auth/me", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{label}: {body}");
    }
    for pair in [&first, &second] {
        let refresh = pair["refresh_token"].as_str().expect("refresh");
        let (status, body) = core
            .call(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({ "refresh_token": refresh })),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, _) = core
        .login_pair(Some("alpha"), "bob@alpha.test", "new-password-456")
        .await;
    assert_eq!(status, StatusCode::OK);

    // Changing one's own password keeps the session it was done with, and only that one.
    let (_, other) = core
        .login_pair(Some("alpha"), &a.admin_email, &a.admin_password)
        .await;
    let admin_id = core.me_id(&a.admin_token).await;
    let (status, body) = core
        .patch(
            &format!("/api/v1/tenants/alpha/users/{admin_id}"),
            &a.admin_token,
            json!({ "password": "admin-new-789" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = core.get("/api/v1/auth/me", &a.admin_token).await;
    assert_eq!(status, StatusCode::OK, "the session that changed it");
    let other = other["access_token"].as_str().expect("access");
    let (status, _) = core.get("/api/v1/auth/me", other).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "another session");
});

on_both_backends!(a_suspended_tenants_users_only_read_who_they_are, |core| {
    let a = core.tenant("alpha").await;
    let (status, _) = core
        .post("/api/v1/tenants/alpha/suspend", &core.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, me) = core.get("/api/v1/auth/me", &a.admin_token).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (status, body) = core
        .post(
            "/api/v1/auth/tokens",
            &a.admin_token,
            json!({ "name": "for-later", "expires_in_seconds": 31_536_000 }),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "TENANT_SUSPENDED");
    let (status, _) = core
        .post("/api/v1/tenants/alpha/activate", &core.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, tokens) = core.get("/api/v1/auth/tokens", &a.admin_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tokens, json!([]), "no token was minted while suspended");
});

on_both_backends!(oversized_json_bodies_answer_413, |core| {
    let a = core.tenant("alpha").await;
    let name = "x".repeat(3 << 20);
    let (status, body) = core
        .post(
            "/api/v1/tenants/alpha/workspaces",
            &a.admin_token,
            json!({ "slug": "big", "name": name }),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
    );
});

// Failed logins cost the same whoever they name: an unknown account, one whose password was
// generated, one whose password was chosen. Every stored hash has the dummy's cost, and the
// medians of interleaved failed logins stay within a factor of 1.5 of each other (before,
// generated passwords answered about four times faster).
on_both_backends!(
    failed_logins_cost_the_same_whoever_they_name,
    config = |c: &mut plexica_core_api::Config| {
        c.limits.login_per_account = RateLimit::per_second(1_000);
        c.limits.login_per_address = RateLimit::per_second(1_000);
    },
    |core| {
        let a = core.tenant("alpha").await;
        let (status, body) = core
            .post(
                "/api/v1/tenants/alpha/users",
                &a.admin_token,
                json!({ "email": "generated@alpha.test" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        core.user(&a, "chosen@alpha.test", &[]).await;
        for email in [
            a.admin_email.as_str(),
            "generated@alpha.test",
            "chosen@alpha.test",
        ] {
            let hash = core.stored_password_hash("alpha", email).await;
            assert!(
                hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
                "{email}: {hash}"
            );
        }
        let accounts = [
            "nobody@alpha.test",
            "generated@alpha.test",
            "chosen@alpha.test",
        ];
        let mut times: Vec<Vec<std::time::Duration>> = vec![Vec::new(); accounts.len()];
        for round in 0..26 {
            for (i, email) in accounts.iter().enumerate() {
                let started = std::time::Instant::now();
                let (status, _) = core
                    .login_pair(Some("alpha"), email, "not-the-password")
                    .await;
                let took = started.elapsed();
                assert_eq!(status, StatusCode::UNAUTHORIZED);
                // The first round warms the caches.
                if round > 0 {
                    times[i].push(took);
                }
            }
        }
        let medians: Vec<f64> = times
            .iter_mut()
            .map(|t| {
                t.sort();
                t[t.len() / 2].as_secs_f64()
            })
            .collect();
        let (low, high) = medians
            .iter()
            .fold((f64::MAX, 0.0_f64), |(l, h), m| (l.min(*m), h.max(*m)));
        assert!(high / low < 1.5, "medians {medians:?} for {accounts:?}");
    }
);
