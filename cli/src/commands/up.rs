//! `plexica up [--data-dir DIR] [--port-api N] [--port-registry N] [--postgres URL] [--nats URL]`: runs the
//! core API and the registry in this process on the embedded default (SQLite and local files
//! under `./.plexica`), or on PostgreSQL, until Ctrl-C. It writes the `local` profile and logs
//! it in, so that the next `plexica` commands just work. The two services' `admin` accounts get
//! distinct passwords, generated on the first run, printed once, and kept (0600) in the data
//! directory for later runs: a password guessed or leaked from one service opens nothing on the
//! other.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::output::Ui;
use plexica_sdk::api::core::SUPER_ADMIN_EMAIL;

use crate::platform::{
    CORE_PASSWORD_FILE, LOCAL_PROFILE, Platform, PlatformOptions, REGISTRY_PASSWORD_FILE,
    write_profile,
};

/// Arguments of `up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Where the platform keeps its data.
    #[arg(long, default_value = ".plexica")]
    data_dir: PathBuf,
    /// Port of the core API (0: any free port).
    #[arg(long, default_value_t = 7800)]
    port_api: u16,
    /// Port of the registry (0: any free port).
    #[arg(long, default_value_t = 7700)]
    port_registry: u16,
    /// PostgreSQL URL: both services keep their data there (schema per tenant) instead of
    /// SQLite files.
    #[arg(long, env = "PLEXICA_POSTGRES_URL")]
    postgres: Option<String>,
    /// NATS JetStream URL: events travel through it instead of the embedded outbox push.
    #[arg(long, env = "PLEXICA_NATS_URL")]
    nats: Option<String>,
    /// Longest wait of the gateway for a plugin's answer, seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    gateway_timeout_seconds: u64,
    /// Seconds the gateway refuses calls to a plugin at once (503 CIRCUIT_OPEN) after five
    /// failures in a row, before it tries again.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    breaker_cooldown_seconds: u64,
    /// Start plugin backends even where the kernel cannot sandbox them (Landlock ABI 6 or
    /// later is needed); every such start is logged.
    #[arg(long)]
    allow_unsandboxed_plugins: bool,
    /// Run plugin backends as this unprivileged user (a name of /etc/passwd, UID or UID:GID);
    /// needs `plexica up` to run as root.
    #[arg(long, value_name = "USER")]
    plugin_user: Option<plexica_core_api::plugins::sandbox::PluginUser>,
    /// Development mode: tenant administrators may install plugins from unsigned packages
    /// (`PUT …/plugins/{id}/dev`, what `plexica plugin dev` uses). Only for a platform that
    /// serves you alone.
    #[arg(long)]
    dev: bool,
    /// Print the services' log (requests, plugin starts and exits, events) on stderr as
    /// `text` or `json` lines [default: none; `-v` means text]. Colours only on a terminal.
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
}

/// How `up` prints the services' log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line per event, for people.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The JSON result of `up`, printed once the platform is ready.
#[derive(Debug, Serialize)]
struct Running {
    api_url: String,
    registry_url: String,
    data_dir: String,
    profile: &'static str,
    username: &'static str,
    /// The core API's super admin password; only on the first run.
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
    /// The registry admin's password; only on the first run.
    #[serde(skip_serializing_if = "Option::is_none")]
    registry_password: Option<String>,
    /// Where the core API's admin password is kept (mode 0600), on every run.
    password_file: String,
    /// Where the registry admin's password is kept (mode 0600), on every run.
    registry_password_file: String,
}

/// Runs the platform until Ctrl-C.
pub fn run(args: UpArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let log_format = args
        .log_format
        .or(global.verbose.then_some(LogFormat::Text));
    if let Some(format) = log_format {
        let logs = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"));
        let _ = match format {
            LogFormat::Text => logs.with_ansi(ui.color()).try_init(),
            LogFormat::Json => logs.json().with_ansi(false).try_init(),
        };
    }
    let spinner = ui.spinner("Starting the platform");
    let platform = Platform::start(&PlatformOptions {
        data_dir: args.data_dir,
        port_api: args.port_api,
        port_registry: args.port_registry,
        postgres: args.postgres,
        nats: args.nats,
        gateway_timeout: Some(Duration::from_secs(args.gateway_timeout_seconds)),
        breaker_cooldown: Some(Duration::from_secs(args.breaker_cooldown_seconds)),
        allow_unsandboxed_plugins: args.allow_unsandboxed_plugins,
        plugin_user: args.plugin_user,
        dev_mode: args.dev,
    })?;
    spinner.finish_and_clear();
    write_profile(
        LOCAL_PROFILE,
        &platform.api_url,
        &platform.registry_url,
        &platform.passwords,
        true,
        ui,
    )?;
    let result = Running {
        api_url: platform.api_url.to_string(),
        registry_url: platform.registry_url.to_string(),
        data_dir: platform.data_dir.display().to_string(),
        profile: LOCAL_PROFILE,
        username: SUPER_ADMIN_EMAIL,
        password: platform
            .passwords
            .first_run
            .then(|| platform.passwords.core.clone()),
        registry_password: platform
            .passwords
            .first_run
            .then(|| platform.passwords.registry.clone()),
        password_file: platform
            .data_dir
            .join(CORE_PASSWORD_FILE)
            .display()
            .to_string(),
        registry_password_file: platform
            .data_dir
            .join(REGISTRY_PASSWORD_FILE)
            .display()
            .to_string(),
    };
    ui.result(&result, || {
        let mut out = format!(
            "console:   {api}  (sign in with a tenant's admin, or as {user})\ncore API:  {api}  (API docs: {api}/api/docs)\nregistry:  {registry}  (API docs: {registry}/api/docs)\ndata:      {}\nprofile:   {} (selected; `plexica` commands now use it)",
            result.data_dir,
            result.profile,
            api = result.api_url,
            registry = result.registry_url,
            user = result.username,
        );
        match (&result.password, &result.registry_password) {
            (Some(core), Some(registry)) => out.push_str(&format!(
                "\nadmin:     {user} / {core} (core API)\n           {user} / {registry} (registry)\n           (shown once; kept in {} and {})",
                result.password_file,
                result.registry_password_file,
                user = result.username,
            )),
            _ => out.push_str(&format!(
                "\nadmin:     {user}; passwords in {} (core API) and {} (registry)",
                result.password_file,
                result.registry_password_file,
                user = result.username,
            )),
        }
        out.push_str("\n\nPress Ctrl-C to stop.");
        out
    });
    platform.wait_for_signal();
    ui.status("Stopping", "the platform");
    platform.stop();
    ui.status("Stopped", "the platform");
    Ok(())
}
