//! Ed25519 keys and signatures in minisign's formats, so that the stock `minisign -V` verifies a
//! package's `CHECKSUMS` with a Plexica public key, and `minisign -S` can sign with a Plexica
//! secret key, and the other way round: keys made by `minisign -G` (with a passphrase or,
//! `-W`, without) sign for Plexica.
//!
//! - Secret key: base64(`Ed` ‖ KDF ‖ `B2` ‖ salt ‖ opslimit ‖ memlimit ‖ key id ‖ keypair ‖
//!   BLAKE2b-256 checksum). With the KDF `Sc`, the last three are XORed with scrypt's output for
//!   the passphrase, the cost read from opslimit and memlimit as libsodium reads them; without
//!   one (`\0\0`), stock minisign leaves the checksum zero and the file mode protects the key.
//!
//! - Public key: `untrusted comment: …` line, then base64(`Ed` ‖ key id ‖ 32-byte key). The
//!   second line alone is the one-line form that can be pasted anywhere.
//! - Signature: base64(`ED` ‖ key id ‖ Ed25519(BLAKE2b-512(data))), then a trusted comment
//!   and base64(Ed25519(signature ‖ trusted comment)), the "global" signature that binds the
//!   comment. Plexica's trusted comment names the plugin id, version, key id and time, so a
//!   signature cannot be moved to another plugin or version.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Blake2b512, Digest};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};

const PUBLIC_ALG: &[u8; 2] = b"Ed";
const PREHASHED_ALG: &[u8; 2] = b"ED";
const CHECKSUM_ALG: &[u8; 2] = b"B2";
const NO_KDF: &[u8; 2] = &[0, 0];
const SCRYPT_KDF: &[u8; 2] = b"Sc";
/// The scrypt cost of the keys Plexica encrypts, in libsodium's terms: N = 2^17, r = 8, p = 1
/// (128 MiB, a fraction of a second). Stock minisign writes 1 GiB and reads these as written.
const OPSLIMIT: u64 = 1 << 22;
const MEMLIMIT: u64 = 1 << 27;
/// The most memory an encrypted key may make scrypt use (stock minisign's own cost: 1 GiB).
const MAX_SCRYPT_LOG_N: u8 = 20;

/// Problems with keys or signatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The text is not in the expected format.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Key or signature.
        what: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The signature was made by another key.
    #[error("signed by key {signed_by}, not by key {expected}")]
    OtherKey {
        /// Key id in the signature.
        signed_by: KeyId,
        /// Key id of the key checked against.
        expected: KeyId,
    },
    /// The signature does not match the data.
    #[error("signature does not match the signed data")]
    BadSignature,
    /// The trusted comment was altered.
    #[error("trusted comment does not match its signature")]
    BadCommentSignature,
    /// The secret key is encrypted and was read without a passphrase.
    #[error("the secret key is protected by a passphrase")]
    PassphraseRequired,
    /// The passphrase does not open the secret key (or the file is damaged).
    #[error("wrong passphrase for the secret key (or the key file is damaged)")]
    WrongPassphrase,
}

fn malformed(what: &'static str, reason: &'static str) -> SignatureError {
    SignatureError::Malformed { what, reason }
}

/// The base64 payload of a key file: its first line that is not the untrusted comment.
fn decode_key_line(text: &str, what: &'static str) -> Result<Vec<u8>, SignatureError> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
        .ok_or_else(|| malformed(what, "no key line"))?;
    B64.decode(line).map_err(|_| malformed(what, "not base64"))
}

/// An 8-byte key id, shown as 16 upper-case hex digits as minisign shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

impl std::str::FromStr for KeyId {
    type Err = SignatureError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 16 {
            return Err(malformed("key id", "expected 16 hex digits"));
        }
        u64::from_str_radix(s, 16)
            .map(|n| Self(n.to_le_bytes()))
            .map_err(|_| malformed("key id", "expected 16 hex digits"))
    }
}

/// A public key that verifies signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Its id.
    pub id: KeyId,
    key: VerifyingKey,
}

