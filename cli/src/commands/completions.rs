//! `plexica completions SHELL`: prints the shell's completion registration to stdout. The
//! script calls `plexica` back (`COMPLETE=SHELL`) for each completion, so commands and flags
//! and also profile, key, tenant and plugin names are completed as they are now.

use std::io::Write;

use clap::Args;
use clap_complete::Shell;
use clap_complete::env::Shells;

use crate::error::{CliError, CliResult};

/// Arguments of `plexica completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the registration for the chosen shell. A closed stdout (`| head -1`) ends it quietly.
pub fn run(args: &CompletionsArgs) -> CliResult {
    let shell_name = args.shell.to_string();
    let shells = Shells::builtins();
    let shell = shells
        .completer(&shell_name)
        .ok_or_else(|| CliError::usage(format!("no completion support for {shell_name}")))?;
    // The program as it was started (a name found on PATH stays a name), as the shell will
    // find it again.
    let completer = std::env::args_os().next().map_or_else(
        || "plexica".to_owned(),
        |p| p.to_string_lossy().into_owned(),
    );
    let mut script = Vec::new();
    shell
        .write_registration("COMPLETE", "plexica", "plexica", &completer, &mut script)
        .map_err(|e| CliError::failed(format!("cannot write the completion script: {e}")))?;
    match std::io::stdout().lock().write_all(&script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::failed(format!(
            "cannot write the completion script: {e}"
        ))),
        _ => Ok(()),
    }
}
