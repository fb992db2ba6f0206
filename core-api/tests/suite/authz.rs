//! Every route of the route table, generated: anonymous callers get 401, callers of another
//! tenant 403/404 and never that tenant's data, callers without the permission or workspace
//! role 403. A route added to the table is covered without touching this file.

use crate::common;

use plexica_core_api::routes::guard::AuthRule;
use plexica_core_api::routes::{RouteSpec, table};
use plexica_sdk::api::core::WorkspaceRole;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// The path of `spec` with its placeholders filled for tenant `t`.
fn fill(spec: &RouteSpec, t: &str, user: &str, token: &str) -> String {
    spec.path
        .replace("{t}", t)
        .replace("{ws}", "default")
        .replace("{user}", user)
        .replace("{plugin}", "crm")
        .replace("{service}", "crm.contacts")
        .replace("{*path}", "contacts")
        .replace("{namespace}", "crm.stats")
        .replace("{key}", "k")
        .replace("{version}", "1.0.0")
        .replace(
            "{id}",
            if spec.path.contains("/auth/tokens/") {
                token
            } else if spec.path.starts_with("/plugins/") {
                "crm"
            } else {
                user
            },
        )
}

fn body_for(method: &Method) -> Option<serde_json::Value> {
    (method == Method::POST || method == Method::PUT || method == Method::PATCH).then(|| json!({}))
}

