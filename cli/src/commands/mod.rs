//! One module per subcommand; each is a thin layer over library functions.

pub mod completions;
pub mod keys;
pub mod plugin;
pub mod quickstart;

use crate::cli::{Cli, Command};
use crate::error::CliResult;
use crate::output::Ui;

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CliResult {
    let ui = Ui::new(&cli.global);
    match cli.command {
        Command::Plugin(command) => plugin::run(command, &ui),
        Command::Keys(command) => keys::run(command, &ui),
        Command::Completions(args) => completions::run(&args),
        Command::Quickstart(args) => quickstart::run(args, &ui),
    }
}
