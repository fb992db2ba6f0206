//! Who is calling: API tokens (`Authorization: Bearer plxr_…`, stored as sha256), passwords
//! (argon2), and the extractor every authenticated route takes.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use plexica_sdk::api::registry::{Scope, TOKEN_PREFIX};
use rand::RngCore;

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

/// Hex sha256 of a token secret: what the database keeps.
pub fn hash_token(secret: &str) -> String {
    plexica_sdk::package::sha256_hex(secret.as_bytes())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// A new token secret `plxr_<43 url-safe chars>` and a public id.
pub fn new_token_secret() -> (String, String) {
    use std::fmt::Write;
    let secret: String =
        random_bytes::<32>()
            .iter()
            .fold(String::from(TOKEN_PREFIX), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            });
    let id = random_bytes::<9>().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    (secret, id)
}

/// argon2id hash of a password, as a PHC string.
pub async fn hash_password(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&random_bytes::<16>())
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::bad_request(e.to_string()))
    })
    .await
    .map_err(|e| ApiError::bad_request(e.to_string()))?
}

/// Does `password` match the stored PHC `hash`? Constant-time in the hash comparison.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
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
                ApiError::unauthenticated(
                    "malformed Authorization header; expected `Bearer plxr_…`",
                )
            })?;
        let hash = hash_token(secret);
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
        Ok(Self { user, token })
    }
}
