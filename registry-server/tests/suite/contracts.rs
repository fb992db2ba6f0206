//! The registry answers what its OpenAPI document says: schemathesis (a third-party tester)
//! generates requests for every operation from the document, sends them to a real registry
//! holding a published plugin, as its publisher, and checks each answer's status, content type
//! and body against the document.

use crate::common;
use common::{Backend, TestRegistry, signed};
use plexica_testkit::services::Schemathesis;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_what_the_document_says() {
    let reg = TestRegistry::start(Backend::Sqlite).await.expect("sqlite");
    let (token, key) = reg.publisher("ada").await;
    let (status, body) = reg.publish(&token, signed(&key, "notes", "1.0.0")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let run = Schemathesis {
        base_url: &reg.url,
        document: "/api/openapi.json",
        token: &token,
        parameters: &[("id", "notes"), ("version", "1.0.0"), ("name", "ada")],
        excluded: &[],
    };
    // The server answers on this runtime's other worker while the program runs.
    if let Some(verdict) = tokio::task::block_in_place(|| run.run()) {
        verdict.unwrap_or_else(|report| panic!("schemathesis:\n{report}"));
    }
}