impl PublicKey {
    /// The one-line form: base64(`Ed` ‖ id ‖ key).
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(42);
        raw.extend_from_slice(PUBLIC_ALG);
        raw.extend_from_slice(&self.id.0);
        raw.extend_from_slice(self.key.as_bytes());
        B64.encode(raw)
    }

    /// The minisign `.pub` file form.
    pub fn to_file_text(&self) -> String {
        format!(
            "untrusted comment: minisign public key {}\n{}\n",
            self.id,
            self.to_line()
        )
    }

    /// Parses the one-line form or the two-line file form.
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let raw = decode_key_line(text, "public key")?;
        if raw.len() != 42 || &raw[..2] != PUBLIC_ALG {
            return Err(malformed("public key", "not an Ed25519 minisign key"));
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&raw[2..10]);
        let mut key = [0u8; 32];
        key.copy_from_slice(&raw[10..42]);
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| malformed("public key", "not a valid Ed25519 point"))?;
        Ok(Self { id: KeyId(id), key })
    }

    /// Verifies `signature` over `data`: key id, data signature, then the trusted comment.
    pub fn verify(&self, data: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        if signature.key_id != self.id {
            return Err(SignatureError::OtherKey {
                signed_by: signature.key_id,
                expected: self.id,
            });
        }
        let digest = Blake2b512::digest(data);
        let sig = ed25519_dalek::Signature::from_bytes(&signature.signature);
        self.key
            .verify(&digest, &sig)
            .map_err(|_| SignatureError::BadSignature)?;
        let mut global = signature.signature.to_vec();
        global.extend_from_slice(signature.trusted_comment.as_bytes());
        let global_sig = ed25519_dalek::Signature::from_bytes(&signature.global_signature);
        self.key
            .verify(&global, &global_sig)
            .map_err(|_| SignatureError::BadCommentSignature)
    }
}

/// A secret signing key.
pub struct SecretKey {
    /// Its id.
    pub id: KeyId,
    key: SigningKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn key_checksum(id: &KeyId, keypair: &[u8; 64]) -> [u8; 32] {
    let mut hasher = Blake2b::<U32>::new();
    hasher.update(PUBLIC_ALG);
    hasher.update(id.0);
    hasher.update(keypair);
    hasher.finalize().into()
}

/// The 104 bytes scrypt derives from `passphrase` to encrypt a key, with the cost read from
/// `opslimit` and `memlimit` as libsodium's `crypto_pwhash_scryptsalsa208sha256` reads them.
fn key_stream(
    passphrase: &str,
    salt: &[u8],
    opslimit: u64,
    memlimit: u64,
) -> Result<[u8; 104], SignatureError> {
    let too_costly = || malformed("secret key", "its key derivation costs more than 1 GiB");
    let ops = opslimit.max(32_768);
    let r: u64 = 8;
    let smallest_log_n_above = |max_n: u64| {
        (1..63u8)
            .find(|log_n| (1u64 << log_n) > max_n / 2)
            .unwrap_or(63)
    };
    let (log_n, p) = if ops < memlimit / 32 {
        (smallest_log_n_above(ops / (r * 4)), 1)
    } else {
        let log_n = smallest_log_n_above(memlimit / (r * 128));
        let max_rp = ((ops / 4) >> log_n).min(0x3fff_ffff);
        (log_n, max_rp / r)
    };
    if log_n > MAX_SCRYPT_LOG_N || p > 16 {
        return Err(too_costly());
    }
    let params = u32::try_from(p)
        .ok()
        .and_then(|p| scrypt::Params::new(log_n, 8, p, 32).ok())
        .ok_or_else(|| malformed("secret key", "invalid key derivation parameters"))?;
    let mut stream = [0u8; 104];
    scrypt::scrypt(passphrase.as_bytes(), salt, &params, &mut stream)
        .map_err(|_| malformed("secret key", "invalid key derivation parameters"))?;
    Ok(stream)
}

fn xor(data: &mut [u8], stream: &[u8]) {
    for (byte, mask) in data.iter_mut().zip(stream) {
        *byte ^= mask;
    }
}

impl SecretKey {
    /// Generates a new key from the operating system's randomness.
    pub fn generate() -> Self {
        let mut rng = rand_core::OsRng;
        let key = SigningKey::generate(&mut rng);
        let mut id = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rng, &mut id);
        Self { id: KeyId(id), key }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The minisign secret key file form, unencrypted (protected by the file's mode).
    pub fn to_file_text(&self) -> String {
        self.file_text(None)
    }

    /// The minisign secret key file form, encrypted with `passphrase` (minisign's scheme:
    /// scrypt, then XOR), which stock `minisign -S` opens with the same passphrase.
    pub fn to_encrypted_file_text(&self, passphrase: &str) -> String {
        self.file_text(Some(passphrase))
    }

    fn file_text(&self, passphrase: Option<&str>) -> String {
        let keypair = self.key.to_keypair_bytes();
        let mut secret = Vec::with_capacity(104);
        secret.extend_from_slice(&self.id.0);
        secret.extend_from_slice(&keypair);
        secret.extend_from_slice(&key_checksum(&self.id, &keypair));
        let mut raw = Vec::with_capacity(158);
        raw.extend_from_slice(PUBLIC_ALG);
        let state = match passphrase {
            None => {
                raw.extend_from_slice(NO_KDF);
                raw.extend_from_slice(CHECKSUM_ALG);
                raw.extend_from_slice(&[0u8; 32]);
                raw.extend_from_slice(&0u64.to_le_bytes());
                raw.extend_from_slice(&0u64.to_le_bytes());
                "unencrypted"
            }
            Some(passphrase) => {
                let mut salt = [0u8; 32];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
                raw.extend_from_slice(SCRYPT_KDF);
                raw.extend_from_slice(CHECKSUM_ALG);
                raw.extend_from_slice(&salt);
                raw.extend_from_slice(&OPSLIMIT.to_le_bytes());
                raw.extend_from_slice(&MEMLIMIT.to_le_bytes());
                // Our own constants always give valid parameters.
                if let Ok(stream) = key_stream(passphrase, &salt, OPSLIMIT, MEMLIMIT) {
                    xor(&mut secret, &stream);
                }
                "encrypted"
            }
        };
        raw.extend_from_slice(&secret);
        format!(
            "untrusted comment: minisign secret key {} ({state}, plexica)\n{}\n",
            self.id,
            B64.encode(raw)
        )
    }

    /// Whether a secret key file is protected by a passphrase (then open it with
    /// [`SecretKey::parse_with_passphrase`]).
    pub fn is_encrypted(text: &str) -> bool {
        decode_key_line(text, "secret key").is_ok_and(|raw| raw.get(2..4) == Some(SCRYPT_KDF))
    }

    /// Parses an unencrypted minisign secret key file (Plexica's, or stock `minisign -G -W`'s,
    /// whose checksum is left zero); an encrypted one is [`SignatureError::PassphraseRequired`].
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        Self::open(text, None)
    }

