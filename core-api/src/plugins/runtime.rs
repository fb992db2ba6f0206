//! Where plugin backends run. The lifecycle code talks only to [`PluginRuntime`]: "make this
//! plugin version serve this tenant" and "this tenant is done with it". [`ProcessRuntime`]
//! (the embedded deployment) runs one child process per plugin version for every tenant that
//! has it active; a Kubernetes runtime would implement the same trait with a Deployment.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use plexica_sdk::api::env::{
    CORE_URL_ENV, INSTALL_TOKEN_ENV, LISTEN_ENV, PACKAGE_DIR_ENV, PLATFORM_SECRET_ENV,
};
use plexica_sdk::manifest::Manifest;
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, watch};

use super::client::{PluginClient, PluginRequest, unix_address};
use super::sandbox::{Confinement, PluginUser, SandboxConfig};
use crate::db::core::CoreStore;
use crate::discovery::Endpoint;
use crate::secrets;

/// Token-tenant value of a process token: valid in every tenant where the plugin is active.
pub const ANY_TENANT: &str = "*";

/// The `tracing` target of the line a backend's start logs once it is healthy (plugin as
/// `id@version`, address, ms from launch to healthy); `plexica plugin dev` shows it.
pub const PROCESS_STARTED_TARGET: &str = "plexica::plugins";

/// A plugin version to run: its manifest and where its package was unpacked.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The installed version's manifest (it has a `[backend]`).
    pub manifest: Manifest,
    /// The unpacked package.
    pub dir: PathBuf,
}

impl RunSpec {
    fn key(&self) -> (String, String) {
        (
            self.manifest.plugin.id.clone(),
            self.manifest.plugin.version.to_string(),
        )
    }
}

/// Why a plugin could not be started.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The manifest has no `[backend]`.
    #[error("the plugin has no backend to run")]
    NoBackend,
    /// The process could not be spawned.
    #[error("could not start `{entry}`: {reason}")]
    Spawn {
        /// The entry point.
        entry: String,
        /// Why.
        reason: String,
    },
    /// It started but never answered its health check.
    #[error("the plugin did not become healthy within {seconds} s")]
    Unhealthy {
        /// The timeout.
        seconds: u64,
    },
    /// It exited while starting.
    #[error("the plugin exited while starting ({status})")]
    Exited {
        /// Exit status.
        status: String,
    },
    /// The core API's own URL is not known yet (it is not serving).
    #[error("the core API is not serving yet")]
    NotServing,
    /// Storing its token failed.
    #[error("{0}")]
    Db(#[from] crate::db::DbError),
}

/// A backend the runtime gave up on: it exited and could not be kept running.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The plugin.
    pub plugin_id: String,
    /// Its version.
    pub version: String,
    /// The last exit status or start error.
    pub reason: String,
}

/// The log of a plugin version's backend, and every tenant it served while writing it.
#[derive(Debug, Clone)]
pub struct BackendLog {
    /// The file.
    pub path: PathBuf,
    /// The tenants whose requests and events it handled.
    pub audience: HashSet<String>,
}

/// Runs plugin backends.
#[async_trait::async_trait]
pub trait PluginRuntime: Send + Sync + std::fmt::Debug {
    /// Makes sure `spec` runs and serves `tenant`; returns where it is reached.
    async fn start(&self, spec: &RunSpec, tenant: &str) -> Result<Endpoint, RuntimeError>;
    /// `tenant` no longer uses `plugin_id@version`; the last one out stops it.
    async fn stop(&self, plugin_id: &str, version: &str, tenant: &str);
    /// Stops everything (the core API is shutting down).
    async fn shutdown(&self);
    /// The next backend given up on. One caller watches (the lifecycle code, which marks the
    /// plugin `FAILED` where it was active), until the core API stops.
    async fn next_failure(&self) -> Option<Failure>;
    /// The tenants `plugin_id@version` currently serves.
    async fn tenants(&self, plugin_id: &str, version: &str) -> HashSet<String>;
    /// The log of `plugin_id@version`'s backend, if it ever ran here.
    fn log(&self, plugin_id: &str, version: &str) -> Option<BackendLog>;
}

