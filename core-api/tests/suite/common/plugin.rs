//! A plugin backend for event tests: the SDK's real `Plugin` with one `#[event_handler]` that
//! records what it handled (or fails on demand), subscribed through the core API's library.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use plexica_core_api::db::delivery::Subscription;
use plexica_sdk::prelude::*;

/// `(type, tenant, workspace, correlation id, event id)` of a handled event.
pub type Handled = (String, String, Option<String>, String, String);

/// Every handled event.
pub static HANDLED: Mutex<Vec<Handled>> = Mutex::new(Vec::new());
/// When set, the handler fails.
pub static FAIL: AtomicBool = AtomicBool::new(false);

#[event_handler("core.workspace.*")]
async fn on_workspace(ctx: &Context, ev: Event<serde_json::Value>) -> Result<()> {
    if FAIL.load(Ordering::SeqCst) {
        return Err(plexica_sdk::runtime::Error::other(
            "the CRM database is down",
        ));
    }
    if ev.r#type == "core.workspace.created" {
        // The spec's example: seed something and say so, when connected to the platform.
        match ctx
            .events()
            .publish(
                "plugin.crm.pipeline.created",
                serde_json::json!({ "workspace": ev.workspace }),
            )
            .await
        {
            Ok(_) | Err(plexica_sdk::runtime::Error::NotConnected) => {}
            Err(e) => return Err(e),
        }
    }
    HANDLED.lock().expect("lock").push((
        ev.r#type.clone(),
        ctx.tenant().to_owned(),
        ctx.workspace().map(str::to_owned),
        ctx.correlation_id().to_owned(),
        ev.id.clone(),
    ));
    Ok(())
}

/// The event id of each attempt the `core.user.created` handler saw.
pub static USER_ATTEMPTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Fails every time, and asks for four retries: more than the tests' two configured delays.
#[event_handler("core.user.created", retries = 4)]
async fn on_user(_ctx: &Context, ev: Event<serde_json::Value>) -> Result<()> {
    USER_ATTEMPTS.lock().expect("lock").push(ev.id.clone());
    Err(plexica_sdk::runtime::Error::other("the directory is down"))
}

/// A handler's `retries = 4` governs its deliveries, whatever the core API's own delays say:
/// a user created in a fresh tenant is tried 1 + 4 times, then dead-lettered with 5 attempts.
pub async fn check_handler_retries(core: &super::TestCore) {
    let slug = super::fresh_slug("rt");
    let tenant = core.tenant(&slug).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = start_plugin(dir.path(), None).await;
    let mut sub = subscription(&slug, &url);
    sub.patterns = vec!["core.user.created".to_owned()];
    // Users belong to no workspace: a workspace-aware subscriber would not get them.
    sub.workspace_aware = false;
    core.subscribe(&sub).await;
    let (status, body) = core
        .post(
            &format!("/api/v1/tenants/{slug}/users"),
            &tenant.admin_token,
            serde_json::json!({ "email": "grace@retries.test", "password": "password-123" }),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    // (Through NATS the tenant's own admin, created just before the subscription, may be
    // delivered too: the dead letter looked for is grace's, and attempts are counted per event.)
    let shown = 'found: loop {
        let (_, page) = core
            .get("/api/v1/admin/dlq?state=PENDING&per_page=100", &core.admin)
            .await;
        let candidates = page["data"].as_array().cloned().unwrap_or_default();
        for letter in candidates
            .iter()
            .filter(|d| d["tenant"] == slug.as_str() && d["event_type"] == "core.user.created")
        {
            let id = letter["id"].as_str().unwrap_or_default();
            let (_, shown) = core
                .get(&format!("/api/v1/admin/dlq/{id}"), &core.admin)
                .await;
            if shown["event"].to_string().contains("grace@retries.test") {
                break 'found shown;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no dead letter: {page}; attempts seen: {:?}",
            USER_ATTEMPTS.lock().expect("lock")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(shown["attempts"], 5, "{shown}");
    let event_id = shown["event"]["id"].as_str().unwrap_or_default().to_owned();
    let seen = USER_ATTEMPTS
        .lock()
        .expect("lock")
        .iter()
        .filter(|id| **id == event_id)
        .count();
    assert_eq!(seen, 5, "the handler saw every attempt, and no more");
}

/// The install's event secret.
pub const SECRET: &str = "install-secret-for-tests";

const MANIFEST: &str = r#"
[plugin]
id = "crm"
name = "CRM"
version = "1.0.0"
description = "Contacts and deals for tests"
authors = ["Test <t@example.com>"]
license = "MIT"

[backend]
entry = "bin/crm"
health = "/health"

[events]
subscribes = ["core.workspace.*", "core.user.created"]
batches = true
"#;

/// Starts the plugin's backend; returns its base URL.
/// `core`: the core API's URL and the install's token, for `ctx.events().publish`.
pub async fn start_plugin(dir: &std::path::Path, core: Option<(String, String)>) -> String {
    start_plugin_at(dir, "127.0.0.1:0", core).await
}

/// [`start_plugin`] on the address `at`.
pub async fn start_plugin_at(
    dir: &std::path::Path,
    at: &str,
    core: Option<(String, String)>,
) -> String {
    std::fs::write(dir.join("plexica.toml"), MANIFEST).expect("manifest");
    let plugin = Plugin::from_manifest(dir.join("plexica.toml"))
        .expect("the handlers match the manifest")
        .platform_secret(SECRET);
    let plugin = match core {
        Some((url, token)) => plugin.core(url, token),
        None => plugin,
    };
    let listener = tokio::net::TcpListener::bind(at).await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(plugin.serve(listener, std::future::pending()));
    url
}

/// What the handler handled for `tenant`.
pub fn handled_of(tenant: &str) -> Vec<Handled> {
    HANDLED
        .lock()
        .expect("lock")
        .iter()
        .filter(|h| h.1 == tenant)
        .cloned()
        .collect()
}

/// Waits (up to 15 s) until `done`.
pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The subscription of the test plugin at `endpoint` in `tenant`, to `core.workspace.*`.
pub fn subscription(tenant: &str, endpoint: &str) -> Subscription {
    Subscription {
        tenant: tenant.to_owned(),
        plugin_id: "crm".to_owned(),
        endpoint: endpoint.to_owned(),
        secret: SECRET.to_owned(),
        patterns: vec!["core.workspace.*".to_owned()],
        workspace_aware: true,
        active: true,
        batches: true,
    }
}
