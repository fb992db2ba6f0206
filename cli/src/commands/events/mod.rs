//! `plexica events …`: the platform's events: follow a tenant's, and the dead letter store
//! (super admin).

mod dlq;
mod tail;

use clap::Subcommand;

use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::output::Ui;

/// Events subcommands.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// The dead letter store: events that could not be delivered.
    #[command(subcommand)]
    Dlq(dlq::DlqCommand),
    /// Follow a tenant's events as they are committed (tenant administrators).
    Tail(tail::TailArgs),
}

/// Runs an `events` subcommand.
pub fn run(command: EventsCommand, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let client = super::core_client(global, ui)?;
    match command {
        EventsCommand::Dlq(command) => dlq::run(command, &client, ui),
        EventsCommand::Tail(args) => tail::run(args, &client, ui),
    }
}
