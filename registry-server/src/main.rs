//! `plexica-registry`: the Plexica plugin registry server.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use plexica_registry::state::LimitsConfig;
use plexica_registry::{BlobConfig, Config, Registry, S3Config, shutdown_signal};
use plexica_server::ratelimit::{RateLimit, Switchable};

/// The Plexica plugin registry: stores, verifies and serves signed plugin packages.
///
/// Embedded default: `plexica-registry --data-dir DIR` keeps SQLite and package blobs under DIR.
/// Distributed: `--database-url postgres://…` and `--s3-bucket …` (credentials from
/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`). On an empty database the `admin` user is
/// created with `PLEXICA_BOOTSTRAP_ADMIN_PASSWORD`, or a generated password printed once.
#[derive(Debug, Parser)]
#[command(name = "plexica-registry", version, about, long_about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "PLEXICA_LISTEN", default_value = "127.0.0.1:7700")]
    listen: SocketAddr,
    /// Directory for the SQLite database and local blobs.
    #[arg(
        long,
        env = "PLEXICA_DATA_DIR",
        default_value = "plexica-registry-data"
    )]
    data_dir: PathBuf,
    /// PostgreSQL URL (instead of SQLite in the data directory).
    #[arg(long, env = "PLEXICA_DATABASE_URL")]
    database_url: Option<String>,
    /// S3 bucket for package blobs (instead of the data directory).
    #[arg(long, env = "PLEXICA_S3_BUCKET")]
    s3_bucket: Option<String>,
    /// S3-compatible endpoint URL.
    #[arg(long, env = "PLEXICA_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// S3 region.
    #[arg(long, env = "PLEXICA_S3_REGION", default_value = "us-east-1")]
    s3_region: String,
    /// Largest accepted package, in MiB.
    #[arg(long, default_value_t = 50)]
    max_package_mib: u64,
    /// Accept unsigned packages.
    #[arg(long)]
    allow_unsigned: bool,
    /// Base URL clients reach the registry at, for links in answers (e.g. behind a TLS proxy).
    #[arg(long, env = "PLEXICA_PUBLIC_URL")]
    public_url: Option<String>,
    /// New versions a publisher may publish at once (rate limit burst).
    #[arg(long, default_value_t = 30)]
    publish_burst: i64,
    /// After the burst, one new version per this many seconds per publisher.
    #[arg(long, default_value_t = 60)]
    publish_interval_seconds: i64,
    /// Seconds after which an upload that never committed is presumed crashed and its blob
    /// removed at start-up.
    #[arg(long, default_value_t = 300)]
    upload_grace_seconds: i64,
    /// How often search reloads every plugin from the database, in seconds: how soon a
    /// replica's search shows the other replicas' changes (its own show at once).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    search_refresh_seconds: u64,
    /// Days an expired or revoked token (web sessions included) or an expired or used invite
    /// is kept before it is pruned (pruning runs at start and every 10 minutes).
    #[arg(long, default_value_t = 30)]
    credential_retention_days: i64,
    /// Let anyone create a publisher account (`POST /api/v1/users` without a token; `plexica
    /// registry signup`). Without it, accounts come from administrators' invites.
    #[arg(long, env = "PLEXICA_OPEN_SIGNUP")]
    open_signup: bool,
    /// Password attempts (token requests, sign-ups) naming one account, per replica:
    /// `RATE/UNIT[:BURST]` (units s, min, h; the burst is one unit's worth unless given). Over
    /// it: 429 with `Retry-After`, before any password is hashed.
    #[arg(long, default_value = "10/min", value_name = "RATE")]
    password_account_rate_limit: RateLimit,
    /// Password attempts from one address, per replica (`RATE/UNIT[:BURST]`).
    #[arg(long, default_value = "30/min", value_name = "RATE")]
    password_address_rate_limit: RateLimit,
    /// Requests without a token, and requests whose token is refused, from one address, per
    /// replica (search, downloads, index, pages): `RATE/UNIT[:BURST]` or `off`.
    #[arg(long, default_value = "100/s:1000", value_name = "RATE")]
    address_rate_limit: Switchable,
    /// Downloads of one version from one address within this many seconds count once.
    #[arg(long, default_value_t = 3600)]
    download_window_seconds: u64,
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
    let args = Args::parse();
    // Databases, blobs and keys are for this user alone, whatever umask the caller has.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    std::fs::set_permissions(&args.data_dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict {}", args.data_dir.display()))?;
    let mut config = Config::embedded(&args.data_dir);
    if let Some(url) = args.database_url {
        config.database_url = url;
    }
    if let Some(bucket) = args.s3_bucket {
        config.blobs = BlobConfig::S3(S3Config {
            bucket,
            endpoint: args.s3_endpoint,
            region: args.s3_region,
            access_key_id: std::env::var("AWS_ACCESS_KEY_ID").ok(),
            secret_access_key: std::env::var("AWS_SECRET_ACCESS_KEY").ok(),
        });
    }
    config.max_package_bytes = args.max_package_mib * 1024 * 1024;
    config.require_signatures = !args.allow_unsigned;
    config.upload_grace_ms = args.upload_grace_seconds.max(0) * 1000;
    config.search_refresh_ms = args.search_refresh_seconds * 1000;
    config.credential_retention_ms = args.credential_retention_days.max(0) * 24 * 3600 * 1000;
    config.publish_burst = args.publish_burst.max(1);
    config.public_url = args.public_url;
    config.publish_interval_ms = args.publish_interval_seconds.max(0) * 1000;
    config.open_signup = args.open_signup;
    config.limits = LimitsConfig {
        password_per_account: args.password_account_rate_limit,
        password_per_address: args.password_address_rate_limit,
        per_address: args.address_rate_limit.0,
        download_window: Duration::from_secs(args.download_window_seconds.max(1)),
    };
    let bootstrap = std::env::var("PLEXICA_BOOTSTRAP_ADMIN_PASSWORD").ok();
    let (registry, generated) = Registry::open(config, bootstrap)
        .await
        .context("cannot open the registry's stores")?;
    if let Some(password) = generated {
        eprintln!(
            "created user `admin` with password: {password}\n(shown once; set PLEXICA_BOOTSTRAP_ADMIN_PASSWORD to choose it)"
        );
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!(
        "plexica-registry listening on http://{}",
        listener.local_addr()?
    );
    registry.serve(listener, shutdown_signal()).await?;
    Ok(())
}
