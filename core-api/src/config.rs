//! Everything the core API needs to start.

use std::path::PathBuf;
use std::time::Duration;

use plexica_server::ratelimit::RateLimit;

/// Start-up configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://…` (core database file) or `postgres://…`.
    pub database_url: String,
    /// Where tenants' SQLite files live (`<data_dir>/tenants`) when the backend is SQLite.
    pub data_dir: PathBuf,
    /// `iss` of the access tokens this service signs.
    pub issuer: String,
    /// Lifetime of an access token.
    pub access_token_ttl: Duration,
    /// Lifetime of a refresh token.
    pub refresh_token_ttl: Duration,
    /// Rate limits: per tenant, credential and address, and on logins.
    pub limits: LimitsConfig,
    /// Connections per tenant pool.
    pub tenant_pool_size: u32,
    /// Connections of the core pool.
    pub core_pool_size: u32,
    /// How long tenant rows and permission sets are cached (changes made through this process
    /// apply at once; other replicas' changes within this time).
    pub cache_ttl: Duration,
    /// How often the sessions other replicas revoked are read from the database (a revoked
    /// session's access token is refused everywhere within this time).
    pub revocation_refresh: Duration,
    /// A tenant still `PROVISIONING` after this long was abandoned by a crashed process: its
    /// leftovers are removed at start-up and a retry takes it over.
    pub provisioning_timeout: Duration,
    /// Waits before the retries of a failed delivery (jittered ±20%); after the last, the
    /// event goes to the dead letter store.
    pub retry_delays: Vec<Duration>,
    /// How long a plugin may take to answer a pushed event.
    pub delivery_timeout: Duration,
    /// NATS JetStream URL of the event transport; `None`: the embedded transport.
    pub nats_url: Option<String>,
    /// The plugin registry installs come from (`None`: installs are refused).
    pub registry_url: Option<String>,
    /// Public keys (minisign one-line form) whose signatures installs accept.
    pub trusted_keys: Vec<String>,
    /// Also accept the keys the registry lists for a plugin's owners.
    pub trust_registry_keys: bool,
    /// Development mode: tenant administrators may install a plugin from an unsigned package
    /// they upload (`PUT …/plugins/{id}/dev`), as `plexica plugin dev` does. Never on a
    /// platform that serves anyone else.
    pub dev_mode: bool,
    /// How long a plugin backend may take to answer its health check at start.
    pub plugin_start_timeout: Duration,
    /// How often running plugins are probed (their heartbeat); a plugin that missed three is
    /// `UNAVAILABLE` to the gateway and in service discovery.
    pub heartbeat_interval: Duration,
    /// Longest wait of the gateway for a plugin's answer.
    pub gateway_timeout: Duration,
    /// How long a gateway target that failed repeatedly is refused at once.
    pub breaker_cooldown: Duration,
    /// Where the key that seals the signing keys at rest comes from (never the data
    /// directory): by default the file `<data_dir>.kek`, created on first start.
    pub key_encryption: crate::auth::sealing::KeySource,
    /// Where plugin backends get their state and working directories (outside `data_dir`).
    pub plugin_state_dir: PathBuf,
    /// How plugin backends are confined (Landlock, limits) and whether they may run where the
    /// kernel cannot confine them.
    pub plugin_sandbox: crate::plugins::sandbox::SandboxConfig,
    /// Fault injection for tests: provisioning fails right after this step.
    pub fail_provisioning_after: Option<ProvisionStep>,
    /// What is pruned after how long ([`crate::retention`]).
    pub retention: Retention,
}

impl Config {
    /// The embedded default: SQLite under `data_dir` (`core.db` and `tenants/*.db`).
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            database_url: format!("sqlite://{}?mode=rwc", data_dir.join("core.db").display()),
            plugin_state_dir: data_dir.with_extension("plugin-state"),
            key_encryption: crate::auth::sealing::KeySource::File(data_dir.with_extension("kek")),
            data_dir,
            issuer: "plexica-core-api".to_owned(),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            limits: LimitsConfig::default(),
            tenant_pool_size: 4,
            core_pool_size: 8,
            cache_ttl: Duration::from_secs(2),
            revocation_refresh: Duration::from_secs(2),
            provisioning_timeout: Duration::from_secs(60),
            retry_delays: vec![
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(4),
            ],
            delivery_timeout: Duration::from_secs(10),
            nats_url: None,
            registry_url: None,
            trusted_keys: Vec::new(),
            trust_registry_keys: false,
            dev_mode: false,
            plugin_start_timeout: Duration::from_secs(15),
            heartbeat_interval: Duration::from_secs(10),
            gateway_timeout: Duration::from_secs(30),
            breaker_cooldown: Duration::from_secs(10),
            plugin_sandbox: crate::plugins::sandbox::SandboxConfig::default(),
            fail_provisioning_after: None,
            retention: Retention::default(),
        }
    }
}

/// The limits, each `None` when turned off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Requests of one tenant's callers, per route family.
    pub per_tenant: Option<RateLimit>,
    /// Requests with one credential, per route family.
    pub per_credential: Option<RateLimit>,
    /// Anonymous or refused requests from one address.
    pub per_address: Option<RateLimit>,
    /// Login attempts naming one account.
    pub login_per_account: RateLimit,
    /// Login attempts from one address.
    pub login_per_address: RateLimit,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            per_tenant: Some(RateLimit::per_second(5_000)),
            per_credential: Some(RateLimit::per_second(2_000)),
            per_address: Some(RateLimit::new(100, Duration::from_secs(1), 1_000)),
            login_per_account: RateLimit::per_minute(5, 5),
            login_per_address: RateLimit::per_minute(30, 30),
        }
    }
}

/// How long things are kept, and how often pruning runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Relayed outbox events (default 7 days).
    pub events: Duration,
    /// Settled dead letters (default 30 days).
    pub dead_letters: Duration,
    /// Credentials that can no longer be used (default 30 days).
    pub credentials: Duration,
    /// Between two prunings (default 10 minutes).
    pub interval: Duration,
    /// Rows one statement deletes at most.
    pub batch: i64,
}

impl Default for Retention {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        Self {
            events: Duration::from_secs(7 * DAY),
            dead_letters: Duration::from_secs(30 * DAY),
            credentials: Duration::from_secs(30 * DAY),
            interval: Duration::from_secs(600),
            batch: 1000,
        }
    }
}

/// The steps of provisioning, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionStep {
    /// The tenant row, `PROVISIONING`.
    Record,
    /// The data space (schema or file).
    DataSpace,
    /// The tenant migrations.
    Migrations,
    /// Default roles, the first admin, the default workspace.
    Seed,
    /// The row becomes `ACTIVE`.
    Activate,
}

impl ProvisionStep {
    /// Every step, in order.
    pub const ALL: [ProvisionStep; 5] = [
        Self::Record,
        Self::DataSpace,
        Self::Migrations,
        Self::Seed,
        Self::Activate,
    ];
}
