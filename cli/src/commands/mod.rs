//! One module per subcommand; each is a thin layer: its clap arguments, turned into the
//! options of an `ops` function or a typed client's call, and the result rendered. A command
//! never calls another command: what two of them share is in `ops/`.

pub mod api;
pub mod auth;
pub mod completions;
pub mod doctor;
pub mod events;
pub mod keys;
pub mod login;
pub mod logout;
pub mod man;
pub mod plugin;
pub mod profile;
#[cfg(feature = "platform")]
pub mod quickstart;
pub mod registry;
pub mod tenant;
pub mod token;
#[cfg(feature = "platform")]
pub mod up;
pub mod whoami;
pub mod workspace;

use clap::Args;

use crate::client::core::CoreClient;
use crate::client::registry::RegistryClient;
use crate::config::ConfigDir;
use crate::error::{CliError, CliResult};
use crate::global::GlobalArgs;
pub use crate::ops::clients::Access;
use crate::output::Ui;
use crate::profile::Config;

/// `--core` / `--registry`: the services an account command (`login`, `logout`, `whoami`,
/// `token`) acts on.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct ServiceArgs {
    /// Act on the core API (the profile's `api-url`, or `--api-url`).
    #[arg(long)]
    pub core: bool,
    /// Act on the registry (the profile's `registry-url`, or `--registry-url`).
    #[arg(long)]
    pub registry: bool,
}

/// Which services an account command (`login`, `logout`, `whoami`, `token`) acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Services {
    /// The core API.
    pub core: bool,
    /// The registry.
    pub registry: bool,
}

impl Services {
    /// Those named by `--core` / `--registry`, else by `--api-url` / `--registry-url` (or
    /// their variables); when none is given, the profile's core API, else its registry; with
    /// neither configured, an error that says how to get one.
    pub fn selected(global: &GlobalArgs, named: ServiceArgs) -> CliResult<Self> {
        if named.core || named.registry {
            return Ok(Self {
                core: named.core,
                registry: named.registry,
            });
        }
        let given = |v: &Option<String>| v.as_deref().is_some_and(|u| !u.is_empty());
        if given(&global.api_url) || given(&global.registry_url) {
            return Ok(Self {
                core: given(&global.api_url),
                registry: given(&global.registry_url),
            });
        }
        let profile = Config::load(&ConfigDir::locate()?)?
            .selected(&global.selection())?
            .profile;
        if profile.api_url.is_none() && profile.registry_url.is_none() {
            return Err(
                CliError::usage("no core API or registry configured").with_help(
                    "start a platform with `plexica up` (it sets up the profile), or pass \
                     --api-url URL / --registry-url URL; `plexica login --api-url URL` remembers it",
                ),
            );
        }
        let core = profile.api_url.is_some();
        Ok(Self {
            core,
            registry: !core,
        })
    }
}

/// [`ops::clients::registry_client`](crate::ops::clients::registry_client) for the registry
/// the global flags select.
pub fn registry_client(
    global: &GlobalArgs,
    registry: Option<&str>,
    access: Access,
    ui: &Ui,
) -> CliResult<RegistryClient> {
    crate::ops::clients::registry_client(&global.selection(), registry, access, ui)
}

/// [`ops::clients::core_client`](crate::ops::clients::core_client) for the core API the global
/// flags select.
pub fn core_client(global: &GlobalArgs, ui: &Ui) -> CliResult<CoreClient> {
    crate::ops::clients::core_client(&global.selection(), ui)
}
