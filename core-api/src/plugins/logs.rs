//! Reading a backend's log for people: the last lines, or what was written after an offset
//! (`--follow`), with the secrets the platform hands backends blanked out.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use plexica_sdk::api::core::INSTALL_TOKEN_PREFIX;

/// Prefixes of the secrets the platform mints for a backend (its install token, the secret
/// requests to it are signed with); each is followed by hex digits.
const MINTED_SECRET_PREFIXES: [&str; 2] = [INSTALL_TOKEN_PREFIX, "plxe_"];

/// What a tail or a follow read returns at most.
pub const MAX_READ_BYTES: u64 = 1024 * 1024;

/// Lines of a log, and the offset to read from next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lines {
    /// Complete lines, redacted.
    pub lines: Vec<String>,
    /// The byte offset after the last complete line returned.
    pub next_offset: u64,
}

/// The last `count` lines of the file at `path` (within its last [`MAX_READ_BYTES`]).
pub fn tail(path: &Path, count: usize, secrets: &[String]) -> std::io::Result<Lines> {
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let start = size.saturating_sub(MAX_READ_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(MAX_READ_BYTES).read_to_end(&mut bytes)?;
    let mut complete = complete_lines(&bytes, start);
    if start > 0 && !complete.lines.is_empty() {
        // The first line read may be the end of a longer one.
        complete.lines.remove(0);
    }
    let skip = complete.lines.len().saturating_sub(count);
    complete.lines.drain(..skip);
    complete.lines = redact_all(complete.lines, secrets);
    Ok(complete)
}

/// The complete lines written at or after byte `offset` (at most [`MAX_READ_BYTES`]).
pub fn after(path: &Path, offset: u64, secrets: &[String]) -> std::io::Result<Lines> {
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    // A log that was truncated (a new file) is read from its start.
    let offset = if offset > size { 0 } else { offset };
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.take(MAX_READ_BYTES).read_to_end(&mut bytes)?;
    let mut complete = complete_lines(&bytes, offset);
    complete.lines = redact_all(complete.lines, secrets);
    Ok(complete)
}

fn complete_lines(bytes: &[u8], start: u64) -> Lines {
    let end = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let lines = String::from_utf8_lossy(&bytes[..end])
        .lines()
        .map(str::to_owned)
        .collect();
    Lines {
        lines,
        next_offset: start + end as u64,
    }
}

fn redact_all(lines: Vec<String>, secrets: &[String]) -> Vec<String> {
    lines.into_iter().map(|l| redact(&l, secrets)).collect()
}

/// `line` with every platform-minted secret and every one of `secrets` (a tenant's secret
/// configuration values) replaced by `[redacted]`.
pub fn redact(line: &str, secrets: &[String]) -> String {
    let mut out = line.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret.as_str(), "[redacted]");
    }
    for prefix in MINTED_SECRET_PREFIXES {
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find(prefix) {
            let after = &rest[at + prefix.len()..];
            let digits = after.bytes().take_while(u8::is_ascii_hexdigit).count();
            result.push_str(&rest[..at + prefix.len()]);
            if digits >= 16 {
                result.push_str("[redacted]");
                rest = &after[digits..];
            } else {
                rest = after;
            }
        }
        result.push_str(rest);
        out = result;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_secrets_and_given_ones_are_blanked() {
        let token = format!("plxi_{}", "ab12".repeat(16));
        let line = format!("env: PLEXICA_INSTALL_TOKEN={token} key=hunter22 plxe_short");
        assert_eq!(
            redact(&line, &["hunter22".to_owned(), "x".to_owned()]),
            "env: PLEXICA_INSTALL_TOKEN=plxi_[redacted] key=[redacted] plxe_short"
        );
    }

    #[test]
    fn tail_and_follow_return_complete_lines() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("b.log");
        std::fs::write(&path, "one\ntwo\nthree\npart")?;
        let last = tail(&path, 2, &[])?;
        assert_eq!(last.lines, ["two", "three"]);
        assert_eq!(last.next_offset, 14);
        std::fs::write(&path, "one\ntwo\nthree\npartial line\nfour\n")?;
        let more = after(&path, last.next_offset, &[])?;
        assert_eq!(more.lines, ["partial line", "four"]);
        let none = after(&path, more.next_offset, &[])?;
        assert!(none.lines.is_empty());
        assert_eq!(after(&path, 10_000, &[])?.lines.len(), 5);
        Ok(())
    }
}
