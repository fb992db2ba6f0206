//! `plexica logout`: forgets the stored secrets of the core API and/or registry (as `login`
//! chooses them), revoking them on the server when it can be reached (best effort).

use serde::Serialize;

use super::{Services, client_for};
use crate::cli::GlobalArgs;
use crate::client::core::CoreClient;
use crate::config::ConfigDir;
use crate::credentials::{API_TOKEN_VARIABLE, Credentials, TOKEN_VARIABLES};
use crate::error::CliResult;
use crate::output::Ui;
use crate::profile::Config;

/// What happened to one service's login.
#[derive(Debug, Serialize)]
struct LoggedOut {
    /// The service URL.
    url: String,
    /// A stored secret was forgotten.
    removed: bool,
    /// The server confirmed the secret is revoked.
    revoked: bool,
}

/// The JSON result of `logout`.
#[derive(Debug, Serialize)]
struct Result {
    #[serde(skip_serializing_if = "Option::is_none")]
    api: Option<LoggedOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registry: Option<LoggedOut>,
}

/// Logs out.
pub fn run(global: &GlobalArgs, ui: &Ui) -> CliResult {
    let dir = ConfigDir::locate()?;
    let config = Config::load(&dir)?;
    let services = Services::selected(global)?;
    let mut credentials = Credentials::load(&dir)?;
    let mut result = Result {
        api: None,
        registry: None,
    };
    if services.core {
        let api = config.api_url(global)?;
        let stored = credentials.remove_api(&api);
        credentials.save(&dir)?;
        let mut revoked = false;
        if let Some(session) = &stored {
            // A session is revoked with logout; an API token stays (revoke it with `token revoke`).
            if session.refresh_token.is_some() {
                match CoreClient::new(api.clone(), Some(session.clone()))
                    .and_then(|client| client.logout())
                {
                    Ok(()) => revoked = true,
                    Err(e) => ui.warn(format!(
                        "the session was forgotten here but not revoked on the server: {e}"
                    )),
                }
            }
        }
        if std::env::var_os(API_TOKEN_VARIABLE).is_some_and(|v| !v.is_empty()) {
            ui.warn(format!(
                "{API_TOKEN_VARIABLE} is set and still provides a token"
            ));
        }
        result.api = Some(LoggedOut {
            url: api.to_string(),
            removed: stored.is_some(),
            revoked,
        });
    }
    if services.registry {
        let registry = config.registry_url(global, None)?;
        let stored = credentials.remove(&registry);
        let mut revoked = false;
        if let Some(login) = &stored {
            credentials.save(&dir)?;
            if let Some(id) = &login.token_id {
                match client_for(registry.clone(), Some(login.token.clone()), ui)
                    .and_then(|client| Ok(client.revoke_token(id)?))
                {
                    Ok(()) => revoked = true,
                    Err(e) => ui.warn(format!(
                        "the token was forgotten here but not revoked on the registry: {}",
                        e.message
                    )),
                }
            }
        }
        if let Some(variable) = TOKEN_VARIABLES
            .iter()
            .find(|v| std::env::var_os(v).is_some_and(|value| !value.is_empty()))
        {
            ui.warn(format!("{variable} is set and still provides a token"));
        }
        result.registry = Some(LoggedOut {
            url: registry.to_string(),
            removed: stored.is_some(),
            revoked,
        });
    }
    ui.result(&result, || {
        [&result.api, &result.registry]
            .into_iter()
            .flatten()
            .map(|r| {
                if r.removed {
                    format!("logged out of {}", r.url)
                } else {
                    format!("not logged in to {}", r.url)
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}
