//! `plexica tenant plugin install|list|get|activate|deactivate|configure|upgrade|uninstall
//! SLUG …`: plugins in a tenant, installed from the core API's registry.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use plexica_sdk::api::core::{
    InstallPluginRequest, PluginInstall, UpdatePluginConfigRequest, UpgradePluginRequest,
};
use plexica_sdk::manifest::ConfigField;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::core::CoreClient;
use crate::error::{CliError, CliResult, ExitKind};
use crate::ops::plugin_config::{self as config, changes, parse_setting};
use crate::ops::spec::{parse_id, parse_spec};
use crate::output::{Ui, table};

/// Plugin subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Install a plugin from the registry: resolve the version, verify the package, check
    /// dependencies and configuration, run its migrations (all or nothing).
    /// On a terminal, the required fields not given are asked for (secrets hidden).
    #[command(after_help = "Examples:\n  \
        plexica tenant plugin install acme crm --config currency=EUR --config refresh=120 --activate\n  \
        plexica tenant plugin install acme crm@^1.2 --config-file crm.toml\n  \
        printenv CRM_API_KEY | plexica tenant plugin install acme crm --config-stdin api_key\n  \
        plexica tenant plugin install acme crm@=1.2.0      # pin one version (even a yanked one)")]
    Install(InstallArgs),
    /// List the tenant's plugins with their version and state.
    #[command(visible_alias = "ls")]
    List {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
    },
    /// Show one installed plugin: version, state, configuration (secrets as `********`),
    /// permissions and migrations.
    Get {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
        /// Plugin id.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
        id: String,
    },
    /// Show the log of a plugin's backend (the platform's secrets blanked out). A tenant's
    /// administrators read it while the backend served their tenant alone.
    Logs {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
        /// Plugin id.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
        id: String,
        /// How many of the last lines to show.
        #[arg(long, short = 'n', default_value_t = 100)]
        lines: usize,
        /// Keep printing lines as the backend writes them, until Ctrl-C.
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Start a plugin (its required dependencies must be active).
    Activate {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
        /// Plugin id.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
        id: String,
    },
    /// Stop a plugin (refused while an active plugin requires it).
    Deactivate {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
        /// Plugin id.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
        id: String,
    },
    /// Change a plugin's configuration; the server checks it against the manifest.
    #[command(
        after_help = "VALUEs are JSON when they parse as JSON, else strings:\n  \
        --set refresh=120 (a number)  --set currency=EUR (a string)  --set tags='[\"a\",\"b\"]'\n\
        --unset KEY resets a field to its default. Secrets come from stdin or a prompt:\n  \
        printenv CRM_API_KEY | plexica tenant plugin configure acme crm --set-stdin api_key"
    )]
    Configure(ConfigureArgs),
    /// Upgrade a plugin to a newer version: new migrations run, the configuration is carried.
    /// Fields the new version requires are given with --config (asked for on a terminal).
    #[command(after_help = "Examples:\n  \
        plexica tenant plugin upgrade acme crm\n  \
        plexica tenant plugin upgrade acme crm@^2 --config region=eu\n  \
        printenv CRM_API_KEY | plexica tenant plugin upgrade acme crm --config-stdin api_key")]
    Upgrade(UpgradeArgs),
    /// Uninstall a plugin (refused while another plugin requires it); `--purge` also drops
    /// its tables and migration history, and asks first (`--yes` confirms without a prompt).
    #[command(visible_alias = "rm")]
    Uninstall {
        /// Tenant slug.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
        tenant: String,
        /// Plugin id.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
        id: String,
        /// Also drop the plugin's data in the tenant, for good.
        #[arg(long)]
        purge: bool,
    },
}

/// Arguments of `tenant plugin install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Tenant slug.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
    tenant: String,
    /// Plugin id, optionally with `@REQ`, a SemVer requirement (`^1.2`, `>=1, <2`, `=1.2.0`)
    /// [default: the newest version not yanked]
    #[arg(value_name = "ID[@REQ]")]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
    spec: String,
    #[command(flatten)]
    config: ConfigArgs,
    /// Activate the plugin right after installing it.
    #[arg(long)]
    activate: bool,
}

