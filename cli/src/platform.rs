//! The whole platform in this process: the core API and the registry on a tokio runtime of
//! their own, their admins' passwords kept in the data directory, and the profile that points
//! the CLI at them. What `plexica up`, `quickstart`, `plugin dev` and `plugin test` run; only
//! in a build with the `platform` feature (the default), so that a slim build links neither
//! server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plexica_core_api::CoreApi;
use plexica_registry::Registry;
use plexica_sdk::api::core::{LoginRequest, SUPER_ADMIN_EMAIL};
use plexica_sdk::api::registry::CreateTokenRequest;

use crate::client::core::{CoreClient, session_from};
use crate::config::{
    ConfigDir, create_private_dir, read_secret_file, restrict_to_owner, write_secret_file,
};
use crate::credentials::{Credentials, StoredLogin, Token};
use crate::error::{CliError, CliResult, ExitKind};
use crate::ops::clients::client_for;
use crate::output::Ui;
use crate::profile::{Config, ServiceUrl};

/// The profile `up` writes and selects.
pub const LOCAL_PROFILE: &str = "local";

fn unavailable(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::new(ExitKind::Unavailable, format!("{what}: {e}"))
}

/// The file of the data directory that keeps the core API's admin password.
pub const CORE_PASSWORD_FILE: &str = "admin-password";
/// The file of the data directory that keeps the registry admin's password.
pub const REGISTRY_PASSWORD_FILE: &str = "registry-admin-password";

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

impl PlatformOptions {
    /// The embedded platform in `data_dir`: SQLite files, the embedded event push, any free
    /// ports, the core API's defaults, plugins sandboxed, no development mode.
    pub fn embedded(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            port_api: 0,
            port_registry: 0,
            postgres: None,
            nats: None,
            gateway_timeout: None,
            breaker_cooldown: None,
            allow_unsandboxed_plugins: false,
            plugin_user: None,
            dev_mode: false,
        }
    }
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
