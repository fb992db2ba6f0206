//! Random secrets and ids, and the hash under which a server stores a secret.

use std::fmt::Write;

use rand::RngCore;

/// `N` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// `prefix` followed by `N` random bytes in lowercase hex.
pub fn random_hex<const N: usize>(prefix: &str) -> String {
    hex_onto(String::from(prefix), &random_bytes::<N>())
}

fn hex_onto(mut text: String, bytes: &[u8]) -> String {
    text.reserve(bytes.len() * 2);
    for b in bytes {
        let _ = write!(text, "{b:02x}");
    }
    text
}

/// A new random id: `prefix` + 24 hex digits (96 bits).
pub fn new_id(prefix: &str) -> String {
    random_hex::<12>(prefix)
}

/// A new secret: `prefix` + 64 hex digits (256 bits).
pub fn new_secret(prefix: &str) -> String {
    random_hex::<32>(prefix)
}

/// A new password of 24 characters from an unambiguous alphabet, each equally likely (bytes
/// past the last whole multiple of the alphabet's size are drawn again).
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    const LENGTH: usize = 24;
    let limit = 256 - 256 % ALPHABET.len();
    let mut password = String::with_capacity(LENGTH);
    while password.len() < LENGTH {
        for b in random_bytes::<LENGTH>() {
            let b = usize::from(b);
            if b < limit && password.len() < LENGTH {
                password.push(char::from(ALPHABET[b % ALPHABET.len()]));
            }
        }
    }
    password
}

/// Hex SHA-256 of a secret: what the database keeps, so that a leaked table holds no usable
/// credential.
pub fn hash(secret: &str) -> String {
    use sha2::Digest;
    hex_onto(String::new(), &sha2::Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_hash() {
        let id = new_id("tn_");
        assert!(id.starts_with("tn_") && id.len() == 3 + 24, "{id}");
        assert_eq!(new_secret("plx_").len(), 4 + 64);
        assert_ne!(new_secret(""), new_secret(""));
        let password = new_password();
        assert_eq!(password.len(), 24);
        assert!(
            password
                .chars()
                .all(|c| c.is_ascii_alphanumeric() && !"ilo01IO".contains(c)),
            "{password}"
        );
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
