//! `plexica token create|list|revoke`: the caller's API tokens (e.g. for CI), on the core API
//! (`plx_…`) or the registry (`plxr_…`), as `login` chooses the service.

use clap::Subcommand;
use plexica_sdk::api::registry::{CreatedToken, Scope, TokenInfo};
use serde::Serialize;

use super::{Access, ServiceArgs, Services, core_client, registry_client};
use crate::error::CliError;
use crate::global::GlobalArgs;
use crate::output::table;
use plexica_sdk::api::core::NewApiTokenRequest;
use plexica_sdk::api::registry::NewTokenRequest;

use crate::client::registry::RegistryClient;
use crate::config::ConfigDir;
use crate::credentials::Credentials;
use crate::error::CliResult;
use crate::output::Ui;
use crate::profile::Config;

/// Token subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once, on stdout.
    #[command(
        after_help = "Examples:\n  plexica token create ci-release --registry --scopes publish --expires 90d\n  plexica token create nightly --core --scopes workspaces:read"
    )]
    Create {
        /// A label, e.g. `ci-release`.
        name: String,
        /// Scopes, comma-separated: core API permissions (`workspaces:read`, `*`, …) or
        /// registry scopes (publish, manage, admin) [default: all of yours]
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Lifetime: a number with s, m, h, d or w, e.g. `90d` [default: the registry's]
        #[arg(long, value_parser = parse_lifetime)]
        expires: Option<u64>,
        /// Which service the token is for.
        #[command(flatten)]
        services: ServiceArgs,
    },
    /// List your tokens (never their secrets).
    #[command(visible_alias = "ls")]
    List {
        /// Which service's tokens.
        #[command(flatten)]
        services: ServiceArgs,
    },
    /// Revoke a token by id.
    #[command(visible_alias = "rm")]
    Revoke {
        /// Token id, as listed.
        id: String,
        /// Which service the token is for.
        #[command(flatten)]
        services: ServiceArgs,
    },
}

impl TokenCommand {
    /// The service the command acts on: one of them.
    fn service(&self, global: &GlobalArgs) -> CliResult<Service> {
        let (Self::Create { services, .. }
        | Self::List { services }
        | Self::Revoke { services, .. }) = self;
        let selected = Services::selected(global, *services)?;
        match (selected.core, selected.registry) {
            (true, true) => Err(CliError::usage("a token belongs to one service")
                .with_help("pass either --core or --registry")),
            (true, false) => Ok(Service::Core),
            (false, _) => Ok(Service::Registry),
        }
    }
}

/// The service a `token` command acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Core,
    Registry,
}

/// The JSON result of `token revoke`.
#[derive(Debug, Serialize)]
struct Revoked {
    id: String,
    revoked: bool,
}

