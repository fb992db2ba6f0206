//! `plexica login [--api-url URL] [--registry-url URL] [--tenant T] [--username U]
//! [--password-stdin | --token-stdin]`: logs in to the core API (a session whose access token
//! is renewed automatically, or a `plx_` API token) and/or the registry (a `plxr_` token), and
//! keeps the secrets in `credentials.toml`; explicit URLs are remembered in the profile. No
//! secret is ever printed.

use clap::Args;
use plexica_sdk::api::core::{API_TOKEN_PREFIX, LoginRequest, SUPER_ADMIN_EMAIL};
use plexica_sdk::api::registry::{CreateTokenRequest, TOKEN_PREFIX};
use serde::Serialize;

use super::{ServiceArgs, Services};
use crate::client::ClientError;
use crate::client::core::{CoreClient, session_from};
use crate::config::ConfigDir;
use crate::credentials::{ApiSession, Credentials, StoredLogin, Token};
use crate::error::{CliError, CliResult};
use crate::global::GlobalArgs;
use crate::ops::clients::client_for;
use crate::output::Ui;
use crate::profile::{Config, ServiceUrl};
use crate::prompt::read_stdin;

/// Label of the tokens `login` creates.
const TOKEN_LABEL: &str = "plexica-cli";

/// Arguments of `login` (the URLs are the global `--api-url` and `--registry-url`).
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Account: the email of a tenant user, `admin` for the platform's super admin, or the
    /// registry username [prompted on a terminal]
    #[arg(long)]
    pub username: Option<String>,
    /// The tenant of the user (core API); absent for the super admin.
    #[arg(long, env = "PLEXICA_TENANT")]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
    pub tenant: Option<String>,
    /// Read the password from stdin (no prompt).
    #[arg(long, conflicts_with = "token_stdin")]
    pub password_stdin: bool,
    /// Read an existing API token (`plx_…` core, `plxr_…` registry) from stdin instead.
    #[arg(long, conflicts_with = "username")]
    pub token_stdin: bool,
    /// Which services to log in to.
    #[command(flatten)]
    pub services: ServiceArgs,
}

/// The JSON result of a registry login: never the token.
#[derive(Debug, Serialize)]
struct LoggedIn {
    registry: String,
    username: String,
    token_id: String,
    expires_at: String,
}

/// The JSON result of a core API login: never the token.
#[derive(Debug, Serialize)]
struct CoreLoggedIn {
    api: String,
    username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant: Option<String>,
    auth: &'static str,
}

/// The JSON result when both services were logged in to.
#[derive(Debug, Serialize)]
struct BothLoggedIn {
    api: CoreLoggedIn,
    registry: LoggedIn,
}

/// How the secret is obtained.
enum Method {
    /// Check the token on stdin.
    TokenStdin,
    /// Trade a username and password for a token.
    Password {
        username: Option<String>,
        password_stdin: bool,
    },
}

/// The secret read once, used for every service.
enum Secret {
    Token(String),
    Password { username: String, password: String },
}

