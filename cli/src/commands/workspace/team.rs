//! `plexica workspace team list|create --tenant T WS …`.

use clap::Subcommand;
use plexica_sdk::api::core::{CreateTeamRequest, Team};

use super::TenantArg;
use crate::client::core::CoreClient;
use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::output::{Ui, table};

/// Team subcommands.
#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// List a workspace's teams.
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        tenant: TenantArg,
        /// Workspace slug.
        workspace: String,
    },
    /// Create a team of workspace members.
    Create {
        #[command(flatten)]
        tenant: TenantArg,
        /// Workspace slug.
        workspace: String,
        /// Team name.
        name: String,
        /// Description.
        #[arg(long)]
        description: Option<String>,
        /// Member user ids, comma-separated.
        #[arg(long, value_delimiter = ',')]
        members: Vec<String>,
    },
}

fn rows<'a>(teams: impl IntoIterator<Item = &'a Team>) -> String {
    table(
        ["ID", "NAME", "MEMBERS"],
        teams
            .into_iter()
            .map(|t| [t.id.clone(), t.name.clone(), t.members.len().to_string()]),
    )
}

/// Runs a `workspace team` subcommand.
pub fn run(command: TeamCommand, client: &CoreClient, global: &GlobalArgs, ui: &Ui) -> CliResult {
    match command {
        TeamCommand::List { tenant, workspace } => {
            let tenant = tenant.resolve(global)?;
            let teams = client.teams(&tenant, &workspace)?;
            ui.result(&teams, || rows(&teams));
        }
        TeamCommand::Create {
            tenant,
            workspace,
            name,
            description,
            members,
        } => {
            let tenant = tenant.resolve(global)?;
            let team = client.create_team(
                &tenant,
                &workspace,
                &CreateTeamRequest {
                    name,
                    description,
                    members,
                },
            )?;
            ui.status("Created", format!("team {} in {workspace}", team.name));
            ui.result(&team, || rows([&team]));
        }
    }
    Ok(())
}
