//! `plexica-core-api`: the Plexica core API server.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use plexica_core_api::auth::sealing::{KEY_ENCRYPTION_KEY_ENV, KeyEncryptionKey, KeySource};
use plexica_core_api::limits::{LimitsConfig, RateLimit, Switchable};
use plexica_core_api::{Config, CoreApi, shutdown_signal};

/// The Plexica core API: tenants, auth, roles, users, workspaces.
///
/// Embedded default: `plexica-core-api --data-dir DIR` keeps `core.db` and one SQLite file per
/// tenant under DIR. Distributed: `--database-url postgres://…` (one schema per tenant). On an
/// empty database the super admin `admin` is created with `PLEXICA_BOOTSTRAP_ADMIN_PASSWORD`,
/// or a generated password printed once.
#[derive(Debug, Parser)]
#[command(name = "plexica-core-api", version, about, long_about)]
struct Args {
    /// What to do instead of serving.
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on.
    #[arg(long, env = "PLEXICA_LISTEN", default_value = "127.0.0.1:7800")]
    listen: SocketAddr,
    /// Directory for the SQLite databases.
    #[arg(
        long,
        global = true,
        env = "PLEXICA_DATA_DIR",
        default_value = "plexica-core-data"
    )]
    data_dir: PathBuf,
    /// PostgreSQL URL (instead of SQLite files in the data directory).
    #[arg(long, global = true, env = "PLEXICA_DATABASE_URL")]
    database_url: Option<String>,
    /// NATS JetStream URL for events (instead of the embedded outbox push).
    #[arg(long, env = "PLEXICA_NATS_URL")]
    nats_url: Option<String>,
    /// Waits before the retries of a failed event delivery, comma-separated (`s` or `ms`);
    /// after the last, the event goes to the dead letter store.
    #[arg(long, env = "PLEXICA_RETRY_DELAYS", default_value = "1s,2s,4s", value_parser = parse_delays)]
    retry_delays: Delays,
    /// How long a plugin may take to answer a pushed event, seconds.
    #[arg(long, default_value_t = 10)]
    delivery_timeout_seconds: u64,
    /// `iss` of the access tokens this service signs.
    #[arg(long, env = "PLEXICA_ISSUER", default_value = "plexica-core-api")]
    issuer: String,
    /// Seconds after which a tenant still provisioning is presumed abandoned by a crash.
    #[arg(long, default_value_t = 60)]
    provisioning_timeout_seconds: u64,
    /// The plugin registry installs come from, e.g. `http://127.0.0.1:7700`.
    #[arg(long, env = "PLEXICA_REGISTRY_URL")]
    registry_url: Option<String>,
    /// A public key (one-line minisign form) whose signatures installs accept; repeatable.
    #[arg(long = "trusted-key", value_name = "PUBLIC_KEY")]
    trusted_keys: Vec<String>,
    /// Also accept packages signed by a key the registry lists for the plugin's owners.
    #[arg(long)]
    trust_registry_keys: bool,
    /// Development mode: tenant administrators may install plugins from unsigned packages
    /// they upload (what `plexica plugin dev` uses). Never on a platform others use.
    #[arg(long, env = "PLEXICA_DEV_MODE")]
    dev_mode: bool,
    /// File holding the key that seals the token signing keys at rest (32 bytes, base64;
    /// created 0600 when missing). Default: `<data-dir>.kek`, beside the data directory. The
    /// key may instead be given in the environment as `PLEXICA_KEY_ENCRYPTION_KEY`.
    #[arg(long, value_name = "FILE")]
    key_encryption_key_file: Option<PathBuf>,
    /// Start plugin backends even where the kernel cannot sandbox them (Landlock ABI 6 or
    /// later is needed); every such start is logged.
    #[arg(long)]
    allow_unsandboxed_plugins: bool,
    /// Run plugin backends as this unprivileged user (a name of /etc/passwd, UID or UID:GID)
    /// instead of the core API's own; needs the core API to run as root. Their state
    /// directories are given to that user, and the state root and packages are opened to it.
    #[arg(long, value_name = "USER")]
    plugin_user: Option<plexica_core_api::plugins::sandbox::PluginUser>,
    /// Where plugin backends get their state and working directories (default: beside the
    /// data directory, `<data-dir>.plugin-state`).
    #[arg(long, value_name = "DIR")]
    plugin_state_dir: Option<PathBuf>,
    /// Seconds a plugin backend may take to answer its health check when it starts.
    #[arg(long, default_value_t = 15)]
    plugin_start_timeout_seconds: u64,
    /// Seconds between the health probes of running plugins (three missed: unavailable).
    #[arg(long, default_value_t = 10)]
    heartbeat_seconds: u64,
    /// Longest wait of the gateway for a plugin's answer, seconds.
    #[arg(long, default_value_t = 30)]
    gateway_timeout_seconds: u64,
    /// Seconds the gateway refuses calls to a plugin at once (503 `CIRCUIT_OPEN`) after five
    /// failures in a row, before it tries again.
    #[arg(long, default_value_t = 10)]
    breaker_cooldown_seconds: u64,
    /// Hours a relayed event stays in its outbox before it is pruned (an event not yet
    /// relayed is never pruned).
    #[arg(long, default_value_t = 168)]
    event_retention_hours: u64,
    /// Days a settled (resolved or discarded) dead letter is kept; pending ones stay.
    #[arg(long, default_value_t = 30)]
    dead_letter_retention_days: u64,
    /// Days an expired or revoked session or token is kept before it is pruned.
    #[arg(long, default_value_t = 30)]
    credential_retention_days: u64,
    /// Seconds between two prunings.
    #[arg(long, default_value_t = 600)]
    prune_interval_seconds: u64,
    /// Requests one tenant's callers may send to this replica, for the core API and for the
    /// plugin gateway each: `RATE/UNIT[:BURST]` (units s, min, h; the burst is one unit's
    /// worth unless given), or `off`. Over it: 429 with `Retry-After`.
    #[arg(
        long,
        env = "PLEXICA_TENANT_RATE_LIMIT",
        default_value = "5000/s",
        value_name = "RATE"
    )]
    tenant_rate_limit: Switchable,
    /// Requests one credential (session, API token, plugin install) may send to this replica,
    /// for the core API and for the gateway each; `off` or as `--tenant-rate-limit`.
    #[arg(
        long,
        env = "PLEXICA_CREDENTIAL_RATE_LIMIT",
        default_value = "2000/s",
        value_name = "RATE"
    )]
    credential_rate_limit: Switchable,
    /// Anonymous requests, and requests whose credential is refused, one address may send to
    /// this replica; `off` or as `--tenant-rate-limit`.
    #[arg(
        long,
        env = "PLEXICA_ADDRESS_RATE_LIMIT",
        default_value = "100/s:1000",
        value_name = "RATE"
    )]
    address_rate_limit: Switchable,
    /// Login attempts naming one account, per replica (`RATE/UNIT[:BURST]`).
    #[arg(
        long,
        env = "PLEXICA_LOGIN_ACCOUNT_RATE_LIMIT",
        default_value = "5/min",
        value_name = "RATE"
    )]
    login_account_rate_limit: RateLimit,
    /// Login attempts from one address, per replica (`RATE/UNIT[:BURST]`).
    #[arg(
        long,
        env = "PLEXICA_LOGIN_ADDRESS_RATE_LIMIT",
        default_value = "30/min",
        value_name = "RATE"
    )]
    login_address_rate_limit: RateLimit,
}