    /// Parses a minisign secret key file, encrypted with `passphrase` or not encrypted.
    pub fn parse_with_passphrase(text: &str, passphrase: &str) -> Result<Self, SignatureError> {
        Self::open(text, Some(passphrase))
    }

    fn open(text: &str, passphrase: Option<&str>) -> Result<Self, SignatureError> {
        let raw = decode_key_line(text, "secret key")?;
        if raw.len() != 158 || &raw[..2] != PUBLIC_ALG || &raw[4..6] != CHECKSUM_ALG {
            return Err(malformed(
                "secret key",
                "not an Ed25519 minisign secret key",
            ));
        }
        let mut secret = raw[54..158].to_vec();
        let kdf = &raw[2..4];
        if kdf == SCRYPT_KDF {
            let passphrase = passphrase.ok_or(SignatureError::PassphraseRequired)?;
            let number = |range: std::ops::Range<usize>| {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&raw[range]);
                u64::from_le_bytes(bytes)
            };
            let stream = key_stream(passphrase, &raw[6..38], number(38..46), number(46..54))?;
            xor(&mut secret, &stream);
        } else if kdf != NO_KDF {
            return Err(malformed("secret key", "unknown key derivation"));
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&secret[..8]);
        let mut keypair = [0u8; 64];
        keypair.copy_from_slice(&secret[8..72]);
        let id = KeyId(id);
        let checksum = &secret[72..104];
        let unencrypted_without_checksum = kdf == NO_KDF && checksum.iter().all(|b| *b == 0);
        if key_checksum(&id, &keypair)[..] != *checksum && !unencrypted_without_checksum {
            return Err(match kdf == SCRYPT_KDF {
                true => SignatureError::WrongPassphrase,
                false => malformed("secret key", "checksum mismatch (file damaged)"),
            });
        }
        let key = SigningKey::from_keypair_bytes(&keypair)
            .map_err(|_| malformed("secret key", "public half does not match"))?;
        Ok(Self { id, key })
    }