/// One process per plugin version, restarted with backoff when it dies.
#[derive(Debug, Clone)]
pub struct ProcessRuntime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    core: CoreStore,
    core_url: RwLock<Option<String>>,
    logs: PathBuf,
    /// Where each plugin version gets its own state and working directory.
    state_root: PathBuf,
    sandbox: SandboxConfig,
    timing: Timing,
    client: PluginClient,
    running: Mutex<HashMap<(String, String), Running>>,
    failures: tokio::sync::mpsc::UnboundedSender<Failure>,
    failed: Mutex<tokio::sync::mpsc::UnboundedReceiver<Failure>>,
}

/// How long a plugin may take to become healthy, and how often it is probed once running.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Start (and restart) deadline for the health route.
    pub health_timeout: Duration,
    /// Interval of the health probes that count as the plugin's heartbeat.
    pub heartbeat: Duration,
    /// Exits (and failed restarts) in a row, none after a minute of uptime, after which the
    /// backend is given up on ([`Failure`]).
    pub max_failures: u32,
}

#[derive(Debug)]
struct Running {
    tenants: HashSet<String>,
    endpoint: Endpoint,
    token_hash: String,
    stop: watch::Sender<bool>,
    supervisor: tokio::task::JoinHandle<()>,
}

/// What is needed to (re)spawn one plugin process.
#[derive(Clone)]
struct Launch {
    program: PathBuf,
    confinement: Confinement,
    sandbox: SandboxConfig,
    env: Vec<(&'static str, String)>,
    log: PathBuf,
    /// Where it serves, and the secret its health probes are signed with.
    endpoint: Endpoint,
    /// A Unix socket it serves on, removed before each start (a dead process leaves it).
    socket: Option<PathBuf>,
    health_path: String,
    client: PluginClient,
    label: String,
    /// `(plugin id, version)`.
    key: (String, String),
}

impl ProcessRuntime {
    /// A runtime whose processes call the core API back (URL set by [`Self::set_core_url`]),
    /// log to `<logs>/<id>-<version>.log`, work in `<state_root>/<id>-<version>`, run confined
    /// per `sandbox`, and are started and probed per `timing`.
    pub fn new(
        core: CoreStore,
        logs: PathBuf,
        state_root: PathBuf,
        sandbox: SandboxConfig,
        timing: Timing,
    ) -> Self {
        let (failures, failed) = tokio::sync::mpsc::unbounded_channel();
        Self {
            inner: Arc::new(Inner {
                core,
                core_url: RwLock::new(None),
                logs,
                state_root,
                sandbox,
                timing,
                client: PluginClient::new(),
                running: Mutex::default(),
                failures,
                failed: Mutex::new(failed),
            }),
        }
    }

    fn log_path(&self, plugin_id: &str, version: &str) -> PathBuf {
        self.inner.logs.join(format!("{plugin_id}-{version}.log"))
    }

