//! `plexica plugin sign FILE.pxp [--key NAME|PATH]`: adds `SIGNATURE` over `CHECKSUMS`.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use plexica_sdk::package::signing::SecretKey;
use plexica_sdk::package::{self, Limits, SignError, sha256_hex};
use serde::Serialize;

use super::package::write_atomically;
use crate::cli::GlobalArgs;
use crate::config::ConfigDir;
use crate::error::{CliError, CliResult, IoContext};
use crate::keystore::KeyStore;
use crate::output::Ui;
use crate::profile::Config;

/// Arguments of `plugin sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The package to sign, in place.
    pub file: PathBuf,
    /// Key name in the configuration directory, or path to a secret key file
    /// [default: the profile's default-key, else the key called `default`, else the only key]
    #[arg(long)]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::keys))]
    pub key: Option<String>,
}

/// The JSON result of `plugin sign`.
#[derive(Debug, Serialize)]
struct Signed {
    file: String,
    id: String,
    version: String,
    key_id: String,
    digest: String,
    content_digest: String,
}

/// Signs the package in place.
pub fn run(args: SignArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let key = signing_key(args.key.as_deref(), global, ui)?;
    let bytes = std::fs::read(&args.file).context("read", &args.file)?;
    let signed = sign_now(&bytes, &key)
        .map_err(|e| CliError::failed(format!("cannot sign {}: {e}", args.file.display())))?;
    write_atomically(&args.file, &signed)?;
    let read = package::read_package(&signed, &Limits::default())
        .map_err(|e| CliError::failed(e.to_string()))?;
    let manifest = plexica_sdk::manifest::Manifest::parse(&read.manifest_text)
        .map_err(|e| CliError::failed(e.to_string()))?;
    let result = Signed {
        file: args.file.display().to_string(),
        id: manifest.plugin.id,
        version: manifest.plugin.version.to_string(),
        key_id: key.id.to_string(),
        digest: sha256_hex(&signed),
        content_digest: read.content_digest().unwrap_or_default(),
    };
    ui.status(
        "Signed",
        format!(
            "{} {} with key {}",
            result.id, result.version, result.key_id
        ),
    );
    // The status line says what happened; stdout is the file, for scripts.
    ui.result(&result, || result.file.clone());
    Ok(())
}

/// The secret key named by `--key` (a name or a path), else the profile's `default-key`, else
/// the store's default.
pub fn signing_key(key: Option<&str>, global: &GlobalArgs, ui: &Ui) -> CliResult<SecretKey> {
    let dir = ConfigDir::locate()?;
    let key = match key {
        Some(key) => Some(key.to_owned()),
        None => Config::load(&dir)?.selected(global)?.profile.default_key,
    };
    KeyStore::new(&dir).secret(key.as_deref(), ui.can_prompt())
}

/// Signs package `bytes` with `key`, timestamped now.
pub fn sign_now(bytes: &[u8], key: &SecretKey) -> Result<Vec<u8>, SignError> {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    package::sign_package(bytes, key, timestamp)
}
