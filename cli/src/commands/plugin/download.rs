//! `plexica plugin download ID[@VERSION] [--out FILE]`: fetches a package and writes it only if
//! its sha256 is the version's digest and it verifies against the publisher's registered,
//! non-revoked keys (the same `verify_package` as `plugin verify`).

use std::path::PathBuf;

use clap::Args;
use plexica_sdk::package::signing::PublicKey;
use plexica_sdk::package::{CheckStatus, Limits, sha256_hex, verify_package};
use serde::Serialize;

use crate::commands::{Access, registry_client};
use crate::error::{CliError, CliResult, ExitKind};
use crate::global::GlobalArgs;
use crate::ops::package_pipeline::write_atomically;
use crate::ops::spec::parse_spec;
use crate::output::{Ui, human_size};

/// Arguments of `plugin download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Plugin id, optionally with `@VERSION` [default version: the latest]
    #[arg(value_name = "ID[@VERSION]")]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
    pub spec: String,
    /// Where to write the package [default: ./<id>-<version>.pxp]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace a different file already at that path (the same package is left as it is).
    #[arg(long)]
    pub force: bool,
}

/// The JSON result of `plugin download`.
#[derive(Debug, Serialize)]
struct Downloaded {
    file: String,
    id: String,
    version: String,
    digest: String,
    size: u64,
    key_id: Option<String>,
    publisher: String,
}

/// Downloads, verifies, then writes the package.
pub fn run(args: DownloadArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let (id, version) = parse_spec(&args.spec)?;
    let client = registry_client(global, None, Access::Public, ui)?;
    let version = match version {
        Some(version) => version,
        None => client.plugin(&id)?.latest.ok_or_else(|| {
            CliError::new(
                ExitKind::NotFound,
                format!("{id} has no version to download (all are yanked or pre-releases)"),
            )
            .with_help(format!(
                "name one: {id}@VERSION (see `plexica plugin info {id}`)"
            ))
        })?,
    };
    let detail = client.version(&id, &version)?;
    if detail.yanked {
        ui.warn(format!(
            "{id}@{version} is yanked: {}",
            detail.yank_reason.as_deref().unwrap_or("no reason given")
        ));
    }
    let keys: Vec<PublicKey> = client
        .user_keys(&detail.published_by)?
        .into_iter()
        .filter(|k| k.revoked_at.is_none())
        .filter_map(|k| match PublicKey::parse(&k.public_key) {
            Ok(key) => Some(key),
            Err(e) => {
                ui.warn(format!(
                    "ignoring key {} of {}: {e}",
                    k.key_id, detail.published_by
                ));
                None
            }
        })
        .collect();
    let progress = ui.transfer(format!("downloading {id}@{version}"));
    let bytes = client.download(&id, &version, &progress);
    progress.finish_and_clear();
    let bytes = bytes?;
    let refused = |why: String| {
        CliError::failed(format!("refusing {id}@{version}: {why}"))
            .with_help(format!(
                "nothing was written; see `plexica plugin info {id}@{version}`, and tell the publisher or the registry's operators"
            ))
    };
    let digest = sha256_hex(&bytes);
    if digest != detail.digest {
        return Err(refused(format!(
            "its sha256 is {digest}, the registry lists {}",
            detail.digest
        )));
    }
    let report = verify_package(&bytes, &keys, &Limits::default());
    if let Some(failed) = report.checks.iter().find(|c| c.status != CheckStatus::Pass) {
        return Err(refused(format!("{}: {}", failed.check, failed.detail)));
    }
    if !report.passed() {
        return Err(refused("it could not be verified".to_owned()));
    }
    if report.id.as_deref() != Some(id.as_str()) || report.version.as_deref() != Some(&version) {
        return Err(refused(format!(
            "the package is {}@{}",
            report.id.as_deref().unwrap_or("?"),
            report.version.as_deref().unwrap_or("?")
        )));
    }
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{id}-{version}.pxp")));
    match std::fs::read(&out) {
        Ok(existing) if existing == bytes => {}
        Ok(_) if !args.force => {
            return Err(CliError::new(
                ExitKind::Conflict,
                format!("{} exists and holds something else", out.display()),
            )
            .with_help("pass --force to replace it, or --out FILE to write elsewhere"));
        }
        _ => write_atomically(&out, &bytes)?,
    }
    let result = Downloaded {
        file: out.display().to_string(),
        id,
        version,
        digest,
        size: bytes.len() as u64,
        key_id: report.key_id,
        publisher: detail.published_by,
    };
    ui.status(
        "Downloaded",
        format!(
            "{}@{} ({}), signed by {}'s key {}",
            result.id,
            result.version,
            human_size(result.size),
            result.publisher,
            result.key_id.as_deref().unwrap_or("?")
        ),
    );
    ui.result(&result, || {
        format!("{}\nsha256 {}", result.file, result.digest)
    });
    Ok(())
}
