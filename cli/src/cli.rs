//! The command-line grammar (cli.md, "Command tree"), and the dispatch of a parsed command
//! line to its command. Every subcommand's arguments are defined next to its implementation
//! under `commands/`, the global flags in `global.rs`.

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands::ServiceArgs;
use crate::commands::{
    api, auth, completions, doctor, events, keys, login, logout, man, plugin, profile, registry,
    tenant, token, whoami, workspace,
};
#[cfg(feature = "platform")]
use crate::commands::{quickstart, up};
use crate::error::CliResult;
use crate::global::GlobalArgs;

/// Plexica: scaffold, validate, build, package, sign and publish plugins; administer
/// tenants and workspaces; run the platform locally.
#[derive(Debug, Parser)]
#[command(
    name = "plexica",
    version,
    about,
    propagate_version = true,
    after_help = "Exit codes: 0 ok, 1 failed, 2 usage, 3 auth, 4 not found, 5 conflict, 6 unavailable.\nDocumentation: README.md, or `plexica <command> --help`."
)]
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Author plugins (new, validate, build, package, sign, verify) and publish them.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Log in to the core API and/or the registry; secrets go to credentials.toml.
    Login(login::LoginArgs),
    /// Forget (and revoke) this profile's session or token.
    #[command(
        after_help = "Examples:\n  plexica logout\n  plexica logout --registry\n  plexica --profile ci logout --core --registry"
    )]
    Logout(ServiceArgs),
    /// Show who the core API (or the registry, or both) sees, and which server answered.
    #[command(
        after_help = "Examples:\n  plexica whoami\n  plexica whoami --registry\n  plexica whoami --core --registry -o json"
    )]
    Whoami(ServiceArgs),
    /// Show, change, switch and delete configuration profiles.
    #[command(subcommand)]
    Profile(profile::ProfileCommand),
    /// Every profile's logins (who, where, until when), and switching between them.
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// Registry accounts: invite publishers (administrators), sign up.
    #[command(subcommand)]
    Registry(registry::RegistryCommand),
    /// Create, list and revoke API tokens (for CI).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Administer tenants, their users, roles and plugins.
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Administer workspaces, their members, teams and plugin settings.
    #[command(subcommand)]
    Workspace(workspace::WorkspaceCommand),
    /// Call any route of the core API as the logged-in user (`gh api`-style).
    Api(api::ApiArgs),
    /// Run the whole platform locally (core API and registry) until Ctrl-C.
    #[command(after_help = "Examples:\n  \
        plexica up                          # SQLite and local files under ./.plexica\n  \
        plexica up --dev                    # development mode, for `plexica plugin dev`\n  \
        plexica up --port-api 0 --port-registry 0 -o json   # free ports, for scripts")]
    #[cfg(feature = "platform")]
    Up(up::UpArgs),
    /// Follow a tenant's events (`tail`) and manage the dead letter store (`dlq`).
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Run the whole journey on a platform of its own: scaffold a plugin, build, sign and
    /// publish it, install it in a tenant, call it; then clean up (unless `--keep`).
    #[cfg(feature = "platform")]
    Quickstart(quickstart::QuickstartArgs),
    /// Check this machine's setup: configuration, keys, profiles and their services (reachable,
    /// clock), logins, toolchains. Exit 1 when a check fails.
    #[command(
        after_help = "Examples:\n  plexica doctor\n  plexica doctor -o json | jq '.checks[] | select(.status != \"ok\")'"
    )]
    Doctor,
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  \
        plexica completions bash > ~/.local/share/bash-completion/completions/plexica\n  \
        plexica completions zsh > \"${fpath[1]}/_plexica\"")]
    Completions(completions::CompletionsArgs),
    /// Write the manual pages (one per command) to a directory.
    #[command(after_help = "Examples:\n  \
        plexica man --out ~/.local/share/man/man1 && man plexica-plugin-publish")]
    Man(man::ManArgs),
}

/// The whole grammar, with the examples of `examples.rs` in the commands' help.
pub fn command() -> clap::Command {
    crate::examples::add_examples(Cli::command())
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> CliResult {
    let ui = cli.global.ui();
    let global = &cli.global;
    if let Ok(dir) = crate::config::ConfigDir::locate() {
        for unknown in crate::profile::Config::unknown_keys(&dir) {
            ui.warn(unknown);
        }
    }
    match cli.command {
        Command::Plugin(command) => plugin::run(command, global, &ui),
        Command::Keys(command) => keys::run(command, global, &ui),
        Command::Login(args) => login::run(args, global, &ui),
        Command::Logout(services) => logout::run(services, global, &ui),
        Command::Whoami(services) => whoami::run(services, global, &ui),
        Command::Profile(command) => profile::run(command, global, &ui),
        Command::Auth(command) => auth::run(command, global, &ui),
        Command::Token(command) => token::run(command, global, &ui),
        Command::Doctor => doctor::run(global, &ui),
        Command::Api(args) => api::run(args, global, &ui),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args, command(), &ui),
        #[cfg(feature = "platform")]
        Command::Quickstart(args) => quickstart::run(args, &ui),
        Command::Tenant(command) => tenant::run(command, global, &ui),
        Command::Workspace(command) => workspace::run(command, global, &ui),
        #[cfg(feature = "platform")]
        Command::Up(args) => up::run(args, global, &ui),
        Command::Events(command) => events::run(command, global, &ui),
        Command::Registry(command) => registry::run(command, global, &ui),
    }
}
