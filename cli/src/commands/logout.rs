//! `plexica logout`: forgets the stored secrets of the core API and/or registry (as `login`
//! chooses them), revoking them on the server when it can be reached (best effort).

use serde::Serialize;

use super::{ServiceArgs, Services, client_for};
use crate::cli::GlobalArgs;
use crate::client::core::CoreClient;
use crate::config::ConfigDir;
use crate::credentials::{
    API_TOKEN_VARIABLE, ApiSession, Credentials, StoredLogin, TOKEN_VARIABLES,
};
use crate::error::CliResult;
use crate::output::Ui;
use crate::profile::{Config, ServiceUrl};

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
pub fn run(named: ServiceArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let dir = ConfigDir::locate()?;
    let config = Config::load(&dir)?;
    let services = Services::selected(global, named)?;
    let mut credentials = Credentials::load(&dir)?;
    let profile = config.selected_name(global);
    let mut result = Result {
        api: None,
        registry: None,
    };
    if services.core {
        let api = config.api_url(global)?;
        let stored = credentials.remove_api(&profile, &api);
        credentials.save(&dir)?;
        let revoked = stored
            .as_ref()
            .is_some_and(|session| revoke_session(&api, session, ui));
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
        let stored = credentials.remove_registry(&profile, &registry);
        if stored.is_some() {
            credentials.save(&dir)?;
        }
        let revoked = stored
            .as_ref()
            .is_some_and(|login| revoke_token(&registry, login, ui));
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

/// Revokes a forgotten core API session on its server (best effort: a failure is a warning);
/// whether the server confirmed. An API token stays valid (`token revoke` ends it).
pub fn revoke_session(api: &ServiceUrl, session: &ApiSession, ui: &Ui) -> bool {
    if session.refresh_token.is_none() {
        return false;
    }
    match CoreClient::new(api.clone(), Some(session.clone())).and_then(|client| client.logout()) {
        Ok(()) => true,
        Err(e) => {
            ui.warn(format!(
                "the session was forgotten here but not revoked on {api}: {e}"
            ));
            false
        }
    }
}

/// Revokes a forgotten registry token that `login` created (best effort: a failure is a
/// warning); whether the registry confirmed.
pub fn revoke_token(registry: &ServiceUrl, login: &StoredLogin, ui: &Ui) -> bool {
    let Some(id) = &login.token_id else {
        return false;
    };
    match client_for(registry.clone(), Some(login.token.clone()), ui)
        .and_then(|client| Ok(client.revoke_token(id)?))
    {
        Ok(()) => true,
        Err(e) => {
            ui.warn(format!(
                "the token was forgotten here but not revoked on {registry}: {}",
                e.message
            ));
            false
        }
    }
}
