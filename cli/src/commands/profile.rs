//! `plexica profile list|use|show|set|unset|delete`: the profiles of `config.toml`.

use clap::{Subcommand, ValueEnum};
use serde::Serialize;

use crate::config::ConfigDir;
use crate::credentials::Credentials;
use crate::error::{CliError, CliResult};
use crate::global::GlobalArgs;
use crate::ops::session::{revoke_session, revoke_token};
use crate::output::{Ui, table};
use crate::profile::{Config, Profile, Selected, ServiceUrl};
use crate::prompt::confirm;

/// Profile subcommands.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List the profiles; `*` marks the selected one.
    #[command(visible_alias = "ls")]
    List,
    /// Make a profile the current one (`current-profile` in config.toml).
    Use {
        /// Name of an existing profile.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::profiles))]
        name: String,
    },
    /// Show a profile's settings [default: the selected profile]
    Show {
        /// Name of the profile.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::profiles))]
        name: Option<String>,
    },
    /// Change a setting of the selected profile (`--profile NAME` picks another; a new name
    /// creates it).
    #[command(
        after_help = "Examples:\n  plexica profile set default-tenant acme\n  plexica --profile staging profile set api-url https://api.staging.example.com"
    )]
    Set {
        /// The setting.
        key: Setting,
        /// Its new value.
        value: String,
    },
    /// Remove a setting from the selected profile.
    Unset {
        /// The setting.
        key: Setting,
    },
    /// Delete a profile and its logins (revoking them on their servers when reachable).
    #[command(
        visible_alias = "rm",
        after_help = "Examples:\n  plexica profile delete quickstart --yes"
    )]
    Delete {
        /// Name of the profile.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::profiles))]
        name: String,
    },
}

/// A profile setting, as written in config.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Setting {
    /// The core API's base URL.
    ApiUrl,
    /// The registry's base URL.
    RegistryUrl,
    /// The tenant used when `--tenant` is not given.
    DefaultTenant,
    /// The signing key used when `--key` is not given.
    DefaultKey,
}

impl Setting {
    fn slot(self, profile: &mut Profile) -> &mut Option<String> {
        match self {
            Self::ApiUrl => &mut profile.api_url,
            Self::RegistryUrl => &mut profile.registry_url,
            Self::DefaultTenant => &mut profile.default_tenant,
            Self::DefaultKey => &mut profile.default_key,
        }
    }

    /// The value as stored: URLs checked and without a trailing `/`, names non-empty.
    fn check(self, value: &str) -> CliResult<String> {
        match self {
            Self::ApiUrl | Self::RegistryUrl => Ok(ServiceUrl::parse(value)?.to_string()),
            Self::DefaultTenant | Self::DefaultKey if value.trim().is_empty() => {
                Err(CliError::usage("the value is empty")
                    .with_help("`plexica profile unset KEY` removes a setting"))
            }
            Self::DefaultTenant | Self::DefaultKey => Ok(value.trim().to_owned()),
        }
    }
}

/// The JSON result of `profile delete`.
#[derive(Debug, Serialize)]
struct Deleted {
    name: String,
    /// Logins forgotten with it.
    logins_removed: usize,
    /// Of those, how many their servers confirmed revoked.
    logins_revoked: usize,
}

/// A profile as printed by `profile` commands.
#[derive(Debug, Serialize)]
struct ProfileView {
    name: String,
    /// It is the one commands use (`--profile`, else `current-profile`, else `default`).
    selected: bool,
    /// `config.toml` defines it.
    exists: bool,
    api_url: Option<String>,
    registry_url: Option<String>,
    default_tenant: Option<String>,
    default_key: Option<String>,
}

impl ProfileView {
    fn new(name: String, profile: Profile, exists: bool, selected: &str) -> Self {
        Self {
            selected: name == selected,
            name,
            exists,
            api_url: profile.api_url,
            registry_url: profile.registry_url,
            default_tenant: profile.default_tenant,
            default_key: profile.default_key,
        }
    }

    fn text(&self) -> String {
        let field = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
        format!(
            "profile:         {}{}\napi-url:         {}\nregistry-url:    {}\ndefault-tenant:  {}\ndefault-key:     {}",
            self.name,
            if self.exists {
                ""
            } else {
                " (not in config.toml)"
            },
            field(&self.api_url),
            field(&self.registry_url),
            field(&self.default_tenant),
            field(&self.default_key),
        )
    }
}

