//! `plexica plugin validate [PATH] [--deny-warnings]`.

use std::path::PathBuf;

use clap::Args;

use crate::error::CliResult;
use crate::ops::manifest::{check_manifest, plugin_dir, print_diagnostics, verdict};
use crate::output::Ui;

/// Arguments of `plugin validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Plugin directory or its plexica.toml [default: .]
    pub path: Option<PathBuf>,
    /// Fail on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Validates and reports every diagnostic: rendered on stderr, or a JSON array on stdout.
pub fn run(args: ValidateArgs, ui: &Ui) -> CliResult {
    let dir = plugin_dir(args.path);
    let (text, checked) = check_manifest(&dir)?;
    if ui.json() {
        ui.result(&checked.diagnostics, String::new);
    } else {
        print_diagnostics(&checked, text, &dir, ui);
    }
    verdict(&checked, args.deny_warnings)?;
    if let Some(m) = &checked.manifest
        && !ui.json()
    {
        let warnings = checked.warning_count();
        ui.result(&(), || {
            format!(
                "{} {} is valid ({warnings} warning(s))",
                m.plugin.id, m.plugin.version
            )
        });
    }
    Ok(())
}
