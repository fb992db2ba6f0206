//! The HTTP routes, one module per resource. Every route's auth rule is in its handler's
//! signature: a [`crate::auth::Caller`] argument means "token required"; none means public.

pub(crate) use accounts::create_account;

mod accounts;
mod ops;
mod packages;
mod plugins;

use axum::Router;
use axum::routing::{delete, get, post, put};

use crate::state::AppState;

/// Every route of the registry.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/v1/tokens",
            post(accounts::create_token).get(accounts::list_tokens),
        )
        .route("/api/v1/tokens/{id}", delete(accounts::revoke_token))
        .route("/api/v1/me", get(accounts::me))
        .route("/api/v1/me/tokens", post(accounts::create_token_for_caller))
        .route("/api/v1/users", post(accounts::create_user))
        .route("/api/v1/keys", put(accounts::register_key))
        .route("/api/v1/keys/{key_id}", delete(accounts::revoke_key))
        .route("/api/v1/users/{name}/keys", get(accounts::user_keys))
        .route("/api/v1/packages", post(packages::publish))
        .route("/api/v1/plugins", get(plugins::search))
        .route("/api/v1/plugins/{id}", get(plugins::detail))
        .route(
            "/api/v1/plugins/{id}/versions/{version}",
            get(plugins::version),
        )
        .route(
            "/api/v1/plugins/{id}/versions/{version}/download",
            get(plugins::download),
        )
        .route(
            "/api/v1/plugins/{id}/versions/{version}/yank",
            delete(plugins::yank),
        )
        .route(
            "/api/v1/plugins/{id}/versions/{version}/unyank",
            put(plugins::unyank),
        )
        .route(
            "/api/v1/plugins/{id}/deprecation",
            put(plugins::deprecate).delete(plugins::undeprecate),
        )
        .route(
            "/api/v1/plugins/{id}/owners",
            get(plugins::owners)
                .put(plugins::add_owners)
                .delete(plugins::remove_owners),
        )
        .route(
            "/api/v1/plugins/{id}/reviews",
            get(plugins::reviews).post(plugins::review),
        )
        .route("/api/v1/index/{id}", get(plugins::index))
        .route("/api/v1/stats", get(ops::stats))
        .route("/health/live", get(ops::live))
        .route("/health/ready", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/api/openapi.json", get(ops::openapi))
        .with_state(state)
}