/// Runs a `profile` subcommand.
pub fn run(command: ProfileCommand, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let dir = ConfigDir::locate()?;
    let mut config = Config::load(&dir)?;
    let selected = config.selected_name(&global.selection());
    match command {
        ProfileCommand::List => {
            let views: Vec<ProfileView> = config
                .profiles
                .iter()
                .map(|(name, profile)| {
                    ProfileView::new(name.clone(), profile.clone(), true, &selected)
                })
                .collect();
            ui.result(&views, || {
                if views.is_empty() {
                    return "no profiles; `plexica login --registry-url URL` creates `default`"
                        .to_owned();
                }
                let field =
                    |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
                table(
                    ["", "NAME", "CORE API", "REGISTRY", "TENANT"],
                    views.iter().map(|view| {
                        [
                            if view.selected { "*" } else { " " }.to_owned(),
                            view.name.clone(),
                            field(&view.api_url),
                            field(&view.registry_url),
                            field(&view.default_tenant),
                        ]
                    }),
                )
            });
        }
        ProfileCommand::Use { name } => {
            let Selected { profile, .. } = config.named(&name, false)?;
            config.current_profile = Some(name.clone());
            config.save(&dir)?;
            ui.status("Using", format!("profile `{name}`"));
            let view = ProfileView::new(name.clone(), profile, true, &name);
            ui.result(&view, || view.text());
        }
        ProfileCommand::Show { name } => {
            let shown = match name {
                Some(name) => config.named(&name, false)?,
                None => config.selected(&global.selection())?,
            };
            let view = ProfileView::new(shown.name, shown.profile, shown.exists, &selected);
            ui.result(&view, || view.text());
        }
        ProfileCommand::Set { key, value } => {
            let value = key.check(&value)?;
            let profile = config.profiles.entry(selected.clone()).or_default();
            *key.slot(profile) = Some(value);
            let profile = profile.clone();
            config
                .current_profile
                .get_or_insert_with(|| selected.clone());
            config.save(&dir)?;
            ui.status("Saved", format!("profile `{selected}`"));
            let view = ProfileView::new(selected.clone(), profile, true, &selected);
            ui.result(&view, || view.text());
        }
        ProfileCommand::Unset { key } => {
            let Selected { mut profile, .. } = config.named(&selected, false)?;
            *key.slot(&mut profile) = None;
            config.profiles.insert(selected.clone(), profile.clone());
            config.save(&dir)?;
            ui.status("Saved", format!("profile `{selected}`"));
            let view = ProfileView::new(selected.clone(), profile, true, &selected);
            ui.result(&view, || view.text());
        }
        ProfileCommand::Delete { name } => {
            let mut credentials = Credentials::load(&dir)?;
            let logins = credentials.remove_profile(&name);
            if !config.profiles.contains_key(&name) && logins.is_none() {
                config.named(&name, false)?;
            }
            confirm(ui, &format!("Delete profile `{name}` and its logins?"))?;
            config.profiles.remove(&name);
            if config.current_profile.as_deref() == Some(name.as_str()) {
                config.current_profile = None;
            }
            config.save(&dir)?;
            credentials.save(&dir)?;
            let mut result = Deleted {
                name,
                logins_removed: 0,
                logins_revoked: 0,
            };
            if let Some(logins) = logins {
                for (url, session) in logins.apis() {
                    result.logins_removed += 1;
                    let revoked =
                        ServiceUrl::parse(url).is_ok_and(|api| revoke_session(&api, session, ui));
                    result.logins_revoked += usize::from(revoked);
                }
                for (url, login) in logins.registries() {
                    result.logins_removed += 1;
                    let revoked = ServiceUrl::parse(url)
                        .is_ok_and(|registry| revoke_token(&registry, login, ui));
                    result.logins_revoked += usize::from(revoked);
                }
            }
            ui.status("Deleted", format!("profile `{}`", result.name));
            ui.result(&result, || {
                format!(
                    "deleted profile {} ({} logins forgotten, {} revoked)",
                    result.name, result.logins_removed, result.logins_revoked
                )
            });
        }
    }
    Ok(())
}
