//! Tests of the runtime through the `#[event_handler]` macro, as plugins use it.

use std::path::PathBuf;
use std::sync::Mutex;

use serde::Deserialize;

use super::testing::{self, ContextBuilder};
use super::*;
use crate::event_handler;

#[derive(Debug, Deserialize)]
struct WorkspaceCreated {
    workspace_id: String,
}

#[derive(Debug, Deserialize)]
struct Invoice {
    amount: i64,
}

/// `tenant/workspace_id` of every workspace event handled, in order.
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn seen(entry: &str) -> bool {
    SEEN.lock()
        .is_ok_and(|seen| seen.iter().any(|e| e == entry))
}

#[event_handler("core.workspace.created", crate = "crate")]
async fn record_workspace(ctx: &Context, ev: Event<WorkspaceCreated>) -> Result<()> {
    if let Ok(mut seen) = SEEN.lock() {
        seen.push(format!("{}/{}", ctx.tenant(), ev.workspace_id));
    }
    Ok(())
}

#[event_handler("plugin.billing.invoice.*", retries = 2, crate = "crate")]
async fn check_invoice(_ctx: &Context, ev: Event<Invoice>) -> Result<()> {
    if ev.amount < 0 {
        return Err(Error::other(format!("negative amount {}", ev.amount)));
    }
    Ok(())
}

const BACKEND_MANIFEST: &str = r#"
[plugin]
id = "crm"
name = "CRM"
version = "1.2.0"
description = "Contacts and deals"
authors = ["Ada <ada@example.com>"]
license = "MIT"

[backend]
entry = "bin/crm"

[events]
subscribes = [SUBSCRIBES]
"#;

fn write_manifest(subscribes: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plexica.toml");
    std::fs::write(&path, BACKEND_MANIFEST.replace("SUBSCRIBES", subscribes)).expect("write");
    (dir, path)
}

const BOTH: &str = r#""core.workspace.created", "plugin.billing.invoice.*""#;

#[test]
fn macro_registered_handlers_are_listed() {
    let mut listed: Vec<(&str, &str, Option<u32>)> = handlers()
        .map(|h| (h.name, h.event_type, h.retries))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            ("check_invoice", "plugin.billing.invoice.*", Some(2)),
            ("record_workspace", "core.workspace.created", None),
        ]
    );
}

#[tokio::test]
async fn handlers_stay_callable_directly() {
    let ctx = testing::context("direct");
    let ev = testing::event(
        "core.workspace.created",
        WorkspaceCreated {
            workspace_id: "ws-direct".into(),
        },
    );
    record_workspace(&ctx, ev).await.expect("handled");
    assert!(seen("direct/ws-direct"));
}

#[tokio::test]
async fn dispatch_routes_by_type_and_pattern() {
    let ctx = ContextBuilder::new("routed")
        .workspace("sales")
        .actor("u-1")
        .correlation_id("c-1")
        .build();
    assert_eq!(ctx.workspace(), Some("sales"));
    assert_eq!(ctx.actor(), Some("u-1"));
    assert_eq!(ctx.correlation_id(), "c-1");

    let envelope = testing::envelope(serde_json::json!({
        "type": "core.workspace.created",
        "data": { "workspace_id": "ws-routed" },
    }));
    testing::dispatch(ctx.clone(), envelope)
        .await
        .expect("dispatched");
    assert!(seen("routed/ws-routed"));

    let paid = testing::event(
        "plugin.billing.invoice.paid",
        serde_json::json!({ "amount": 5 }),
    );
    testing::dispatch(ctx.clone(), &paid).await.expect("paid");

    let refund = testing::event(
        "plugin.billing.invoice.refunded",
        serde_json::json!({ "amount": -5 }),
    );
    let err = testing::dispatch(ctx.clone(), &refund).await.unwrap_err();
    assert_eq!(err.to_string(), "negative amount -5");

    let err = testing::dispatch(ctx.clone(), testing::event("core.user.created", ()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NoHandler(t) if t == "core.user.created"),
        "{err}"
    );

    let bad = testing::event("core.workspace.created", serde_json::json!({ "id": 1 }));
    let err = testing::dispatch(ctx, &bad).await.unwrap_err();
    assert!(
        err.to_string().starts_with(
            "cannot decode event `core.workspace.created`: missing field `workspace_id`"
        ),
        "{err}"
    );
}

