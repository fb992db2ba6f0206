//! `plexica plugin verify`: every check of a package, each reported as pass or its exact reason.

use serde::Serialize;

use super::archive::{Limits, Package, read_package};
use super::signing::{PublicKey, Signature, TrustedComment};
use super::{CHECKSUMS_FILE, SIGNATURE_FILE};
use crate::manifest::{self, MANIFEST_FILE};

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// The check passed.
    Pass,
    /// The check failed; the package must not be trusted.
    Fail,
    /// The check could not run because an earlier one failed.
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked: `archive`, `manifest`, `checksums`, `signature`, `key`,
    /// `trusted-comment`.
    pub check: &'static str,
    /// Pass, fail or skip.
    pub status: CheckStatus,
    /// What passed, or exactly why not.
    pub detail: String,
}

/// Every check run on a package.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Plugin id, when the manifest could be read.
    pub id: Option<String>,
    /// Plugin version, when the manifest could be read.
    pub version: Option<String>,
    /// sha256 of the package bytes.
    pub digest: Option<String>,
    /// sha256 of `CHECKSUMS`.
    pub content_digest: Option<String>,
    /// Id of the key that made the signature.
    pub key_id: Option<String>,
    /// The checks, in order.
    pub checks: Vec<Check>,
}

impl VerifyReport {
    /// Did every check pass?
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.status == CheckStatus::Pass)
    }

    fn push(&mut self, check: &'static str, status: CheckStatus, detail: impl Into<String>) {
        self.checks.push(Check {
            check,
            status,
            detail: detail.into(),
        });
    }

    fn skip_rest(&mut self, from: &[&'static str]) {
        for check in from {
            self.push(
                check,
                CheckStatus::Skip,
                "not checked: an earlier check failed",
            );
        }
    }
}

/// Verifies package `bytes` against the `trusted` public keys.
pub fn verify_package(bytes: &[u8], trusted: &[PublicKey], limits: &Limits) -> VerifyReport {
    use CheckStatus::*;
    let mut report = VerifyReport::default();
    match read_package(bytes, limits) {
        Ok(package) => verify_read_package(&package, trusted),
        Err(e) => {
            report.push("archive", Fail, e.to_string());
            report.skip_rest(&["manifest", "checksums", "signature"]);
            report
        }
    }
}

/// Verifies a package already read (and so structurally sound) against the `trusted` keys.
pub fn verify_read_package(package: &Package, trusted: &[PublicKey]) -> VerifyReport {
    use CheckStatus::*;
    let mut report = VerifyReport {
        digest: Some(package.digest.clone()),
        content_digest: package.content_digest(),
        ..VerifyReport::default()
    };
    report.push(
        "archive",
        Pass,
        format!("{} entries, structure sound", package.entries.len()),
    );

    let checked = manifest::check(&package.manifest_text, MANIFEST_FILE, Some(package));
    match &checked.manifest {
        Some(m) => {
            report.id = Some(m.plugin.id.clone());
            report.version = Some(m.plugin.version.to_string());
            report.push(
                "manifest",
                Pass,
                format!("{}@{} is valid", m.plugin.id, m.plugin.version),
            );
        }
        None => {
            let errors: Vec<String> = checked
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(ToString::to_string)
                .collect();
            report.push("manifest", Fail, errors.join("; "));
        }
    }

    checksums(&mut report, package);

    let Some(signature_text) = &package.signature_text else {
        report.push(
            "signature",
            Fail,
            "the package is not signed (no SIGNATURE entry)",
        );
        return report;
    };
    let signature = match Signature::parse(signature_text) {
        Ok(s) => s,
        Err(e) => {
            report.push("signature", Fail, e.to_string());
            return report;
        }
    };
    report.key_id = Some(signature.key_id.to_string());
    let Some(key) = trusted.iter().find(|k| k.id == signature.key_id) else {
        report.push("key", Fail, format!("key {} not trusted", signature.key_id));
        report.skip_rest(&["signature", "trusted-comment"]);
        return report;
    };
    report.push("key", Pass, format!("made by trusted key {}", key.id));
    let data = package.checksums_text.as_deref().unwrap_or_default();
    match key.verify(data.as_bytes(), &signature) {
        Ok(()) => report.push(
            "signature",
            Pass,
            format!("signature valid, made by key {}", key.id),
        ),
        Err(e) => report.push("signature", Fail, e.to_string()),
    }
    trusted_comment(&mut report, &signature);
    report
}

