//! `plexica whoami [--core] [--registry]`: who the core API and/or the registry sees (as `login`
//! chooses the services), naming the server that answered.

use plexica_sdk::api::core::Me as CoreMe;
use plexica_sdk::api::registry::{Me, TokenInfo};
use serde::Serialize;

use super::{Access, ServiceArgs, Services, core_client, registry_client};
use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::output::Ui;

/// The JSON result of `whoami` against the core API: who, and the API that said so.
#[derive(Debug, Serialize)]
struct CoreWhoAmI {
    api: String,
    #[serde(flatten)]
    me: CoreMe,
}

/// The JSON result of `whoami` against the registry.
#[derive(Debug, Serialize)]
struct RegistryWhoAmI {
    registry: String,
    username: String,
    admin: bool,
    token: TokenInfo,
}

/// The JSON result when both services were asked.
#[derive(Debug, Serialize)]
struct Both {
    api: CoreWhoAmI,
    registry: RegistryWhoAmI,
}

/// Asks the selected services who the caller is.
pub fn run(named: ServiceArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let services = Services::selected(global, named)?;
    let core = services.core.then(|| core_me(global, ui)).transpose()?;
    let registry = services
        .registry
        .then(|| registry_me(global, ui))
        .transpose()?;
    match (core, registry) {
        (Some(api), Some(registry)) => {
            let both = Both { api, registry };
            ui.result(&both, || {
                format!(
                    "{}\n{}",
                    core_text(&both.api),
                    registry_text(&both.registry)
                )
            });
        }
        (Some(api), None) => ui.result(&api, || core_text(&api)),
        (None, Some(registry)) => ui.result(&registry, || registry_text(&registry)),
        (None, None) => {}
    }
    Ok(())
}

fn core_me(global: &GlobalArgs, ui: &Ui) -> CliResult<CoreWhoAmI> {
    let client = core_client(global, ui)?;
    let me = client.me()?;
    Ok(CoreWhoAmI {
        api: client.base().to_string(),
        me,
    })
}

fn registry_me(global: &GlobalArgs, ui: &Ui) -> CliResult<RegistryWhoAmI> {
    let client = registry_client(global, None, Access::Token, ui)?;
    let Me {
        username,
        admin,
        token,
    } = client.me()?;
    Ok(RegistryWhoAmI {
        registry: client.registry().to_string(),
        username,
        admin,
        token,
    })
}

fn core_text(result: &CoreWhoAmI) -> String {
    let me = &result.me;
    format!(
        "{} ({}){} on core API {}\nroles: {}\npermissions: {}\nauth: {}",
        me.email,
        me.id,
        me.tenant.as_deref().map_or_else(
            || " — platform super admin".to_owned(),
            |t| format!(" in tenant {t}")
        ),
        result.api,
        me.roles.join(", "),
        me.permissions.join(", "),
        me.auth
    )
}

fn registry_text(result: &RegistryWhoAmI) -> String {
    let scopes: Vec<&str> = result.token.scopes.iter().map(|s| s.as_str()).collect();
    format!(
        "{}{} on registry {}\ntoken {} ({}), scopes: {}, expires {}",
        result.username,
        if result.admin { " (admin)" } else { "" },
        result.registry,
        result.token.id,
        result.token.name,
        scopes.join(", "),
        result.token.expires_at
    )
}
