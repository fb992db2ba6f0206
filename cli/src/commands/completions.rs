//! `plexica completions SHELL`: prints a completion script to stdout.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::CliResult;

/// Arguments of `plexica completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the script for the chosen shell.
pub fn run(args: &CompletionsArgs) -> CliResult {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "plexica", &mut std::io::stdout());
    Ok(())
}