/// Arguments of `tenant plugin upgrade`.
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// Tenant slug.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
    tenant: String,
    /// Plugin id, optionally with `@REQ`, a SemVer requirement [default: the newest version
    /// not yanked]
    #[arg(value_name = "ID[@REQ]")]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
    spec: String,
    #[command(flatten)]
    config: ConfigArgs,
}

/// Arguments of `tenant plugin configure`.
#[derive(Debug, Args)]
pub struct ConfigureArgs {
    /// Tenant slug.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
    tenant: String,
    /// Plugin id.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
    id: String,
    /// A value to set, KEY=VALUE (VALUE: JSON when it parses, else a string). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_setting)]
    set: Vec<(String, Value)>,
    /// A field to reset to its default. Repeatable.
    #[arg(long, value_name = "KEY")]
    unset: Vec<String>,
    /// Read the new value of KEY from standard input (a hidden prompt on a terminal): how a
    /// secret is changed without putting it on the command line.
    #[arg(long, value_name = "KEY")]
    set_stdin: Option<String>,
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn row(p: &PluginInstall) -> [String; 5] {
    [
        p.id.clone(),
        p.name.clone(),
        p.version.clone(),
        p.state.as_str().to_owned(),
        p.updated_at.clone(),
    ]
}

const HEADERS: [&str; 5] = ["ID", "NAME", "VERSION", "STATE", "UPDATED"];

fn details(p: &PluginInstall) -> String {
    let mut out = format!(
        "id:          {}\nname:        {}\nversion:     {}\nstate:       {}\n",
        p.id,
        p.name,
        p.version,
        p.state.as_str()
    );
    if let Some(error) = &p.error {
        out.push_str(&format!("error:       {error}\n"));
    }
    out.push_str(&format!(
        "digest:      {}\ninstalled:   {}\nupdated:     {}\n",
        p.digest, p.installed_at, p.updated_at
    ));
    let list = |items: &[String]| match items.is_empty() {
        true => "-".to_owned(),
        false => items.join(", "),
    };
    out.push_str(&format!("permissions: {}\n", list(&p.permissions)));
    let ports: Vec<String> = p.outbound_ports.iter().map(u16::to_string).collect();
    out.push_str(&format!(
        "connects to: {}\n",
        match ports.is_empty() {
            true => "the platform only".to_owned(),
            false => format!("the platform and ports {}", ports.join(", ")),
        }
    ));
    out.push_str(&format!("migrations:  {}\n", list(&p.migrations)));
    if p.config.is_empty() {
        out.push_str("config:      -\n");
    } else {
        out.push_str("config:\n");
        for (key, value) in &p.config {
            out.push_str(&format!("  {key} = {}\n", value_text(value)));
        }
    }
    out
}

/// The JSON result of `tenant plugin uninstall`.
#[derive(Debug, Serialize)]
struct Uninstalled {
    tenant: String,
    id: String,
    uninstalled: bool,
    purged: bool,
}

/// How often `logs --follow` asks for new lines.
const FOLLOW_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// One line of `logs --follow -o json` (JSON Lines).
#[derive(Debug, Serialize)]
struct LogLine<'a> {
    line: &'a str,
}

fn logs(
    client: &CoreClient,
    tenant: &str,
    id: &str,
    lines: usize,
    follow: bool,
    ui: &Ui,
) -> CliResult {
    let log = client.plugin_log(tenant, id, &[("lines", lines.to_string())])?;
    if !follow {
        ui.result(&log, || log.lines.join("\n"));
        return Ok(());
    }
    let mut next = log.next_offset;
    let mut batch = log.lines;
    loop {
        for line in &batch {
            if !ui.record(&LogLine { line }, || line.clone()) {
                return Ok(());
            }
        }
        std::thread::sleep(FOLLOW_INTERVAL);
        let more = client.plugin_log(tenant, id, &[("after", next.to_string())])?;
        next = more.next_offset;
        batch = more.lines;
    }
}

