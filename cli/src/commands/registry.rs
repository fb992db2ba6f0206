//! `plexica registry user add|signup`: registry accounts. An administrator invites a publisher
//! by name; the publisher signs up with the invite (or without one, where the registry's
//! operator opened sign-up with `--open-signup`).

use clap::{Args, Subcommand};
use plexica_sdk::api::registry::{CreateInviteRequest, CreateUserRequest, CreatedInvite};
use serde::Serialize;

use super::{Access, registry_client};
use crate::error::{CliError, CliResult};
use crate::global::GlobalArgs;
use crate::output::Ui;
use crate::prompt::read_stdin;

/// The variable a sign-up reads its invite from (never a flag: it is a secret).
pub const INVITE_ENV: &str = "PLEXICA_REGISTRY_INVITE";

/// Registry subcommands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Registry accounts (administrators).
    #[command(subcommand)]
    User(UserCommand),
    /// Create your publisher account: with an invite (in PLEXICA_REGISTRY_INVITE), or without
    /// one where the registry has open sign-up.
    Signup(SignupArgs),
}

/// `registry user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Invite a publisher: prints an invite (shown once, works once) that creates the account
    /// NAME with `plexica registry signup NAME`. Needs an administrator's token.
    Add {
        /// The account name (2–39 lowercase letters, digits and `-`, starting with a letter).
        name: String,
        /// Days the invite works [default: 7; at most 30].
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=30))]
        expires_in_days: Option<u64>,
    },
}

/// `registry signup` arguments.
#[derive(Debug, Args)]
pub struct SignupArgs {
    /// The account name (as invited).
    pub name: String,
    /// Read the new password from stdin (no prompt); at least 12 characters.
    #[arg(long)]
    pub password_stdin: bool,
}

/// The JSON result of `registry user add`.
#[derive(Debug, Serialize)]
struct Invited {
    registry: String,
    username: String,
    invite: String,
    expires_at: String,
}

/// The JSON result of `registry signup`.
#[derive(Debug, Serialize)]
struct SignedUp {
    registry: String,
    username: String,
    invited: bool,
}

/// Runs a `registry` subcommand.
pub fn run(command: RegistryCommand, global: &GlobalArgs, ui: &Ui) -> CliResult {
    match command {
        RegistryCommand::User(UserCommand::Add {
            name,
            expires_in_days,
        }) => {
            let client = registry_client(global, None, Access::Token, ui)?;
            let created: CreatedInvite = client.create_invite(&CreateInviteRequest {
                username: name,
                expires_in_seconds: expires_in_days.map(|days| days * 24 * 3600),
            })?;
            let registry = client.registry().to_string();
            ui.warn(
                "this is the only time the invite is shown: send it to the publisher privately",
            );
            ui.status(
                "Invited",
                format!(
                    "`{}` to {registry}, until {}",
                    created.username, created.expires_at
                ),
            );
            let result = Invited {
                registry,
                username: created.username,
                invite: created.invite,
                expires_at: created.expires_at,
            };
            ui.result(&result, || {
                format!(
                    "{}\n\nThe publisher runs:\n  {INVITE_ENV}=<the invite> plexica registry signup {} --registry-url {}",
                    result.invite, result.username, result.registry
                )
            });
        }
        RegistryCommand::Signup(args) => {
            let invite = std::env::var(INVITE_ENV)
                .ok()
                .map(|i| i.trim().to_owned())
                .filter(|i| !i.is_empty());
            let password = if args.password_stdin {
                read_stdin("password")?
            } else if ui.can_prompt() {
                prompt_new_password()?
            } else {
                return Err(CliError::usage("missing the password").with_help(
                    "pass it on stdin with --password-stdin, e.g. `printf '%s' \"$PASSWORD\" | plexica registry signup NAME --password-stdin`",
                ));
            };
            let client = registry_client(global, None, Access::Public, ui)?;
            let invited = invite.is_some();
            let user = client.sign_up(&CreateUserRequest {
                username: args.name,
                password,
                admin: false,
                invite,
            })?;
            let registry = client.registry().to_string();
            ui.status(
                "Created",
                format!("account `{}` on {registry}", user.username),
            );
            let result = SignedUp {
                registry,
                username: user.username,
                invited,
            };
            ui.result(&result, || {
                format!(
                    "account `{}` created; log in with `plexica login --registry-url {} --username {}`",
                    result.username, result.registry, result.username
                )
            });
        }
    }
    Ok(())
}

fn prompt_new_password() -> CliResult<String> {
    dialoguer::Password::with_theme(&dialoguer::theme::SimpleTheme)
        .with_prompt("New password (at least 12 characters)")
        .with_confirmation("Repeat it", "the passwords differ")
        .interact()
        .map_err(|e| {
            CliError::usage(format!("no password: {e}"))
                .with_help("pass it on stdin with --password-stdin")
        })
}
