//! `plexica logout`: forgets the stored token for the registry, and revokes it on the registry
//! when it can be reached (best effort).

use serde::Serialize;

use super::client_for;
use crate::cli::GlobalArgs;
use crate::config::ConfigDir;
use crate::credentials::{Credentials, TOKEN_VARIABLES};
use crate::error::CliResult;
use crate::output::Ui;
use crate::profile::Config;

/// The JSON result of `logout`.
#[derive(Debug, Serialize)]
struct LoggedOut {
    registry: String,
    /// A stored token was forgotten.
    removed: bool,
    /// The registry confirmed the token is revoked.
    revoked: bool,
}

/// Logs out of the registry.
pub fn run(global: &GlobalArgs, ui: &Ui) -> CliResult {
    let dir = ConfigDir::locate()?;
    let registry = Config::load(&dir)?.registry_url(global, None)?;
    let mut credentials = Credentials::load(&dir)?;
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
    let result = LoggedOut {
        registry: registry.to_string(),
        removed: stored.is_some(),
        revoked,
    };
    ui.result(&result, || {
        if result.removed {
            format!("logged out of {}", result.registry)
        } else {
            format!("not logged in to {}", result.registry)
        }
    });
    Ok(())
}
