//! The HTTP routes, one module per resource, and [`table`]: every route with its [`Access`]
//! rule, from which the router, the OpenAPI document and the outsider tests are made.

mod accounts;
mod ops;
mod packages;
mod plugins;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use plexica_sdk::api::registry::{
    CreateInviteRequest, CreateTokenRequest, CreateUserRequest, CreatedInvite, CreatedToken,
    Deprecation, KeyChallenge, Me, NewTokenRequest, Owners, OwnersRequest, PluginDetail, Published,
    PublisherKey, RegisterKeyRequest, Review, ReviewRequest, SearchResults, Stats, TokenInfo,
    UserInfo, VersionDetail, YankRequest,
};
use plexica_server::routes::{Entry, entry};
use serde::de::DeserializeOwned;
use serde_json::Value;

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

fn entries() -> Vec<Entry<Access, AppState>> {
    use Access::{Public, Token};
    use axum::http::Method as M;
    vec![
        entry(
            M::POST,
            "/api/v1/tokens",
            Public,
            "Trade username and password for a token (shown once)",
            accounts::create_token,
        ).takes::<CreateTokenRequest>().gives::<CreatedToken>(201),
        entry(
            M::GET,
            "/api/v1/tokens",
            Token,
            "The caller's tokens",
            accounts::list_tokens,
        ).gives::<Vec<TokenInfo>>(200),
        entry(
            M::DELETE,
            "/api/v1/tokens/{id}",
            Token,
            "Revoke one of the caller's tokens",
            accounts::revoke_token,
        ).gives_nothing(204),
        entry(
            M::GET,
            "/api/v1/me",
            Token,
            "Who am I, token scopes and expiry",
            accounts::me,
        ).gives::<Me>(200),
        entry(
            M::POST,
            "/api/v1/me/tokens",
            Token,
            "Another token for the caller",
            accounts::create_token_for_caller,
        ).takes::<NewTokenRequest>().gives::<CreatedToken>(201),
        entry(
            M::POST,
            "/api/v1/users",
            Public,
            "Create an account: by an admin, with an invite, or by anyone when sign-up is open",
            accounts::create_user,
        ).takes::<CreateUserRequest>().gives::<UserInfo>(201),
        entry(
            M::POST,
            "/api/v1/invites",
            Token,
            "Invite a publisher to create a named account (admin)",
            accounts::create_invite,
        ).takes::<CreateInviteRequest>().gives::<CreatedInvite>(201),
        entry(
            M::PUT,
            "/api/v1/keys",
            Token,
            "Register a public key, with its signature over a challenge",
            accounts::register_key,
        ).takes::<RegisterKeyRequest>().gives::<PublisherKey>(201),
        entry(
            M::POST,
            "/api/v1/keys/challenges",
            Token,
            "A text for a key to sign before it is registered",
            accounts::key_challenge,
        ).gives::<KeyChallenge>(201),
        entry(
            M::DELETE,
            "/api/v1/keys/{key_id}",
            Token,
            "Revoke a public key",
            accounts::revoke_key,
        ).gives::<PublisherKey>(200),
        entry(
            M::GET,
            "/api/v1/users/{name}/keys",
            Public,
            "A publisher's keys, revoked ones marked",
            accounts::user_keys,
        ).gives::<Vec<PublisherKey>>(200),
        entry(
            M::POST,
            "/api/v1/packages",
            Token,
            "Publish a .pxp (scope publish); ?dry-run=true checks only",
            packages::publish,
        ).takes_media("application/octet-stream").gives::<Published>(201).gives::<Published>(200),
        entry(
            M::GET,
            "/api/v1/plugins",
            Public,
            "Search: q, category, sort, page, per_page",
            plugins::search,
        ).gives::<SearchResults>(200),
        entry(
            M::GET,
            "/api/v1/plugins/{id}",
            Public,
            "Plugin metadata, owners, versions, latest",
            plugins::detail,
        ).gives::<PluginDetail>(200),
        entry(
            M::GET,
            "/api/v1/plugins/{id}/versions/{version}",
            Public,
            "Version metadata",
            plugins::version,
        ).gives::<VersionDetail>(200),
        entry(
            M::GET,
            "/api/v1/plugins/{id}/versions/{version}/download",
            Public,
            "The package bytes",
            plugins::download,
        ).gives_media(200, "application/zip").gives_nothing(304),
        entry(
            M::GET,
            "/api/v1/plugins/{id}/versions/{version}/{document}",
            Public,
            "The package's README or CHANGELOG (`readme`, `changelog`): Markdown, or sanitized HTML with `format=html`",
            plugins::document,
        ).gives_media(200, "text/*"),
        entry(
            M::GET,
            "/api/v1/plugins/{id}/versions/{version}/images/{*path}",
            Public,
            "An image of the package (screenshot, README image), immutable",
            plugins::image,
        ).gives_media(200, "image/*"),
        entry(
            M::DELETE,
            "/api/v1/plugins/{id}/versions/{version}/yank",
            Token,
            "Yank with a reason (owner)",
            plugins::yank,
        ).takes::<YankRequest>().gives::<VersionDetail>(200),
        entry(
            M::PUT,
            "/api/v1/plugins/{id}/versions/{version}/unyank",
            Token,
            "Undo a yank (owner)",
            plugins::unyank,
        ).gives::<VersionDetail>(200),
        entry(
            M::PUT,
            "/api/v1/plugins/{id}/deprecation",
            Token,
            "Deprecate (owner)",
            plugins::deprecate,
        ).takes::<Deprecation>().gives::<PluginDetail>(200),
        entry(
            M::DELETE,
            "/api/v1/plugins/{id}/deprecation",
            Token,
            "Remove the deprecation (owner)",
            plugins::undeprecate,
        ).gives::<PluginDetail>(200),
        entry(
            M::GET,
            "/api/v1/plugins/{id}/owners",
            Public,
            "Owners",
            plugins::owners,
        ).gives::<Owners>(200),
        entry(
            M::PUT,
            "/api/v1/plugins/{id}/owners",
            Token,
            "Add owners (owner)",
            plugins::add_owners,
        ).takes::<OwnersRequest>().gives::<Owners>(200),
        entry(
            M::DELETE,
            "/api/v1/plugins/{id}/owners",
            Token,
            "Remove owners (owner)",
            plugins::remove_owners,
        ).takes::<OwnersRequest>().gives::<Owners>(200),
        entry(
            M::GET,
            "/api/v1/plugins/{id}/reviews",
            Public,
            "Reviews",
            plugins::reviews,
        ).gives::<Vec<Review>>(200),
        entry(
            M::POST,
            "/api/v1/plugins/{id}/reviews",
            Token,
            "Post or edit the caller's review",
            plugins::review,
        ).takes::<ReviewRequest>().gives::<Review>(200),
        entry(
            M::GET,
            "/api/v1/index/{id}",
            Public,
            "All versions as JSON lines; ETag / If-None-Match",
            plugins::index,
        ).gives_media(200, "application/x-ndjson").gives_nothing(304),
        entry(
            M::GET,
            "/api/v1/stats",
            Public,
            "Totals, top categories, recent publishes",
            ops::stats,
        ).gives::<Stats>(200),
        entry(M::GET, "/health/live", Public, "Liveness", ops::live).gives::<Value>(200),
        entry(
            M::GET,
            "/health/ready",
            Public,
            "Readiness (database reachable)",
            ops::ready,
        ).gives::<Value>(200),
        entry(
            M::GET,
            "/metrics",
            Public,
            "Prometheus metrics",
            ops::metrics,
        ).gives_media(200, "text/plain; version=0.0.4"),
        entry(
            M::GET,
            "/api/openapi.json",
            Public,
            "This document",
            ops::openapi,
        ).gives::<Value>(200),
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
        .fold(Router::new(), |router, Entry { spec, handler }| {
            router.route(spec.path, handler)
        })
        .with_state(state)
}
