//! `plexica login [--registry-url URL] [--username U] [--password-stdin | --token-stdin]`: gets
//! a registry token (or checks a given one) and keeps it in `credentials.toml`; an explicit
//! `--registry-url` is remembered in the profile. The token itself is never printed.

use std::io::Read;

use clap::Args;
use plexica_sdk::api::registry::{CreateTokenRequest, TOKEN_PREFIX};
use serde::Serialize;

use super::client_for;
use crate::cli::GlobalArgs;
use crate::client::ClientError;
use crate::config::ConfigDir;
use crate::credentials::{Credentials, StoredLogin, Token};
use crate::error::{CliError, CliResult};
use crate::output::Ui;
use crate::profile::{Config, RegistryUrl};

/// Label of the tokens `login` creates.
const TOKEN_LABEL: &str = "plexica-cli";

/// Arguments of `login` (the registry URL is the global `--registry-url`).
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Account name [prompted on a terminal]
    #[arg(long)]
    pub username: Option<String>,
    /// Read the password from stdin (no prompt).
    #[arg(long, conflicts_with = "token_stdin")]
    pub password_stdin: bool,
    /// Read an existing API token (`plxr_…`) from stdin instead of a password.
    #[arg(long, conflicts_with = "username")]
    pub token_stdin: bool,
}

/// The JSON result of `login`: never the token.
#[derive(Debug, Serialize)]
struct LoggedIn {
    registry: String,
    username: String,
    token_id: String,
    expires_at: String,
}

/// How the token is obtained.
enum Method {
    /// Check the token on stdin.
    TokenStdin,
    /// Trade a username and password for a token.
    Password {
        username: Option<String>,
        password_stdin: bool,
    },
}

/// Logs in to the registry.
pub fn run(args: LoginArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let method = method(args, ui)?;
    let dir = ConfigDir::locate()?;
    let mut config = Config::load(&dir)?;
    let registry = config.registry_url(global, None)?;
    // Read before any token is created, so that a refused file does not strand one.
    let mut credentials = Credentials::load(&dir)?;
    let (token, username, info) = match method {
        Method::TokenStdin => {
            let token = read_stdin("token")?;
            if !token.starts_with(TOKEN_PREFIX) {
                return Err(CliError::usage("stdin does not hold a registry token")
                    .with_help(format!("registry tokens start with `{TOKEN_PREFIX}`")));
            }
            let token = Token::new(token);
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
            let created = client_for(registry.clone(), None, ui)?
                .create_token(&CreateTokenRequest {
                    username: username.clone(),
                    password,
                    name: Some(TOKEN_LABEL.to_owned()),
                    scopes: None,
                    expires_in_seconds: None,
                })
                .map_err(|e| rejected(e, "check the username and password"))?;
            (Token::new(created.token), username, created.info)
        }
    };
    credentials.set(
        &registry,
        StoredLogin {
            token,
            token_id: Some(info.id.clone()),
            username: Some(username.clone()),
            expires_at: Some(info.expires_at.clone()),
        },
    );
    credentials.save(&dir)?;
    if global
        .registry_url
        .as_deref()
        .is_some_and(|u| !u.is_empty())
    {
        remember_registry(&mut config, global, &registry, &dir, ui)?;
    }
    let result = LoggedIn {
        registry: registry.to_string(),
        username,
        token_id: info.id,
        expires_at: info.expires_at,
    };
    ui.result(&result, || {
        format!(
            "logged in to {} as {} (token {}, expires {})",
            result.registry, result.username, result.token_id, result.expires_at
        )
    });
    Ok(())
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

/// Makes `registry` the selected profile's registry (creating the profile, and making it the
/// current one when none is).
fn remember_registry(
    config: &mut Config,
    global: &GlobalArgs,
    registry: &RegistryUrl,
    dir: &ConfigDir,
    ui: &Ui,
) -> CliResult {
    let name = config.selected_name(global);
    let profile = config.profiles.entry(name.clone()).or_default();
    if profile.registry_url.as_deref() == Some(registry.as_str())
        && config.current_profile.is_some()
    {
        return Ok(());
    }
    profile.registry_url = Some(registry.to_string());
    config.current_profile.get_or_insert_with(|| name.clone());
    config.save(dir)?;
    ui.status("Saved", format!("profile `{name}` uses {registry}"));
    Ok(())
}

/// One secret from stdin: everything up to the end, without the final line break.
fn read_stdin(what: &str) -> CliResult<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| CliError::usage(format!("cannot read the {what} from stdin: {e}")))?;
    let secret = text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text);
    if secret.is_empty() {
        return Err(CliError::usage(format!("no {what} on stdin"))
            .with_help(format!("pipe the {what} into the command")));
    }
    Ok(secret.to_owned())
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
