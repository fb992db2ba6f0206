//! `plexica profile list|use|show`: the profiles of `config.toml`.

use clap::Subcommand;
use serde::Serialize;

use crate::cli::GlobalArgs;
use crate::config::ConfigDir;
use crate::error::CliResult;
use crate::output::Ui;
use crate::profile::{Config, Profile, Selected};

/// Profile subcommands.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List the profiles; `*` marks the selected one.
    List,
    /// Make a profile the current one (`current-profile` in config.toml).
    Use {
        /// Name of an existing profile.
        name: String,
    },
    /// Show a profile's settings [default: the selected profile]
    Show {
        /// Name of the profile.
        name: Option<String>,
    },
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
    let selected = config.selected_name(global);
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
                let mut out = format!("  {:<20} {}\n", "NAME", "REGISTRY");
                for view in &views {
                    let mark = if view.selected { '*' } else { ' ' };
                    let registry = view.registry_url.as_deref().unwrap_or("-");
                    out.push_str(&format!("{mark} {:<20} {registry}\n", view.name));
                }
                out
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
                None => config.selected(global)?,
            };
            let view = ProfileView::new(shown.name, shown.profile, shown.exists, &selected);
            ui.result(&view, || view.text());
        }
    }
    Ok(())
}
