//! `#[event_handler]` as a plugin crate uses it: through the prelude, with the default
//! `::plexica_sdk` path, registered without any list, callable directly and through dispatch.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

use std::sync::atomic::{AtomicUsize, Ordering};

use plexica_sdk::prelude::*;
use plexica_sdk::runtime::Error;
use plexica_sdk::{handlers, testing};

#[derive(Debug, Deserialize, Serialize)]
struct WorkspaceCreated {
    workspace_id: String,
    slug: String,
}

static MEMBER_EVENTS: AtomicUsize = AtomicUsize::new(0);

/// A handler for one event type, in the spec's shape.
#[event_handler("core.workspace.created")]
async fn seed_pipeline(ctx: &Context, ev: Event<WorkspaceCreated>) -> Result<()> {
    if ev.slug.is_empty() {
        return Err(Error::other(format!(
            "workspace {} of {} has no slug",
            ev.workspace_id,
            ctx.tenant()
        )));
    }
    Ok(())
}

/// A handler for a pattern, with options, a raw identifier and a trailing comma.
#[event_handler("core.workspace.member.*", retries = 7)]
pub async fn r#on_member(_ctx: &Context, ev: Event<serde_json::Value>) -> Result<()> {
    assert!(ev.r#type.starts_with("core.workspace.member."));
    MEMBER_EVENTS.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[test]
fn handlers_are_registered_with_their_options() {
    let mut listed: Vec<_> = handlers()
        .map(|h| (h.name, h.event_type, h.retries))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            ("on_deal_won", "plugin.crm.deal.won", None),
            ("on_member", "core.workspace.member.*", Some(7)),
            ("seed_pipeline", "core.workspace.created", None),
        ]
    );
}

#[tokio::test]
async fn the_function_is_callable_as_written() {
    let ctx = testing::context("acme");
    let ok = testing::event(
        "core.workspace.created",
        WorkspaceCreated {
            workspace_id: "ws-1".into(),
            slug: "sales".into(),
        },
    );
    seed_pipeline(&ctx, ok).await.expect("handled");

    let unnamed = testing::event(
        "core.workspace.created",
        WorkspaceCreated {
            workspace_id: "ws-2".into(),
            slug: String::new(),
        },
    );
    let err = seed_pipeline(&ctx, unnamed).await.unwrap_err();
    assert_eq!(err.to_string(), "workspace ws-2 of acme has no slug");
}

#[tokio::test]
async fn dispatch_goes_through_the_registration() {
    let ctx = testing::ContextBuilder::new("acme")
        .workspace("sales")
        .build();
    let envelope = testing::envelope(json!({
        "type": "core.workspace.created",
        "workspace": "sales",
        "data": { "workspace_id": "ws-1", "slug": "sales" },
    }));
    assert_eq!(envelope["tenant"], testing::TENANT);
    testing::dispatch(ctx.clone(), envelope)
        .await
        .expect("dispatched");

    let before = MEMBER_EVENTS.load(Ordering::SeqCst);
    let added = testing::event("core.workspace.member.added", json!({ "user": "u-1" }));
    testing::dispatch(ctx.clone(), added)
        .await
        .expect("member event");
    assert_eq!(MEMBER_EVENTS.load(Ordering::SeqCst), before + 1);

    let err = testing::dispatch(ctx, json!({ "type": "core.workspace.created", "data": {} }))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot decode event `core.workspace.created`"),
        "{err}"
    );
}

#[test]
fn the_manifest_must_subscribe_to_exactly_the_handled_types() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = |subscribes: &str| {
        format!(
            r#"[plugin]
id = "crm"
name = "CRM"
version = "0.1.0"
description = "Contacts and deals"
authors = ["Ada <ada@example.com>"]
license = "MIT"

[backend]
entry = "bin/crm"
health = "/healthz"

[events]
subscribes = {subscribes}
"#
        )
    };
    let path = dir.path().join("plexica.toml");
    std::fs::write(
        &path,
        manifest(r#"["core.workspace.created", "core.workspace.member.*", "plugin.crm.deal.won"]"#),
    )
    .expect("write");
    let plugin = Plugin::from_manifest(dir.path()).expect("plugin directory accepted");
    assert_eq!(
        plugin
            .manifest()
            .backend
            .as_ref()
            .map(|b| b.health.as_str()),
        Some("/healthz")
    );

    std::fs::write(
        &path,
        manifest(r#"["core.workspace.created", "plugin.crm.deal.won"]"#),
    )
    .expect("write");
    let err = Plugin::from_manifest(&path).unwrap_err();
    assert!(
        err.to_string()
            .contains("handler `on_member` handles `core.workspace.member.*`"),
        "{err}"
    );
}

static DEALS_WON: AtomicUsize = AtomicUsize::new(0);

/// A handler for workspace events only.
#[event_handler("plugin.crm.deal.won", workspace = "required")]
async fn on_deal_won(ctx: &Context, _ev: Event<serde_json::Value>) -> Result<()> {
    assert!(
        ctx.workspace().is_some(),
        "only events with a workspace arrive"
    );
    DEALS_WON.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[tokio::test]
async fn workspace_required_handlers_skip_events_without_a_workspace() {
    let registration = handlers()
        .find(|h| h.name == "on_deal_won")
        .expect("registered");
    assert!(registration.workspace_required);
    assert!(
        !handlers()
            .find(|h| h.name == "seed_pipeline")
            .expect("registered")
            .workspace_required
    );
    let ev = testing::event("plugin.crm.deal.won", serde_json::json!({ "amount": 10 }));
    testing::dispatch(testing::context("acme"), &ev)
        .await
        .expect("skipped, not failed");
    assert_eq!(DEALS_WON.load(Ordering::SeqCst), 0);
    let ctx = testing::ContextBuilder::new("acme")
        .workspace("sales")
        .build();
    testing::dispatch(ctx, &ev).await.expect("handled");
    assert_eq!(DEALS_WON.load(Ordering::SeqCst), 1);
}
