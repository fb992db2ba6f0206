//! Argon2id password hashes (PHC strings), computed off the async threads, at most
//! [`PARALLEL_HASHES`] at a time: each costs 19 MiB, so an unbounded burst of logins would be an
//! unbounded burst of memory.
//!
//! The hashes run on [`PARALLEL_HASHES`] threads of their own. Each thread keeps its Argon2
//! memory while hashes keep coming and gives it back after [`KEEP_MEMORY`] without one. The
//! memory is allocated with room for more than 32 MiB ([`MEMORY_RESERVED`]), of which a hash
//! touches 19 MiB: glibc serves an allocation that large from a mapping of its own whatever its
//! adaptive threshold (at most 32 MiB), and returns it to the kernel when it is freed. Plain
//! 19 MiB allocations made it raise that threshold and keep every freed block: the process grew
//! by 19 MiB with each new tenant or burst of logins. Untouched pages are never resident.
//!
//! Every password gets Argon2's recommended cost (19 MiB, 2 passes), and an unknown account is
//! checked against a dummy hash of the same cost: a failed login costs the same whoever it
//! names, so its timing tells nothing about the account.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use tokio::sync::{Semaphore, oneshot};

/// Hashes computed at once, at most, per process.
pub const PARALLEL_HASHES: usize = 2;

static SLOTS: Semaphore = Semaphore::const_new(PARALLEL_HASHES);

/// Work for a hashing thread, given the thread's Argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Argon2 blocks (1 KiB each) reserved for a hash: above glibc's largest mmap threshold.
const MEMORY_RESERVED: usize = 33 * 1024;

/// How long a hashing thread keeps its memory without a hash to compute.
pub const KEEP_MEMORY: Duration = Duration::from_secs(2);

/// The first `params.block_count()` blocks of `memory`; `None` when the parameters ask for more
/// than is reserved.
fn argon2_memory<'m>(memory: &'m mut Vec<Block>, params: &Params) -> Option<&'m mut [Block]> {
    let blocks = params.block_count();
    if blocks > MEMORY_RESERVED {
        return None;
    }
    if memory.capacity() < MEMORY_RESERVED {
        *memory = Vec::with_capacity(MEMORY_RESERVED);
    }
    // Argon2 writes every block it uses before reading it: what a previous hash left is fine.
    memory.resize(blocks, Block::default());
    Some(memory.as_mut_slice())
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Argon2 refused (it does not for the inputs we give it).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// No hashing thread took the work.
    #[error("the password hashing threads are gone")]
    Unavailable,
}

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
                        let mut memory = Vec::new();
                        loop {
                            let job = receiver
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .recv_timeout(KEEP_MEMORY);
                            match job {
                                Ok(job) => job(&mut memory),
                                Err(mpsc::RecvTimeoutError::Timeout) => memory = Vec::new(),
                                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                            }
                        }
                    })
                    .ok()?;
            }
            Some(sender)
        })
        .as_ref()
}

/// Runs `work` on a hashing thread once a slot is free.
async fn limited<T: Send + 'static>(
    work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
) -> Option<T> {
    let _slot = SLOTS.acquire().await.ok()?;
    let (done, result) = oneshot::channel();
    workers()?
        .send(Box::new(move |memory: &mut Vec<Block>| {
            let _ = done.send(work(memory));
        }))
        .ok()?;
    result.await.ok()
}

/// Argon2id of `password` and `salt` with `params` into `out`, in `memory`; `None` when Argon2
/// refuses or the parameters need more memory than is reserved for a hash.
fn argon2id(
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Option<()> {
    let memory = argon2_memory(memory, &params)?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into_with_memory(password, salt, out, memory)
        .ok()
}

/// The Argon2id hash of `password` (recommended cost, random salt), as a PHC string.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    limited(move |memory| {
        let params = Params::default();
        let mut raw_salt = [0u8; 16];
        let raw_salt = salt
            .as_salt()
            .decode_b64(&mut raw_salt)
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon2id(
            params.clone(),
            password.as_bytes(),
            raw_salt,
            &mut out,
            memory,
        )
        .ok_or_else(|| PasswordError::Hash("Argon2 refused its parameters".to_owned()))?;
        let output = Output::new(&out).map_err(|e| PasswordError::Hash(e.to_string()))?;
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${output}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            salt.as_str()
        ))
    })
    .await
    .unwrap_or(Err(PasswordError::Unavailable))
}

/// Does `password` match the PHC string `hash`?
fn matches(password: &[u8], hash: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(params), Some(salt), Some(expected)) =
        (Params::try_from(&parsed), parsed.salt, parsed.hash)
    else {
        return false;
    };
    if parsed.algorithm.as_str() != "argon2id" || parsed.version.is_some_and(|v| v != 0x13) {
        return false;
    }
    let mut raw_salt = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut raw_salt) else {
        return false;
    };
    let mut out = [0u8; 64];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    argon2id(params, password, raw_salt, out, memory).is_some()
        && Output::new(out).is_ok_and(|computed| computed == expected)
}

/// Does `password` match `hash`? With no hash (unknown account), a dummy hash of the same cost
/// is checked, so that the answer takes as long as for a real account.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$\
                         Zg7IXnNlFk8gH2K4yGQ1X8aRz9ZQ0k0mP4nS3F0wGvA";
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY.to_owned());
    limited(move |memory| matches(password.as_bytes(), &hash, memory) && known)
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher as _;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() -> TestResult {
        let hashed = hash("correct horse".to_owned()).await?;
        assert!(hashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse".to_owned(), Some(hashed.clone())).await);
        assert!(!verify("wrong horse".to_owned(), Some(hashed)).await);
        assert!(!verify("correct horse".to_owned(), None).await);
        Ok(())
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crates_own() -> TestResult {
        // One of ours verifies with the crate's verifier, and one of the crate's (at another
        // cost, as older releases stored) with ours.
        let ours = hash("battery staple".to_owned()).await?;
        let parsed = PasswordHash::new(&ours).map_err(|e| e.to_string())?;
        assert!(
            argon2::PasswordVerifier::verify_password(
                &Argon2::default(),
                b"battery staple",
                &parsed
            )
            .is_ok()
        );
        let light = Params::new(4096, 1, 1, None).map_err(|e| e.to_string())?;
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, light)
            .hash_password(
                b"battery staple",
                &SaltString::encode_b64(b"sixteen byte slt").map_err(|e| e.to_string())?,
            )
            .map_err(|e| e.to_string())?
            .to_string();
        assert!(verify("battery staple".to_owned(), Some(theirs.clone())).await);
        assert!(!verify("battery stapler".to_owned(), Some(theirs)).await);
        assert!(!verify("x".to_owned(), Some("not a hash".to_owned())).await);
        Ok(())
    }
}