#[test]
fn envelopes_use_cloudevents_names_and_deref_to_data() {
    let ev = testing::event(
        "plugin.crm.contact.created",
        serde_json::json!({ "name": "Ada" }),
    );
    assert_eq!(ev.source, "plugin/crm");
    assert_eq!(ev["name"], "Ada");
    let json = serde_json::to_value(&ev).expect("serialize");
    assert_eq!(json["type"], "plugin.crm.contact.created");
    assert_eq!(json["workspace"], serde_json::Value::Null);
    assert_eq!(json["specversion"], "1.0");
    let back: Event<serde_json::Value> = Event::from_json(json).expect("decode");
    assert_eq!(back, ev);

    let err = Event::<()>::from_json(serde_json::json!({ "data": null })).unwrap_err();
    assert!(matches!(err, Error::EnvelopeType));
}

#[test]
fn mismatches_name_the_handler_and_the_subscription() {
    static SEED: HandlerRegistration = HandlerRegistration {
        event_type: "core.workspace.created",
        name: "seed_pipeline",
        retries: None,
        workspace_required: false,
        invoke: record_workspace_invoke_stub,
    };
    static INVOICE_PAID: HandlerRegistration = HandlerRegistration {
        event_type: "plugin.billing.invoice.paid",
        name: "on_paid",
        retries: None,
        workspace_required: false,
        invoke: record_workspace_invoke_stub,
    };
    let subscribes = vec![
        "core.user.created".to_owned(),
        "plugin.billing.invoice.*".to_owned(),
    ];
    let mismatches = check_handlers(&subscribes, [&SEED, &INVOICE_PAID]);
    let lines: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "handler `seed_pipeline` handles `core.workspace.created`, which events.subscribes does not list; add it to events.subscribes",
            "events.subscribes lists `core.user.created`, but no #[event_handler(\"core.user.created\")] handles it",
            "events.subscribes lists `plugin.billing.invoice.*`, but the handlers for it (on_paid (plugin.billing.invoice.paid)) cover only part of it; add #[event_handler(\"plugin.billing.invoice.*\")] or subscribe to their types instead",
        ]
    );

    let wide = vec![
        "plugin.billing.*".to_owned(),
        "core.workspace.created".to_owned(),
    ];
    assert_eq!(
        check_handlers(&wide, [&SEED]).len(),
        1,
        "plugin.billing.* is unhandled"
    );
    assert!(check_handlers(&wide[1..], [&SEED]).is_empty());
}

fn record_workspace_invoke_stub(_: Context, _: Envelope) -> HandlerFuture {
    Box::pin(async { Ok(()) })
}

#[test]
fn from_manifest_accepts_matching_subscriptions() {
    let (_dir, path) = write_manifest(BOTH);
    let plugin = Plugin::from_manifest(&path).expect("matching manifest");
    assert_eq!(plugin.manifest().plugin.id, "crm");
}

#[test]
fn from_manifest_reports_every_mismatch_naming_both_sides() {
    let (_dir, path) = write_manifest(r#""core.workspace.created", "core.user.deleted""#);
    let err = Plugin::from_manifest(&path).unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("handler `check_invoice` handles `plugin.billing.invoice.*`"),
        "{message}"
    );
    assert!(
        message.contains("events.subscribes lists `core.user.deleted`, but no #[event_handler"),
        "{message}"
    );
    assert!(matches!(err, Error::HandlerMismatch { ref mismatches, .. } if mismatches.len() == 2));
}

#[test]
fn from_manifest_requires_a_valid_backend_manifest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = Plugin::from_manifest(dir.path().join("plexica.toml")).unwrap_err();
    assert!(matches!(err, Error::Manifest(_)), "{err:?}");

    let path = dir.path().join("plexica.toml");
    let frontend_only = BACKEND_MANIFEST
        .replace(
            "[backend]\nentry = \"bin/crm\"",
            "[frontend]\ndist = \"ui/dist\"\nremote-entry = \"remoteEntry.js\"",
        )
        .replace("SUBSCRIBES", BOTH);
    std::fs::write(&path, frontend_only).expect("write");
    let err = Plugin::from_manifest(&path).unwrap_err();
    assert!(
        matches!(&err, Error::NoBackend { plugin, .. } if plugin == "crm"),
        "{err:?}"
    );
}