/// Runs a `tenant plugin` subcommand.
pub fn run(command: PluginCommand, client: &CoreClient, ui: &Ui) -> CliResult {
    match command {
        PluginCommand::Install(args) => install(client, args, ui)?,
        PluginCommand::List { tenant } => {
            let installs = client.plugin_installs(&tenant)?;
            ui.result(&installs, || {
                if installs.is_empty() {
                    return format!("no plugins installed in {tenant}");
                }
                table(HEADERS, installs.iter().map(row))
            });
        }
        PluginCommand::Get { tenant, id } => {
            let install = client.plugin_install(&tenant, &parse_id(&id)?)?;
            ui.result(&install, || details(&install));
        }
        PluginCommand::Logs {
            tenant,
            id,
            lines,
            follow,
        } => logs(client, &tenant, &parse_id(&id)?, lines, follow, ui)?,
        PluginCommand::Activate { tenant, id } => {
            let install = client.plugin_action(&tenant, &parse_id(&id)?, "activate")?;
            ui.status("Activated", format!("{} in {tenant}", install.id));
            ui.result(&install, || details(&install));
        }
        PluginCommand::Deactivate { tenant, id } => {
            let install = client.plugin_action(&tenant, &parse_id(&id)?, "deactivate")?;
            ui.status("Deactivated", format!("{} in {tenant}", install.id));
            ui.result(&install, || details(&install));
        }
        PluginCommand::Configure(args) => configure(client, args, ui)?,
        PluginCommand::Upgrade(args) => upgrade(client, args, ui)?,
        PluginCommand::Uninstall { tenant, id, purge } => {
            let id = parse_id(&id)?;
            if purge {
                crate::prompt::confirm(
                    ui,
                    &format!("Uninstall `{id}` from tenant `{tenant}` and drop ALL its data?"),
                )?;
            }
            client.uninstall_plugin(&tenant, &id, purge)?;
            let result = Uninstalled {
                tenant,
                id,
                uninstalled: true,
                purged: purge,
            };
            ui.result(&result, || {
                let data = match result.purged {
                    true => "its data dropped",
                    false => "its data kept",
                };
                format!("uninstalled {} from {} ({data})", result.id, result.tenant)
            });
        }
    }
    Ok(())
}

/// The version an install or upgrade would pick, with a warning when it is yanked.
fn offer(
    client: &CoreClient,
    id: &str,
    version_req: Option<&str>,
    ui: &Ui,
) -> CliResult<plexica_sdk::api::registry::VersionDetail> {
    let offer = client.plugin_offer(id, version_req)?;
    if offer.yanked {
        ui.warn(format!(
            "{id}@{} is yanked: {}",
            offer.version,
            offer.yank_reason.as_deref().unwrap_or("no reason given")
        ));
    }
    Ok(offer)
}

fn install(client: &CoreClient, args: InstallArgs, ui: &Ui) -> CliResult {
    let (id, version_req) = parse_spec(&args.spec)?;
    // Said before asking for any value (the server refuses it again if it comes to that).
    if let Ok(installed) = client.plugin_install(&args.tenant, &id) {
        return Err(CliError::new(
            ExitKind::Conflict,
            format!(
                "{id} {} is already installed in {} (PLUGIN_ALREADY_INSTALLED)",
                installed.version, args.tenant
            ),
        )
        .with_help("change its version with `plexica tenant plugin upgrade SLUG ID`"));
    }
    let offer = offer(client, &id, version_req.as_deref(), ui)?;
    let fields = &offer.manifest.config;
    let mut config = args.config.values(fields, ui)?;
    let what = format!("{id} {}", offer.version);
    config::complete(fields, &mut config, |_| false, &what, ui)?;
    let request = InstallPluginRequest {
        id: id.clone(),
        // The version just offered, so that what was asked for is what gets installed.
        version_req: Some(format!("={}", offer.version)),
        config: (!config.is_empty()).then_some(config),
        activate: args.activate,
    };
    let spinner = ui.spinner(format!("Installing {what} in {}", args.tenant));
    let install = client.install_plugin(&args.tenant, &request);
    spinner.finish_and_clear();
    let install = install.map_err(|e| {
        config::with_fix(
            e,
            "give the values with --config KEY=VALUE, --config-stdin KEY (secrets) or --config-file FILE",
        )
    })?;
    ui.status(
        "Installed",
        format!(
            "{} {} in {} ({})",
            install.id,
            install.version,
            args.tenant,
            install.state.as_str()
        ),
    );
    ui.result(&install, || details(&install));
    Ok(())
}

