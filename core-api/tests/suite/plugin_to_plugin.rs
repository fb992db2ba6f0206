//! Plugin to plugin, with the SDK's clients: a user calls Analytics through the gateway;
//! Analytics calls CRM through the gateway (`ctx.services()`, granted by CRM's manifest:
//! `callers = ["analytics"]`) and reads CRM's shared data (`ctx.shared()`, granted in CRM's
//! manifest). A plugin CRM does not grant is refused whatever it depends on, and CRM receives
//! nothing; a plugin names only its tenant's workspaces. Shared data: only declared namespaces
//! are written, only granted plugins read, expired values are never served, another tenant's
//! plugin reaches nothing.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use common::assert_error;
use common::registry::{borrowed, frontend_plugin, on_both_backends_with_registry, platform};
use plexica_core_api::discovery::Endpoint;
use plexica_sdk::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const CRM: &str = "[dependencies]\n\
    [events]\nsubscribes = [\"core.workspace.*\", \"core.user.created\"]\n\
    [[permissions]]\nkey = \"contacts:read\"\ndescription = \"Read\"\ndefault-role = \"viewer\"\n\
    [[services]]\nname = \"crm.contacts\"\nversion = \"1.0.0\"\n\
    callers = [\"analytics\"]\n\
    [[services.endpoints]]\nmethod = \"GET\"\npath = \"/contacts\"\npermission = \"contacts:read\"\n\
    [[services.endpoints]]\nmethod = \"GET\"\npath = \"/ping\"\n\
    [[shared]]\nnamespace = \"crm.stats\"\nread = [\"analytics\"]\n";

const ANALYTICS: &str = "[dependencies]\nrequired = { crm = \"^1.0\" }\n\
    [events]\nsubscribes = [\"core.workspace.*\", \"core.user.created\"]\n\
    [[services]]\nname = \"analytics.reports\"\nversion = \"1.0.0\"\n\
    [[services.endpoints]]\nmethod = \"GET\"\npath = \"/report\"\n\
    [[shared]]\nnamespace = \"analytics\"\n";

/// The local manifest an in-process backend of `id` runs with (the handlers registered in this
/// test binary subscribe to `core.workspace.*`).
fn backend_manifest(dir: &std::path::Path, id: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{id}.toml"));
    let text = format!(
        "[plugin]\nid = \"{id}\"\nname = \"{id}\"\nversion = \"1.0.0\"\n\
         description = \"The {id} plugin, for tests\"\nauthors = [\"T <t@example.com>\"]\n\
         license = \"MIT\"\n[backend]\nentry = \"bin/{id}\"\n\
         [events]\nsubscribes = [\"core.workspace.*\", \"core.user.created\"]\n"
    );
    std::fs::write(&path, text).expect("manifest");
    path
}

async fn serve(plugin: Plugin) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(plugin.serve(listener, std::future::pending()));
    url
}

/// CRM's `GET /contacts`: its contacts, and it keeps their count in its shared namespace.
async fn contacts(ctx: Context) -> Result<Json<Value>> {
    let list = json!([{ "name": "Ada" }, { "name": "Grace" }]);
    ctx.shared()
        .put("crm.stats", "contacts", &json!({ "count": 2 }), None)
        .await?;
    Ok(Json(json!({ "tenant": ctx.tenant(), "contacts": list })))
}