on_both_backends!(every_route_refuses_outsiders, |core| {
    let a = core.tenant("alpha").await;
    let b = core.tenant("bravo").await;
    // In alpha: a guest (workspaces:read only) who is a viewer of `default`, and a member.
    let (guest_id, guest) = core.user(&a, "guest@alpha.test", &["guest"]).await;
    let (_, member) = core.user(&a, "member@alpha.test", &["member"]).await;
    let (status, _) = core
        .post(
            "/api/v1/tenants/alpha/workspaces/default/members",
            &a.admin_token,
            json!({ "user_id": guest_id, "role": "viewer" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, token) = core
        .post(
            "/api/v1/auth/tokens",
            &a.admin_token,
            json!({ "name": "ci" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let token_id = token["id"].as_str().expect("id").to_owned();
    let alpha_secrets = [
        a.admin_email.as_str(),
        "guest@alpha.test",
        "member@alpha.test",
        guest_id.as_str(),
    ];

    let now = plexica_sdk::api::time::now_ms();
    let store = &core.api.state().core;
    let alpha_install = plexica_core_api::auth::issue_install_token(store, "alpha", "crm", now)
        .await
        .expect("install token");
    let bravo_install = plexica_core_api::auth::issue_install_token(store, "bravo", "crm", now)
        .await
        .expect("install token");
    let routes = table();
    assert!(routes.len() >= 40, "the table lists every route");
    let mut checked = 0;
    for spec in &routes {
        let path = fill(spec, "alpha", &guest_id, &token_id);
        let method = Method::from_bytes(spec.method.as_str().as_bytes()).expect("method");
        let body = body_for(&method);
        if spec.rule == AuthRule::Public {
            continue;
        }
        // Anonymous.
        let (status, response) = core.call(method.clone(), &path, None, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "anonymous {} {path}: {response}",
            spec.method
        );
        assert_eq!(response["error"]["code"], "UNAUTHENTICATED", "{path}");
        // A malformed bearer token.
        let (status, _) = core
            .call(method.clone(), &path, Some("not-a-token"), body.clone())
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "garbage token {} {path}",
            spec.method
        );
        if spec.path == "/api/v1/auth/logout" {
            // Acts on the caller's own session only; tested in `auth.rs`.
            checked += 1;
            continue;
        }
        // The admin of another tenant.
        let (status, response) = core
            .call(method.clone(), &path, Some(&b.admin_token), body.clone())
            .await;
        let text = response.to_string();
        for secret in alpha_secrets {
            assert!(
                !text.contains(secret),
                "{} {path} leaked alpha data to bravo: {text}",
                spec.method
            );
        }
        match spec.rule {
            AuthRule::SuperAdmin => {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "bravo admin {} {path}: {response}",
                    spec.method
                );
            }
            AuthRule::Tenant(_) | AuthRule::Workspace(..) | AuthRule::Plugin | AuthRule::Member => {
                assert!(
                    status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                    "bravo admin {} {path}: {status} {response}",
                    spec.method
                );
            }
            AuthRule::Authenticated | AuthRule::Identity => {
                // Caller-scoped routes: another user's token id is not found.
                if spec.path.contains("{id}") {
                    assert_eq!(
                        status,
                        StatusCode::NOT_FOUND,
                        "{} {path}: {response}",
                        spec.method
                    );
                }
            }
            AuthRule::Public => {}
        }
        // Plugin installs: alpha's own install token opens no user route; bravo's opens no
        // route of alpha's.
        let (status, response) = core
            .call(method.clone(), &path, Some(&alpha_install), body.clone())
            .await;
        // (`Member` routes — discovery, the gateway — are for plugins of the tenant as well.)
        if spec.rule != AuthRule::Plugin && spec.rule != AuthRule::Member {
            assert!(
                [
                    StatusCode::UNAUTHORIZED,
                    StatusCode::FORBIDDEN,
                    StatusCode::NOT_FOUND
                ]
                .contains(&status),
                "alpha install token {} {path}: {status} {response}",
                spec.method
            );
        }
        let (status, response) = core
            .call(method.clone(), &path, Some(&bravo_install), body.clone())
            .await;
        assert!(
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::FORBIDDEN,
                StatusCode::NOT_FOUND
            ]
            .contains(&status),
            "bravo install token {} {path}: {status} {response}",
            spec.method
        );
        // Insufficient rights inside alpha.
        match spec.rule {
            AuthRule::Plugin => {
                let (status, response) = core
                    .call(method.clone(), &path, Some(&a.admin_token), body.clone())
                    .await;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "a user on a plugin route {} {path}: {response}",
                    spec.method
                );
            }
            AuthRule::SuperAdmin => {
                let (status, response) = core
                    .call(method.clone(), &path, Some(&a.admin_token), body.clone())
                    .await;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "tenant admin {} {path}: {response}",
                    spec.method
                );
            }
            AuthRule::Tenant(permission) if permission != "workspaces:read" => {
                let (status, response) = core
                    .call(method.clone(), &path, Some(&guest), body.clone())
                    .await;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "guest {} {path}: {response}",
                    spec.method
                );
                assert_eq!(response["error"]["details"]["required"], permission);
            }
            AuthRule::Workspace(_, role) if role > WorkspaceRole::Viewer => {
                let (status, response) = core
                    .call(method.clone(), &path, Some(&guest), body.clone())
                    .await;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "viewer {} {path}: {response}",
                    spec.method
                );
                // A tenant member who is not in the workspace does not even see it.
                let (status, response) = core
                    .call(method.clone(), &path, Some(&member), body.clone())
                    .await;
                assert_eq!(
                    status,
                    StatusCode::NOT_FOUND,
                    "non-member {} {path}: {response}",
                    spec.method
                );
            }
            _ => {}
        }
        checked += 1;
    }
    let guarded = routes.iter().filter(|s| s.rule != AuthRule::Public).count();
    assert_eq!(checked, guarded, "every guarded route was checked");
});

on_both_backends!(suspended_tenant_is_refused, |core| {
    let a = core.tenant("alpha").await;
    let (status, _) = core
        .post("/api/v1/tenants/alpha/suspend", &core.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = core
        .get("/api/v1/tenants/alpha/workspaces", &a.admin_token)
        .await;
    common::assert_error(status, &body, StatusCode::FORBIDDEN, "TENANT_SUSPENDED");
    let (status, body) = core
        .login_pair(Some("alpha"), &a.admin_email, &a.admin_password)
        .await;
    common::assert_error(status, &body, StatusCode::FORBIDDEN, "TENANT_SUSPENDED");
    let (status, _) = core
        .post("/api/v1/tenants/alpha/activate", &core.admin, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = core
        .get("/api/v1/tenants/alpha/workspaces", &a.admin_token)
        .await;
    assert_eq!(status, StatusCode::OK);
});
