//! `#[hook]` as a plugin crate uses it: registered without a list, callable directly, and run by
//! the plugin's `POST /_plexica/hooks/{hook}` route only for calls signed by the platform.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

use std::sync::Mutex;

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use plexica_sdk::api::events::{HOOKS_PATH, HookCall};
use plexica_sdk::api::signing::{SIGNATURE_HEADER, SignedRequest};
use plexica_sdk::prelude::*;
use plexica_sdk::runtime::{Error, Hook, HookRegistration, duplicate_hooks};
use plexica_sdk::{hooks, testing};

const SECRET: &[u8] = b"install secret";

/// Tenants the install hook ran for, with the actor and correlation id it saw.
static INSTALLED: Mutex<Vec<(String, Option<String>, String)>> = Mutex::new(Vec::new());

#[hook(on_install)]
async fn install(ctx: &Context) -> Result<()> {
    INSTALLED.lock().unwrap_or_else(|e| e.into_inner()).push((
        ctx.tenant().to_owned(),
        ctx.actor().map(str::to_owned),
        ctx.correlation_id().to_owned(),
    ));
    Ok(())
}

#[hook(on_activate)]
async fn r#activate(ctx: &Context) -> Result<()> {
    if ctx.tenant() == "broken" {
        return Err(Error::other("the pipeline table is missing"));
    }
    Ok(())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The platform's signature of a call of hook `name` with `body`, by `secret` at `at`.
fn signature(name: &str, body: &[u8], secret: &[u8], at: i64) -> String {
    let target = format!("{HOOKS_PATH}/{name}");
    let request = SignedRequest {
        method: "POST",
        target: &target,
        body,
    };
    request.sign(secret, at, |name| {
        (name == "content-type").then_some("application/json")
    })
}

/// Makes a call's signature from its body.
type Signer<'a> = &'a dyn Fn(&[u8]) -> String;

/// Calls hook `name` with `call`, with `signature` (made from the call's body) if given.
async fn call_signed_as(
    name: &str,
    call: &HookCall,
    signature: Option<Signer<'_>>,
) -> (StatusCode, serde_json::Value) {
    let body = serde_json::to_vec(call).expect("json");
    let mut request =
        Request::post(format!("{HOOKS_PATH}/{name}")).header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header(SIGNATURE_HEADER, signature(&body));
    }
    common::call(
        common::plugin("crm", "").platform_secret(SECRET),
        request.body(Body::from(body)).expect("request"),
    )
    .await
}

/// Calls hook `name` with `call`, signed with `secret` at `at` (unix seconds), if given.
async fn call(
    name: &str,
    call: &HookCall,
    signed: Option<(&[u8], i64)>,
) -> (StatusCode, serde_json::Value) {
    match signed {
        Some((secret, at)) => {
            let sign = move |body: &[u8]| signature(name, body, secret, at);
            call_signed_as(name, call, Some(&sign)).await
        }
        None => call_signed_as(name, call, None).await,
    }
}

fn acme() -> HookCall {
    HookCall {
        tenant: "acme".into(),
        actor: Some("u-1".into()),
        correlationid: Some("corr-1".into()),
    }
}

#[test]
fn hooks_are_registered_by_the_attribute() {
    let mut listed: Vec<_> = hooks().map(|h| (h.hook, h.name)).collect();
    listed.sort();
    assert_eq!(
        listed,
        [(Hook::OnInstall, "install"), (Hook::OnActivate, "activate")]
    );
}

#[tokio::test]
async fn a_signed_call_runs_the_hook_with_the_tenant_context() {
    let (status, body) = call("on_install", &acme(), Some((SECRET, now()))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "done");
    let installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(
        installed.contains(&("acme".into(), Some("u-1".into()), "corr-1".into())),
        "{installed:?}"
    );

    let (status, body) = call("on_uninstall", &acme(), Some((SECRET, now()))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "not_implemented");

    let (status, body) = call("on_upgrade", &acme(), Some((SECRET, now()))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "UNKNOWN_HOOK");
}

#[tokio::test]
async fn a_failing_hook_answers_500_with_its_error() {
    let broken = HookCall {
        tenant: "broken".into(),
        actor: None,
        correlationid: None,
    };
    let (status, body) = call("on_activate", &broken, Some((SECRET, now()))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"]["code"], "HOOK_FAILED");
    assert_eq!(
        body["error"]["message"],
        "on_activate: the pipeline table is missing"
    );
}

#[tokio::test]
async fn unsigned_forged_and_stale_calls_are_refused() {
    let before = INSTALLED.lock().unwrap_or_else(|e| e.into_inner()).len();
    let outsider = HookCall {
        tenant: "outsider".into(),
        actor: None,
        correlationid: None,
    };
    for signed in [
        None,
        Some((&b"another secret"[..], now())),
        Some((SECRET, now() - 301)),
    ] {
        let (status, body) = call("on_install", &outsider, signed).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"]["code"], "BAD_SIGNATURE");
    }
    let installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    assert!(installed[before..].iter().all(|(t, ..)| t != "outsider"));
}

#[tokio::test]
async fn a_hook_calls_signature_is_no_good_for_another_hook() {
    // The platform calls on_install then on_activate with the same body: each signature covers
    // its own path, so one captured call cannot stand for the other.
    let install_signature = |body: &[u8]| signature("on_install", body, SECRET, now());
    let (status, _) = call_signed_as("on_install", &acme(), Some(&install_signature)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call_signed_as("on_activate", &acme(), Some(&install_signature)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "BAD_SIGNATURE");
    let (status, _) = call("on_activate", &acme(), Some((SECRET, now()))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn hooks_stay_callable_directly() {
    install(&testing::context("direct")).await.expect("ran");
    let err = activate(&testing::context("broken")).await.unwrap_err();
    assert_eq!(err.to_string(), "the pipeline table is missing");
}

fn stub(_: Context) -> plexica_sdk::runtime::HandlerFuture {
    Box::pin(async { Ok(()) })
}

#[test]
fn a_hook_implemented_twice_is_named_with_both_functions() {
    let registrations = [
        HookRegistration {
            hook: Hook::OnInstall,
            name: "seed",
            invoke: stub,
        },
        HookRegistration {
            hook: Hook::OnActivate,
            name: "start",
            invoke: stub,
        },
        HookRegistration {
            hook: Hook::OnInstall,
            name: "create_tables",
            invoke: stub,
        },
    ];
    let duplicates = duplicate_hooks(&registrations);
    assert_eq!(
        duplicates,
        [(Hook::OnInstall, vec!["create_tables", "seed"])]
    );
    assert_eq!(
        Error::DuplicateHooks(duplicates).to_string(),
        "a hook may be implemented once: #[hook(on_install)] is on create_tables and seed; keep one function per hook"
    );
}
