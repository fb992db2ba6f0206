//! Configuration and the state every handler shares.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use plexica_server::ratelimit::RateLimit;

use crate::search::SearchIndex;
use crate::storage::blobs::{LocalBlobs, ObjectBlobs, S3Config};
use crate::storage::sql::SqlStore;
use crate::storage::{BlobStore, MetadataStore, StorageResult};

/// Where package bytes live.
#[derive(Debug, Clone)]
pub enum BlobConfig {
    /// A local directory (embedded default).
    Local(PathBuf),
    /// An S3-compatible bucket.
    S3(S3Config),
}

/// Everything the registry needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Blob store.
    pub blobs: BlobConfig,
    /// Largest accepted package body, bytes.
    pub max_package_bytes: u64,
    /// Refuse unsigned packages.
    pub require_signatures: bool,
    /// Let anyone create a publisher account.
    pub open_signup: bool,
    /// Publishes a user may make at once.
    pub publish_burst: i64,
    /// Then one publish per this many milliseconds.
    pub publish_interval_ms: i64,
    /// Base URL clients reach this registry at (for the links in answers); by default
    /// `http://` + the request's `Host`.
    pub public_url: Option<String>,
    /// How often the search index is reloaded from the database (to see other replicas'
    /// writes and download counts), ms.
    pub search_refresh_ms: u64,
    /// Pending uploads older than this are presumed dead (crashed) and cleaned up, ms.
    pub upload_grace_ms: i64,
    /// Tokens (web sessions included) and invites expired, revoked or used longer ago than
    /// this are pruned, ms (30 days by default; pruning runs every 10 minutes).
    pub credential_retention_ms: i64,
    /// Rate limits on passwords and anonymous requests.
    pub limits: LimitsConfig,
}

/// The registry's rate limits besides publishing's (see [`crate::limits`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Password attempts (token requests, sign-ups) naming one account.
    pub password_per_account: RateLimit,
    /// Password attempts (token requests, sign-ups) from one address.
    pub password_per_address: RateLimit,
    /// Anonymous requests, and requests whose token is refused, from one address.
    pub per_address: Option<RateLimit>,
    /// Downloads of one version from one address within this long count once.
    pub download_window: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            password_per_account: RateLimit::per_minute(10, 10),
            password_per_address: RateLimit::per_minute(30, 30),
            per_address: Some(RateLimit::new(100, Duration::from_secs(1), 1_000)),
            download_window: Duration::from_secs(3600),
        }
    }
}

impl Config {
    /// The embedded default: SQLite and blobs under `data_dir`.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            database_url: format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("registry.db").display()
            ),
            blobs: BlobConfig::Local(data_dir.join("blobs")),
            max_package_bytes: 50 * 1024 * 1024,
            require_signatures: true,
            open_signup: false,
            publish_burst: 30,
            publish_interval_ms: 60_000,
            upload_grace_ms: 5 * 60_000,
            credential_retention_ms: 30 * 24 * 3600 * 1000,
            search_refresh_ms: 10_000,
            public_url: None,
            limits: LimitsConfig::default(),
        }
    }
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// Metadata.
    pub meta: Arc<dyn MetadataStore>,
    /// Package bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// Configuration.
    pub config: Arc<Config>,
    /// Prometheus exposition.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// The in-memory search index.
    pub search: SearchIndex,
    /// Rate limits kept in this process.
    pub limits: Arc<crate::limits::Limits>,
}

impl AppState {
    /// The URL clients reach this registry at, without a trailing `/`: the configured public
    /// URL, else `http://` + the request's `Host` (when it looks like a host).
    pub fn base_url(&self, headers: &axum::http::HeaderMap) -> String {
        match &self.config.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let host = headers
                    .get(axum::http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .filter(|h| {
                        h.chars()
                            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
                    })
                    .unwrap_or("localhost");
                format!("http://{host}")
            }
        }
    }

    /// Connects the stores described by `config`.
    pub async fn open(config: Config) -> StorageResult<Self> {
        if let BlobConfig::Local(dir) = &config.blobs
            && let Some(parent) = dir.parent()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| crate::storage::StorageError::Blob(e.to_string()))?;
        }
        let meta: Arc<dyn MetadataStore> = Arc::new(SqlStore::connect(&config.database_url).await?);
        let blobs: Arc<dyn BlobStore> = match &config.blobs {
            BlobConfig::Local(dir) => Arc::new(LocalBlobs::open(dir)?),
            BlobConfig::S3(s3) => Arc::new(ObjectBlobs::s3(s3)?),
        };
        let search = SearchIndex::default();
        search.refresh(meta.as_ref()).await?;
        Ok(Self {
            meta,
            blobs,
            limits: Arc::new(crate::limits::Limits::new(&config.limits)),
            config: Arc::new(config),
            metrics: plexica_server::metrics::install("registry", crate::metrics::FAMILIES),
            search,
        })
    }
}
