//! Who is calling: API tokens (`Authorization: Bearer plxr_…`, stored as sha256), passwords
//! (Argon2id, a few at a time), and the extractor every authenticated route takes. A request
//! whose token is refused takes a slot from its address's anonymous limit, so that guessing
//! tokens is as limited as any anonymous request.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use plexica_sdk::api::registry::{Scope, TOKEN_PREFIX};
use plexica_server::secrets;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{Token, User};
use plexica_sdk::api::time::{now_ms, rfc3339};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account.
    pub user: User,
    /// The token used.
    pub token: Token,
}

impl Caller {
    /// Fails with 403 unless the token carries `scope` (admins' tokens need it too).
    pub fn require(&self, scope: Scope) -> ApiResult<()> {
        if self.token.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "SCOPE_MISSING",
                format!("this token lacks the `{}` scope", scope.as_str()),
            ))
        }
    }

    /// Fails with 403 unless the caller is an administrator with an `admin` token.
    pub fn require_admin(&self) -> ApiResult<()> {
        if !self.user.admin {
            return Err(ApiError::forbidden("FORBIDDEN", "administrators only"));
        }
        self.require(Scope::Admin)
    }
}

/// A new token secret `plxr_<64 hex digits>` and a public id.
pub fn new_token_secret() -> (String, String) {
    (
        secrets::new_secret(TOKEN_PREFIX),
        secrets::random_hex::<9>(""),
    )
}

/// The Argon2id hash of a password (see [`plexica_server::passwords`]).
pub async fn hash_password(password: String) -> ApiResult<String> {
    plexica_server::passwords::hash(password)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))
}

pub use plexica_server::passwords::verify as verify_password;

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match authenticate(parts, state).await {
            Ok(caller) => Ok(caller),
            Err(refusal) => {
                // Without the header, the request already counted as anonymous.
                if parts.headers.contains_key(header::AUTHORIZATION) {
                    state
                        .limits
                        .anonymous(crate::limits::client_ip(&parts.extensions))?;
                }
                Err(refusal)
            }
        }
    }
}

/// The caller when the request carries credentials; `None` without an `Authorization`
/// header (a route open to anonymous callers, as sign-up).
impl OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            <Self as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    }
}

/// The account and token of the request's `Authorization` header.
async fn authenticate(parts: &Parts, state: &AppState) -> ApiResult<Caller> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::unauthenticated("an API token is required (Authorization: Bearer plxr_…)")
        })?;
    let secret = header
        .strip_prefix("Bearer ")
        .filter(|s| s.starts_with(TOKEN_PREFIX))
        .ok_or_else(|| {
            ApiError::unauthenticated("malformed Authorization header; expected `Bearer plxr_…`")
        })?;
    caller_from_secret(state, secret).await
}

/// The account and token of an API token's secret (from a header or a web session cookie).
pub async fn caller_from_secret(state: &AppState, secret: &str) -> ApiResult<Caller> {
    let hash = secrets::hash(secret);
    let token = state
        .meta
        .token_by_hash(&hash)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("unknown or revoked token"))?;
    if token.revoked_at.is_some() {
        return Err(ApiError::unauthenticated("unknown or revoked token"));
    }
    if token.expires_at <= now_ms() {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "TOKEN_EXPIRED",
            format!("the token expired at {}", rfc3339(token.expires_at)),
        ));
    }
    let user = state
        .meta
        .user_by_id(token.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("the token's account no longer exists"))?;
    Ok(Caller { user, token })
}