/// Logs in.
pub fn run(args: LoginArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let tenant = args.tenant.clone().filter(|t| !t.is_empty());
    let services = Services::selected(global, args.services)?;
    let method = method(args, ui)?;
    let secret = match method {
        Method::TokenStdin => Secret::Token(read_stdin("token")?),
        Method::Password {
            username,
            password_stdin,
        } => {
            let username = match username {
                Some(username) => username,
                None => prompt_username()?,
            };
            let password = if password_stdin {
                read_stdin("password")?
            } else {
                prompt_password()?
            };
            Secret::Password { username, password }
        }
    };
    let dir = ConfigDir::locate()?;
    let mut config = Config::load(&dir)?;
    // Read before any token is created, so that a refused file does not strand one.
    let mut credentials = Credentials::load(&dir)?;
    let profile = config.selected_name(&global.selection());
    let core = if services.core {
        let api = config.api_url(&global.selection())?;
        let done = core_login(&api, &secret, tenant.clone(), ui)?;
        credentials.set_api(&profile, &api, done.1);
        credentials.save(&dir)?;
        remember(&mut config, global, &dir, ui, |p| {
            p.api_url = Some(api.to_string());
            if tenant.is_some() {
                p.default_tenant.clone_from(&tenant);
            }
        })?;
        Some(done.0)
    } else {
        None
    };
    let registry = if services.registry {
        let url = config.registry_url(&global.selection(), None)?;
        let (result, login) = registry_login(&url, &secret, ui)?;
        credentials.set_registry(&profile, &url, login);
        credentials.save(&dir)?;
        if global
            .registry_url
            .as_deref()
            .is_some_and(|u| !u.is_empty())
        {
            remember(&mut config, global, &dir, ui, |p| {
                p.registry_url = Some(url.to_string());
            })?;
        }
        Some(result)
    } else {
        None
    };
    let core_text = |r: &CoreLoggedIn| {
        format!(
            "logged in to {} as {}{}",
            r.api,
            r.username,
            r.tenant
                .as_deref()
                .map(|t| format!(" (tenant {t})"))
                .unwrap_or_default()
        )
    };
    let registry_text = |r: &LoggedIn| {
        format!(
            "logged in to {} as {} (token {}, expires {})",
            r.registry, r.username, r.token_id, r.expires_at
        )
    };
    match (core, registry) {
        (Some(api), Some(registry)) => {
            let both = BothLoggedIn { api, registry };
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

/// Logs in to the core API at `api`.
fn core_login(
    api: &ServiceUrl,
    secret: &Secret,
    tenant: Option<String>,
    ui: &Ui,
) -> CliResult<(CoreLoggedIn, ApiSession)> {
    let client = CoreClient::new(api.clone(), None)?;
    match secret {
        Secret::Token(token) => {
            if !token.starts_with(API_TOKEN_PREFIX) {
                return Err(CliError::usage("stdin does not hold a core API token")
                    .with_help(format!("core API tokens start with `{API_TOKEN_PREFIX}`")));
            }
            let session = ApiSession {
                token: Token::new(token.clone()),
                refresh_token: None,
                expires_at_unix: None,
                username: None,
                tenant: None,
            };
            let me = CoreClient::new(api.clone(), Some(session.clone()))?
                .me()
                .map_err(|e| rejected(e, "the token is invalid, revoked or expired"))?;
            let session = ApiSession {
                username: Some(me.email.clone()),
                tenant: me.tenant.clone(),
                ..session
            };
            Ok((
                CoreLoggedIn {
                    api: api.to_string(),
                    username: me.email,
                    tenant: me.tenant,
                    auth: "api_token",
                },
                session,
            ))
        }
        Secret::Password { username, password } => {
            if tenant.is_none() && username != SUPER_ADMIN_EMAIL {
                ui.warn(format!(
                    "no --tenant given: logging in as a platform account (the super admin is `{SUPER_ADMIN_EMAIL}`)"
                ));
            }
            let pair = client
                .login(&LoginRequest {
                    tenant: tenant.clone(),
                    email: username.clone(),
                    password: password.clone(),
                })
                .map_err(|e| rejected(e, "check the username, password and --tenant"))?;
            let session = session_from(pair, Some(username.clone()), tenant.clone());
            Ok((
                CoreLoggedIn {
                    api: api.to_string(),
                    username: username.clone(),
                    tenant,
                    auth: "session",
                },
                session,
            ))
        }
    }
}

/// Logs in to the registry at `registry`.
fn registry_login(
    registry: &ServiceUrl,
    secret: &Secret,
    ui: &Ui,
) -> CliResult<(LoggedIn, StoredLogin)> {
    let (token, username, info) = match secret {
        Secret::Token(token) => {
            if !token.starts_with(TOKEN_PREFIX) {
                return Err(CliError::usage("stdin does not hold a registry token")
                    .with_help(format!("registry tokens start with `{TOKEN_PREFIX}`")));
            }
            let token = Token::new(token.clone());
            let me = client_for(registry.clone(), Some(token.clone()), ui)?
                .me()
                .map_err(|e| {
                    rejected(
                        e,
                        "the token is invalid, revoked or expired: log in with a password",
                    )
                })?;
            (token, me.username, me.token)
        }
        Secret::Password { username, password } => {
            let created = client_for(registry.clone(), None, ui)?
                .create_token(&CreateTokenRequest {
                    username: username.clone(),
                    password: password.clone(),
                    name: Some(TOKEN_LABEL.to_owned()),
                    scopes: None,
                    expires_in_seconds: None,
                })
                .map_err(|e| rejected(e, "check the username and password"))?;
            (Token::new(created.token), username.clone(), created.info)
        }
    };
    Ok((
        LoggedIn {
            registry: registry.to_string(),
            username: username.clone(),
            token_id: info.id.clone(),
            expires_at: info.expires_at.clone(),
        },
        StoredLogin {
            token,
            token_id: Some(info.id),
            username: Some(username),
            expires_at: Some(info.expires_at),
        },
    ))
}

/// Decides how to log in, failing (exit 2, naming the flag) when an answer is missing and
/// nobody can be asked.
fn method(args: LoginArgs, ui: &Ui) -> CliResult<Method> {
    if args.token_stdin {
        return Ok(Method::TokenStdin);
    }
    if args.username.is_none() && !ui.can_prompt() {
        return Err(CliError::usage("missing the username").with_help(
            "pass --username NAME with the password on stdin (--password-stdin), or a token with --token-stdin",
        ));
    }
    if !args.password_stdin && !ui.can_prompt() {
        return Err(CliError::usage("missing the password").with_help(
            "pass it on stdin with --password-stdin, e.g. `printf '%s' \"$PASSWORD\" | plexica login --username NAME --password-stdin`",
        ));
    }
    Ok(Method::Password {
        username: args.username,
        password_stdin: args.password_stdin,
    })
}

/// A failed login call, with `help` when the registry refused the credentials (401).
fn rejected(error: ClientError, help: &str) -> CliError {
    let refused = matches!(error, ClientError::Api { status: 401, .. });
    let error = CliError::from(error);
    if refused {
        error.with_help(help)
    } else {
        error
    }
}

/// Applies `change` to the selected profile (creating it, and making it the current one when
/// none is) and saves the configuration if anything changed.
fn remember(
    config: &mut Config,
    global: &GlobalArgs,
    dir: &ConfigDir,
    ui: &Ui,
    change: impl FnOnce(&mut crate::profile::Profile),
) -> CliResult {
    let name = config.selected_name(&global.selection());
    let before = config.clone();
    change(config.profiles.entry(name.clone()).or_default());
    config.current_profile.get_or_insert_with(|| name.clone());
    if *config != before {
        config.save(dir)?;
        ui.status("Saved", format!("profile `{name}`"));
    }
    Ok(())
}

fn prompt_username() -> CliResult<String> {
    let theme = dialoguer::theme::SimpleTheme;
    dialoguer::Input::<String>::with_theme(&theme)
        .with_prompt("Username")
        .interact_text()
        .map_err(|e| CliError::usage(format!("no username: {e}")).with_help("pass --username NAME"))
}

fn prompt_password() -> CliResult<String> {
    let theme = dialoguer::theme::SimpleTheme;
    dialoguer::Password::with_theme(&theme)
        .with_prompt("Password")
        .interact()
        .map_err(|e| {
            CliError::usage(format!("no password: {e}"))
                .with_help("pass it on stdin with --password-stdin")
        })
}
