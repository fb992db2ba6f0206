//! `Context`: the task-local current context in handlers and plugin routes, and the extractor
//! that builds one from the headers the platform adds to forwarded requests.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use plexica_sdk::prelude::*;
use plexica_sdk::testing;

/// Code deep inside a handler or route, which was not given the context.
fn current_tenant() -> Option<String> {
    Context::current().map(|ctx| ctx.tenant().to_owned())
}

#[event_handler("plugin.ctx.check.done")]
async fn checked(ctx: &Context, _ev: Event) -> Result<()> {
    assert_eq!(Context::current().as_ref(), Some(ctx));
    assert_eq!(current_tenant().as_deref(), Some(ctx.tenant()));
    Ok(())
}

/// `GET /whoami`: what the route's context says, and what code below it sees.
async fn whoami(ctx: Context) -> Json<serde_json::Value> {
    Json(json!({
        "tenant": ctx.tenant(),
        "workspace": ctx.workspace(),
        "actor": ctx.actor(),
        "correlation": ctx.correlation_id(),
        "current": current_tenant(),
    }))
}

const SECRET: &[u8] = b"platform secret";

fn plugin() -> Plugin {
    common::plugin(
        "ctx",
        "\n[events]\nsubscribes = [\"plugin.ctx.check.done\"]\n",
    )
    .platform_secret(SECRET)
    .routes(Router::new().route("/whoami", get(whoami)))
}

async fn call(request: Request<Body>) -> (StatusCode, serde_json::Value) {
    common::call(plugin(), request).await
}

/// `request` signed by the platform with the plugin's secret.
fn signed(request: axum::http::request::Builder) -> Request<Body> {
    let request = request.body(axum::body::Bytes::new()).expect("request");
    testing::signed(request, SECRET)
}

#[tokio::test]
async fn handlers_see_their_context_as_the_current_one() {
    assert!(Context::current().is_none(), "outside any handler");
    let ctx = testing::ContextBuilder::new("acme")
        .workspace("sales")
        .build();
    testing::dispatch(ctx, testing::event("plugin.ctx.check.done", json!({})))
        .await
        .expect("handled");
}

#[tokio::test]
async fn routes_take_the_context_the_platform_forwards() {
    let request = signed(
        Request::get("/whoami")
            .header("x-plexica-tenant", "acme")
            .header("x-plexica-workspace", "sales")
            .header("x-plexica-user", "u-1")
            .header("x-correlation-id", "corr-7"),
    );
    let (status, body) = call(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "tenant": "acme", "workspace": "sales", "actor": "u-1",
            "correlation": "corr-7", "current": "acme",
        })
    );

    let (status, body) = call(signed(Request::get("/whoami"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "NO_TENANT");
}

#[tokio::test]
async fn only_what_the_platform_signed_reaches_a_route() {
    let forged = || {
        Request::get("/whoami")
            .header("x-plexica-tenant", "acme")
            .header("x-plexica-user", "admin")
    };
    // A local process calling the backend directly, claiming to be the platform.
    let (status, body) = call(forged().body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "BAD_SIGNATURE");
    // A signed request whose context is changed afterwards, or repeated with another value.
    let mut changed = signed(forged());
    changed
        .headers_mut()
        .insert("x-plexica-tenant", "bravo".parse().expect("value"));
    let mut repeated = signed(forged());
    repeated
        .headers_mut()
        .append("x-plexica-user", "someone".parse().expect("value"));
    // A signed request sent to another path.
    let mut elsewhere = signed(forged());
    *elsewhere.uri_mut() = "/whoami?as=admin".parse().expect("uri");
    for request in [changed, repeated, elsewhere] {
        let (status, body) = call(request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    // Health and the platform's own routes too.
    for path in [
        "/_plexica/health",
        "/_plexica/events",
        "/_plexica/hooks/on_install",
    ] {
        let request = Request::post(path).body(Body::empty()).expect("request");
        let (status, body) = call(request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
    }
    // A backend the platform gave no secret accepts nothing, not even a signed request.
    let bare = common::plugin(
        "ctx",
        "\n[events]\nsubscribes = [\"plugin.ctx.check.done\"]\n",
    )
    .routes(Router::new().route("/whoami", get(whoami)));
    let (status, body) = common::call(bare, signed(forged())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "NO_PLATFORM_SECRET");
}
