//! `plexica tenant role list|create SLUG …`.

use clap::Subcommand;
use plexica_sdk::api::core::{CreateRoleRequest, Role};

use crate::client::core::CoreClient;
use crate::error::CliResult;
use crate::output::{Ui, table};

/// Role subcommands.
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// List the tenant's roles and their permissions.
    #[command(visible_alias = "ls")]
    List {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
    },
    /// Create a custom role.
    Create {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
        /// Role name.
        name: String,
        /// Permissions (`resource:action`), comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        permissions: Vec<String>,
    },
}

fn rows(roles: &[Role]) -> String {
    table(
        ["ROLE", "BUILTIN", "PERMISSIONS"],
        roles.iter().map(|r| {
            [
                r.name.clone(),
                if r.builtin { "yes" } else { "no" }.to_owned(),
                r.permissions.join(","),
            ]
        }),
    )
}

/// Runs a `tenant role` subcommand.
pub fn run(command: RoleCommand, client: &CoreClient, ui: &Ui) -> CliResult {
    match command {
        RoleCommand::List { tenant } => {
            let roles = client.roles(&tenant)?;
            ui.result(&roles, || rows(&roles));
        }
        RoleCommand::Create {
            tenant,
            name,
            permissions,
        } => {
            let role = client.create_role(&tenant, &CreateRoleRequest { name, permissions })?;
            ui.status("Created", format!("role {}", role.name));
            ui.result(&role, || rows(std::slice::from_ref(&role)));
        }
    }
    Ok(())
}
