//! `plexica logout`: forgets the stored secrets of the core API and/or registry (as `login`
//! chooses them), revoking them on the server when it can be reached (best effort).

use serde::Serialize;

use super::{ServiceArgs, Services};
use crate::config::ConfigDir;
use crate::credentials::{API_TOKEN_VARIABLE, Credentials, TOKEN_VARIABLES};
use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::ops::session::{revoke_session, revoke_token};
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
pub fn run(named: ServiceArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let dir = ConfigDir::locate()?;
    let config = Config::load(&dir)?;
    let services = Services::selected(global, named)?;
    let mut credentials = Credentials::load(&dir)?;
    let profile = config.selected_name(&global.selection());
    let mut result = Result {
        api: None,
        registry: None,
    };
    if services.core {
        let api = config.api_url(&global.selection())?;
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
        let registry = config.registry_url(&global.selection(), None)?;
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
