//! `CHECKSUMS`: `sha256  <hex>  <path>` for every entry but itself and `SIGNATURE`, sorted by
//! path, LF line endings. Its sha256 is the package's *content digest*, which is what is signed.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// Hex-encoded sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The parsed checksum list: path → hex sha256.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checksums(pub BTreeMap<String, String>);

/// `CHECKSUMS` is not in the documented format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecksumsError {
    /// A line does not read `sha256  <64 hex>  <path>`.
    #[error("line {line} of CHECKSUMS is not `sha256  <hex>  <path>`")]
    BadLine {
        /// 1-based line number.
        line: usize,
    },
    /// A path is listed twice.
    #[error("CHECKSUMS lists `{0}` twice")]
    Duplicate(String),
    /// Lines are not sorted by path, or the file does not end in a single LF.
    #[error("CHECKSUMS is not in canonical form (sorted, LF line endings)")]
    NotCanonical,
}

impl Checksums {
    /// The canonical text form.
    pub fn render(&self) -> String {
        self.0
            .iter()
            .map(|(path, hash)| format!("sha256  {hash}  {path}\n"))
            .collect()
    }

    /// Parses the canonical text form, refusing anything else.
    pub fn parse(text: &str) -> Result<Self, ChecksumsError> {
        let mut map = BTreeMap::new();
        for (i, line) in text.split_terminator('\n').enumerate() {
            let bad = || ChecksumsError::BadLine { line: i + 1 };
            let rest = line.strip_prefix("sha256  ").ok_or_else(bad)?;
            let (hash, path) = rest.split_once("  ").ok_or_else(bad)?;
            let hex_ok = hash.len() == 64
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex_ok || path.is_empty() || path.contains('\r') {
                return Err(bad());
            }
            if map.insert(path.to_owned(), hash.to_owned()).is_some() {
                return Err(ChecksumsError::Duplicate(path.to_owned()));
            }
        }
        let parsed = Self(map);
        if parsed.render() != text {
            return Err(ChecksumsError::NotCanonical);
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_non_canonical_text() {
        let mut map = BTreeMap::new();
        map.insert("plexica.toml".to_owned(), sha256_hex(b"a"));
        map.insert("bin/crm".to_owned(), sha256_hex(b"b"));
        let checksums = Checksums(map);
        let text = checksums.render();
        assert!(text.starts_with("sha256  "));
        assert_eq!(Checksums::parse(&text), Ok(checksums));
        assert_eq!(
            Checksums::parse(&text.replace('\n', "\r\n")),
            Err(ChecksumsError::BadLine { line: 1 })
        );
        let lines: Vec<&str> = text.lines().collect();
        let unsorted = format!("{}\n{}\n", lines[1], lines[0]);
        assert_eq!(
            Checksums::parse(&unsorted),
            Err(ChecksumsError::NotCanonical)
        );
        assert_eq!(
            Checksums::parse("sha256  abc  x\n"),
            Err(ChecksumsError::BadLine { line: 1 })
        );
    }
}
