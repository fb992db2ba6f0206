//! `plexica tenant …`: tenant lifecycle (super admin), and the tenant's users, roles and
//! plugins.

mod plugin;
mod role;
mod user;

use std::time::Duration;

use clap::{Args, Subcommand};
use plexica_sdk::api::core::{CreateTenantRequest, Tenant, TenantStatus, UpdateTenantRequest};
use serde::Serialize;

use super::core_client;
use crate::error::{CliError, CliResult};
use crate::global::GlobalArgs;
use crate::ops::spec::parse_json_object;
use crate::ops::tenant::wait_provisioned;
use crate::output::{Ui, table};

/// Tenant subcommands.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Provision a tenant: its data space, default roles, first admin, default workspace.
    Create(CreateArgs),
    /// List tenants.
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show a tenant with usage counts.
    Get {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        slug: String,
    },
    /// Rename a tenant or replace its settings.
    Update {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        slug: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// New settings, a JSON object.
        #[arg(long, value_parser = parse_json_object)]
        settings: Option<serde_json::Value>,
    },
    /// Suspend a tenant: its users are refused until it is activated.
    Suspend {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        slug: String,
    },
    /// Activate a suspended (or soft-deleted) tenant.
    Activate {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        slug: String,
    },
    /// Delete a tenant: soft (`PENDING_DELETION`, reversible) or `--hard` (drops its data).
    #[command(visible_alias = "rm")]
    Delete {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        slug: String,
        /// Drop the tenant's data and row for good.
        #[arg(long)]
        hard: bool,
    },
    /// Manage the tenant's users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage the tenant's roles.
    #[command(subcommand)]
    Role(role::RoleCommand),
    /// Install, configure, upgrade and uninstall the tenant's plugins (from the core API's
    /// registry).
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
}

/// Arguments of `tenant create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Tenant slug: 3–51 characters of a–z, 0–9 and `-`.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
    slug: String,
    /// Display name.
    #[arg(long)]
    name: String,
    /// Email of the first tenant admin [default: admin@SLUG.local]
    #[arg(long)]
    admin_email: Option<String>,
    /// Settings, a JSON object.
    #[arg(long, value_parser = parse_json_object)]
    settings: Option<serde_json::Value>,
    /// When the server provisions in the background (202), wait until the tenant is active.
    #[arg(long)]
    wait: bool,
}

/// Arguments of `tenant list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only tenants in this state (active, suspended, pending_deletion, provisioning).
    #[arg(long)]
    status: Option<String>,
    /// Only tenants whose slug or name contains this.
    #[arg(long)]
    search: Option<String>,
    /// Page, from 1.
    #[arg(long, default_value_t = 1)]
    page: u32,
    /// Tenants per page (1–100).
    #[arg(long, default_value_t = 20)]
    limit: u32,
}

fn details(t: &Tenant) -> String {
    let mut out = format!(
        "slug:       {}\nname:       {}\nstatus:     {}\nid:         {}\ncreated:    {}\nupdated:    {}\nsettings:   {}",
        t.slug,
        t.name,
        t.status.as_str(),
        t.id,
        t.created_at,
        t.updated_at,
        t.settings
    );
    if let Some(usage) = &t.usage {
        out.push_str(&format!(
            "\nusers:      {}\nworkspaces: {}",
            usage.users, usage.workspaces
        ));
    }
    out
}

/// The JSON result of `tenant delete --hard`.
#[derive(Debug, Serialize)]
struct Deleted {
    slug: String,
    deleted: bool,
}

