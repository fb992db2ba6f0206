//! One module per subcommand; each is a thin layer over library functions and typed clients.

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

use crate::cli::{Cli, Command, GlobalArgs};
use crate::client::ClientError;
use crate::client::core::CoreClient;
use crate::client::registry::RegistryClient;
use crate::config::ConfigDir;
use crate::credentials::{self, Credentials, Token, TokenSource};
use crate::error::{CliError, CliResult};
use crate::output::Ui;
use crate::profile::{Config, ServiceUrl};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CliResult {
    let ui = Ui::new(&cli.global);
    let global = &cli.global;
    if let Ok(dir) = crate::config::ConfigDir::locate() {
        for unknown in crate::profile::Config::unknown_keys(&dir) {
            ui.warn(unknown);
        }
    }
    match cli.command {
        Command::Plugin(command) => plugin::run(command, global, &ui),
        Command::Keys(command) => keys::run(command, global, &ui),
        Command::Login(args) => login::run(args, global, &ui),
        Command::Logout(services) => logout::run(services, global, &ui),
        Command::Whoami(services) => whoami::run(services, global, &ui),
        Command::Profile(command) => profile::run(command, global, &ui),
        Command::Auth(command) => auth::run(command, global, &ui),
        Command::Token(command) => token::run(command, global, &ui),
        Command::Doctor => doctor::run(global, &ui),
        Command::Api(args) => api::run(args, global, &ui),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args, &ui),
        #[cfg(feature = "platform")]
        Command::Quickstart(args) => quickstart::run(args, global, &ui),
        Command::Tenant(command) => tenant::run(command, global, &ui),
        Command::Workspace(command) => workspace::run(command, global, &ui),
        #[cfg(feature = "platform")]
        Command::Up(args) => up::run(args, global, &ui),
        Command::Events(command) => events::run(command, global, &ui),
        Command::Registry(command) => registry::run(command, global, &ui),
    }
}

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
            .selected(global)?
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

/// Asks to confirm a destructive action: `--yes` skips; without a terminal it is a usage
/// error naming `--yes`.
pub fn confirm(ui: &Ui, question: &str) -> CliResult {
    if ui.yes {
        return Ok(());
    }
    if !ui.can_prompt() {
        return Err(CliError::usage(format!("{question} (not confirmed)"))
            .with_help("pass --yes to confirm without a prompt"));
    }
    let theme = dialoguer::theme::SimpleTheme;
    let yes = dialoguer::Confirm::with_theme(&theme)
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(|e| CliError::usage(format!("no answer: {e}")).with_help("pass --yes"))?;
    if yes {
        Ok(())
    } else {
        Err(CliError::failed("cancelled"))
    }
}

/// One secret from stdin: everything up to the end, without the final line break.
pub fn read_stdin(what: &str) -> CliResult<String> {
    use std::io::Read;
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| CliError::usage(format!("cannot read the {what} from stdin: {e}")))?;
    let secret = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if secret.is_empty() {
        return Err(CliError::usage(format!("no {what} on stdin"))
            .with_help(format!("pipe the {what} into the command")));
    }
    Ok(secret.to_owned())
}

/// Whether a command acts as the logged-in user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Public routes only: no token is sent.
    Public,
    /// The caller's token is needed: fail (exit 3) up front when there is none.
    Token,
}

/// The client of the registry a command talks to: `--registry NAME|URL` (`registry`, publish
/// only), else `--registry-url`, else the profile's; with the caller's token for
/// [`Access::Token`]. Retries are reported as status lines.
pub fn registry_client(
    global: &GlobalArgs,
    registry: Option<&str>,
    access: Access,
    ui: &Ui,
) -> CliResult<RegistryClient> {
    let dir = ConfigDir::locate()?;
    let config = Config::load(&dir)?;
    let url = config.registry_url(global, registry)?;
    let profile = config.selected_name(global);
    ui.verbose(format!("registry: {url} (profile {profile})"));
    let token = match access {
        Access::Public => None,
        Access::Token => match credentials::resolve(&dir, &profile, &url)? {
            Some((token, source)) => {
                ui.verbose(match source {
                    TokenSource::Env(variable) => format!("token: from {variable}"),
                    TokenSource::File => "token: from credentials.toml".to_owned(),
                });
                Some(token)
            }
            None => {
                return Err(ClientError::NotLoggedIn {
                    help: format!(
                        "run `plexica {}login --registry-url {url}`, or set PLEXICA_REGISTRY_TOKEN",
                        profile_flag(&profile)
                    ),
                    url: url.to_string(),
                }
                .into());
            }
        },
    };
    client_for(url, token, ui)
}

/// `--profile NAME ` for commands to suggest, empty for the default profile.
pub fn profile_flag(profile: &str) -> String {
    if profile == crate::profile::DEFAULT_PROFILE {
        String::new()
    } else {
        format!("--profile {profile} ")
    }
}

/// A client of registry `url` with `token`, reporting retries as status lines.
pub fn client_for(url: ServiceUrl, token: Option<Token>, ui: &Ui) -> CliResult<RegistryClient> {
    let notices = ui.clone();
    Ok(RegistryClient::new(url, token)?.on_retry(move |notice| notices.status("Retrying", notice)))
}

/// The client of the core API a command talks to (`--api-url`, else the profile's), acting
/// with `PLEXICA_TOKEN` or the stored session; a renewed session is stored back.
pub fn core_client(global: &GlobalArgs, ui: &Ui) -> CliResult<CoreClient> {
    let dir = ConfigDir::locate()?;
    let config = Config::load(&dir)?;
    let url = config.api_url(global)?;
    let profile = config.selected_name(global);
    ui.verbose(format!("core API: {url} (profile {profile})"));
    let resolved = credentials::resolve_api(&dir, &profile, &url)?;
    let from_file = matches!(resolved, Some((_, TokenSource::File)));
    if let Some((_, source)) = &resolved {
        ui.verbose(match source {
            TokenSource::Env(variable) => format!("token: from {variable}"),
            TokenSource::File => "token: from credentials.toml".to_owned(),
        });
    }
    let notices = ui.clone();
    let warnings = ui.clone();
    let key = url.clone();
    let login = format!("plexica {}login --api-url {url}", profile_flag(&profile));
    let mut client = CoreClient::new(url, resolved.map(|(session, _)| session))?
        .login_command(login)
        .on_retry(move |notice| notices.status("Retrying", notice));
    ui.verbose(format!("correlation id: {}", client.correlation_id()));
    if from_file {
        client = client.on_renew(move |session| {
            let saved = Credentials::load(&dir).and_then(|mut credentials| {
                credentials.set_api(&profile, &key, session.clone());
                credentials.save(&dir)
            });
            if let Err(e) = saved {
                warnings.warn(format!(
                    "the renewed session could not be stored: {}",
                    e.message
                ));
            }
        });
    }
    Ok(client)
}
