//! The client of the plugin registry the platform installs from (registry.md routes): the
//! catalog (cached briefly), each plugin's version index (cached and revalidated with
//! `If-None-Match`, so an unchanged index costs a `304`), version metadata, package bytes and
//! the public keys of a plugin's owners.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use plexica_sdk::api::registry::{
    IndexLine, PluginDetail, PublisherKey, SearchResults, VersionDetail,
};
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_NONE_MATCH};

/// Largest package the platform downloads.
pub const MAX_PACKAGE_BYTES: usize = 256 * 1024 * 1024;

/// How long a catalog answer is reused.
const CATALOG_TTL: Duration = Duration::from_secs(30);

/// What went wrong talking to the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry could not be reached or answered garbage.
    #[error("the plugin registry is unavailable: {0}")]
    Unavailable(String),
    /// The plugin or version does not exist there.
    #[error("{0} is not in the registry")]
    NotFound(String),
    /// The package is larger than [`MAX_PACKAGE_BYTES`].
    #[error("the package is larger than {MAX_PACKAGE_BYTES} bytes")]
    TooLarge,
}

type Result<T> = std::result::Result<T, RegistryError>;

/// A plugin's index as last fetched, with its `ETag`.
#[derive(Debug, Clone)]
struct CachedIndex {
    etag: String,
    lines: Vec<IndexLine>,
}

/// Client of one registry.
#[derive(Debug)]
pub struct RegistryClient {
    http: reqwest::Client,
    base: String,
    indexes: Mutex<HashMap<String, CachedIndex>>,
    catalog: Mutex<HashMap<String, (Instant, SearchResults)>>,
}

fn unavailable(e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Unavailable(e.to_string())
}

impl RegistryClient {
    /// A client of the registry at `base` (e.g. `http://127.0.0.1:7700`).
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap_or_default();
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            indexes: Mutex::default(),
            catalog: Mutex::default(),
        }
    }

    async fn get(&self, path: &str, what: &str) -> Result<reqwest::Response> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(unavailable)?;
        match response.status() {
            StatusCode::NOT_FOUND => Err(RegistryError::NotFound(what.to_owned())),
            s if s.is_success() => Ok(response),
            s => Err(unavailable(format!("{path} answered {s}"))),
        }
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, path: &str, what: &str) -> Result<T> {
        self.get(path, what)
            .await?
            .json()
            .await
            .map_err(unavailable)
    }

    /// The catalog: plugins matching `query` (answers are reused for 30 s).
    pub async fn search(&self, query: &str) -> Result<SearchResults> {
        if let Some((at, results)) = self.lock_catalog().get(query)
            && at.elapsed() < CATALOG_TTL
        {
            return Ok(results.clone());
        }
        let results: SearchResults = self
            .http
            .get(format!("{}/api/v1/plugins", self.base))
            .query(&[("q", query)])
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        let mut catalog = self.lock_catalog();
        if catalog.len() > 1000 {
            catalog.clear();
        }
        catalog.insert(query.to_owned(), (Instant::now(), results.clone()));
        Ok(results)
    }

    fn lock_catalog(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, SearchResults)>> {
        self.catalog
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_indexes(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedIndex>> {
        self.indexes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every version of `id` (revalidated against the cached copy with its `ETag`).
    pub async fn index(&self, id: &str) -> Result<Vec<IndexLine>> {
        let cached = self.lock_indexes().get(id).cloned();
        let mut request = self.http.get(format!("{}/api/v1/index/{id}", self.base));
        if let Some(c) = &cached {
            request = request.header(IF_NONE_MATCH, &c.etag);
        }
        let response = request.send().await.map_err(unavailable)?;
        match (response.status(), cached) {
            (StatusCode::NOT_MODIFIED, Some(c)) => return Ok(c.lines),
            (StatusCode::NOT_FOUND, _) => {
                return Err(RegistryError::NotFound(format!("plugin `{id}`")));
            }
            (s, _) if !s.is_success() => {
                return Err(unavailable(format!("the index of `{id}` answered {s}")));
            }
            _ => {}
        }
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.map_err(unavailable)?;
        let lines = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<std::result::Result<Vec<IndexLine>, _>>()
            .map_err(unavailable)?;
        if let Some(etag) = etag {
            self.lock_indexes().insert(
                id.to_owned(),
                CachedIndex {
                    etag,
                    lines: lines.clone(),
                },
            );
        }
        Ok(lines)
    }

    /// Metadata of `id@version`.
    pub async fn version(&self, id: &str, version: &str) -> Result<VersionDetail> {
        self.json(
            &format!("/api/v1/plugins/{id}/versions/{version}"),
            &format!("{id}@{version}"),
        )
        .await
    }

    /// The package bytes of `id@version`.
    pub async fn download(&self, id: &str, version: &str) -> Result<Vec<u8>> {
        let mut response = self
            .get(
                &format!("/api/v1/plugins/{id}/versions/{version}/download"),
                &format!("{id}@{version}"),
            )
            .await?;
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
            if bytes.len() + chunk.len() > MAX_PACKAGE_BYTES {
                return Err(RegistryError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// The public keys (not revoked) of the owners of `id`, as the registry lists them.
    pub async fn owner_keys(&self, id: &str) -> Result<Vec<String>> {
        let detail: PluginDetail = self
            .json(&format!("/api/v1/plugins/{id}"), &format!("plugin `{id}`"))
            .await?;
        let mut keys = Vec::new();
        for owner in &detail.owners {
            let listed: Vec<PublisherKey> = self
                .json(
                    &format!("/api/v1/users/{owner}/keys"),
                    &format!("user `{owner}`"),
                )
                .await?;
            keys.extend(
                listed
                    .into_iter()
                    .filter(|k| k.revoked_at.is_none())
                    .map(|k| k.public_key),
            );
        }
        Ok(keys)
    }
}
