//! `Context`: the task-local current context in handlers and plugin routes, and the extractor
//! that builds one from the headers the platform adds to forwarded requests.

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

fn plugin() -> Plugin {
    common::plugin(
        "ctx",
        "\n[events]\nsubscribes = [\"plugin.ctx.check.done\"]\n",
    )
    .routes(Router::new().route("/whoami", get(whoami)))
}

async fn call(request: Request<Body>) -> (StatusCode, serde_json::Value) {
    common::call(plugin(), request).await
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
    let request = Request::get("/whoami")
        .header("x-plexica-tenant", "acme")
        .header("x-plexica-workspace", "sales")
        .header("x-plexica-user", "u-1")
        .header("x-correlation-id", "corr-7")
        .body(Body::empty())
        .expect("request");
    let (status, body) = call(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "tenant": "acme", "workspace": "sales", "actor": "u-1",
            "correlation": "corr-7", "current": "acme",
        })
    );

    let (status, body) = call(
        Request::get("/whoami")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "NO_TENANT");
}
