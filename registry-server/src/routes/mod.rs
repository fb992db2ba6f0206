//! The HTTP routes, one module per resource. Every route's auth rule is in its handler's
//! signature: a [`crate::auth::Caller`] argument means "token required"; none means public.

pub(crate) use accounts::{create_account, sign_in};

mod accounts;
mod ops;
mod packages;
mod plugins;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
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
        .route("/api/v1/invites", post(accounts::create_invite))
        .route("/api/v1/keys", put(accounts::register_key))
        .route("/api/v1/keys/challenges", post(accounts::key_challenge))
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
            "/api/v1/plugins/{id}/versions/{version}/{document}",
            get(plugins::document),
        )
        .route(
            "/api/v1/plugins/{id}/versions/{version}/images/{*path}",
            get(plugins::image),
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
