//! One module per subcommand; each is a thin layer over library functions and typed clients.

pub mod completions;
pub mod keys;
pub mod login;
pub mod logout;
pub mod plugin;
pub mod profile;
pub mod quickstart;
pub mod token;
pub mod whoami;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::client::ClientError;
use crate::client::registry::RegistryClient;
use crate::config::ConfigDir;
use crate::credentials::{self, Token, TokenSource};
use crate::error::CliResult;
use crate::output::Ui;
use crate::profile::{Config, RegistryUrl};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CliResult {
    let ui = Ui::new(&cli.global);
    let global = &cli.global;
    match cli.command {
        Command::Plugin(command) => plugin::run(command, global, &ui),
        Command::Keys(command) => keys::run(command, global, &ui),
        Command::Login(args) => login::run(args, global, &ui),
        Command::Logout => logout::run(global, &ui),
        Command::Whoami => whoami::run(global, &ui),
        Command::Profile(command) => profile::run(command, global, &ui),
        Command::Token(command) => token::run(command, global, &ui),
        Command::Completions(args) => completions::run(&args),
        Command::Quickstart(args) => quickstart::run(args, global, &ui),
    }
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
    let url = Config::load(&dir)?.registry_url(global, registry)?;
    ui.verbose(format!("registry: {url}"));
    let token = match access {
        Access::Public => None,
        Access::Token => match credentials::resolve(&dir, &url)? {
            Some((token, source)) => {
                ui.verbose(match source {
                    TokenSource::Env(variable) => format!("token: from {variable}"),
                    TokenSource::File => "token: from credentials.toml".to_owned(),
                });
                Some(token)
            }
            None => {
                return Err(ClientError::NotLoggedIn {
                    registry: url.to_string(),
                }
                .into());
            }
        },
    };
    client_for(url, token, ui)
}

/// A client of registry `url` with `token`, reporting retries as status lines.
pub fn client_for(url: RegistryUrl, token: Option<Token>, ui: &Ui) -> CliResult<RegistryClient> {
    let notices = ui.clone();
    Ok(RegistryClient::new(url, token)?.on_retry(move |notice| notices.status("Retrying", notice)))
}
