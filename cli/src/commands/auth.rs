//! `plexica auth status|switch`: every profile's logins at a glance, and switching between
//! them (as `gh auth status|switch` do for accounts). Each profile keeps its own logins, so
//! switching profile is switching identity.

use clap::Subcommand;
use serde::Serialize;

use crate::config::ConfigDir;
use crate::credentials::{API_TOKEN_VARIABLE, Credentials, TOKEN_VARIABLES, Validity, now_unix};
use crate::error::{CliError, CliResult};
use crate::global::GlobalArgs;
use crate::output::{Ui, table};
use crate::profile::Config;

/// `auth` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Every profile, the servers it names, who it is logged in as there and until when.
    #[command(
        after_help = "Examples:\n  plexica auth status\n  plexica auth status -o json | jq '.[] | select(.validity.state == \"expired\")'"
    )]
    Status,
    /// Make another profile (and so its identity) the current one [prompted on a terminal].
    #[command(after_help = "Examples:\n  plexica auth switch ci\n  plexica auth switch")]
    Switch {
        /// Name of the profile.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::profiles))]
        profile: Option<String>,
    },
}

/// One row of `auth status`: a profile and one service it names or holds a login for.
#[derive(Debug, Serialize)]
struct LoginRow {
    profile: String,
    /// The profile commands use now.
    selected: bool,
    /// `core` or `registry`.
    service: &'static str,
    url: String,
    /// Who the stored login is; absent when not logged in.
    username: Option<String>,
    /// The tenant of a core API login; absent for the super admin and the registry.
    tenant: Option<String>,
    /// Absent when not logged in.
    validity: Option<Validity>,
}

/// Runs an `auth` subcommand.
pub fn run(command: AuthCommand, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let dir = ConfigDir::locate()?;
    let mut config = Config::load(&dir)?;
    let credentials = Credentials::load(&dir)?;
    match command {
        AuthCommand::Status => {
            let rows = rows(
                &config,
                &credentials,
                &config.selected_name(&global.selection()),
            );
            for variable in std::iter::once(API_TOKEN_VARIABLE).chain(TOKEN_VARIABLES) {
                if std::env::var_os(variable).is_some_and(|v| !v.is_empty()) {
                    ui.warn(format!(
                        "{variable} is set: it overrides the stored logins of every profile"
                    ));
                }
            }
            if credentials.has_unowned() {
                ui.warn("credentials.toml holds logins from before each profile kept its own: they are not used; log in again");
            }
            ui.result(&rows, || status_table(&rows));
        }
        AuthCommand::Switch { profile } => {
            let name = match profile {
                Some(name) => name,
                None => choose(&config, ui)?,
            };
            config.named(&name, false)?;
            config.current_profile = Some(name.clone());
            config.save(&dir)?;
            ui.status("Switched", format!("to profile `{name}`"));
            let rows: Vec<LoginRow> = rows(&config, &credentials, &name)
                .into_iter()
                .filter(|row| row.profile == name)
                .collect();
            ui.result(&rows, || status_table(&rows));
        }
    }
    Ok(())
}

/// A row per (profile, service URL): the URLs the profile names, then any other it holds a
/// login for.
fn rows(config: &Config, credentials: &Credentials, selected: &str) -> Vec<LoginRow> {
    let now = now_unix();
    let logins: std::collections::BTreeMap<&str, _> = credentials.profiles().collect();
    let mut names: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
    names.extend(logins.keys().filter(|n| !config.profiles.contains_key(**n)));
    let mut rows = Vec::new();
    for name in names {
        let profile = config.profiles.get(name);
        let held = logins.get(name);
        let row = |service, url: &str| LoginRow {
            profile: name.to_owned(),
            selected: name == selected,
            service,
            url: url.to_owned(),
            username: None,
            tenant: None,
            validity: None,
        };
        let mut core: Vec<LoginRow> = profile
            .and_then(|p| p.api_url.as_deref())
            .map(|url| row("core", url.trim_end_matches('/')))
            .into_iter()
            .collect();
        let mut registry: Vec<LoginRow> = profile
            .and_then(|p| p.registry_url.as_deref())
            .map(|url| row("registry", url.trim_end_matches('/')))
            .into_iter()
            .collect();
        if let Some(held) = held {
            for (url, session) in held.apis() {
                let index = core.iter().position(|r| r.url == url).unwrap_or_else(|| {
                    core.push(row("core", url));
                    core.len() - 1
                });
                core[index].username.clone_from(&session.username);
                core[index].tenant.clone_from(&session.tenant);
                core[index].validity = Some(session.validity(now));
            }
            for (url, login) in held.registries() {
                let index = registry
                    .iter()
                    .position(|r| r.url == url)
                    .unwrap_or_else(|| {
                        registry.push(row("registry", url));
                        registry.len() - 1
                    });
                registry[index].username.clone_from(&login.username);
                registry[index].validity = Some(login.validity(now));
            }
        }
        rows.extend(core);
        rows.extend(registry);
    }
    rows
}

fn status_table(rows: &[LoginRow]) -> String {
    if rows.is_empty() {
        return "no profiles and no logins: `plexica up` or `plexica login` makes one".to_owned();
    }
    table(
        ["", "PROFILE", "SERVICE", "URL", "LOGGED IN AS", "VALIDITY"],
        rows.iter().map(|row| {
            let who = match (&row.username, &row.tenant, &row.validity) {
                (_, _, None) => "-".to_owned(),
                (Some(user), Some(tenant), _) => format!("{user} (tenant {tenant})"),
                (Some(user), None, _) => user.clone(),
                (None, _, Some(_)) => "an API token".to_owned(),
            };
            [
                if row.selected { "*" } else { " " }.to_owned(),
                row.profile.clone(),
                row.service.to_owned(),
                row.url.clone(),
                who,
                row.validity
                    .map_or_else(|| "not logged in".to_owned(), |v| v.to_string()),
            ]
        }),
    )
}

/// Asks which profile to switch to; without a terminal, a usage error naming the argument.
fn choose(config: &Config, ui: &Ui) -> CliResult<String> {
    let names: Vec<&String> = config.profiles.keys().collect();
    if names.is_empty() {
        return Err(CliError::usage("no profiles to switch to")
            .with_help("`plexica up` or `plexica login --profile NAME …` makes one"));
    }
    if !ui.can_prompt() {
        return Err(CliError::usage("which profile?").with_help(format!(
            "pass one of: {}",
            names
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let current = config
        .current_profile
        .as_ref()
        .and_then(|c| names.iter().position(|n| *n == c))
        .unwrap_or(0);
    let theme = dialoguer::theme::SimpleTheme;
    let picked = dialoguer::Select::with_theme(&theme)
        .with_prompt("Profile")
        .items(&names)
        .default(current)
        .interact()
        .map_err(|e| {
            CliError::usage(format!("no answer: {e}")).with_help("pass the profile's name")
        })?;
    names
        .get(picked)
        .map(|name| (*name).clone())
        .ok_or_else(|| CliError::usage("no profile chosen"))
}
