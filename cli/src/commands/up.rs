//! `plexica up [--data-dir DIR] [--port-api N] [--port-registry N] [--postgres URL] [--nats URL]`: runs the
//! core API and the registry in this process on the embedded default (SQLite and local files
//! under `./.plexica`), or on PostgreSQL, until Ctrl-C. It writes the `local` profile and logs
//! it in, so that the next `plexica` commands just work. The two services' `admin` accounts get
//! distinct passwords, generated on the first run, printed once, and kept (0600) in the data
//! directory for later runs: a password guessed or leaked from one service opens nothing on the
//! other.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use plexica_core_api::CoreApi;
use plexica_registry::Registry;
use plexica_sdk::api::core::{LoginRequest, SUPER_ADMIN_EMAIL};
use plexica_sdk::api::registry::CreateTokenRequest;
use serde::Serialize;

use super::client_for;
use crate::cli::GlobalArgs;
use crate::client::core::{CoreClient, session_from};
use crate::config::{
    ConfigDir, create_private_dir, read_secret_file, restrict_to_owner, write_secret_file,
};
use crate::credentials::{Credentials, StoredLogin, Token};
use crate::error::{CliError, CliResult, ExitKind};
use crate::output::Ui;
use crate::profile::{Config, ServiceUrl};

/// The profile `up` writes and selects.
pub const LOCAL_PROFILE: &str = "local";

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

fn unavailable(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::new(ExitKind::Unavailable, format!("{what}: {e}"))
}

/// The file of the data directory that keeps the core API's admin password.
const CORE_PASSWORD_FILE: &str = "admin-password";
/// The file of the data directory that keeps the registry admin's password.
const REGISTRY_PASSWORD_FILE: &str = "registry-admin-password";

/// The two services' admin passwords.
#[derive(Clone)]
pub struct AdminPasswords {
    /// The core API's super admin: `PLEXICA_BOOTSTRAP_ADMIN_PASSWORD`, else kept in
    /// `<data>/admin-password`.
    pub core: String,
    /// The registry's admin: `PLEXICA_REGISTRY_BOOTSTRAP_ADMIN_PASSWORD`, else kept in
    /// `<data>/registry-admin-password`.
    pub registry: String,
    /// Were they made by this run (then they are printed once)?
    pub first_run: bool,
}

impl std::fmt::Debug for AdminPasswords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminPasswords")
            .field("first_run", &self.first_run)
            .finish_non_exhaustive()
    }
}

impl AdminPasswords {
    /// Reads them from the environment or the data directory, or makes new ones.
    fn load(data_dir: &Path) -> CliResult<Self> {
        let core_file = data_dir.join(CORE_PASSWORD_FILE);
        let registry_file = data_dir.join(REGISTRY_PASSWORD_FILE);
        if !registry_file.exists() && core_file.exists() {
            // An earlier version gave both services the core's password: keep it working.
            write_secret_file(&registry_file, read_secret_file(&core_file)?.trim())?;
        }
        let (core, core_new) = kept_secret(&core_file, "PLEXICA_BOOTSTRAP_ADMIN_PASSWORD")?;
        let (registry, registry_new) =
            kept_secret(&registry_file, "PLEXICA_REGISTRY_BOOTSTRAP_ADMIN_PASSWORD")?;
        Ok(Self {
            core,
            registry,
            first_run: core_new || registry_new,
        })
    }
}

/// The secret in `variable`, else the one kept in `file`, else a new one kept there (`true`:
/// new, print it).
fn kept_secret(file: &Path, variable: &str) -> CliResult<(String, bool)> {
    if let Ok(secret) = std::env::var(variable) {
        return Ok((secret, false));
    }
    if file.exists() {
        return Ok((read_secret_file(file)?.trim().to_owned(), false));
    }
    let secret = plexica_core_api::secrets::new_password();
    write_secret_file(file, &secret)?;
    Ok((secret, true))
}

