//! `plexica events …`: the platform's events (super admin).

mod dlq;

use clap::Subcommand;

use crate::cli::GlobalArgs;
use crate::error::CliResult;
use crate::output::Ui;

/// Events subcommands.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// The dead letter store: events that could not be delivered.
    #[command(subcommand)]
    Dlq(dlq::DlqCommand),
}

/// Runs an `events` subcommand.
pub fn run(command: EventsCommand, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let client = super::core_client(global, ui)?;
    match command {
        EventsCommand::Dlq(command) => dlq::run(command, &client, ui),
    }
}
