//! `plexica`: the one command-line tool of the Plexica platform.

mod cli;
mod client;
mod commands;
mod complete;
mod config;
mod credentials;
#[cfg(feature = "platform")]
mod dev;
mod error;
mod examples;
mod global;
mod keystore;
mod ops;
mod output;
#[cfg(feature = "platform")]
mod platform;
mod profile;
mod prompt;
mod render;
mod sdk_copy;
#[cfg(feature = "platform")]
mod signal;
mod templates;

use std::process::ExitCode;

use clap::FromArgMatches;

fn main() -> ExitCode {
    // Answers the shell when it asks for completions (`COMPLETE=…`); returns otherwise.
    clap_complete::CompleteEnv::with_factory(cli::command).complete();
    let matches = cli::command().get_matches();
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let color = cli.global.ui().color();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let (error_label, help_label) = if color {
                ("\x1b[1;31merror\x1b[0m", "\x1b[1;36mhelp\x1b[0m")
            } else {
                ("error", "help")
            };
            eprintln!("{error_label}: {}", error.message);
            if let Some(help) = &error.help {
                eprintln!("{help_label}: {help}");
            }
            ExitCode::from(error.kind.code())
        }
    }
}
