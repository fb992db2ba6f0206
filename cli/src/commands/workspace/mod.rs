//! `plexica workspace …`: workspaces of a tenant, their members, teams and plugin settings.

mod member;
mod plugin_settings;
mod team;

use clap::{Args, Subcommand};
use plexica_sdk::api::core::{CreateWorkspaceRequest, UpdateWorkspaceRequest, Workspace};
use serde::Serialize;

use super::core_client;
use crate::config::ConfigDir;
use crate::error::{CliError, CliResult};
use crate::global::GlobalArgs;
use crate::output::{Ui, table};
use crate::profile::Config;

/// `--tenant`, shared by every workspace command.
#[derive(Debug, Clone, Args)]
pub struct TenantArg {
    /// Tenant slug [default: PLEXICA_TENANT, else the profile's default-tenant]
    #[arg(long, env = "PLEXICA_TENANT")]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
    tenant: Option<String>,
}

impl TenantArg {
    /// The tenant to act in.
    pub fn resolve(&self, global: &GlobalArgs) -> CliResult<String> {
        Config::load(&ConfigDir::locate()?)?.tenant(&global.selection(), self.tenant.as_deref())
    }
}

/// Workspace subcommands.
#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace; you become its admin.
    Create {
        #[command(flatten)]
        tenant: TenantArg,
        /// Workspace slug: a–z, 0–9 and `-`, starting with a letter.
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Description.
        #[arg(long)]
        description: Option<String>,
    },
    /// List your workspaces (all of them for tenant admins).
    #[command(visible_alias = "ls")]
    List {
        #[command(flatten)]
        tenant: TenantArg,
        /// Order: name, slug, created_at, -created_at.
        #[arg(long)]
        sort: Option<String>,
        /// Page, from 1.
        #[arg(long, default_value_t = 1)]
        page: u32,
        /// Workspaces per page (1–100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Show a workspace.
    Get {
        #[command(flatten)]
        tenant: TenantArg,
        /// Workspace slug.
        workspace: String,
    },
    /// Change a workspace's name, description or settings.
    Update {
        #[command(flatten)]
        tenant: TenantArg,
        /// Workspace slug.
        workspace: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// New settings, a JSON object.
        #[arg(long, value_parser = crate::ops::spec::parse_json_object)]
        settings: Option<serde_json::Value>,
    },
    /// Delete a workspace.
    #[command(visible_alias = "rm")]
    Delete {
        #[command(flatten)]
        tenant: TenantArg,
        /// Workspace slug.
        workspace: String,
        /// Delete it even with other members or teams.
        #[arg(long)]
        force: bool,
    },
    /// Manage members.
    #[command(subcommand)]
    Member(member::MemberCommand),
    /// Manage teams.
    #[command(subcommand)]
    Team(team::TeamCommand),
    /// Show or change a workspace's own values of a plugin's settings (fields marked
    /// `workspace-override`).
    #[command(subcommand)]
    PluginSettings(plugin_settings::PluginSettingsCommand),
}

fn row(w: &Workspace) -> [String; 5] {
    [
        w.slug.clone(),
        w.name.clone(),
        w.role.map_or("-", |r| r.as_str()).to_owned(),
        w.member_count.to_string(),
        w.team_count.to_string(),
    ]
}

const HEADERS: [&str; 5] = ["SLUG", "NAME", "ROLE", "MEMBERS", "TEAMS"];

/// The JSON result of `workspace delete`.
#[derive(Debug, Serialize)]
struct Deleted {
    tenant: String,
    workspace: String,
    deleted: bool,
}

/// Runs a `workspace` subcommand.
pub fn run(command: WorkspaceCommand, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let client = core_client(global, ui)?;
    match command {
        WorkspaceCommand::Create {
            tenant,
            slug,
            name,
            description,
        } => {
            let tenant = tenant.resolve(global)?;
            let workspace = client.create_workspace(
                &tenant,
                &CreateWorkspaceRequest {
                    slug,
                    name,
                    description,
                    settings: None,
                },
            )?;
            ui.status(
                "Created",
                format!("workspace {} in {tenant}", workspace.slug),
            );
            ui.result(&workspace, || table(HEADERS, [row(&workspace)]));
        }
        WorkspaceCommand::List {
            tenant,
            sort,
            page,
            limit,
        } => {
            let tenant = tenant.resolve(global)?;
            let mut query = vec![("page", page.to_string()), ("per_page", limit.to_string())];
            if let Some(sort) = sort {
                query.push(("sort", sort));
            }
            let page = client.workspaces(&tenant, &query)?;
            ui.result(&page, || {
                let mut out = table(HEADERS, page.data.iter().map(row));
                out.push_str(&format!(
                    "page {}, {} workspace(s) in all",
                    page.page, page.total
                ));
                out
            });
        }
        WorkspaceCommand::Get { tenant, workspace } => {
            let tenant = tenant.resolve(global)?;
            let w = client.workspace(&tenant, &workspace)?;
            ui.result(&w, || {
                format!(
                    "{}description: {}\nsettings: {}\ncreated: {}",
                    table(HEADERS, [row(&w)]),
                    w.description.as_deref().unwrap_or("-"),
                    w.settings,
                    w.created_at
                )
            });
        }
        WorkspaceCommand::Update {
            tenant,
            workspace,
            name,
            description,
            settings,
        } => {
            if name.is_none() && description.is_none() && settings.is_none() {
                return Err(CliError::usage("nothing to update")
                    .with_help("pass --name, --description and/or --settings"));
            }
            let tenant = tenant.resolve(global)?;
            let w = client.update_workspace(
                &tenant,
                &workspace,
                &UpdateWorkspaceRequest {
                    name,
                    description,
                    settings,
                },
            )?;
            ui.result(&w, || table(HEADERS, [row(&w)]));
        }
        WorkspaceCommand::Delete {
            tenant,
            workspace,
            force,
        } => {
            let tenant = tenant.resolve(global)?;
            crate::prompt::confirm(
                ui,
                &format!("Delete workspace `{workspace}` of tenant `{tenant}`?"),
            )?;
            client.delete_workspace(&tenant, &workspace, force)?;
            let result = Deleted {
                tenant,
                workspace,
                deleted: true,
            };
            ui.result(&result, || {
                format!("deleted workspace {}", result.workspace)
            });
        }
        WorkspaceCommand::Member(command) => member::run(command, &client, global, ui)?,
        WorkspaceCommand::Team(command) => team::run(command, &client, global, ui)?,
        WorkspaceCommand::PluginSettings(command) => {
            plugin_settings::run(command, &client, global, ui)?
        }
    }
    Ok(())
}
