//! `plexica`: the one command-line tool of the Plexica platform.

mod cli;
mod client;
mod commands;
mod config;
mod credentials;
mod dev;
mod error;
mod keystore;
mod output;
mod profile;
mod render;
mod sdk_copy;
mod signal;
mod templates;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let color = output::Ui::new(&cli.global).color();
    match commands::run(cli) {
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