/// Runs a `token` subcommand.
pub fn run(command: TokenCommand, global: &GlobalArgs, ui: &Ui) -> CliResult {
    if command.service(global)? == Service::Core {
        return run_core(command, global, ui);
    }
    let client = registry_client(global, None, Access::Token, ui)?;
    match command {
        TokenCommand::Create {
            name,
            scopes,
            expires,
            ..
        } => {
            let scopes = scopes
                .iter()
                .map(|s| parse_scope(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(CliError::usage)?;
            let created: CreatedToken = client.create_my_token(&NewTokenRequest {
                name: Some(name),
                scopes: (!scopes.is_empty()).then_some(scopes),
                expires_in_seconds: expires,
            })?;
            ui.warn(
                "this is the only time the token is shown: store it now (e.g. as PLEXICA_REGISTRY_TOKEN in your CI secrets)",
            );
            ui.status(
                "Created",
                format!(
                    "token {} ({}), scopes: {}, expires {}",
                    created.info.id,
                    created.info.name,
                    scope_list(&created.info.scopes),
                    created.info.expires_at
                ),
            );
            ui.result(&created, || created.token.clone());
        }
        TokenCommand::List { .. } => {
            let tokens: Vec<TokenInfo> = client.tokens()?;
            ui.result(&tokens, || {
                if tokens.is_empty() {
                    return "no tokens".to_owned();
                }
                let mut out = format!(
                    "{:<24} {:<20} {:<22} {}\n",
                    "ID", "NAME", "SCOPES", "EXPIRES"
                );
                for t in &tokens {
                    out.push_str(&format!(
                        "{:<24} {:<20} {:<22} {}\n",
                        t.id,
                        t.name,
                        scope_list(&t.scopes),
                        t.expires_at
                    ));
                }
                out
            });
        }
        TokenCommand::Revoke { id, .. } => {
            client.revoke_token(&id)?;
            forget_if_stored(&client, &id, global, ui)?;
            let result = Revoked { id, revoked: true };
            ui.result(&result, || format!("revoked token {}", result.id));
        }
    }
    Ok(())
}

/// `token` against the core API.
fn run_core(command: TokenCommand, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let client = core_client(global, ui)?;
    match command {
        TokenCommand::Create {
            name,
            scopes,
            expires,
            ..
        } => {
            if let Some(scope) = scopes.iter().find(|s| parse_scope(s).is_ok()) {
                return Err(CliError::usage(format!(
                    "`{scope}` is a registry scope, and this token is for the core API at {}",
                    client.base()
                ))
                .with_help("pass --registry for a registry token; core API scopes are permissions (`resource:action`)"));
            }
            let created = client.create_token(&NewApiTokenRequest {
                name,
                scopes: (!scopes.is_empty()).then_some(scopes),
                expires_in_seconds: expires,
            })?;
            ui.warn(
                "this is the only time the token is shown: store it now (e.g. as PLEXICA_TOKEN in your CI secrets)",
            );
            ui.status(
                "Created",
                format!(
                    "token {} ({}), scopes: {}, expires {}",
                    created.info.id,
                    created.info.name,
                    created.info.scopes.join(","),
                    created.info.expires_at
                ),
            );
            ui.result(&created, || created.token.clone());
        }
        TokenCommand::List { .. } => {
            let tokens = client.tokens()?;
            ui.result(&tokens, || {
                if tokens.is_empty() {
                    return "no tokens".to_owned();
                }
                table(
                    ["ID", "NAME", "SCOPES", "EXPIRES"],
                    tokens.iter().map(|t| {
                        [
                            t.id.clone(),
                            t.name.clone(),
                            t.scopes.join(","),
                            t.expires_at.clone(),
                        ]
                    }),
                )
            });
        }
        TokenCommand::Revoke { id, .. } => {
            client.revoke_token(&id)?;
            let result = Revoked { id, revoked: true };
            ui.result(&result, || format!("revoked token {}", result.id));
        }
    }
    Ok(())
}

/// After revoking the token this machine logged in with, forgets it too.
fn forget_if_stored(client: &RegistryClient, id: &str, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let dir = ConfigDir::locate()?;
    let profile = Config::load(&dir)?.selected_name(&global.selection());
    let mut credentials = Credentials::load(&dir)?;
    let registry = client.registry();
    if credentials
        .registry(&profile, registry)
        .is_some_and(|login| login.token_id.as_deref() == Some(id))
    {
        credentials.remove_registry(&profile, registry);
        credentials.save(&dir)?;
        ui.warn(format!(
            "that was the token this machine logged in with; run `plexica login` to get a new one for {registry}"
        ));
    }
    Ok(())
}

fn scope_list(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_scope(text: &str) -> Result<Scope, String> {
    Scope::ALL
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
            format!("unknown scope `{text}` (scopes: {})", names.join(", "))
        })
}

/// `90d` → seconds.
fn parse_lifetime(text: &str) -> Result<u64, String> {
    let invalid = || format!("`{text}` is not a lifetime like 30m, 12h, 90d or 4w");
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(invalid)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(invalid()),
    };
    match number.checked_mul(unit) {
        Some(0) | None => Err(invalid()),
        Some(seconds) => Ok(seconds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse() {
        assert_eq!(parse_lifetime("90d"), Ok(90 * 86_400));
        assert_eq!(parse_lifetime("30m"), Ok(1800));
        assert!(parse_lifetime("90").is_err());
        assert!(parse_lifetime("d").is_err());
        assert!(parse_lifetime("0h").is_err());
        assert!(parse_lifetime("5y").is_err());
    }

    #[test]
    fn scopes_parse() {
        assert_eq!(parse_scope("publish"), Ok(Scope::Publish));
        assert!(parse_scope("root").is_err());
    }
}