fn configure(client: &CoreClient, args: ConfigureArgs, ui: &Ui) -> CliResult {
    let id = parse_id(&args.id)?;
    let mut config = changes(args.set, args.unset)?;
    if config.is_empty() && args.set_stdin.is_none() {
        return Err(CliError::usage("nothing to change")
            .with_help("pass --set KEY=VALUE, --set-stdin KEY and/or --unset KEY"));
    }
    let installed = client.plugin_install(&args.tenant, &id)?;
    let fields = &installed.config_fields;
    config::refuse_secrets(
        fields,
        config.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k),
        "--set",
        "--set-stdin",
    )?;
    if let Some(key) = args.set_stdin {
        if config.contains_key(&key) {
            return Err(
                CliError::usage(format!("`{key}` is given twice")).with_help("pass it once")
            );
        }
        let value = config::stdin_value(fields, &key, ui, "--set-stdin")?;
        config.insert(key, value);
    }
    let install = client
        .configure_plugin(&args.tenant, &id, &UpdatePluginConfigRequest { config })
        .map_err(|e| {
            config::with_fix(
                e,
                "change the values with --set KEY=VALUE or --set-stdin KEY (secrets)",
            )
        })?;
    ui.status("Configured", format!("{} in {}", install.id, args.tenant));
    ui.result(&install, || details(&install));
    Ok(())
}

fn upgrade(client: &CoreClient, args: UpgradeArgs, ui: &Ui) -> CliResult {
    let (id, version_req) = parse_spec(&args.spec)?;
    let tenant = &args.tenant;
    let installed = client.plugin_install(tenant, &id)?;
    let offer = offer(client, &id, version_req.as_deref(), ui)?;
    let newer = match (
        semver::Version::parse(&offer.version),
        semver::Version::parse(&installed.version),
    ) {
        (Ok(offered), Ok(current)) => offered > current,
        _ => true,
    };
    if !newer {
        return Err(CliError::new(
            ExitKind::Conflict,
            format!(
                "{id} {} is installed in {tenant}; {} is not newer (NOT_AN_UPGRADE)",
                installed.version, offer.version
            ),
        )
        .with_help("publish a newer version, or name one with ID@REQ"));
    }
    let fields = &offer.manifest.config;
    let mut config = args.config.values(fields, ui)?;
    let what = format!("{id} {}", offer.version);
    config::complete(
        fields,
        &mut config,
        |key| installed.config.contains_key(key),
        &what,
        ui,
    )?;
    let request = UpgradePluginRequest {
        version_req: Some(format!("={}", offer.version)),
        config,
    };
    let spinner = ui.spinner(format!("Upgrading {id} in {tenant} to {}", offer.version));
    let install = client.upgrade_plugin(tenant, &id, &request);
    spinner.finish_and_clear();
    let install = install.map_err(|e| {
        config::with_fix(
            e,
            "give the new values with --config KEY=VALUE, --config-stdin KEY (secrets) or --config-file FILE",
        )
    })?;
    ui.status(
        "Upgraded",
        format!("{} to {} in {tenant}", install.id, install.version),
    );
    ui.result(&install, || details(&install));
    Ok(())
}

/// The configuration flags of `install` and `upgrade`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// A configuration value, KEY=VALUE; VALUE is JSON when it parses as JSON (`refresh=120`
    /// is a number), else a string (`currency=EUR`). Repeatable; wins over --config-file.
    /// Not for secrets: use --config-stdin, --config-file or the prompt.
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_setting)]
    config: Vec<(String, Value)>,
    /// A JSON or TOML file holding an object of configuration values (secrets included).
    #[arg(long, value_name = "FILE")]
    config_file: Option<PathBuf>,
    /// Read the value of KEY from standard input (a hidden prompt on a terminal): how a
    /// secret is given without putting it on the command line.
    #[arg(long, value_name = "KEY")]
    config_stdin: Option<String>,
}

impl ConfigArgs {
    /// The values given, checked against `fields`: `--config` holds no secret, `--config-stdin`
    /// names a field. A file's values come first, `--config` wins over them.
    pub fn values(self, fields: &[ConfigField], ui: &Ui) -> CliResult<Map<String, Value>> {
        config::refuse_secrets(
            fields,
            self.config.iter().map(|(k, _)| k),
            "--config",
            "--config-stdin",
        )?;
        let mut values = match &self.config_file {
            Some(path) => config::read_config_file(path)?,
            None => Map::new(),
        };
        values.extend(self.config);
        if let Some(key) = self.config_stdin {
            let value = config::stdin_value(fields, &key, ui, "--config-stdin")?;
            values.insert(key, value);
        }
        Ok(values)
    }
}
