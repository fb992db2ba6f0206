//! Secrets at rest (security.md, "Secrets at rest"): the private halves of the token signing
//! keys are stored sealed (XChaCha20-Poly1305, the key id as associated data) with a
//! key-encryption key that is never in the data directory — given in the environment, or kept
//! in a 0600 file beside it (`<data-dir>.kek` by default, which `plexica up` and the server
//! create on first start). A copy of the data directory or the database alone reveals no
//! signing key, and a plugin (confined to its package and state directory) reads neither.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Prefix of a sealed value: `sealed:v1:<nonce, base64>:<ciphertext, base64>`.
const SEALED_PREFIX: &str = "sealed:v1:";

/// The environment variable that may hold the key-encryption key (32 bytes, base64).
pub const KEY_ENCRYPTION_KEY_ENV: &str = "PLEXICA_KEY_ENCRYPTION_KEY";

/// Why a key-encryption key or a sealed value could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SealingError {
    /// The key is not 32 bytes of base64.
    #[error("the key-encryption key is not 32 bytes in base64")]
    BadKey,
    /// The key file is open to other users.
    #[error("{path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`")]
    OpenFile {
        /// The file.
        path: String,
        /// Its mode.
        mode: u32,
    },
    /// The key file could not be read or created.
    #[error("key-encryption key file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// A sealed value does not open with this key (another key, or altered).
    #[error(
        "a sealed secret does not open with this key-encryption key (another key, or altered data)"
    )]
    WrongKey,
}

/// The key that seals secrets at rest. Its `Debug` never shows it.
#[derive(Clone)]
pub struct KeyEncryptionKey([u8; 32]);

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey(********)")
    }
}

impl KeyEncryptionKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self(crate::secrets::random_bytes::<32>())
    }

    /// The key written as base64 (as in the environment variable and the key file).
    pub fn from_base64(text: &str) -> Result<Self, SealingError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SealingError::BadKey)?;
        Ok(Self(bytes.try_into().map_err(|_| SealingError::BadKey)?))
    }

    /// The key as base64.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The key in `path` (must be private to its owner), created with a random key when it
    /// does not exist.
    pub fn from_file(path: &Path) -> Result<Self, SealingError> {
        let fail = |reason: String| SealingError::File {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::metadata(path) {
            Ok(meta) => {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(SealingError::OpenFile {
                        path: path.display().to_string(),
                        mode,
                    });
                }
                let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
                Self::from_base64(&text)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|e| fail(e.to_string()))?;
                writeln!(file, "{}", key.to_base64())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| fail(e.to_string()))?;
                Ok(key)
            }
            Err(e) => Err(fail(e.to_string())),
        }
    }

    /// `secret` sealed, bound to `context` (a value sealed for one context does not open in
    /// another).
    pub fn seal(&self, context: &str, secret: &str) -> String {
        let nonce: [u8; 24] = crate::secrets::random_bytes::<24>();
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let payload = Payload {
            msg: secret.as_bytes(),
            aad: context.as_bytes(),
        };
        // Encryption in memory fails only for messages beyond what the cipher can count.
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        format!(
            "{SEALED_PREFIX}{}:{}",
            STANDARD.encode(nonce),
            STANDARD.encode(sealed)
        )
    }

    /// The secret sealed in `stored` for `context`.
    pub fn open(&self, context: &str, stored: &str) -> Result<String, SealingError> {
        let rest = stored
            .strip_prefix(SEALED_PREFIX)
            .ok_or(SealingError::WrongKey)?;
        let (nonce, sealed) = rest.split_once(':').ok_or(SealingError::WrongKey)?;
        let nonce = STANDARD.decode(nonce).map_err(|_| SealingError::WrongKey)?;
        let sealed = STANDARD
            .decode(sealed)
            .map_err(|_| SealingError::WrongKey)?;
        if nonce.len() != 24 {
            return Err(SealingError::WrongKey);
        }
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let payload = Payload {
            msg: &sealed,
            aad: context.as_bytes(),
        };
        let plain = cipher
            .decrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| SealingError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SealingError::WrongKey)
    }
}

/// Is `stored` a sealed value (rather than one written before sealing existed)?
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

/// Where the server finds its key-encryption key.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// This key (from the environment, or made by the caller).
    Key(KeyEncryptionKey),
    /// The key in this file, created when missing.
    File(PathBuf),
}

impl KeySource {
    /// The key.
    pub fn key(&self) -> Result<KeyEncryptionKey, SealingError> {
        match self {
            Self::Key(key) => Ok(key.clone()),
            Self::File(path) => KeyEncryptionKey::from_file(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() -> TestResult {
        let key = KeyEncryptionKey::generate();
        let sealed = key.seal("k_1", "the private key");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("the private key"));
        assert_eq!(key.open("k_1", &sealed)?, "the private key");
        assert!(key.open("k_2", &sealed).is_err(), "bound to its key id");
        assert!(KeyEncryptionKey::generate().open("k_1", &sealed).is_err());
        let mut altered = sealed.clone();
        altered.pop();
        altered.push('A');
        assert!(key.open("k_1", &altered).is_err());
        assert!(key.open("k_1", "the private key").is_err());
        let again = KeyEncryptionKey::from_base64(&key.to_base64())?;
        assert_eq!(again.open("k_1", &sealed)?, "the private key");
        assert!(format!("{key:?}").contains("****"));
        Ok(())
    }

    #[test]
    fn key_files_are_created_private_and_refused_when_open() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("core.kek");
        let made = KeyEncryptionKey::from_file(&path)?;
        let mode = std::fs::metadata(&path)?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let read = KeyEncryptionKey::from_file(&path)?;
        assert_eq!(read.to_base64(), made.to_base64());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        assert!(matches!(
            KeyEncryptionKey::from_file(&path),
            Err(SealingError::OpenFile { .. })
        ));
        Ok(())
    }
}
