//! `plexica plugin validate [PATH] [--deny-warnings]`.

use std::path::PathBuf;

use clap::Args;

use super::{check_manifest, plugin_dir, print_diagnostics};
use crate::error::{CliError, CliResult, ExitKind};
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
    let errors = checked.error_count();
    let warnings = checked.warning_count();
    if ui.json() {
        ui.result(&checked.diagnostics, String::new);
    } else {
        print_diagnostics(&checked, text, &dir, ui);
    }
    let failed = errors > 0 || (args.deny_warnings && warnings > 0);
    if failed {
        let message = format!("validation failed: {errors} error(s), {warnings} warning(s)");
        return Err(if ui.json() {
            CliError::new(ExitKind::Failed, message)
        } else {
            CliError::failed(message)
        });
    }
    if let Some(m) = &checked.manifest
        && !ui.json()
    {
        ui.result(&(), || {
            format!(
                "{} {} is valid ({warnings} warning(s))",
                m.plugin.id, m.plugin.version
            )
        });
    }
    Ok(())
}
