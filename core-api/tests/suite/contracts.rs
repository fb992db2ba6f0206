//! The core API answers what its OpenAPI document says: schemathesis (a third-party tester)
//! generates requests for every operation from the document, sends them to a real platform
//! with a registry, a tenant and an active plugin, and checks each answer's status, content
//! type and body against the document.

use crate::common;
use common::Backend;
use common::registry::{borrowed, frontend_plugin, platform};
use plexica_testkit::services::Schemathesis;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_what_the_document_says() {
    let (core, registry) = platform(Backend::Sqlite, |_| {}).await.expect("sqlite");
    registry
        .publish_files(&borrowed(&frontend_plugin("notes", "1.0.0", "")))
        .await;
    let tenant = core.tenant("acme").await;
    let (status, body) = core
        .post(
            "/api/v1/tenants/acme/plugins",
            &tenant.admin_token,
            json!({ "id": "notes" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = core
        .post(
            "/api/v1/tenants/acme/plugins/notes/activate",
            &tenant.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let run = Schemathesis {
        base_url: &core.url,
        document: "/api/openapi.json",
        token: &core.admin,
        parameters: &[("t", "acme"), ("plugin", "notes"), ("ws", "default")],
        // Each would end the run's own session or take its tenant away from the operations
        // that follow; their answers are checked by the lifecycle tests.
        excluded: &[
            "POST /api/v1/auth/logout",
            "DELETE /api/v1/tenants/{t}",
            "POST /api/v1/tenants/{t}/suspend",
        ],
    };
    // The server answers on this runtime's other worker while the program runs.
    if let Some(verdict) = tokio::task::block_in_place(|| run.run()) {
        verdict.unwrap_or_else(|report| panic!("schemathesis:\n{report}"));
    }
}
