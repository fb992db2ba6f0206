//! `plexica workspace plugin-settings get|set --tenant T WS PLUGIN …`: a workspace's own values
//! of a plugin's configuration fields marked `workspace-override`.

use clap::Subcommand;
use plexica_sdk::api::core::WorkspacePluginSettings;
use plexica_sdk::manifest::config::REDACTED;
use serde_json::Value;

use super::TenantArg;
use crate::client::core::CoreClient;
use crate::error::{CliError, CliResult};
use crate::global::GlobalArgs;
use crate::ops::plugin_config::{changes, parse_setting};
use crate::ops::spec::parse_id;
use crate::output::{Ui, table};

/// Plugin settings subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginSettingsCommand {
    /// Show the workspace's overrides and the values that apply in it (the tenant's
    /// configuration with the overrides on top; secrets as `********`).
    Get {
        #[command(flatten)]
        tenant: TenantArg,
        /// Workspace slug.
        workspace: String,
        /// Plugin id.
        plugin: String,
    },
    /// Change the workspace's overrides: the current ones are read, the changes applied and
    /// the result stored (only fields marked `workspace-override` are accepted).
    #[command(
        after_help = "VALUEs are JSON when they parse as JSON, else strings:\n  \
        plexica workspace plugin-settings set --tenant acme sales crm currency=EUR limit=50\n\
        --unset KEY drops the workspace's value: the tenant's applies again."
    )]
    Set {
        #[command(flatten)]
        tenant: TenantArg,
        /// Workspace slug.
        workspace: String,
        /// Plugin id.
        plugin: String,
        /// Values to set, KEY=VALUE (VALUE: JSON when it parses, else a string).
        #[arg(value_name = "KEY=VALUE", value_parser = parse_setting)]
        settings: Vec<(String, Value)>,
        /// An override to drop. Repeatable.
        #[arg(long, value_name = "KEY")]
        unset: Vec<String>,
    },
}

fn text(s: &WorkspacePluginSettings) -> String {
    if s.effective.is_empty() {
        return "no configuration values".to_owned();
    }
    table(
        ["KEY", "VALUE", "FROM"],
        s.effective.iter().map(|(key, value)| {
            let shown = match value {
                Value::String(v) => v.clone(),
                other => other.to_string(),
            };
            let from = match s.overrides.contains_key(key) {
                true => "workspace",
                false => "tenant",
            };
            [key.clone(), shown, from.to_owned()]
        }),
    )
}

/// Runs a `workspace plugin-settings` subcommand.
pub fn run(
    command: PluginSettingsCommand,
    client: &CoreClient,
    global: &GlobalArgs,
    ui: &Ui,
) -> CliResult {
    match command {
        PluginSettingsCommand::Get {
            tenant,
            workspace,
            plugin,
        } => {
            let tenant = tenant.resolve(global)?;
            let settings =
                client.workspace_plugin_settings(&tenant, &workspace, &parse_id(&plugin)?)?;
            ui.result(&settings, || text(&settings));
        }
        PluginSettingsCommand::Set {
            tenant,
            workspace,
            plugin,
            settings,
            unset,
        } => {
            let changes = changes(settings, unset)?;
            if changes.is_empty() {
                return Err(CliError::usage("nothing to change")
                    .with_help("pass KEY=VALUE arguments and/or --unset KEY"));
            }
            let tenant = tenant.resolve(global)?;
            let plugin = parse_id(&plugin)?;
            let mut overrides = client
                .workspace_plugin_settings(&tenant, &workspace, &plugin)?
                .overrides;
            for (key, value) in &changes {
                match value {
                    Value::Null => overrides.remove(key),
                    value => overrides.insert(key.clone(), value.clone()),
                };
            }
            // A secret override reads as `********`; sending that back would store it.
            if let Some(key) = overrides
                .iter()
                .find(|(key, value)| {
                    value.as_str() == Some(REDACTED) && !changes.contains_key(*key)
                })
                .map(|(key, _)| key.clone())
            {
                return Err(CliError::usage(format!(
                    "the workspace's `{key}` is a secret the API does not show, so it cannot be kept as is"
                ))
                .with_help(format!("pass `{key}=VALUE` again, or `--unset {key}`")));
            }
            let stored = client.put_workspace_plugin_settings(
                &tenant,
                &workspace,
                &plugin,
                &WorkspacePluginSettings {
                    overrides,
                    effective: Default::default(),
                },
            )?;
            ui.status("Updated", format!("{plugin} settings of {workspace}"));
            ui.result(&stored, || text(&stored));
        }
    }
    Ok(())
}