fn checksums(report: &mut VerifyReport, package: &Package) {
    use CheckStatus::*;
    let listed = match package.checksums() {
        None => {
            report.push("checksums", Fail, "the package has no CHECKSUMS entry");
            return;
        }
        Some(Err(e)) => {
            report.push("checksums", Fail, e.to_string());
            return;
        }
        Some(Ok(listed)) => listed,
    };
    let before = report.checks.len();
    for entry in &package.entries {
        if entry.path == CHECKSUMS_FILE || entry.path == SIGNATURE_FILE {
            continue;
        }
        match listed.0.get(&entry.path) {
            None => report.push(
                "checksums",
                Fail,
                format!("file `{}` not listed", entry.path),
            ),
            Some(hash) if *hash != entry.sha256 => {
                report.push(
                    "checksums",
                    Fail,
                    format!("file `{}`'s hash differs", entry.path),
                );
            }
            Some(_) => {}
        }
    }
    for path in listed.0.keys() {
        if !package.entries.iter().any(|e| &e.path == path) {
            report.push("checksums", Fail, format!("listed file `{path}` missing"));
        }
    }
    if report.checks.len() == before {
        report.push(
            "checksums",
            Pass,
            format!("{} files match CHECKSUMS", listed.0.len()),
        );
    }
}

fn trusted_comment(report: &mut VerifyReport, signature: &Signature) {
    use CheckStatus::*;
    let Some(comment) = TrustedComment::parse(&signature.trusted_comment) else {
        report.push(
            "trusted-comment",
            Fail,
            format!(
                "trusted comment `{}` is not a Plexica comment",
                signature.trusted_comment
            ),
        );
        return;
    };
    let (Some(id), Some(version)) = (&report.id, &report.version) else {
        report.push("trusted-comment", Skip, "no valid manifest to compare with");
        return;
    };
    if &comment.id != id || &comment.version != version {
        let detail = format!(
            "trusted comment names another plugin or version: {}@{}, package is {id}@{version}",
            comment.id, comment.version
        );
        report.push("trusted-comment", Fail, detail);
    } else if comment.key_id != signature.key_id {
        report.push("trusted-comment", Fail, "trusted comment names another key");
    } else {
        report.push("trusted-comment", Pass, format!("names {id}@{version}"));
    }
}

/// Why a package cannot be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The archive is unreadable or unsafe.
    #[error(transparent)]
    Package(#[from] super::PackageError),
    /// The manifest or the checksums do not hold; signing would vouch for a broken package.
    #[error("refusing to sign an inconsistent package: {0}")]
    Inconsistent(String),
}

/// Signs package `bytes` with `key` at `timestamp` (Unix seconds): checks the archive, manifest
/// and checksums, then adds `SIGNATURE` over `CHECKSUMS`. Returns the new package bytes.
pub fn sign_package(
    bytes: &[u8],
    key: &super::signing::SecretKey,
    timestamp: u64,
) -> Result<Vec<u8>, SignError> {
    let package = read_package(bytes, &Limits::default())?;
    let mut report = VerifyReport::default();
    let checked = manifest::check(&package.manifest_text, MANIFEST_FILE, Some(&package));
    let Some(manifest) = checked.manifest else {
        let first = checked.diagnostics.iter().find(|d| d.is_error());
        return Err(SignError::Inconsistent(format!(
            "the manifest is invalid ({})",
            first.map(ToString::to_string).unwrap_or_default()
        )));
    };
    checksums(&mut report, &package);
    if let Some(failed) = report.checks.iter().find(|c| c.status != CheckStatus::Pass) {
        return Err(SignError::Inconsistent(failed.detail.clone()));
    }
    let comment = TrustedComment {
        id: manifest.plugin.id,
        version: manifest.plugin.version.to_string(),
        key_id: key.id,
        timestamp,
    };
    let data = package.checksums_text.unwrap_or_default();
    let signature = key.sign(data.as_bytes(), &comment.render());
    Ok(super::rewrite_with_signature(bytes, &signature.to_text())?)
}
