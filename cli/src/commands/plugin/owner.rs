//! `plexica plugin owner add|remove|list ID [USER]…`: a plugin's co-owners.

use clap::Subcommand;
use plexica_sdk::api::registry::{Owners, OwnersRequest};
use serde::Serialize;

use crate::commands::{Access, registry_client};
use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::ops::spec::parse_id;
use crate::output::Ui;

/// Owner subcommands.
#[derive(Debug, Subcommand)]
pub enum OwnerCommand {
    /// Add co-owners (they may publish, yank, deprecate and change owners).
    Add {
        /// Plugin id.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
        id: String,
        /// Usernames.
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Remove co-owners.
    #[command(visible_alias = "rm")]
    Remove {
        /// Plugin id.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
        id: String,
        /// Usernames.
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// List the owners.
    #[command(visible_alias = "ls")]
    List {
        /// Plugin id.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
        id: String,
    },
}

/// The JSON result of `plugin owner`: the owners after the change.
#[derive(Debug, Serialize)]
struct OwnerList {
    id: String,
    users: Vec<String>,
}

/// Runs an `owner` subcommand.
pub fn run(command: OwnerCommand, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let (id, Owners { users }) = match command {
        OwnerCommand::List { id } => {
            let id = parse_id(&id)?;
            let client = registry_client(global, None, Access::Public, ui)?;
            let owners = client.owners(&id)?;
            (id, owners)
        }
        OwnerCommand::Add { id, users } => {
            let id = parse_id(&id)?;
            let client = registry_client(global, None, Access::Token, ui)?;
            let owners = client.add_owners(&id, &OwnersRequest { users })?;
            (id, owners)
        }
        OwnerCommand::Remove { id, users } => {
            let id = parse_id(&id)?;
            let client = registry_client(global, None, Access::Token, ui)?;
            let owners = client.remove_owners(&id, &OwnersRequest { users })?;
            (id, owners)
        }
    };
    let result = OwnerList { id, users };
    ui.result(&result, || {
        format!("owners of {}: {}", result.id, result.users.join(", "))
    });
    Ok(())
}
