//! `plexica whoami`: the account and token the registry sees.

use plexica_sdk::api::registry::{Me, TokenInfo};
use serde::Serialize;

use super::{Access, registry_client};
use crate::cli::GlobalArgs;
use crate::error::CliResult;
use crate::output::Ui;

/// The JSON result of `whoami`.
#[derive(Debug, Serialize)]
struct WhoAmI {
    registry: String,
    username: String,
    admin: bool,
    token: TokenInfo,
}

/// Asks the registry who the caller is.
pub fn run(global: &GlobalArgs, ui: &Ui) -> CliResult {
    let client = registry_client(global, None, Access::Token, ui)?;
    let Me {
        username,
        admin,
        token,
    } = client.me()?;
    let result = WhoAmI {
        registry: client.registry().to_string(),
        username,
        admin,
        token,
    };
    ui.result(&result, || {
        let scopes: Vec<&str> = result.token.scopes.iter().map(|s| s.as_str()).collect();
        format!(
            "{}{} on {}\ntoken {} ({}), scopes: {}, expires {}",
            result.username,
            if result.admin { " (admin)" } else { "" },
            result.registry,
            result.token.id,
            result.token.name,
            scopes.join(", "),
            result.token.expires_at
        )
    });
    Ok(())
}
