//! `plexica up [--data-dir DIR] [--port-api N] [--port-registry N] [--postgres URL] [--nats URL]`: runs the
//! core API and the registry in this process on the embedded default (SQLite and local files
//! under `./.plexica`), or on PostgreSQL, until Ctrl-C. It writes the `local` profile and logs
//! it in, so that the next `plexica` commands just work; the admin password is generated on the
//! first run, printed once, and kept (0600) in the data directory for later runs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use plexica_core_api::CoreApi;
use plexica_registry::Registry;
use plexica_sdk::api::core::{LoginRequest, SUPER_ADMIN_EMAIL};
use plexica_sdk::api::registry::CreateTokenRequest;
use serde::Serialize;

use super::client_for;
use crate::cli::GlobalArgs;
use crate::client::core::{CoreClient, session_from};
use crate::config::{ConfigDir, read_secret_file, write_secret_file};
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
}

/// The JSON result of `up`, printed once the platform is ready.
#[derive(Debug, Serialize)]
struct Running {
    api_url: String,
    registry_url: String,
    data_dir: String,
    profile: &'static str,
    username: &'static str,
    /// Only on the first run.
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::new(ExitKind::Unavailable, format!("{what}: {e}"))
}

/// The admin password: `PLEXICA_BOOTSTRAP_ADMIN_PASSWORD`, else the one kept in the data
/// directory, else a new one (`true`: new, print it).
fn admin_password(data_dir: &Path) -> CliResult<(String, bool)> {
    let file = data_dir.join("admin-password");
    if let Ok(password) = std::env::var("PLEXICA_BOOTSTRAP_ADMIN_PASSWORD") {
        return Ok((password, false));
    }
    if file.exists() {
        return Ok((read_secret_file(&file)?.trim().to_owned(), false));
    }
    let password = plexica_core_api::auth::secrets::new_password();
    write_secret_file(&file, &password)?;
    Ok((password, true))
}

/// Runs the platform until Ctrl-C.
pub fn run(args: UpArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    if global.verbose {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .try_init();
    }
    std::fs::create_dir_all(&args.data_dir)
        .map_err(|e| CliError::failed(format!("cannot create {}: {e}", args.data_dir.display())))?;
    let data_dir = args.data_dir.canonicalize()?;
    let (password, first_run) = admin_password(&data_dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format!("cannot start the runtime: {e}")))?;
    let spinner = ui.spinner("Starting the platform");
    let (api_addr, registry_addr, stop, servers) = runtime.block_on(async {
        let mut core_config = plexica_core_api::Config::embedded(data_dir.join("core"));
        let mut registry_config = plexica_registry::Config::embedded(data_dir.join("registry"));
        if let Some(url) = &args.postgres {
            core_config.database_url.clone_from(url);
            registry_config.database_url.clone_from(url);
        }
        core_config.nats_url.clone_from(&args.nats);
        std::fs::create_dir_all(data_dir.join("core"))?;
        std::fs::create_dir_all(data_dir.join("registry"))?;
        let (core, _) = CoreApi::open(core_config, Some(password.clone()))
            .await
            .map_err(|e| unavailable("cannot start the core API", e))?;
        let (registry, _) = Registry::open(registry_config, Some(password.clone()))
            .await
            .map_err(|e| unavailable("cannot start the registry", e))?;
        let bind =
            |port: u16| tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)));
        let api_listener = bind(args.port_api).await.map_err(|e| {
            CliError::failed(format!("cannot listen on port {}: {e}", args.port_api))
        })?;
        let registry_listener = bind(args.port_registry).await.map_err(|e| {
            CliError::failed(format!("cannot listen on port {}: {e}", args.port_registry))
        })?;
        let api_addr = api_listener.local_addr()?;
        let registry_addr = registry_listener.local_addr()?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let servers = vec![
            tokio::spawn(core.serve(api_listener, wait(stopped.clone()))),
            tokio::spawn(registry.serve(registry_listener, wait(stopped))),
        ];
        Ok::<_, CliError>((api_addr, registry_addr, stop, servers))
    })?;
    spinner.finish_and_clear();
    let api_url = ServiceUrl::parse(&format!("http://{api_addr}"))?;
    let registry_url = ServiceUrl::parse(&format!("http://{registry_addr}"))?;
    write_local_profile(&api_url, &registry_url, &password, ui)?;
    let result = Running {
        api_url: api_url.to_string(),
        registry_url: registry_url.to_string(),
        data_dir: data_dir.display().to_string(),
        profile: LOCAL_PROFILE,
        username: SUPER_ADMIN_EMAIL,
        password: first_run.then_some(password),
    };
    ui.result(&result, || {
        let mut out = format!(
            "core API:  {}\nregistry:  {}\ndata:      {}\nprofile:   {} (selected; `plexica` commands now use it)",
            result.api_url, result.registry_url, result.data_dir, result.profile
        );
        if let Some(password) = &result.password {
            out.push_str(&format!(
                "\nadmin:     {} / {password}\n           (shown once; kept in {}/admin-password)",
                result.username, result.data_dir
            ));
        }
        out.push_str("\n\nPress Ctrl-C to stop.");
        out
    });
    runtime.block_on(plexica_core_api::shutdown_signal());
    ui.status("Stopping", "the platform");
    let _ = stop.send(true);
    runtime.block_on(async {
        for server in servers {
            let _ = server.await;
        }
    });
    ui.status("Stopped", "the platform");
    Ok(())
}

/// Writes and selects the `local` profile and stores sessions for both services.
fn write_local_profile(
    api: &ServiceUrl,
    registry: &ServiceUrl,
    password: &str,
    ui: &Ui,
) -> CliResult {
    let dir = ConfigDir::locate()?;
    let mut config = Config::load(&dir)?;
    let profile = config.profiles.entry(LOCAL_PROFILE.to_owned()).or_default();
    profile.api_url = Some(api.to_string());
    profile.registry_url = Some(registry.to_string());
    config.current_profile = Some(LOCAL_PROFILE.to_owned());
    config.save(&dir)?;
    let pair = CoreClient::new(api.clone(), None)?.login(&LoginRequest {
        tenant: None,
        email: SUPER_ADMIN_EMAIL.to_owned(),
        password: password.to_owned(),
    })?;
    let created = client_for(registry.clone(), None, ui)?.create_token(&CreateTokenRequest {
        username: SUPER_ADMIN_EMAIL.to_owned(),
        password: password.to_owned(),
        name: Some("plexica-up".to_owned()),
        scopes: None,
        expires_in_seconds: None,
    })?;
    let mut credentials = Credentials::load(&dir)?;
    credentials.set_api(
        api,
        session_from(pair, Some(SUPER_ADMIN_EMAIL.to_owned()), None),
    );
    credentials.set(
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
