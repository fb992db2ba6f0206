//! The command-line grammar (cli.md, "Command tree" and "Global flags"). Parsing only: every
//! subcommand's arguments are defined next to its implementation under `commands/`.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::ServiceArgs;
use crate::commands::{
    api, auth, completions, events, keys, login, man, plugin, profile, registry, tenant, token,
    workspace,
};
#[cfg(feature = "platform")]
use crate::commands::{quickstart, up};

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

/// Output format of results on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text and tables.
    Table,
    /// One JSON document per command, for scripts.
    Json,
}

/// When to use colour on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When stderr is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Flags shared by every command (listed apart in each command's help).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Configuration profile to use.
    #[arg(long, global = true, env = "PLEXICA_PROFILE")]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::profiles))]
    pub profile: Option<String>,
    /// Core API base URL.
    #[arg(long, global = true, env = "PLEXICA_API_URL")]
    pub api_url: Option<String>,
    /// Registry base URL.
    #[arg(long, global = true, env = "PLEXICA_REGISTRY_URL")]
    pub registry_url: Option<String>,
    /// Output format of results on stdout.
    #[arg(short, long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Print nothing but results and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more about what is happening (on stderr).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Never prompt; a missing answer is an error naming the flag to pass. Implied when stdin
    /// is not a terminal.
    #[arg(long, global = true)]
    pub no_input: bool,
    /// Accept defaults and confirmations without asking.
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,
    /// When to colour diagnostics.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
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