    /// Signs `data` (prehashed with BLAKE2b-512) and binds `trusted_comment` to the signature.
    pub fn sign(&self, data: &[u8], trusted_comment: &str) -> Signature {
        let digest = Blake2b512::digest(data);
        let signature = self.key.sign(&digest).to_bytes();
        let mut global = signature.to_vec();
        global.extend_from_slice(trusted_comment.as_bytes());
        Signature {
            key_id: self.id,
            signature,
            trusted_comment: trusted_comment.to_owned(),
            global_signature: self.key.sign(&global).to_bytes(),
        }
    }
}

/// A detached signature in minisign's `.minisig` layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The signing key's id.
    pub key_id: KeyId,
    /// Ed25519 signature over BLAKE2b-512 of the data.
    pub signature: [u8; 64],
    /// The signed comment (Plexica: see [`TrustedComment`]).
    pub trusted_comment: String,
    /// Ed25519 signature over `signature ‖ trusted_comment`.
    pub global_signature: [u8; 64],
}

impl Signature {
    /// The `.minisig` text.
    pub fn to_text(&self) -> String {
        let mut raw = Vec::with_capacity(74);
        raw.extend_from_slice(PREHASHED_ALG);
        raw.extend_from_slice(&self.key_id.0);
        raw.extend_from_slice(&self.signature);
        format!(
            "untrusted comment: signature from plexica secret key {}\n{}\ntrusted comment: {}\n{}\n",
            self.key_id,
            B64.encode(raw),
            self.trusted_comment,
            B64.encode(self.global_signature)
        )
    }

    /// Parses the `.minisig` text (prehashed Ed25519 only).
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let mut lines = text.lines();
        let bad = |reason| malformed("signature", reason);
        let first = lines.next().ok_or_else(|| bad("empty"))?;
        if !first.starts_with("untrusted comment:") {
            return Err(bad("missing untrusted comment line"));
        }
        let raw = B64
            .decode(
                lines
                    .next()
                    .ok_or_else(|| bad("missing signature line"))?
                    .trim(),
            )
            .map_err(|_| bad("signature line is not base64"))?;
        if raw.len() != 74 || &raw[..2] != PREHASHED_ALG {
            return Err(bad("not a prehashed Ed25519 minisign signature"));
        }
        let trusted_comment = lines
            .next()
            .and_then(|l| l.strip_prefix("trusted comment: "))
            .ok_or_else(|| bad("missing trusted comment"))?
            .to_owned();
        let global = B64
            .decode(
                lines
                    .next()
                    .ok_or_else(|| bad("missing global signature"))?
                    .trim(),
            )
            .map_err(|_| bad("global signature is not base64"))?;
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&raw[2..10]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&raw[10..74]);
        let global_signature: [u8; 64] = global
            .try_into()
            .map_err(|_| bad("global signature has the wrong length"))?;
        Ok(Self {
            key_id: KeyId(key_id),
            signature,
            trusted_comment,
            global_signature,
        })
    }
}

/// What Plexica writes into a signature's trusted comment:
/// `plexica-plugin id=<id> version=<version> key=<key id> timestamp=<unix seconds>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedComment {
    /// Plugin id.
    pub id: String,
    /// Plugin version.
    pub version: String,
    /// Signing key id.
    pub key_id: KeyId,
    /// Seconds since the Unix epoch.
    pub timestamp: u64,
}

impl TrustedComment {
    /// The comment text.
    pub fn render(&self) -> String {
        format!(
            "plexica-plugin id={} version={} key={} timestamp={}",
            self.id, self.version, self.key_id, self.timestamp
        )
    }