/// Analytics' `GET /report`: built from CRM's service and CRM's shared data.
async fn report(ctx: Context) -> Result<Json<Value>> {
    let crm: Value = ctx
        .services()
        .call("crm", "crm.contacts", Method::GET, "contacts")
        .await?;
    let stats: Option<Value> = ctx.shared().get("crm.stats", "contacts").await?;
    Ok(Json(json!({
        "contacts": crm["contacts"].as_array().map_or(0, Vec::len),
        "shared_count": stats.map(|s| s["count"].clone()),
        "workspace": ctx.workspace(),
    })))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_call_each_other_and_share_data_within_their_grants() {
    let (core, registry) = platform(common::Backend::Sqlite, |_| {})
        .await
        .expect("sqlite");
    let t = core.tenant("acme").await;
    core.tenant("bravo").await;
    publish_and_activate(
        &core,
        &registry,
        &t.admin_token,
        &[("crm", CRM), ("analytics", ANALYTICS), ("billing", "")],
    )
    .await;
    let store = &core.api.state().core;
    let token = |tenant: &'static str, id: &'static str| async move {
        plexica_core_api::auth::issue_install_token(store, tenant, id, 0)
            .await
            .expect("install token")
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let crm_url = serve(
        Plugin::from_manifest(backend_manifest(dir.path(), "crm"))
            .expect("crm")
            .platform_secret("crm's secret")
            .core(core.url.clone(), token("acme", "crm").await)
            .routes(Router::new().route("/contacts", get(contacts))),
    )
    .await;
    let analytics_url = serve(
        Plugin::from_manifest(backend_manifest(dir.path(), "analytics"))
            .expect("analytics")
            .platform_secret("analytics' secret")
            .core(core.url.clone(), token("acme", "analytics").await)
            .routes(Router::new().route("/report", get(report))),
    )
    .await;
    let targets = &core.api.state().plugins.targets;
    for (id, url, secret) in [
        ("crm", crm_url, "crm's secret"),
        ("analytics", analytics_url, "analytics' secret"),
    ] {
        let endpoint = Endpoint::new(url, secret);
        targets.insert("acme", id, "1.0.0", endpoint);
    }

    // The user asks Analytics; Analytics asks CRM and reads CRM's count.
    let response = core
        .http
        .get(format!(
            "{}/api/v1/tenants/acme/gateway/analytics/analytics.reports/report",
            core.url
        ))
        .bearer_auth(&t.admin_token)
        .header("x-plexica-workspace", "default")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.expect("json");
    assert_eq!(report["contacts"], 2, "{report}");
    assert_eq!(report["shared_count"], 2, "{report}");
    assert_eq!(report["workspace"], "default", "{report}");

    // Billing: no grant to read CRM's namespace, no right to write it, and its own
    // undeclared namespace is refused too.
    let billing = token("acme", "billing").await;
    let shared = "/api/v1/tenants/acme/shared";
    let (status, body) = core
        .get(&format!("{shared}/crm.stats/contacts"), &billing)
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "SHARED_FORBIDDEN");
    for namespace in ["crm.stats", "billing"] {
        let (status, body) = core
            .call(
                Method::PUT,
                &format!("{shared}/{namespace}/x"),
                Some(&billing),
                Some(json!({ "value": 1 })),
            )
            .await;
        assert_error(
            status,
            &body,
            StatusCode::FORBIDDEN,
            "SHARED_NAMESPACE_NOT_DECLARED",
        );
    }
    // Analytics may read CRM's namespace, not write it.
    let analytics = token("acme", "analytics").await;
    let (status, body) = core
        .get(&format!("{shared}/crm.stats/contacts"), &analytics)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"]["count"], 2);
    let (status, _) = core
        .call(
            Method::DELETE,
            &format!("{shared}/crm.stats/contacts"),
            Some(&analytics),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Expired values are never served.
    let crm = token("acme", "crm").await;
    let (status, body) = core
        .call(
            Method::PUT,
            &format!("{shared}/crm.stats/flash"),
            Some(&crm),
            Some(json!({ "value": "soon gone", "ttl_seconds": 1 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["expires_at"].is_string());
    let (status, _) = core
        .get(&format!("{shared}/crm.stats/flash"), &analytics)
        .await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = core
        .get(&format!("{shared}/crm.stats/flash"), &analytics)
        .await;
    assert_error(
        status,
        &body,
        StatusCode::NOT_FOUND,
        "SHARED_VALUE_NOT_FOUND",
    );

    // Size cap, bad names, TTL bounds.
    let big = "x".repeat(300 * 1024);
    let (status, body) = core
        .call(
            Method::PUT,
            &format!("{shared}/crm.stats/big"),
            Some(&crm),
            Some(json!({ "value": big })),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "SHARED_VALUE_TOO_LARGE",
    );
    let (status, _) = core
        .call(
            Method::PUT,
            &format!("{shared}/crm.stats/ttl"),
            Some(&crm),
            Some(json!({ "value": 1, "ttl_seconds": 0 })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = core
        .get(&format!("{shared}/crm.stats/bad%20key"), &crm)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Another tenant's CRM reaches nothing of acme's.
    let bravo_crm = token("bravo", "crm").await;
    let (status, _) = core
        .get(&format!("{shared}/crm.stats/contacts"), &bravo_crm)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The owner deletes.
    let (status, _) = core
        .call(
            Method::DELETE,
            &format!("{shared}/crm.stats/contacts"),
            Some(&crm),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = core
        .get(&format!("{shared}/crm.stats/contacts"), &crm)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Billing lists CRM as an optional dependency, Reports requires it: neither is granted.
const BILLING: &str = "[dependencies]\noptional = { crm = \"^1.0\" }\n";
const REPORTS: &str = "[dependencies]\nrequired = { crm = \"^1.0\" }\n";

/// A CRM backend that records every call it receives: the request-target, the calling plugin
/// and the workspace the platform named.
/// Publishes each `(id, extra manifest TOML)` plugin and installs it active in tenant `acme`.
async fn publish_and_activate(
    core: &common::TestCore,
    registry: &common::registry::TestRegistry,
    token: &str,
    plugins: &[(&str, &str)],
) {
    for (id, extra) in plugins {
        registry
            .publish_files(&borrowed(&frontend_plugin(id, "1.0.0", extra)))
            .await;
        let (status, body) = core
            .post(
                "/api/v1/tenants/acme/plugins",
                token,
                json!({ "id": id, "activate": true }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{id}: {body}");
    }
}

async fn recording_crm() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let record = seen.clone();
    let app = Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
            let record = record.clone();
            async move {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
                let call = json!({
                    "uri": uri.to_string(),
                    "caller": header("x-plexica-caller-plugin"),
                    "workspace": header("x-plexica-workspace"),
                });
                record.lock().expect("seen").push(call.clone());
                Json(call)
            }
        },
    );
    (common::registry::serve_backend(app).await, seen)
}

on_both_backends_with_registry!(
    only_the_plugins_the_target_grants_may_call_it,
    |core, registry| {
        let t = core.tenant("acme").await;
        let bravo = core.tenant("bravo").await;
        let (status, body) = core
            .post(
                "/api/v1/tenants/bravo/workspaces",
                &bravo.admin_token,
                json!({ "slug": "bravo-only", "name": "Bravo only" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        publish_and_activate(
            &core,
            &registry,
            &t.admin_token,
            &[
                ("crm", CRM),
                ("analytics", ""),
                ("billing", BILLING),
                ("reports", REPORTS),
            ],
        )
        .await;
        let (crm_url, seen) = recording_crm().await;
        core.api.state().plugins.targets.insert(
            "acme",
            "crm",
            "1.0.0",
            Endpoint::new(crm_url, "unused"),
        );
        let store = &core.api.state().core;
        let token = |id: &'static str| async move {
            plexica_core_api::auth::issue_install_token(store, "acme", id, 0)
                .await
                .expect("install token")
        };
        let gw = format!("{}/api/v1/tenants/acme/gateway/crm/crm.contacts", core.url);
        let call = |token: String, path: &'static str, workspace: Option<&'static str>| {
            let mut request = core.http.get(format!("{gw}/{path}")).bearer_auth(token);
            if let Some(ws) = workspace {
                request = request.header("x-plexica-workspace", ws);
            }
            async move {
                let response = request.send().await.expect("request");
                let status = response.status();
                (
                    status,
                    response.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };

        // Depending on CRM (optionally or not) grants nothing: refused, and CRM sees nothing.
        for (caller, path) in [
            ("billing", "contacts"),
            ("billing", "ping"),
            ("reports", "contacts"),
            ("reports", "ping"),
        ] {
            let (status, body) = call(token(caller).await, path, Some("default")).await;
            assert_error(status, &body, StatusCode::FORBIDDEN, "CALLER_NOT_GRANTED");
            assert_eq!(body["error"]["details"]["caller"], caller, "{body}");
            assert_eq!(
                body["error"]["details"]["service"], "crm.contacts",
                "{body}"
            );
        }
        assert_eq!(
            seen.lock().expect("seen").len(),
            0,
            "a refused call reached CRM"
        );

        // Granted Analytics names only workspaces of its tenant.
        let analytics = token("analytics").await;
        for workspace in ["nope", "bravo-only"] {
            let (status, body) = call(analytics.clone(), "contacts", Some(workspace)).await;
            assert_error(status, &body, StatusCode::NOT_FOUND, "WORKSPACE_NOT_FOUND");
        }
        assert_eq!(
            seen.lock().expect("seen").len(),
            0,
            "a refused call reached CRM"
        );

        // Granted: through, without any dependency, with the workspace; CRM reaches itself.
        let (status, body) = call(analytics.clone(), "contacts", Some("default")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = call(analytics, "ping", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = call(token("crm").await, "contacts", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Users are held to the permission, as before.
        let (status, body) = call(t.admin_token.clone(), "contacts", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let seen = seen.lock().expect("seen").clone();
        assert_eq!(
            seen,
            [
                json!({ "uri": "/contacts", "caller": "analytics", "workspace": "default" }),
                json!({ "uri": "/ping", "caller": "analytics", "workspace": null }),
                json!({ "uri": "/contacts", "caller": "crm", "workspace": null }),
                json!({ "uri": "/contacts", "caller": null, "workspace": null }),
            ]
        );
    }
);
