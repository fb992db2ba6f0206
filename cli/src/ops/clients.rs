//! The typed clients of the services a profile names: which URL, which token (from the
//! environment or `credentials.toml`), retries reported as status lines, a renewed core API
//! session stored back.

use crate::client::ClientError;
use crate::client::core::CoreClient;
use crate::client::registry::RegistryClient;
use crate::config::ConfigDir;
use crate::credentials::{self, Credentials, Token, TokenSource};
use crate::error::CliResult;
use crate::output::Ui;
use crate::profile::{Config, Selection, ServiceUrl};

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
    selection: &Selection,
    registry: Option<&str>,
    access: Access,
    ui: &Ui,
) -> CliResult<RegistryClient> {
    let dir = ConfigDir::locate()?;
    let config = Config::load(&dir)?;
    let url = config.registry_url(selection, registry)?;
    let profile = config.selected_name(selection);
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
pub fn core_client(selection: &Selection, ui: &Ui) -> CliResult<CoreClient> {
    let dir = ConfigDir::locate()?;
    let config = Config::load(&dir)?;
    let url = config.api_url(selection)?;
    let profile = config.selected_name(selection);
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
