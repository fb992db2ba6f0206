//! Blob stores: a local directory (embedded default) and any S3-compatible object store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};

use super::{BlobStore, StorageError, StorageResult};

/// Is `digest` a lowercase hex sha256? Anything else never reaches a path.
fn valid_digest(digest: &str) -> StorageResult<()> {
    if digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(StorageError::Blob(format!(
            "`{digest}` is not a sha256 digest"
        )))
    }
}

fn io(e: std::io::Error) -> StorageError {
    StorageError::Blob(e.to_string())
}

/// Blobs as files `DIR/ab/abcdef…` (sharded by the first two hex digits). A write goes to a
/// temporary file in `DIR/tmp`, is fsynced, renamed into place, and the directory fsynced.
#[derive(Debug, Clone)]
pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    /// Opens (and creates) the store under `root`, discarding temporary files left by a crash.
    pub fn open(root: impl Into<PathBuf>) -> StorageResult<Self> {
        let root = root.into();
        let tmp = root.join("tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io)?;
        }
        std::fs::create_dir_all(&tmp).map_err(io)?;
        Ok(Self { root })
    }

    fn path(&self, digest: &str) -> PathBuf {
        self.root.join(&digest[..2]).join(digest)
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn put(&self, digest: &str, bytes: Bytes) -> StorageResult<()> {
        valid_digest(digest)?;
        let target = self.path(digest);
        let tmp_dir = self.root.join("tmp");
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if target.exists() {
                return Ok(());
            }
            let parent = target.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(parent)?;
            let mut temp = tempfile::NamedTempFile::new_in(&tmp_dir)?;
            std::io::Write::write_all(&mut temp, &bytes)?;
            temp.as_file().sync_all()?;
            temp.persist(&target).map_err(|e| e.error)?;
            sync_dir(parent)
        })
        .await
        .map_err(|e| StorageError::Blob(e.to_string()))?
        .map_err(io)
    }

    async fn get(&self, digest: &str) -> StorageResult<Option<Bytes>> {
        valid_digest(digest)?;
        match tokio::fs::read(self.path(digest)).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn delete(&self, digest: &str) -> StorageResult<()> {
        valid_digest(digest)?;
        match tokio::fs::remove_file(self.path(digest)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    async fn ping(&self) -> StorageResult<()> {
        let tmp = self.root.join("tmp");
        match tokio::fs::metadata(&tmp).await {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(StorageError::Blob(format!(
                "{} is not a directory",
                tmp.display()
            ))),
            Err(e) => Err(StorageError::Blob(format!(
                "blob directory {}: {e}",
                self.root.display()
            ))),
        }
    }

    async fn list(&self) -> StorageResult<Vec<String>> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<Vec<String>> {
            let mut digests = Vec::new();
            for shard in std::fs::read_dir(&root)? {
                let shard = shard?;
                if shard.file_name() == "tmp" || !shard.file_type()?.is_dir() {
                    continue;
                }
                for blob in std::fs::read_dir(shard.path())? {
                    if let Ok(name) = blob?.file_name().into_string() {
                        digests.push(name);
                    }
                }
            }
            digests.sort();
            Ok(digests)
        })
        .await
        .map_err(|e| StorageError::Blob(e.to_string()))?
        .map_err(io)
    }
}

/// Blobs in an S3-compatible bucket, as objects `packages/<digest>`. S3 writes are atomic
/// (an object is visible whole or not at all) and durable once acknowledged.
#[derive(Debug, Clone)]
pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
}

/// Where and how to reach an S3-compatible bucket.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// Bucket name.
    pub bucket: String,
    /// Endpoint URL (for S3-compatible services); AWS when absent.
    pub endpoint: Option<String>,
    /// Region.
    pub region: String,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
}

impl ObjectBlobs {
    /// Connects to the bucket described by `config`.
    pub fn s3(config: &S3Config) -> StorageResult<Self> {
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region);
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        let store = builder
            .build()
            .map_err(|e| StorageError::Blob(e.to_string()))?;
        Ok(Self {
            store: Arc::new(store),
        })
    }

    fn path(digest: &str) -> ObjectPath {
        ObjectPath::from(format!("packages/{digest}"))
    }
}

fn object(e: object_store::Error) -> StorageError {
    StorageError::Blob(e.to_string())
}

#[async_trait]
impl BlobStore for ObjectBlobs {
    /// Lists a prefix: answers for an existing bucket (even empty), fails for a missing one
    /// (a `HEAD` could not tell a missing bucket from a missing key).
    async fn ping(&self) -> StorageResult<()> {
        self.store
            .list_with_delimiter(Some(&ObjectPath::from("ready-probe")))
            .await
            .map(|_| ())
            .map_err(object)
    }

    async fn put(&self, digest: &str, bytes: Bytes) -> StorageResult<()> {
        valid_digest(digest)?;
        self.store
            .put(&Self::path(digest), PutPayload::from_bytes(bytes))
            .await
            .map_err(object)?;
        Ok(())
    }

    async fn get(&self, digest: &str) -> StorageResult<Option<Bytes>> {
        valid_digest(digest)?;
        match self.store.get(&Self::path(digest)).await {
            Ok(result) => Ok(Some(result.bytes().await.map_err(object)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(object(e)),
        }
    }

    async fn delete(&self, digest: &str) -> StorageResult<()> {
        valid_digest(digest)?;
        match self.store.delete(&Self::path(digest)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(object(e)),
        }
    }

    async fn list(&self) -> StorageResult<Vec<String>> {
        let prefix = ObjectPath::from("packages");
        let mut digests: Vec<String> = self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location.filename().unwrap_or_default().to_owned())
            .try_collect()
            .await
            .map_err(object)?;
        digests.sort();
        Ok(digests)
    }
}
