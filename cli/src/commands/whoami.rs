//! `plexica whoami`: who the core API (or the registry) sees, as `login` chooses the service.

use plexica_sdk::api::registry::{Me, TokenInfo};
use serde::Serialize;

use super::{Access, Services, core_client, registry_client};
use crate::cli::GlobalArgs;
use crate::error::CliResult;
use crate::output::Ui;

/// The JSON result of `whoami` against the registry.
#[derive(Debug, Serialize)]
struct WhoAmI {
    registry: String,
    username: String,
    admin: bool,
    token: TokenInfo,
}

/// Asks the selected service who the caller is.
pub fn run(global: &GlobalArgs, ui: &Ui) -> CliResult {
    if Services::selected(global)?.core {
        let client = core_client(global, ui)?;
        let me = client.me()?;
        ui.result(&me, || {
            format!(
                "{} ({}){} on {}\nroles: {}\npermissions: {}\nauth: {}",
                me.email,
                me.id,
                me.tenant.as_deref().map_or_else(
                    || " — platform super admin".to_owned(),
                    |t| format!(" in tenant {t}")
                ),
                client.base(),
                me.roles.join(", "),
                me.permissions.join(", "),
                me.auth
            )
        });
        return Ok(());
    }
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
