//! `plexica quickstart [--data-dir DIR] [--target-dir DIR] [--keep]`: the whole journey on a
//! platform of its own, step by step (`ops::quickstart`), then its summary: what was built,
//! published, installed and answered.

use std::path::PathBuf;

use clap::Args;

use crate::error::CliResult;
use crate::ops::quickstart::{QuickstartOptions, TENANT, quickstart};
use crate::output::Ui;

/// Arguments of `plexica quickstart`.
#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Directory of the run: the platform's data (`platform/`, wiped first) and the plugin.
    #[arg(long, default_value = "plexica-quickstart")]
    pub data_dir: PathBuf,
    /// A Cargo target directory for the plugin's build, kept between runs to build faster.
    #[arg(long)]
    pub target_dir: Option<PathBuf>,
    /// Keep the `quickstart` profile, its logins and signing key in the configuration
    /// (removed at the end by default).
    #[arg(long)]
    pub keep: bool,
}

/// Runs the journey and prints its summary.
pub fn run(args: QuickstartArgs, outer: &Ui) -> CliResult {
    let options = QuickstartOptions {
        data_dir: args.data_dir,
        target_dir: args.target_dir,
        keep: args.keep,
    };
    let summary = quickstart(&options, outer)?;
    outer.result(&summary, || {
        format!(
            "quickstart complete: {}@0.1.0 was built, signed, published, installed in tenant \
             `{TENANT}`, handled `core.workspace.created` (it answered with `{}`) and served its \
             route through the gateway: {}",
            summary.plugin, summary.handled_event, summary.route_answer
        )
    });
    Ok(())
}