/// Runs a `tenant` subcommand.
pub fn run(command: TenantCommand, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let client = core_client(global, ui)?;
    match command {
        TenantCommand::Create(args) => create(&client, args, ui),
        TenantCommand::List(args) => {
            let mut query = vec![
                ("page", args.page.to_string()),
                ("per_page", args.limit.to_string()),
            ];
            if let Some(status) = args.status {
                query.push(("status", status.to_uppercase()));
            }
            if let Some(search) = args.search {
                query.push(("search", search));
            }
            let page = client.tenants(&query)?;
            ui.result(&page, || {
                if page.data.is_empty() {
                    return "no tenants".to_owned();
                }
                let rows = page.data.iter().map(|t| {
                    [
                        t.slug.clone(),
                        t.name.clone(),
                        t.status.as_str().to_owned(),
                        t.created_at.clone(),
                    ]
                });
                let mut out = table(["SLUG", "NAME", "STATUS", "CREATED"], rows);
                out.push_str(&format!(
                    "page {}, {} tenant(s) in all, {} per page",
                    page.page, page.total, page.per_page
                ));
                out
            });
            Ok(())
        }
        TenantCommand::Get { slug } => {
            let tenant = client.tenant(&slug)?;
            ui.result(&tenant, || details(&tenant));
            Ok(())
        }
        TenantCommand::Update {
            slug,
            name,
            settings,
        } => {
            if name.is_none() && settings.is_none() {
                return Err(
                    CliError::usage("nothing to update").with_help("pass --name and/or --settings")
                );
            }
            let tenant = client.update_tenant(&slug, &UpdateTenantRequest { name, settings })?;
            ui.status("Updated", format!("tenant {}", tenant.slug));
            ui.result(&tenant, || details(&tenant));
            Ok(())
        }
        TenantCommand::Suspend { slug } => state_change(&client, &slug, "suspend", "Suspended", ui),
        TenantCommand::Activate { slug } => {
            state_change(&client, &slug, "activate", "Activated", ui)
        }
        TenantCommand::Delete { slug, hard } => {
            if hard {
                crate::prompt::confirm(
                    ui,
                    &format!("Delete tenant `{slug}` and ALL its data for good?"),
                )?;
            }
            match client.delete_tenant(&slug, hard)? {
                Some(tenant) => {
                    ui.status(
                        "Deleted",
                        format!(
                            "tenant {slug} (soft: `plexica tenant activate {slug}` restores it)"
                        ),
                    );
                    ui.result(&tenant, || details(&tenant));
                }
                None => {
                    let result = Deleted {
                        slug,
                        deleted: true,
                    };
                    ui.result(&result, || {
                        format!("tenant {} and its data deleted", result.slug)
                    });
                }
            }
            Ok(())
        }
        TenantCommand::User(command) => user::run(command, &client, ui),
        TenantCommand::Role(command) => role::run(command, &client, ui),
        TenantCommand::Plugin(command) => plugin::run(command, &client, ui),
    }
}

fn state_change(
    client: &crate::client::core::CoreClient,
    slug: &str,
    action: &str,
    verb: &str,
    ui: &Ui,
) -> CliResult {
    let tenant = client.tenant_action(slug, action)?;
    ui.status(verb, format!("tenant {}", tenant.slug));
    ui.result(&tenant, || details(&tenant));
    Ok(())
}

fn create(client: &crate::client::core::CoreClient, args: CreateArgs, ui: &Ui) -> CliResult {
    let spinner = ui.spinner(format!("Provisioning tenant {}", args.slug));
    let (status, mut tenant) = client.create_tenant(&CreateTenantRequest {
        slug: args.slug.clone(),
        name: args.name,
        admin_email: args.admin_email,
        settings: args.settings,
    })?;
    if status == 202 && args.wait {
        let waited = wait_provisioned(client, tenant, Duration::from_secs(300));
        spinner.finish_and_clear();
        tenant = waited?;
    }
    spinner.finish_and_clear();
    match status {
        201 => ui.status(
            "Provisioned",
            format!("tenant {} ({})", tenant.slug, tenant.status.as_str()),
        ),
        202 if tenant.status == TenantStatus::Provisioning => ui.status(
            "Accepted",
            format!(
                "tenant {} is provisioning; pass --wait to wait for it",
                tenant.slug
            ),
        ),
        _ => ui.status(
            "Exists",
            format!(
                "tenant {} was already provisioned by this request",
                tenant.slug
            ),
        ),
    }
    if tenant.initial_admin.is_some() {
        ui.warn("the first admin's password is shown only this once: store it now");
    }
    ui.result(&tenant, || {
        let mut out = details(&tenant);
        if let Some(admin) = &tenant.initial_admin {
            out.push_str(&format!(
                "\nfirst admin: {} / password: {}\nlog in with: plexica login --tenant {} --username {} --password-stdin",
                admin.email, admin.password, tenant.slug, admin.email
            ));
        }
        out
    });
    Ok(())
}
