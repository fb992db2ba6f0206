//! The HTTP routes, one module per resource, and [`table`]: every route with its [`Access`]
//! rule, from which the router, the OpenAPI document and the outsider tests are made.

pub(crate) use accounts::{create_account, sign_in};

mod accounts;
mod ops;
mod packages;
mod plugins;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use plexica_server::routes::entry;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON request body; one that cannot be read is refused with the error envelope: 413 when
/// it is larger than the server takes, 422 when it does not fit the request's type, 415
/// without a JSON content type, 400 otherwise.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_refused(&rejection)),
        }
    }
}

fn json_refused(rejection: &JsonRejection) -> ApiError {
    let code = match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
        StatusCode::UNPROCESSABLE_ENTITY => "INVALID_REQUEST",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
        _ => "BAD_REQUEST",
    };
    ApiError::new(rejection.status(), code, rejection.body_text())
}

/// Who may call a route. The table says it; the handler's signature enforces it (a
/// [`crate::auth::Caller`] argument refuses a request without a valid token, before anything
/// else is read); the outsider test generated from the table checks that the two agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A caller with a token (its scopes and ownership are the handler's to check).
    Token,
}

/// A route of the registry's API.
pub type RouteSpec = plexica_server::routes::RouteSpec<Access>;

fn entries() -> Vec<plexica_server::routes::Entry<Access, AppState>> {
    use Access::{Public, Token};
    use axum::http::Method as M;
    vec![
        entry(
            M::POST,
            "/api/v1/tokens",
            Public,
            "Trade username and password for a token (shown once)",
            accounts::create_token,
        ),
        entry(
            M::GET,
            "/api/v1/tokens",
            Token,
            "The caller's tokens",
            accounts::list_tokens,
        ),
        entry(
            M::DELETE,
            "/api/v1/tokens/{id}",
            Token,
            "Revoke one of the caller's tokens",
            accounts::revoke_token,
        ),
        entry(
            M::GET,
            "/api/v1/me",
            Token,
            "Who am I, token scopes and expiry",
            accounts::me,
        ),
        entry(
            M::POST,
            "/api/v1/me/tokens",
            Token,
            "Another token for the caller",
            accounts::create_token_for_caller,
        ),
        entry(
            M::POST,
            "/api/v1/users",
            Public,
            "Create an account: by an admin, with an invite, or by anyone when sign-up is open",
            accounts::create_user,
        ),
        entry(
            M::POST,
            "/api/v1/invites",
            Token,
            "Invite a publisher to create a named account (admin)",
            accounts::create_invite,
        ),
        entry(
            M::PUT,
            "/api/v1/keys",
            Token,
            "Register a public key, with its signature over a challenge",
            accounts::register_key,
        ),
        entry(
            M::POST,
            "/api/v1/keys/challenges",
            Token,
            "A text for a key to sign before it is registered",
            accounts::key_challenge,
        ),
        entry(
            M::DELETE,
            "/api/v1/keys/{key_id}",
            Token,
            "Revoke a public key",
            accounts::revoke_key,
        ),
        entry(
            M::GET,
            "/api/v1/users/{name}/keys",
            Public,
            "A publisher's keys, revoked ones marked",
            accounts::user_keys,
        ),
        entry(
            M::POST,
            "/api/v1/packages",
            Token,
            "Publish a .pxp (scope publish); ?dry-run=true checks only",
            packages::publish,
        ),
        entry(
            M::GET,
            "/api/v1/plugins",
            Public,
            "Search: q, category, sort, page, per_page",
            plugins::search,
        ),
        entry(
            M::GET,
            "/api/v1/plugins/{id}",
            Public,
            "Plugin metadata, owners, versions, latest",
            plugins::detail,
        ),
        entry(
            M::GET,
            "/api/v1/plugins/{id}/versions/{version}",
            Public,
            "Version metadata",
            plugins::version,
        ),
        entry(
            M::GET,
            "/api/v1/plugins/{id}/versions/{version}/download",
            Public,
            "The package bytes",
            plugins::download,
        ),
        entry(
            M::GET,
            "/api/v1/plugins/{id}/versions/{version}/{document}",
            Public,
            "The package's README or CHANGELOG (`readme`, `changelog`): Markdown, or sanitized HTML with `format=html`",
            plugins::document,
        ),
        entry(
            M::GET,
            "/api/v1/plugins/{id}/versions/{version}/images/{*path}",
            Public,
            "An image of the package (screenshot, README image), immutable",
            plugins::image,
        ),
        entry(
            M::DELETE,
            "/api/v1/plugins/{id}/versions/{version}/yank",
            Token,
            "Yank with a reason (owner)",
            plugins::yank,
        ),
        entry(
            M::PUT,
            "/api/v1/plugins/{id}/versions/{version}/unyank",
            Token,
            "Undo a yank (owner)",
            plugins::unyank,
        ),
        entry(
            M::PUT,
            "/api/v1/plugins/{id}/deprecation",
            Token,
            "Deprecate (owner)",
            plugins::deprecate,
        ),
        entry(
            M::DELETE,
            "/api/v1/plugins/{id}/deprecation",
            Token,
            "Remove the deprecation (owner)",
            plugins::undeprecate,
        ),
        entry(
            M::GET,
            "/api/v1/plugins/{id}/owners",
            Public,
            "Owners",
            plugins::owners,
        ),
        entry(
            M::PUT,
            "/api/v1/plugins/{id}/owners",
            Token,
            "Add owners (owner)",
            plugins::add_owners,
        ),
        entry(
            M::DELETE,
            "/api/v1/plugins/{id}/owners",
            Token,
            "Remove owners (owner)",
            plugins::remove_owners,
        ),
        entry(
            M::GET,
            "/api/v1/plugins/{id}/reviews",
            Public,
            "Reviews",
            plugins::reviews,
        ),
        entry(
            M::POST,
            "/api/v1/plugins/{id}/reviews",
            Token,
            "Post or edit the caller's review",
            plugins::review,
        ),
        entry(
            M::GET,
            "/api/v1/index/{id}",
            Public,
            "All versions as JSON lines; ETag / If-None-Match",
            plugins::index,
        ),
        entry(
            M::GET,
            "/api/v1/stats",
            Public,
            "Totals, top categories, recent publishes",
            ops::stats,
        ),
        entry(M::GET, "/health/live", Public, "Liveness", ops::live),
        entry(
            M::GET,
            "/health/ready",
            Public,
            "Readiness (database reachable)",
            ops::ready,
        ),
        entry(
            M::GET,
            "/metrics",
            Public,
            "Prometheus metrics",
            ops::metrics,
        ),
        entry(
            M::GET,
            "/api/openapi.json",
            Public,
            "This document",
            ops::openapi,
        ),
    ]
}

/// Every route of the registry's API and who may call it.
pub fn table() -> Vec<RouteSpec> {
    plexica_server::routes::table(entries())
}

/// Every route of [`table`].
pub fn router(state: AppState) -> Router {
    entries()
        .into_iter()
        .fold(Router::new(), |router, (spec, method_router)| {
            router.route(spec.path, method_router)
        })
        .with_state(state)
}
