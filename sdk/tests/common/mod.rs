//! Helpers shared by the SDK's runtime tests.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use plexica_sdk::Plugin;
use tower::ServiceExt;

/// A plugin `id` with a backend, whose manifest ends with `extra` (e.g. an `[events]` table).
pub fn plugin(id: &str, extra: &str) -> Plugin {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plexica.toml");
    std::fs::write(
        &path,
        format!(
            r#"[plugin]
id = "{id}"
name = "Test plugin"
version = "1.0.0"
description = "A plugin for the SDK's tests"
authors = ["Ada <ada@example.com>"]
license = "MIT"

[backend]
entry = "bin/{id}"
{extra}"#
        ),
    )
    .expect("write");
    Plugin::from_manifest(&path).expect("manifest")
}

/// Sends `request` to `plugin`'s whole application; returns the status and the JSON body
/// (`null` when the body is not JSON).
pub async fn call(plugin: Plugin, request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = plugin.router().oneshot(request).await.expect("answer");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}