    /// Parses the comment text; `None` when it is not a Plexica comment.
    pub fn parse(text: &str) -> Option<Self> {
        let mut words = text.split(' ');
        if words.next()? != "plexica-plugin" {
            return None;
        }
        let mut field = |name: &str| {
            words
                .next()?
                .strip_prefix(name)?
                .strip_prefix('=')
                .map(str::to_owned)
        };
        let id = field("id")?;
        let version = field("version")?;
        let key_id = field("key")?.parse().ok()?;
        let timestamp = field("timestamp")?.parse().ok()?;
        if words.next().is_some() {
            return None;
        }
        Some(Self {
            id,
            version,
            key_id,
            timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_their_text_forms() {
        let secret = SecretKey::generate();
        let parsed = SecretKey::parse(&secret.to_file_text()).expect("parses");
        assert_eq!(parsed.id, secret.id);
        let public = secret.public_key();
        assert_eq!(PublicKey::parse(&public.to_file_text()), Ok(public.clone()));
        assert_eq!(PublicKey::parse(&public.to_line()), Ok(public));
    }

    #[test]
    fn encrypted_keys_open_with_their_passphrase_only() -> Result<(), SignatureError> {
        let secret = SecretKey::generate();
        let text = secret.to_encrypted_file_text("correct horse");
        assert!(SecretKey::is_encrypted(&text));
        assert!(!SecretKey::is_encrypted(&secret.to_file_text()));
        assert_eq!(
            SecretKey::parse(&text).err(),
            Some(SignatureError::PassphraseRequired)
        );
        assert_eq!(
            SecretKey::parse_with_passphrase(&text, "wrong horse").err(),
            Some(SignatureError::WrongPassphrase)
        );
        let opened = SecretKey::parse_with_passphrase(&text, "correct horse")?;
        assert_eq!(opened.public_key(), secret.public_key());
        // The key material is not in the file in the clear.
        let keypair = secret.key.to_keypair_bytes();
        let raw = decode_key_line(&text, "secret key")?;
        assert!(!raw.windows(32).any(|w| w == &keypair[..32]));
        Ok(())
    }

    #[test]
    fn an_unencrypted_key_with_a_zero_checksum_is_accepted_and_a_damaged_one_is_not()
    -> Result<(), SignatureError> {
        let secret = SecretKey::generate();
        let mut raw = decode_key_line(&secret.to_file_text(), "secret key")?;
        raw[126..158].fill(0);
        let stock = format!(
            "untrusted comment: minisign secret key\n{}\n",
            B64.encode(&raw)
        );
        let parsed = SecretKey::parse(&stock)?;
        assert_eq!(parsed.public_key(), secret.public_key());
        raw[130] = 1;
        let damaged = format!("untrusted comment: x\n{}\n", B64.encode(&raw));
        assert!(matches!(
            SecretKey::parse(&damaged),
            Err(SignatureError::Malformed { .. })
        ));
        Ok(())
    }

    #[test]
    fn a_key_asking_for_more_than_a_gibibyte_of_scrypt_is_refused() {
        assert!(key_stream("x", &[0; 32], 1 << 27, 1 << 31).is_err());
        assert!(key_stream("x", &[0; 32], 1 << 22, 1 << 27).is_ok());
    }

    #[test]
    fn signatures_verify_and_detect_tampering() {
        let secret = SecretKey::generate();
        let public = secret.public_key();
        let sig = secret.sign(
            b"data",
            "plexica-plugin id=a version=1.0.0 key=0000000000000000 timestamp=1",
        );
        let parsed = Signature::parse(&sig.to_text()).expect("parses");
        assert_eq!(parsed, sig);
        assert_eq!(public.verify(b"data", &parsed), Ok(()));
        assert_eq!(
            public.verify(b"date", &parsed),
            Err(SignatureError::BadSignature)
        );
        let mut moved = parsed.clone();
        moved.trusted_comment = moved.trusted_comment.replace("id=a", "id=b");
        assert_eq!(
            public.verify(b"data", &moved),
            Err(SignatureError::BadCommentSignature)
        );
        let other = SecretKey::generate().public_key();
        assert!(matches!(
            other.verify(b"data", &parsed),
            Err(SignatureError::OtherKey { .. })
        ));
    }

    #[test]
    fn trusted_comments_round_trip() {
        let comment = TrustedComment {
            id: "crm".into(),
            version: "1.2.0-beta.1".into(),
            key_id: KeyId([1, 2, 3, 4, 5, 6, 7, 8]),
            timestamp: 1_700_000_000,
        };
        assert_eq!(TrustedComment::parse(&comment.render()), Some(comment));
        assert_eq!(TrustedComment::parse("timestamp:1 file:x"), None);
    }
}
