//! `plexica tenant user add|list|remove|set-roles SLUG …`.

use clap::Subcommand;
use plexica_sdk::api::core::{CreateUserRequest, SetRolesRequest, User};
use serde::Serialize;

use crate::client::core::CoreClient;
use crate::error::CliResult;
use crate::output::{Ui, table};

/// User subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; without --password-stdin a password is generated and shown once.
    Add {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
        /// Login email.
        email: String,
        /// Display name [default: the email's local part]
        #[arg(long)]
        name: Option<String>,
        /// Tenant roles, comma-separated [default: member]
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Read the password from stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the tenant's users.
    #[command(visible_alias = "ls")]
    List {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
        /// Page, from 1.
        #[arg(long, default_value_t = 1)]
        page: u32,
        /// Users per page (1–100).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Delete a user (refused while they are a workspace's last admin).
    #[command(visible_alias = "rm")]
    Remove {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
        /// User id.
        id: String,
    },
    /// Replace a user's tenant roles.
    SetRoles {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
        /// User id.
        id: String,
        /// Roles, comma-separated.
        #[arg(value_delimiter = ',', required = true)]
        roles: Vec<String>,
    },
}

fn row(u: &User) -> [String; 4] {
    [
        u.id.clone(),
        u.email.clone(),
        u.name.clone(),
        u.roles.join(","),
    ]
}

/// The JSON result of `tenant user remove`.
#[derive(Debug, Serialize)]
struct Removed {
    id: String,
    removed: bool,
}

/// Runs a `tenant user` subcommand.
pub fn run(command: UserCommand, client: &CoreClient, ui: &Ui) -> CliResult {
    match command {
        UserCommand::Add {
            tenant,
            email,
            name,
            roles,
            password_stdin,
        } => {
            let password = if password_stdin {
                Some(crate::prompt::read_stdin("password")?)
            } else {
                None
            };
            let user = client.create_user(
                &tenant,
                &CreateUserRequest {
                    email,
                    name,
                    password,
                    roles: (!roles.is_empty()).then_some(roles),
                },
            )?;
            ui.status("Created", format!("user {} ({})", user.email, user.id));
            if user.initial_password.is_some() {
                ui.warn("the generated password is shown only this once");
            }
            ui.result(&user, || {
                let mut out = table(["ID", "EMAIL", "NAME", "ROLES"], [row(&user)]);
                if let Some(password) = &user.initial_password {
                    out.push_str(&format!("password: {password}"));
                }
                out
            });
        }
        UserCommand::List {
            tenant,
            page,
            limit,
        } => {
            let users = client.users(
                &tenant,
                &[("page", page.to_string()), ("per_page", limit.to_string())],
            )?;
            ui.result(&users, || {
                let mut out = table(["ID", "EMAIL", "NAME", "ROLES"], users.data.iter().map(row));
                out.push_str(&format!(
                    "page {}, {} user(s) in all",
                    users.page, users.total
                ));
                out
            });
        }
        UserCommand::Remove { tenant, id } => {
            client.delete_user(&tenant, &id)?;
            let result = Removed { id, removed: true };
            ui.result(&result, || format!("removed user {}", result.id));
        }
        UserCommand::SetRoles { tenant, id, roles } => {
            let user = client.set_roles(&tenant, &id, &SetRolesRequest { roles })?;
            ui.result(&user, || {
                table(["ID", "EMAIL", "NAME", "ROLES"], [row(&user)])
            });
        }
    }
    Ok(())
}
