//! Passwords: what the core accepts as one ([`check`]), and Argon2id hashing under a
//! concurrency bound, with the same cost for every failed login ([`plexica_server::passwords`]).

use crate::error::{ApiError, ApiResult};

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Checks a new password's length (8–256 characters).
pub fn check(password: &str) -> ApiResult<()> {
    let n = password.chars().count();
    if (MIN_PASSWORD_CHARS..=256).contains(&n) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "password",
            format!("a password has {MIN_PASSWORD_CHARS}–256 characters"),
        ))
    }
}

/// The Argon2id hash of a password (recommended cost), at most
/// [`plexica_server::passwords::PARALLEL_HASHES`] at a time.
pub async fn hash(password: String) -> ApiResult<String> {
    plexica_server::passwords::hash(password)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))
}

pub use plexica_server::passwords::verify;
