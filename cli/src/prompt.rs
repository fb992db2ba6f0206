//! Asking the person at the terminal: confirmations, and secrets piped into standard input.

use crate::error::{CliError, CliResult};
use crate::output::Ui;

/// Asks to confirm a destructive action: `--yes` skips; without a terminal it is a usage
/// error naming `--yes`.
pub fn confirm(ui: &Ui, question: &str) -> CliResult {
    if ui.yes {
        return Ok(());
    }
    if !ui.can_prompt() {
        return Err(CliError::usage(format!("{question} (not confirmed)"))
            .with_help("pass --yes to confirm without a prompt"));
    }
    let theme = dialoguer::theme::SimpleTheme;
    let yes = dialoguer::Confirm::with_theme(&theme)
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(|e| CliError::usage(format!("no answer: {e}")).with_help("pass --yes"))?;
    if yes {
        Ok(())
    } else {
        Err(CliError::failed("cancelled"))
    }
}

/// One secret from stdin: everything up to the end, without the final line break.
pub fn read_stdin(what: &str) -> CliResult<String> {
    use std::io::Read;
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| CliError::usage(format!("cannot read the {what} from stdin: {e}")))?;
    let secret = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if secret.is_empty() {
        return Err(CliError::usage(format!("no {what} on stdin"))
            .with_help(format!("pipe the {what} into the command")));
    }
    Ok(secret.to_owned())
}
