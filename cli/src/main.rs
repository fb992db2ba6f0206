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
mod templates;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if !error.reported || error.help.is_some() {
                eprintln!("error: {}", error.message);
                if let Some(help) = &error.help {
                    eprintln!("help: {help}");
                }
            } else {
                eprintln!("error: {}", error.message);
            }
            ExitCode::from(error.kind.code())
        }
    }
}
