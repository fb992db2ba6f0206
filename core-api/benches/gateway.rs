//! Gateway overhead (issue budget: p99 overhead over a direct call < 1 ms), a release build on
//! loopback:
//!
//! ```sh
//! cargo bench -p plexica-core-api --bench gateway     # PLEXICA_BENCH_CALLS=5000 by default
//! ```
//!
//! A real registry and core API run in this process; plugin `crm` (declaring service
//! `crm.contacts` with `GET /contacts/:id`, permission `contacts:read`) is installed and active
//! in tenant `bench`, and its route answers a 1 KiB JSON document. The same client calls that
//! route directly (a plain axum server on loopback TCP, as a service with no platform in front
//! would be called) and through the gateway (to the same route served by the SDK's `Plugin`
//! on a Unix socket, as the platform runs backends), alternately (so both see the same
//! machine), `PLEXICA_BENCH_CALLS` times each after a warm-up, one call at a time, each timed to
//! the last byte of the answer. The overhead is the difference of the percentiles; it holds all
//! the platform adds: authenticating the token, resolving the tenant and the caller's
//! permissions (cached), the install (cached), the endpoint match, the permission check, the
//! forwarding with its headers and its signature, and the SDK's verification of it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench fails by panicking.
#![allow(missing_docs)] // criterion_group! defines undocumented functions.

mod support;

use std::time::{Duration, Instant};

use axum::Json;
use plexica_core_api::discovery::Endpoint;
use plexica_core_api::plugins::client::unix_address;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Platform, ms, percentile, send};

const MANIFEST: &str = r#"
[plugin]
id = "crm"
name = "CRM"
version = "1.0.0"
description = "Contacts, for the gateway benchmark"
authors = ["Bench <b@example.com>"]
license = "MIT"

[frontend]
dist = "ui"
remote-entry = "remoteEntry.js"

[[permissions]]
key = "contacts:read"
description = "Read contacts"
default-role = "viewer"

[[services]]
name = "crm.contacts"
version = "1.0.0"
[[services.endpoints]]
method = "GET"
path = "/contacts/:id"
permission = "contacts:read"
"#;

/// The secret the gateway signs calls to the backend with.
const SECRET: &str = "bench secret";

/// The backend's route: `GET /contacts/{id}`, a 1 KiB JSON document.
fn contacts() -> axum::Router {
    let contact: Value = json!({
        "id": "42",
        "name": "Ada Lovelace",
        "notes": "x".repeat(900),
    });
    axum::Router::new().route(
        "/contacts/{id}",
        axum::routing::get(move || {
            let contact = contact.clone();
            async move { Json(contact) }
        }),
    )
}

/// The route alone on loopback TCP; its base URL.
async fn direct_backend() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, contacts()).await });
    url
}

/// The route served by the SDK's `Plugin` (verifying the platform's signature) on a Unix
/// socket in `dir`; its address.
async fn platform_backend(dir: &std::path::Path) -> String {
    let manifest = dir.join("plexica.toml");
    let text = MANIFEST.to_owned() + "\n[backend]\nentry = \"bin/crm\"\n";
    std::fs::write(&manifest, text).expect("manifest");
    let plugin = plexica_sdk::Plugin::from_manifest(&manifest)
        .expect("plugin")
        .platform_secret(SECRET)
        .routes(contacts());
    let socket = dir.join("backend.sock");
    let listener = tokio::net::UnixListener::bind(&socket).expect("bind");
    tokio::spawn(plugin.serve(listener, std::future::pending()));
    unix_address(&socket)
}

async fn timed(request: reqwest::RequestBuilder) -> Duration {
    let started = Instant::now();
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.bytes().await.expect("body");
    assert!(body.len() > 900);
    started.elapsed()
}

fn main() {
    let calls: usize = std::env::var("PLEXICA_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let platform = Platform::start(None, |_| {}).await;
        platform
            .publish(vec![
                ("plexica.toml", MANIFEST.as_bytes().to_vec()),
                ("ui/remoteEntry.js", b"export default 1;\n".to_vec()),
            ])
            .await;
        platform.tenant("bench").await;
        let (status, body) = send(
            platform
                .http
                .post(format!("{}/api/v1/tenants/bench/plugins", platform.core))
                .bearer_auth(&platform.admin)
                .json(&json!({ "id": "crm", "activate": true })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let direct_url = direct_backend().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let address = platform_backend(dir.path()).await;
        platform.api.state().plugins.targets.insert(
            "bench",
            "crm",
            "1.0.0",
            Endpoint::new(address, SECRET),
        );
        let gateway_url = format!(
            "{}/api/v1/tenants/bench/gateway/crm/crm.contacts/contacts/42",
            platform.core
        );
        let direct_url = format!("{direct_url}/contacts/42");
        let http = &platform.http;
        let mut direct = Vec::with_capacity(calls);
        let mut gateway = Vec::with_capacity(calls);
        for i in 0..calls + 500 {
            let d = timed(http.get(&direct_url)).await;
            let g = timed(http.get(&gateway_url).bearer_auth(&platform.admin)).await;
            if i >= 500 {
                direct.push(d);
                gateway.push(g);
            }
        }
        direct.sort();
        gateway.sort();
        println!("| path | calls | p50 | p99 | max |");
        println!("|---|---|---|---|---|");
        for (label, times) in [("direct", &direct), ("through the gateway", &gateway)] {
            println!(
                "| {label} | {calls} | {} | {} | {} |",
                ms(percentile(times, 0.5)),
                ms(percentile(times, 0.99)),
                ms(times.last().copied().unwrap_or_default()),
            );
        }
        println!(
            "\noverhead: p50 {}, p99 {}",
            ms(percentile(&gateway, 0.5).saturating_sub(percentile(&direct, 0.5))),
            ms(percentile(&gateway, 0.99).saturating_sub(percentile(&direct, 0.99))),
        );
    });
}