/// Both services running in this process, on a tokio runtime of their own (the CLI's
/// clients are blocking and run beside it).
pub struct Platform {
    /// The core API's URL.
    pub api_url: ServiceUrl,
    /// The registry's URL.
    pub registry_url: ServiceUrl,
    /// Where the data is.
    pub data_dir: PathBuf,
    /// The admins' passwords.
    pub passwords: AdminPasswords,
    runtime: tokio::runtime::Runtime,
    core: plexica_core_api::state::AppState,
    stop: tokio::sync::watch::Sender<bool>,
    servers: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Where and how [`Platform::start`] runs the services.
#[derive(Debug, Clone)]
pub struct PlatformOptions {
    /// Data directory (created when missing).
    pub data_dir: PathBuf,
    /// Core API port (0: any free port).
    pub port_api: u16,
    /// Registry port (0: any free port).
    pub port_registry: u16,
    /// PostgreSQL instead of SQLite files.
    pub postgres: Option<String>,
    /// NATS JetStream instead of the embedded event push.
    pub nats: Option<String>,
    /// The gateway's wait for a plugin's answer (`None`: the core API's default).
    pub gateway_timeout: Option<Duration>,
    /// How long an open circuit refuses calls (`None`: the core API's default).
    pub breaker_cooldown: Option<Duration>,
    /// Start plugins where the kernel cannot sandbox them.
    pub allow_unsandboxed_plugins: bool,
    /// The user plugins run as (`None`: this process's).
    pub plugin_user: Option<plexica_core_api::plugins::sandbox::PluginUser>,
    /// Development mode: unsigned installs from a plugin's working directory are accepted.
    pub dev_mode: bool,
}

impl Platform {
    /// Opens both services' data and serves them on loopback. The core API installs plugins
    /// from this registry and trusts the keys the registry lists for each plugin's owners.
    pub fn start(options: &PlatformOptions) -> CliResult<Self> {
        // Everything the platform writes (databases, keys, secrets, packages, logs) is for this
        // user alone, whatever umask the caller has.
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        create_private_dir(&options.data_dir)?;
        let data_dir = options.data_dir.canonicalize()?;
        restrict_to_owner(&data_dir)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::failed(format!("cannot start the runtime: {e}")))?;
        let (api_addr, registry_addr, passwords, core_state, stop, servers) =
            runtime.block_on(async {
                let bind = |port: u16| {
                    tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
                };
                let api_listener = bind(options.port_api).await.map_err(|e| {
                    CliError::failed(format!("cannot listen on port {}: {e}", options.port_api))
                })?;
                let registry_listener = bind(options.port_registry).await.map_err(|e| {
                    CliError::failed(format!(
                        "cannot listen on port {}: {e}",
                        options.port_registry
                    ))
                })?;
                let api_addr = api_listener.local_addr()?;
                let registry_addr = registry_listener.local_addr()?;
                // Only once both ports are ours: a start that cannot bind leaves no password behind.
                let passwords = AdminPasswords::load(&data_dir)?;
                let mut core_config = plexica_core_api::Config::embedded(data_dir.join("core"));
                let mut registry_config =
                    plexica_registry::Config::embedded(data_dir.join("registry"));
                if let Some(url) = &options.postgres {
                    core_config.database_url.clone_from(url);
                    registry_config.database_url.clone_from(url);
                }
                core_config.nats_url.clone_from(&options.nats);
                if let Some(timeout) = options.gateway_timeout {
                    core_config.gateway_timeout = timeout;
                }
                if let Some(cooldown) = options.breaker_cooldown {
                    core_config.breaker_cooldown = cooldown;
                }
                core_config.plugin_sandbox.allow_unsandboxed = options.allow_unsandboxed_plugins;
                core_config.plugin_sandbox.plugin_user = options.plugin_user;
                core_config.registry_url = Some(format!("http://{registry_addr}"));
                core_config.trust_registry_keys = true;
                core_config.dev_mode = options.dev_mode;
                std::fs::create_dir_all(data_dir.join("core"))?;
                std::fs::create_dir_all(data_dir.join("registry"))?;
                let (core, _) = CoreApi::open(core_config, Some(passwords.core.clone()))
                    .await
                    .map_err(|e| unavailable("cannot start the core API", e))?;
                let (registry, _) =
                    Registry::open(registry_config, Some(passwords.registry.clone()))
                        .await
                        .map_err(|e| unavailable("cannot start the registry", e))?;
                let core_state = core.state().clone();
                let (stop, stopped) = tokio::sync::watch::channel(false);
                let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                };
                let servers = vec![
                    tokio::spawn(core.serve(api_listener, wait(stopped.clone()))),
                    tokio::spawn(registry.serve(registry_listener, wait(stopped))),
                ];
                Ok::<_, CliError>((
                    api_addr,
                    registry_addr,
                    passwords,
                    core_state,
                    stop,
                    servers,
                ))
            })?;
        Ok(Self {
            api_url: ServiceUrl::parse(&format!("http://{api_addr}"))?,
            registry_url: ServiceUrl::parse(&format!("http://{registry_addr}"))?,
            data_dir,
            passwords,
            runtime,
            core: core_state,
            stop,
            servers,
        })
    }

    /// A client of the core API logged in as its super admin.
    pub fn admin_client(&self) -> CliResult<CoreClient> {
        let pair = CoreClient::new(self.api_url.clone(), None)?.login(&LoginRequest {
            tenant: None,
            email: SUPER_ADMIN_EMAIL.to_owned(),
            password: self.passwords.core.clone(),
        })?;
        Ok(CoreClient::new(
            self.api_url.clone(),
            Some(session_from(pair, Some(SUPER_ADMIN_EMAIL.to_owned()), None)),
        )?)
    }

    /// A new token of `plugin`'s install in `tenant`, as the platform gives a backend.
    pub fn issue_install_token(&self, tenant: &str, plugin: &str) -> CliResult<String> {
        self.runtime
            .block_on(plexica_core_api::auth::issue_install_token(
                &self.core.core,
                tenant,
                plugin,
                plexica_sdk::api::time::now_ms(),
            ))
            .map_err(|e| unavailable("cannot issue an install token", e))
    }

    /// Waits for SIGTERM or Ctrl-C.
    pub fn wait_for_signal(&self) {
        self.runtime.block_on(plexica_core_api::shutdown_signal());
    }

    /// Stops both services (and the plugins they run) and waits for them.
    pub fn stop(self) {
        let _ = self.stop.send(true);
        self.runtime.block_on(async {
            for server in self.servers {
                let _ = server.await;
            }
        });
    }
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
            "core API:  {api}  (API docs: {api}/api/docs)\nregistry:  {registry}  (API docs: {registry}/api/docs)\ndata:      {}\nprofile:   {} (selected; `plexica` commands now use it)",
            result.data_dir,
            result.profile,
            api = result.api_url,
            registry = result.registry_url,
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

