//! `plexica workspace member add|list|set-role|remove --tenant T WS …`.

use clap::{Subcommand, ValueEnum};
use plexica_sdk::api::core::{AddMemberRequest, Member, SetMemberRoleRequest, WorkspaceRole};
use serde::Serialize;

use super::TenantArg;
use crate::client::core::CoreClient;
use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::output::{Ui, table};

/// A workspace role on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Everything in the workspace.
    Admin,
    /// Read and contribute.
    Member,
    /// Read only.
    Viewer,
}

impl From<RoleArg> for WorkspaceRole {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Self::Admin,
            RoleArg::Member => Self::Member,
            RoleArg::Viewer => Self::Viewer,
        }
    }
}

/// Member subcommands.
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add a user (id or email) to a workspace.
    Add {
        #[command(flatten)]
        tenant: TenantArg,
        /// Workspace slug.
        workspace: String,
        /// User id or email.
        user: String,
        /// Role in the workspace.
        #[arg(long, value_enum, default_value_t = RoleArg::Member)]
        role: RoleArg,
    },
    /// List a workspace's members.
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        tenant: TenantArg,
        /// Workspace slug.
        workspace: String,
    },
    /// Change a member's role (the last admin cannot be demoted).
    SetRole {
        #[command(flatten)]
        tenant: TenantArg,
        /// Workspace slug.
        workspace: String,
        /// User id.
        user: String,
        /// New role.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// Remove a member (the last admin cannot be removed).
    #[command(visible_alias = "rm")]
    Remove {
        #[command(flatten)]
        tenant: TenantArg,
        /// Workspace slug.
        workspace: String,
        /// User id.
        user: String,
    },
}

fn rows<'a>(members: impl IntoIterator<Item = &'a Member>) -> String {
    table(
        ["USER", "EMAIL", "NAME", "ROLE"],
        members.into_iter().map(|m| {
            [
                m.user_id.clone(),
                m.email.clone(),
                m.name.clone(),
                m.role.as_str().to_owned(),
            ]
        }),
    )
}

/// The JSON result of `workspace member remove`.
#[derive(Debug, Serialize)]
struct Removed {
    workspace: String,
    user_id: String,
    removed: bool,
}

/// Runs a `workspace member` subcommand.
pub fn run(command: MemberCommand, client: &CoreClient, global: &GlobalArgs, ui: &Ui) -> CliResult {
    match command {
        MemberCommand::Add {
            tenant,
            workspace,
            user,
            role,
        } => {
            let tenant = tenant.resolve(global)?;
            let member = client.add_member(
                &tenant,
                &workspace,
                &AddMemberRequest {
                    user_id: user,
                    role: role.into(),
                },
            )?;
            ui.status(
                "Added",
                format!(
                    "{} to {workspace} as {}",
                    member.email,
                    member.role.as_str()
                ),
            );
            ui.result(&member, || rows([&member]));
        }
        MemberCommand::List { tenant, workspace } => {
            let tenant = tenant.resolve(global)?;
            let members = client.members(&tenant, &workspace)?;
            ui.result(&members, || rows(&members));
        }
        MemberCommand::SetRole {
            tenant,
            workspace,
            user,
            role,
        } => {
            let tenant = tenant.resolve(global)?;
            let member = client.set_member_role(
                &tenant,
                &workspace,
                &user,
                &SetMemberRoleRequest { role: role.into() },
            )?;
            ui.result(&member, || rows([&member]));
        }
        MemberCommand::Remove {
            tenant,
            workspace,
            user,
        } => {
            let tenant = tenant.resolve(global)?;
            client.remove_member(&tenant, &workspace, &user)?;
            let result = Removed {
                workspace,
                user_id: user,
                removed: true,
            };
            ui.result(&result, || {
                format!("removed {} from {}", result.user_id, result.workspace)
            });
        }
    }
    Ok(())
}
