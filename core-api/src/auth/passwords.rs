//! Argon2id password hashes (PHC strings), computed off the async threads, at most
//! [`PARALLEL_HASHES`] at a time (each costs 19 MiB: unbounded, a login burst would be a memory
//! burst).
//!
//! Passwords people choose get Argon2's recommended cost (19 MiB, 2 passes). Passwords this
//! service generates (24 random characters, 138 bits) cannot be guessed whatever the cost, so
//! they are hashed with Argon2id at a light cost (4 MiB, 1 pass): tenant provisioning, which
//! generates the first admin's password, stays fast.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
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

async fn hash_with(password: String, argon2: Argon2<'static>) -> ApiResult<String> {
    limited(move || {
        let salt = SaltString::encode_b64(&random_bytes::<16>())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::internal(e.to_string()))
    })
    .await
    .unwrap_or_else(|| Err(ApiError::internal("the hashing task failed")))
}

/// The Argon2id hash of a password someone chose (recommended cost).
pub async fn hash(password: String) -> ApiResult<String> {
    hash_with(password, Argon2::default()).await
}

/// The Argon2id hash of a password this service generated (light cost, see the module).
pub async fn hash_generated(password: String) -> ApiResult<String> {
    let params =
        Params::new(4 * 1024, 1, 1, None).map_err(|e| ApiError::internal(e.to_string()))?;
    hash_with(
        password,
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
    )
    .await
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
