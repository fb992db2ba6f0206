//! `plexica plugin yank ID@VERSION --reason TEXT [--undo]`: withdraws a version (it stays
//! downloadable by exact version, and its number is never reused).

use clap::Args;
use plexica_sdk::api::registry::YankRequest;
use serde::Serialize;

use crate::commands::{Access, registry_client};
use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::ops::spec::parse_versioned;
use crate::output::Ui;

/// Arguments of `plugin yank`.
#[derive(Debug, Args)]
pub struct YankArgs {
    /// The version to withdraw.
    #[arg(value_name = "ID@VERSION")]
    pub spec: String,
    /// Why (shown to users of the version).
    #[arg(long, required_unless_present = "undo")]
    pub reason: Option<String>,
    /// Restore a yanked version.
    #[arg(long, conflicts_with = "reason")]
    pub undo: bool,
}

/// The JSON result of `plugin yank`.
#[derive(Debug, Serialize)]
struct Yanked {
    id: String,
    version: String,
    yanked: bool,
    reason: Option<String>,
}

/// Yanks or restores the version.
pub fn run(args: YankArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let (id, version) = parse_versioned(&args.spec)?;
    let client = registry_client(global, None, Access::Token, ui)?;
    let detail = match args.reason {
        Some(reason) if !args.undo => client.yank(&id, &version, &YankRequest { reason })?,
        _ => client.unyank(&id, &version)?,
    };
    let result = Yanked {
        id: detail.id,
        version: detail.version,
        yanked: detail.yanked,
        reason: detail.yank_reason,
    };
    ui.result(&result, || {
        if result.yanked {
            format!(
                "yanked {}@{}: {}",
                result.id,
                result.version,
                result.reason.as_deref().unwrap_or("")
            )
        } else {
            format!("{}@{} is available again", result.id, result.version)
        }
    });
    Ok(())
}
