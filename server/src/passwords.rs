//! Argon2id password hashes (PHC strings), computed off the async threads, at most
//! [`PARALLEL_HASHES`] at a time: each costs 19 MiB, so an unbounded burst of logins would be an
//! unbounded burst of memory.
//!
//! The hashes run on [`PARALLEL_HASHES`] threads of their own, never on tokio's blocking pool:
//! the allocator keeps a freed 19 MiB block in the arena of the thread that used it, so hashes
//! spread over a pool of hundreds of threads would leave hundreds of MiB behind.
//!
//! Every password gets Argon2's recommended cost (19 MiB, 2 passes), and an unknown account is
//! checked against a dummy hash of the same cost: a failed login costs the same whoever it
//! names, so its timing tells nothing about the account.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use rand::RngCore;
use tokio::sync::{Semaphore, oneshot};

/// Hashes computed at once, at most, per process.
pub const PARALLEL_HASHES: usize = 2;

static SLOTS: Semaphore = Semaphore::const_new(PARALLEL_HASHES);

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads' queue (at most [`PARALLEL_HASHES`] jobs wait in it: see [`SLOTS`]).
fn workers() -> Option<&'static mpsc::Sender<Job>> {
    static WORKERS: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    WORKERS
        .get_or_init(|| {
            let (sender, receiver) = mpsc::channel::<Job>();
            let receiver = Arc::new(Mutex::new(receiver));
            for n in 0..PARALLEL_HASHES {
                let receiver = Arc::clone(&receiver);
                std::thread::Builder::new()
                    .name(format!("password-hash-{n}"))
                    .spawn(move || {
                        loop {
                            let job = receiver
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .recv();
                            match job {
                                Ok(job) => job(),
                                Err(_) => break,
                            }
                        }
                    })
                    .ok()?;
            }
            Some(sender)
        })
        .as_ref()
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Argon2 refused (it does not for the inputs we give it).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The blocking task running the hash did not finish.
    #[error("the password hashing task failed")]
    Task,
}

/// Runs `work` on a hashing thread once a slot is free.
async fn limited<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _slot = SLOTS.acquire().await.ok()?;
    let (done, result) = oneshot::channel();
    workers()?
        .send(Box::new(move || {
            let _ = done.send(work());
        }))
        .ok()?;
    result.await.ok()
}

/// The Argon2id hash of `password` (recommended cost, random salt).
pub async fn hash(password: String) -> Result<String, PasswordError> {
    limited(move || {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordError::Hash(e.to_string()))
    })
    .await
    .unwrap_or(Err(PasswordError::Task))
}

/// Does `password` match `hash`? With no hash (unknown account), a dummy hash of the same cost
/// is checked, so that the answer takes as long as for a real account.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hashed = hash("correct horse".to_owned()).await.unwrap();
        assert!(hashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse".to_owned(), Some(hashed.clone())).await);
        assert!(!verify("wrong horse".to_owned(), Some(hashed)).await);
        assert!(!verify("correct horse".to_owned(), None).await);
    }
}