/// Writes profile `name` (and selects it with `select`, warning when that moves it to other
/// URLs) and stores sessions for both services.
pub fn write_profile(
    name: &str,
    api: &ServiceUrl,
    registry: &ServiceUrl,
    passwords: &AdminPasswords,
    select: bool,
    ui: &Ui,
) -> CliResult {
    let dir = ConfigDir::locate()?;
    let mut config = Config::load(&dir)?;
    let profile = config.profiles.entry(name.to_owned()).or_default();
    let before = (profile.api_url.clone(), profile.registry_url.clone());
    // The selected profile is the one people's commands go to: moving it is worth a word.
    if let (true, Some(old_api), Some(old_registry)) = (select, &before.0, &before.1)
        && (old_api != api.as_str() || old_registry != registry.as_str())
    {
        ui.warn(format!(
            "profile `{name}` pointed at {old_api} and {old_registry}; it now points at this platform (a platform still running there needs `--api-url`, or `plexica profile set` on another profile)"
        ));
    }
    profile.api_url = Some(api.to_string());
    profile.registry_url = Some(registry.to_string());
    if select {
        config.current_profile = Some(name.to_owned());
    }
    config.save(&dir)?;
    let pair = CoreClient::new(api.clone(), None)?.login(&LoginRequest {
        tenant: None,
        email: SUPER_ADMIN_EMAIL.to_owned(),
        password: passwords.core.clone(),
    })?;
    let created = client_for(registry.clone(), None, ui)?.create_token(&CreateTokenRequest {
        username: SUPER_ADMIN_EMAIL.to_owned(),
        password: passwords.registry.clone(),
        name: Some(format!("plexica-{name}")),
        scopes: None,
        expires_in_seconds: None,
    })?;
    let mut credentials = Credentials::load(&dir)?;
    credentials.set_api(
        name,
        api,
        session_from(pair, Some(SUPER_ADMIN_EMAIL.to_owned()), None),
    );
    credentials.set_registry(
        name,
        registry,
        StoredLogin {
            token: Token::new(created.token),
            token_id: Some(created.info.id),
            username: Some(SUPER_ADMIN_EMAIL.to_owned()),
            expires_at: Some(created.info.expires_at),
        },
    );
    credentials.save(&dir)
}
