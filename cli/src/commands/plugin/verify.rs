//! `plexica plugin verify FILE.pxp [--key PUBKEY]…`: every check, pass or the exact reason.

use std::path::{Path, PathBuf};

use clap::Args;
use plexica_sdk::package::signing::PublicKey;
use plexica_sdk::package::{CheckStatus, Limits, verify_package};

use crate::config::ConfigDir;
use crate::error::{CliError, CliResult, ExitKind, IoContext};
use crate::keystore::KeyStore;
use crate::output::{Ui, checklist};

/// Arguments of `plugin verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The package to check.
    pub file: PathBuf,
    /// A trusted public key: its one-line form, a .pub file, or a key name in the
    /// configuration directory. Repeatable. [default: every key in the configuration directory]
    #[arg(long = "key", value_name = "PUBKEY")]
    pub keys: Vec<String>,
}

/// Verifies the package and prints the report; fails unless every check passed.
pub fn run(args: VerifyArgs, ui: &Ui) -> CliResult {
    let store = KeyStore::new(&ConfigDir::locate()?);
    let trusted = if args.keys.is_empty() {
        store.list()?.into_iter().map(|k| k.public).collect()
    } else {
        args.keys
            .iter()
            .map(|k| resolve_key(&store, k))
            .collect::<CliResult<Vec<_>>>()?
    };
    let bytes = std::fs::read(&args.file).context("read", &args.file)?;
    let report = verify_package(&bytes, &trusted, &Limits::default());
    ui.result(&report, || {
        let rows = report.checks.iter().map(|c| {
            let mark = match c.status {
                CheckStatus::Pass => "ok  ",
                CheckStatus::Fail => "FAIL",
                CheckStatus::Skip => "skip",
            };
            (mark, c.check, c.detail.as_str())
        });
        checklist(rows, 16)
    });
    if report.passed() {
        Ok(())
    } else {
        let first = report
            .checks
            .iter()
            .find(|c| c.status == CheckStatus::Fail)
            .map_or("a check failed".to_owned(), |c| c.detail.clone());
        Err(CliError::failed(format!(
            "{} failed verification: {first}",
            args.file.display()
        )))
    }
}

fn resolve_key(store: &KeyStore, key: &str) -> CliResult<PublicKey> {
    let path = Path::new(key);
    if path.is_file() {
        let text = std::fs::read_to_string(path).context("read", path)?;
        return PublicKey::parse(&text)
            .map_err(|e| CliError::usage(format!("{}: {e}", path.display())));
    }
    if let Ok(public) = PublicKey::parse(key) {
        return Ok(public);
    }
    if key.contains('/') || key.ends_with(".pub") {
        return Err(CliError::new(
            ExitKind::NotFound,
            format!("no public key file at {}", path.display()),
        )
        .with_help(
            "pass a key file, a key name from `plexica keys list`, or the key's one-line form",
        ));
    }
    store.public(key)
}
