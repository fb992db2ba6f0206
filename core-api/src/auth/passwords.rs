//! Argon2id password hashes (PHC strings), computed off the async threads, at most
//! [`PARALLEL_HASHES`] at a time (each costs 19 MiB: unbounded, a login burst would be a memory
//! burst).
//!
//! Every password — chosen or generated — gets Argon2's recommended cost (19 MiB, 2 passes),
//! and an unknown account is checked against a dummy hash of the same cost: a failed login
//! costs the same whoever it names, so its timing tells nothing about the account.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use tokio::sync::Semaphore;

use super::secrets::random_bytes;
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

/// Hashes computed at once, at most.
pub const PARALLEL_HASHES: usize = 2;

static SLOTS: Semaphore = Semaphore::const_new(PARALLEL_HASHES);

/// Runs `work` on a blocking thread once a hashing slot is free.
async fn limited<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _slot = SLOTS.acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// The Argon2id hash of a password (recommended cost).
pub async fn hash(password: String) -> ApiResult<String> {
    limited(move || {
        let salt = SaltString::encode_b64(&random_bytes::<16>())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::internal(e.to_string()))
    })
    .await
    .unwrap_or_else(|| Err(ApiError::internal("the hashing task failed")))
}

/// Does `password` match `hash`? With no hash (unknown user), a dummy hash is checked so that
/// the answer takes as long as for a real account.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$\
                         Zg7IXnNlFk8gH2K4yGQ1X8aRz9ZQ0k0mP4nS3F0wGvA";
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY.to_owned());
    limited(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        }) && known
    })
    .await
    .unwrap_or(false)
}