#[test]
fn debug_output_is_the_message_plus_unseen_causes() {
    #[derive(Debug, thiserror::Error)]
    #[error("contact store unavailable")]
    struct Store(#[source] std::io::Error);

    let err = Error::other("no such contact");
    assert_eq!(format!("{err:?}"), "no such contact");
    let err = Error::other(Store(std::io::Error::other("disk full")));
    assert_eq!(
        format!("{err:?}"),
        "contact store unavailable\n  caused by: disk full"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let err = Plugin::from_manifest(dir.path().join("plexica.toml")).unwrap_err();
    assert!(!format!("{err:?}").contains("caused by"), "{err:?}");
}

const SECRET: &[u8] = b"platform secret";

/// Where a test server listens.
#[derive(Debug, Clone)]
enum Address {
    Tcp(std::net::SocketAddr),
    Unix(std::path::PathBuf),
}

/// `GET path` over a plain connection to `address`, signed by the platform when `signed`.
async fn get_as(address: &Address, path: &str, signed: bool) -> String {
    let signature = crate::api::signing::SignedRequest {
        method: "GET",
        target: path,
        body: b"",
    }
    .sign(SECRET, crate::api::time::now_ms() / 1000, |_| None);
    let signature = match signed {
        true => format!("x-plexica-signature: {signature}\r\n"),
        false => String::new(),
    };
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: test\r\n{signature}Connection: close\r\n\r\n");
    let address = address.clone();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        fn exchange(mut stream: impl Read + Write, request: &str) -> String {
            stream.write_all(request.as_bytes()).expect("request");
            let mut response = String::new();
            stream.read_to_string(&mut response).expect("response");
            response
        }
        match address {
            Address::Tcp(a) => {
                exchange(std::net::TcpStream::connect(a).expect("connect"), &request)
            }
            Address::Unix(p) => exchange(
                std::os::unix::net::UnixStream::connect(p).expect("connect"),
                &request,
            ),
        }
    })
    .await
    .expect("client thread")
}

async fn get(address: &Address, path: &str) -> String {
    get_as(address, path, true).await
}

#[tokio::test]
async fn serves_health_and_plugin_routes_until_shutdown() {
    let (_dir, path) = write_manifest(BOTH);
    let plugin = Plugin::from_manifest(&path)
        .expect("manifest")
        .platform_secret(SECRET)
        .routes(axum::Router::new().route("/contacts", axum::routing::get(|| async { "[]" })))
        .routes(
            axum::Router::new().route("/_plexica/health", axum::routing::post(|| async { "mine" })),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = Address::Tcp(listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(plugin.serve(listener, async {
        stopped.await.ok();
    }));

    let unsigned = get_as(&address, "/_plexica/health", false).await;
    assert!(unsigned.starts_with("HTTP/1.1 401"), "{unsigned}");
    let health = get(&address, "/_plexica/health").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let body = health.split("\r\n\r\n").nth(1).expect("body");
    let body: serde_json::Value = serde_json::from_str(body).expect("json");
    assert_eq!(
        body,
        serde_json::json!({ "status": "ok", "plugin": "crm", "version": "1.2.0" })
    );
    let contacts = get(&address, "/contacts").await;
    assert!(
        contacts.starts_with("HTTP/1.1 200") && contacts.ends_with("[]"),
        "{contacts}"
    );
    let events = get(&address, "/_plexica/events").await;
    assert!(
        events.starts_with("HTTP/1.1 405"),
        "events are pushed with POST: {events}"
    );
    let missing = get(&address, "/nothing-here").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");

    stop.send(()).expect("server running");
    server.await.expect("server task").expect("clean shutdown");
}

#[tokio::test]
async fn serves_on_a_unix_socket() {
    let (dir, path) = write_manifest(BOTH);
    let plugin = Plugin::from_manifest(&path)
        .expect("manifest")
        .platform_secret(SECRET);
    let socket = dir.path().join("backend.sock");
    let listener = tokio::net::UnixListener::bind(&socket).expect("bind");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(plugin.serve(listener, async {
        stopped.await.ok();
    }));
    let address = Address::Unix(socket);
    let health = get(&address, "/_plexica/health").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let unsigned = get_as(&address, "/_plexica/health", false).await;
    assert!(unsigned.starts_with("HTTP/1.1 401"), "{unsigned}");
    stop.send(()).expect("server running");
    server.await.expect("server task").expect("clean shutdown");
}