    /// Adds `tenant` to the audience of `plugin_id@version`'s log (a line per tenant in
    /// `<log>.tenants`), before the backend serves it.
    fn add_audience(&self, plugin_id: &str, version: &str, tenant: &str) -> std::io::Result<()> {
        use std::io::Write as _;
        let path = audience_path(&self.log_path(plugin_id, version));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if read_audience(&path).contains(tenant) {
            return Ok(());
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        writeln!(file, "{tenant}")
    }

    /// The URL plugins reach the core API at (known once it listens).
    pub fn set_core_url(&self, url: &str) {
        *self
            .inner
            .core_url
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(url.to_owned());
    }

    fn core_url(&self) -> Option<String> {
        self.inner
            .core_url
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    async fn launch(&self, spec: &RunSpec) -> Result<(Launch, Endpoint, String), RuntimeError> {
        let backend = spec
            .manifest
            .backend
            .as_ref()
            .ok_or(RuntimeError::NoBackend)?;
        let core_url = self.core_url().ok_or(RuntimeError::NotServing)?;
        let spawn_error = |reason: String| RuntimeError::Spawn {
            entry: backend.entry.clone(),
            reason,
        };
        let core_port = reqwest::Url::parse(&core_url)
            .ok()
            .and_then(|u| u.port_or_known_default())
            .ok_or_else(|| spawn_error(format!("the core API URL {core_url} has no port")))?;
        let secret = secrets::new_secret("plxe_");
        let (id, version) = spec.key();
        let token = crate::auth::issue_install_token(
            &self.inner.core,
            ANY_TENANT,
            &id,
            plexica_sdk::api::time::now_ms(),
        )
        .await?;
        let token_hash = secrets::hash(&token);
        let state = self.inner.state_root.join(format!("{id}-{version}"));
        let state_text = state.display().to_string();
        let socket = state.join(SOCKET_NAME);
        // A socket path longer than the kernel takes: loopback TCP on a port of its own.
        let (listen, address, socket, listen_port) = match socket.as_os_str().len()
            < SOCKET_PATH_MAX
        {
            true => (
                format!("unix:{}", socket.display()),
                unix_address(&socket),
                Some(socket),
                None,
            ),
            false => {
                let port = free_port().map_err(|e| spawn_error(format!("no free port: {e}")))?;
                let address = format!("127.0.0.1:{port}");
                (
                    address.clone(),
                    format!("http://{address}"),
                    None,
                    Some(port),
                )
            }
        };
        let endpoint = Endpoint::new(address, secret.clone());
        let launch = Launch {
            program: spec.dir.join(&backend.entry),
            confinement: Confinement {
                package: spec.dir.clone(),
                state,
                listen_port,
                connect_ports: std::iter::once(core_port)
                    .chain(backend.outbound_ports.iter().copied())
                    .collect(),
            },
            sandbox: SandboxConfig {
                limits: self.inner.sandbox.limits.lowered_by(&backend.limits),
                ..self.inner.sandbox.clone()
            },
            env: vec![
                (CORE_URL_ENV, core_url),
                (INSTALL_TOKEN_ENV, token),
                (PLATFORM_SECRET_ENV, secret),
                (LISTEN_ENV, listen),
                (PACKAGE_DIR_ENV, spec.dir.display().to_string()),
                ("HOME", state_text.clone()),
                ("TMPDIR", state_text),
            ],
            log: self.log_path(&id, &version),
            endpoint: endpoint.clone(),
            socket,
            health_path: backend.health.clone(),
            client: self.inner.client.clone(),
            label: format!("{id}@{version}"),
            key: (id, version),
        };
        Ok((launch, endpoint, token_hash))
    }
}

fn audience_path(log: &std::path::Path) -> PathBuf {
    log.with_extension("log.tenants")
}

fn read_audience(path: &std::path::Path) -> HashSet<String> {
    std::fs::read_to_string(path)
        .map(|text| text.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Creates `dir` (and parents) for the core's user alone.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// The name of the Unix socket a backend serves on, in its state directory.
const SOCKET_NAME: &str = "backend.sock";

/// The longest Unix socket path the kernel takes (`sun_path` holds 108 bytes with the NUL).
const SOCKET_PATH_MAX: usize = 108;

/// Gives `state` to the plugin's `user` (it stays 0700: its alone) and lets every user through
/// the state root above it (0711: they can enter a directory they know the name of, list
/// nothing), so that the plugin reaches its directory and its package.
fn hand_over(state: &std::path::Path, user: PluginUser) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(root) = state.parent() {
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o711))?;
    }
    std::os::unix::fs::chown(state, Some(user.uid), Some(user.gid))
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Launch {
    fn spawn(&self) -> Result<Child, RuntimeError> {
        let spawn_error = |reason: String| RuntimeError::Spawn {
            entry: self.program.display().to_string(),
            reason,
        };
        if let Some(parent) = self.log.parent() {
            std::fs::create_dir_all(parent).map_err(|e| spawn_error(e.to_string()))?;
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| spawn_error(format!("log file: {e}")))?;
        let err = log.try_clone().map_err(|e| spawn_error(e.to_string()))?;
        let state = &self.confinement.state;
        private_dir(state).map_err(|e| spawn_error(format!("state directory: {e}")))?;
        if let Some(user) = self.sandbox.plugin_user {
            hand_over(state, user).map_err(|e| spawn_error(format!("state directory: {e}")))?;
        }
        if let Some(socket) = &self.socket {
            match std::fs::remove_file(socket) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(spawn_error(format!(
                        "stale socket {}: {e}",
                        socket.display()
                    )));
                }
                _ => {}
            }
        }
        let mut command = Command::new(&self.program);
        command
            .current_dir(state)
            .env_clear()
            .envs(std::env::vars_os().filter(|(k, _)| k == "PATH"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        if self.sandbox.allow_unsandboxed {
            tracing::warn!(
                plugin = %self.label,
                "starting a plugin that may run unsandboxed (--allow-unsandboxed-plugins)"
            );
        }
        self.confinement
            .apply(&mut command, &self.sandbox)
            .map_err(|e| spawn_error(e.to_string()))?;
        command.spawn().map_err(|e| spawn_error(e.to_string()))
    }

    /// Does the health route answer 2xx to a signed probe within a second?
    async fn is_healthy(&self) -> bool {
        let probe = PluginRequest {
            method: reqwest::Method::GET,
            target: &self.health_path,
            headers: reqwest::header::HeaderMap::new(),
            body: bytes::Bytes::new(),
            timeout: Some(Duration::from_secs(1)),
        };
        let endpoint = &self.endpoint;
        self.client
            .send(&endpoint.address, endpoint.secret.as_bytes(), probe)
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// Waits until the health route answers 2xx, the child exits, or `timeout` passes.
    async fn wait_healthy(&self, child: &mut Child, timeout: Duration) -> Result<(), RuntimeError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(RuntimeError::Exited {
                    status: status.to_string(),
                });
            }
            if self.is_healthy().await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(RuntimeError::Unhealthy {
                    seconds: timeout.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Asks `child` to stop (SIGTERM), then kills it after a grace period.
async fn terminate(child: &mut Child) {
    if let Some(pid) = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}

/// Keeps `child` running until told to stop: restarts it with backoff (0.2 s doubling to
/// 10 s, back to 0.2 s after a minute of uptime) whenever it exits. After
/// [`Timing::max_failures`] exits and failed restarts in a row, it reports a [`Failure`] and
/// gives up.
async fn supervise(
    launch: Launch,
    mut child: Child,
    mut stop: watch::Receiver<bool>,
    timing: Timing,
    endpoint: Endpoint,
    failures: tokio::sync::mpsc::UnboundedSender<Failure>,
) {
    let health_timeout = timing.health_timeout;
    let mut backoff = Duration::from_millis(200);
    let mut started = Instant::now();
    let mut failed_in_a_row = 0;
    let mut heartbeat = tokio::time::interval(timing.heartbeat);
    loop {
        // Running: probe the health route each heartbeat until the process exits.
        let exited = loop {
            tokio::select! {
                _ = stop.changed() => {
                    terminate(&mut child).await;
                    return;
                }
                status = child.wait() => break status,
                _ = heartbeat.tick() => {
                    if launch.is_healthy().await {
                        endpoint.seen();
                    }
                }
            }
        };
        let mut reason = exited.map_or_else(|e| e.to_string(), |s| s.to_string());
        tracing::warn!(plugin = %launch.label, status = %reason, "plugin process exited; restarting");
        if started.elapsed() > Duration::from_secs(60) {
            backoff = Duration::from_millis(200);
            failed_in_a_row = 0;
        }
        loop {
            failed_in_a_row += 1;
            if failed_in_a_row >= timing.max_failures {
                tracing::error!(plugin = %launch.label, %reason, "plugin keeps failing; giving up");
                let (plugin_id, version) = launch.key.clone();
                let _ = failures.send(Failure {
                    plugin_id,
                    version,
                    reason,
                });
                // Parked until stopped: the lifecycle code marks it failed and stops it.
                let _ = stop.changed().await;
                return;
            }
            tokio::select! {
                _ = stop.changed() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(10));
            match launch.spawn() {
                Ok(mut next) => match launch.wait_healthy(&mut next, health_timeout).await {
                    Ok(()) => {
                        tracing::info!(plugin = %launch.label, "plugin process restarted");
                        endpoint.seen();
                        metrics::counter!(crate::metrics::PLUGIN_RESTARTS).increment(1);
                        child = next;
                        started = Instant::now();
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(plugin = %launch.label, error = %e, "restart failed");
                        terminate(&mut next).await;
                        reason = e.to_string();
                    }
                },
                Err(e) => {
                    tracing::warn!(plugin = %launch.label, error = %e, "restart failed");
                    reason = e.to_string();
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl PluginRuntime for ProcessRuntime {
    async fn start(&self, spec: &RunSpec, tenant: &str) -> Result<Endpoint, RuntimeError> {
        let (id, version) = spec.key();
        self.add_audience(&id, &version, tenant)
            .map_err(|e| RuntimeError::Spawn {
                entry: format!("{id}@{version}"),
                reason: format!("log audience: {e}"),
            })?;
        let mut running = self.inner.running.lock().await;
        if let Some(r) = running.get_mut(&spec.key()) {
            r.tenants.insert(tenant.to_owned());
            return Ok(r.endpoint.clone());
        }
        let launched = std::time::Instant::now();
        let (launch, endpoint, token_hash) = self.launch(spec).await?;
        let started = async {
            let mut child = launch.spawn()?;
            match launch
                .wait_healthy(&mut child, self.inner.timing.health_timeout)
                .await
            {
                Ok(()) => Ok(child),
                Err(e) => {
                    terminate(&mut child).await;
                    Err(e)
                }
            }
        }
        .await;
        let child = match started {
            Ok(child) => child,
            Err(e) => {
                let _ = self.inner.core.revoke_install_token(&token_hash).await;
                return Err(e);
            }
        };
        tracing::info!(
            target: PROCESS_STARTED_TARGET,
            plugin = %launch.label,
            address = %endpoint.address,
            ms = u64::try_from(launched.elapsed().as_millis()).unwrap_or(u64::MAX),
            "plugin process started"
        );
        metrics::gauge!(crate::metrics::PLUGIN_PROCESSES).increment(1.0);
        let (stop, stopped) = watch::channel(false);
        let supervisor = tokio::spawn(supervise(
            launch,
            child,
            stopped,
            self.inner.timing,
            endpoint.clone(),
            self.inner.failures.clone(),
        ));
        running.insert(
            spec.key(),
            Running {
                tenants: HashSet::from([tenant.to_owned()]),
                endpoint: endpoint.clone(),
                token_hash,
                stop,
                supervisor,
            },
        );
        Ok(endpoint)
    }

    async fn stop(&self, plugin_id: &str, version: &str, tenant: &str) {
        let key = (plugin_id.to_owned(), version.to_owned());
        let mut running = self.inner.running.lock().await;
        let Some(r) = running.get_mut(&key) else {
            return;
        };
        r.tenants.remove(tenant);
        if !r.tenants.is_empty() {
            return;
        }
        if let Some(r) = running.remove(&key) {
            stop_process(&self.inner.core, r).await;
        }
    }

    async fn shutdown(&self) {
        let all: Vec<Running> = self
            .inner
            .running
            .lock()
            .await
            .drain()
            .map(|(_, r)| r)
            .collect();
        for r in all {
            stop_process(&self.inner.core, r).await;
        }
    }

    async fn next_failure(&self) -> Option<Failure> {
        self.inner.failed.lock().await.recv().await
    }

    async fn tenants(&self, plugin_id: &str, version: &str) -> HashSet<String> {
        let key = (plugin_id.to_owned(), version.to_owned());
        self.inner
            .running
            .lock()
            .await
            .get(&key)
            .map(|r| r.tenants.clone())
            .unwrap_or_default()
    }

    fn log(&self, plugin_id: &str, version: &str) -> Option<BackendLog> {
        let path = self.log_path(plugin_id, version);
        let audience = read_audience(&audience_path(&path));
        path.is_file().then_some(BackendLog { path, audience })
    }
}

async fn stop_process(core: &CoreStore, r: Running) {
    let _ = r.stop.send(true);
    let _ = r.supervisor.await;
    metrics::gauge!(crate::metrics::PLUGIN_PROCESSES).decrement(1.0);
    if let Err(e) = core.revoke_install_token(&r.token_hash).await {
        tracing::warn!(error = %e, "could not revoke a stopped plugin's token");
    }
}