/// Retry delays from the command line.
#[derive(Debug, Clone)]
struct Delays(Vec<Duration>);

/// `1s,2s,4s` or `100ms,200ms` → delays (at most 20, each at most an hour).
fn parse_delays(text: &str) -> Result<Delays, String> {
    let delays = text
        .split(',')
        .map(|part| {
            let part = part.trim();
            let (number, unit) = match part.strip_suffix("ms") {
                Some(n) => (n, 1),
                None => (part.strip_suffix('s').unwrap_or(part), 1000),
            };
            number
                .parse::<u64>()
                .ok()
                .map(|n| Duration::from_millis(n.saturating_mul(unit)))
                .filter(|d| *d <= Duration::from_secs(3600))
                .ok_or_else(|| format!("`{part}` is not a delay like 500ms or 2s (at most 1 hour)"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let max = plexica_sdk::api::events::MAX_RETRIES;
    if delays.len() > usize::try_from(max).unwrap_or(usize::MAX) {
        return Err(format!("at most {max} retries"));
    }
    Ok(Delays(delays))
}

/// Maintenance commands (the server runs without one).
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Copy the data directory's databases (a consistent snapshot each, taken while the server
    /// may run) and plugin packages into a new directory. PostgreSQL: use `pg_dump`. The
    /// key-encryption key is not copied: keep it apart.
    Backup {
        /// The new (or empty) directory to write the backup into.
        #[arg(long)]
        to: PathBuf,
    },
    /// Put a backup in place as the data directory (which must not hold a core database).
    Restore {
        /// The directory a backup was written into.
        #[arg(long)]
        from: PathBuf,
    },
}

/// Runs a maintenance command on the embedded data directory.
async fn maintain(
    command: Command,
    data_dir: &std::path::Path,
    postgres: bool,
) -> anyhow::Result<()> {
    if postgres {
        anyhow::bail!(
            "the data is in PostgreSQL: back it up with `pg_dump` and restore with `pg_restore` \
             (docs/deployment.md)"
        );
    }
    match command {
        Command::Backup { to } => {
            let manifest = plexica_core_api::backup::backup(data_dir, &to).await?;
            println!(
                "backed up {} database(s) and {} package file(s) into {}",
                manifest.databases.len(),
                manifest.packages.len(),
                to.display()
            );
        }
        Command::Restore { from } => {
            let manifest = plexica_core_api::backup::restore(&from, data_dir)?;
            println!(
                "restored {} database(s) and {} package file(s) into {}; start the server with \
                 the same key-encryption key",
                manifest.databases.len(),
                manifest.packages.len(),
                data_dir.display()
            );
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLEXICA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal; plain text for a pipe, a file or a log shipper.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut args = Args::parse();
    // Databases, keys and logs are for this user alone, whatever umask the caller has.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    if let Some(command) = args.command.take() {
        return maintain(command, &args.data_dir, args.database_url.is_some()).await;
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    std::fs::set_permissions(&args.data_dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict {}", args.data_dir.display()))?;
    let mut config = Config::embedded(&args.data_dir);
    if let Some(url) = args.database_url {
        config.database_url = url;
    }
    config.issuer = args.issuer;
    config.nats_url = args.nats_url;
    config.retry_delays = args.retry_delays.0;
    config.delivery_timeout = Duration::from_secs(args.delivery_timeout_seconds.max(1));
    config.provisioning_timeout = Duration::from_secs(args.provisioning_timeout_seconds);
    config.registry_url = args.registry_url;
    config.trusted_keys = args.trusted_keys;
    config.trust_registry_keys = args.trust_registry_keys;
    config.dev_mode = args.dev_mode;
    config.plugin_sandbox.allow_unsandboxed = args.allow_unsandboxed_plugins;
    config.plugin_sandbox.plugin_user = args.plugin_user;
    if let Ok(key) = std::env::var(KEY_ENCRYPTION_KEY_ENV) {
        config.key_encryption = KeySource::Key(
            KeyEncryptionKey::from_base64(&key)
                .with_context(|| format!("{KEY_ENCRYPTION_KEY_ENV} is not usable"))?,
        );
    } else if let Some(file) = args.key_encryption_key_file {
        config.key_encryption = KeySource::File(file);
    }
    if let Some(dir) = args.plugin_state_dir {
        config.plugin_state_dir = dir;
    }
    config.plugin_start_timeout = Duration::from_secs(args.plugin_start_timeout_seconds.max(1));
    config.heartbeat_interval = Duration::from_secs(args.heartbeat_seconds.max(1));
    config.gateway_timeout = Duration::from_secs(args.gateway_timeout_seconds.max(1));
    config.breaker_cooldown = Duration::from_secs(args.breaker_cooldown_seconds.max(1));
    config.retention = plexica_core_api::retention::Retention {
        events: Duration::from_secs(args.event_retention_hours.saturating_mul(3600)),
        dead_letters: Duration::from_secs(args.dead_letter_retention_days.saturating_mul(86_400)),
        credentials: Duration::from_secs(args.credential_retention_days.saturating_mul(86_400)),
        interval: Duration::from_secs(args.prune_interval_seconds.max(1)),
        ..Default::default()
    };
    config.limits = LimitsConfig {
        per_tenant: args.tenant_rate_limit.0,
        per_credential: args.credential_rate_limit.0,
        per_address: args.address_rate_limit.0,
        login_per_account: args.login_account_rate_limit,
        login_per_address: args.login_address_rate_limit,
    };
    let bootstrap = std::env::var("PLEXICA_BOOTSTRAP_ADMIN_PASSWORD").ok();
    let (api, generated) = CoreApi::open(config, bootstrap)
        .await
        .context("cannot open the core API's databases")?;
    if let Some(password) = generated {
        eprintln!(
            "created the super admin `admin` with password: {password}\n(shown once; set PLEXICA_BOOTSTRAP_ADMIN_PASSWORD to choose it)"
        );
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!(
        "plexica-core-api listening on http://{}",
        listener.local_addr()?
    );
    api.serve(listener, shutdown_signal()).await?;
    Ok(())
}
