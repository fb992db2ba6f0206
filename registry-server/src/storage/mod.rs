//! Storage behind two traits: [`MetadataStore`] (users, tokens, keys, plugins, versions) and
//! [`BlobStore`] (package bytes, content-addressed by sha256).
//!
//! Implementations: [`sql::SqlStore`] over SQLite or PostgreSQL (one implementation, through
//! sqlx's `Any` driver, with a schema per backend under `migrations/registry/`), and
//! [`blobs::LocalBlobs`] or [`blobs::ObjectBlobs`] (S3-compatible, via `object_store`).

pub mod blobs;
pub mod sql;

use async_trait::async_trait;
use bytes::Bytes;
use plexica_sdk::api::registry::Scope;

/// A failure of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database failed or is unreachable.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The blob store failed.
    #[error("blob store error: {0}")]
    Blob(String),
    /// A stored value could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

/// Storage result.
pub type StorageResult<T> = Result<T, StorageError>;

/// A publisher account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Account name.
    pub username: String,
    /// argon2 PHC string.
    pub password_hash: String,
    /// Administrator?
    pub admin: bool,
}

/// A stored token (the secret is only ever held as its sha256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Public id.
    pub id: String,
    /// Owner.
    pub user_id: i64,
    /// Label.
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<Scope>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub expires_at: i64,
    /// Unix ms, when revoked.
    pub revoked_at: Option<i64>,
}

/// A registered public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Key id, 16 hex digits.
    pub key_id: String,
    /// One-line public key.
    pub public_key: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms, when revoked.
    pub revoked_at: Option<i64>,
}

/// A plugin row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginRecord {
    /// Plugin id.
    pub id: String,
    /// Display name (of the latest version).
    pub name: String,
    /// Description (of the latest version).
    pub description: String,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Categories.
    pub categories: Vec<String>,
    /// Latest version.
    pub latest: Option<String>,
    /// Downloads of all versions.
    pub downloads: i64,
    /// Unix ms, first publish.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Deprecation message.
    pub deprecation_message: Option<String>,
    /// Deprecation successor.
    pub deprecation_successor: Option<String>,
}

/// A version row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRecord {
    /// Plugin id.
    pub plugin_id: String,
    /// Version as published.
    pub version: String,
    /// Manifest JSON.
    pub manifest: String,
    /// sha256 of the package.
    pub digest: String,
    /// sha256 of `CHECKSUMS`.
    pub content_digest: String,
    /// `.minisig` text.
    pub signature: Option<String>,
    /// Signing key id.
    pub key_id: Option<String>,
    /// Bytes.
    pub size: i64,
    /// Yanked?
    pub yanked: bool,
    /// Why.
    pub yank_reason: Option<String>,
    /// Unix ms.
    pub published_at: i64,
    /// Publisher's username.
    pub published_by: String,
    /// Downloads.
    pub downloads: i64,
    /// Does the package carry a README (kept as a document)?
    pub readme: bool,
    /// Does the package carry a changelog?
    pub changelog: bool,
}

/// What a publish writes, in one transaction.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// The version row (downloads 0, not yanked).
    pub version: VersionRecord,
    /// Publisher's user id.
    pub publisher: i64,
    /// Plugin name from the manifest.
    pub name: String,
    /// Plugin description from the manifest.
    pub description: String,
    /// Keywords from the manifest.
    pub keywords: Vec<String>,
    /// Categories from the manifest.
    pub categories: Vec<String>,
    /// The pending-blob row to clear with the commit.
    pub upload_id: String,
    /// The package's README and changelog.
    pub documents: Vec<(DocumentKind, String)>,
    /// The package's images the pages show.
    pub images: Vec<Image>,
}

/// A Markdown document a package may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// `README.md`.
    Readme,
    /// `CHANGELOG.md`.
    Changelog,
}

impl DocumentKind {
    /// Both kinds.
    pub const ALL: [Self; 2] = [Self::Readme, Self::Changelog];

    /// The stored name (`readme`, `changelog`), also the API path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Readme => "readme",
            Self::Changelog => "changelog",
        }
    }

    /// The file inside the package.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Readme => "README.md",
            Self::Changelog => "CHANGELOG.md",
        }
    }
}

/// An image of a package (a screenshot or an image the README shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Path inside the package.
    pub path: String,
    /// Media type, from the bytes.
    pub media_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Who holds a signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHolder {
    /// The account's name.
    pub username: String,
    /// The account's id.
    pub user_id: i64,
    /// Unix ms, when revoked.
    pub revoked_at: Option<i64>,
}

/// Why a publish transaction refused.
#[derive(Debug, thiserror::Error)]
pub enum PublishConflict {
    /// The id is owned by others.
    #[error("plugin `{0}` is owned by other publishers")]
    NotOwner(String),
    /// `id@version` exists (possibly yanked).
    #[error("{0}@{1} already exists")]
    VersionExists(String, String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What became of an account created with an invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invited {
    /// The account.
    Created(User),
    /// No unused, unexpired invite for that name hashes so.
    BadInvite,
    /// The name is taken (the invite stays unused).
    NameTaken,
}

/// A review row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRecord {
    /// Author.
    pub username: String,
    /// 1..5.
    pub rating: i64,
    /// Text.
    pub text: String,
    /// Unix ms.
    pub updated_at: i64,
}

/// Registry metadata: everything but package bytes.
#[async_trait]
pub trait MetadataStore: Send + Sync {
    /// Is the database reachable?
    async fn ping(&self) -> StorageResult<()>;
    /// Number of users (to bootstrap an empty registry).
    async fn user_count(&self) -> StorageResult<i64>;
    /// Creates a user; `None` when the name is taken.
    async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        admin: bool,
    ) -> StorageResult<Option<User>>;
    /// A user by name.
    async fn user_by_name(&self, username: &str) -> StorageResult<Option<User>>;
    /// A user by id.
    async fn user_by_id(&self, id: i64) -> StorageResult<Option<User>>;
    /// Stores a token whose secret hashes to `secret_hash`.
    async fn create_token(&self, token: &Token, secret_hash: &str) -> StorageResult<()>;
    /// The token whose secret hashes to `secret_hash`.
    async fn token_by_hash(&self, secret_hash: &str) -> StorageResult<Option<Token>>;
    /// A user's tokens, newest first.
    async fn tokens_of(&self, user_id: i64) -> StorageResult<Vec<Token>>;
    /// Revokes a user's token; false when it is not theirs.
    async fn revoke_token(&self, user_id: i64, token_id: &str, now: i64) -> StorageResult<bool>;
    /// Registers a key; returns the stored record (the existing one if the user registered it
    /// before), or `None` when the key belongs to another account.
    async fn add_key(&self, user_id: i64, key: &KeyRecord) -> StorageResult<Option<KeyRecord>>;
    /// Stores a key-registration challenge for `user_id`, and forgets expired ones.
    async fn put_key_challenge(
        &self,
        id: &str,
        user_id: i64,
        challenge: &str,
        expires_at: i64,
        now: i64,
    ) -> StorageResult<()>;
    /// Removes and returns the text of `user_id`'s challenge `id` if it has not expired.
    async fn take_key_challenge(
        &self,
        id: &str,
        user_id: i64,
        now: i64,
    ) -> StorageResult<Option<String>>;
    /// Stores an invite for `username` whose secret hashes to `secret_hash`.
    async fn create_invite(
        &self,
        secret_hash: &str,
        username: &str,
        created_by: i64,
        now: i64,
        expires_at: i64,
    ) -> StorageResult<()>;
    /// Uses the invite hashing to `secret_hash` to create the account it names, in one
    /// transaction: the invite works once, for its name only, before it expires.
    async fn create_invited_user(
        &self,
        username: &str,
        password_hash: &str,
        secret_hash: &str,
        now: i64,
    ) -> StorageResult<Invited>;
    /// Revokes a key; `None` when the user has no such key.
    async fn revoke_key(
        &self,
        user_id: i64,
        key_id: &str,
        now: i64,
    ) -> StorageResult<Option<KeyRecord>>;
    /// A user's keys.
    async fn keys_of(&self, user_id: i64) -> StorageResult<Vec<KeyRecord>>;
    /// Checks and advances the publish rate limit (GCRA); `Err(wait_ms)` when over.
    async fn take_publish_slot(
        &self,
        user_id: i64,
        now: i64,
        interval_ms: i64,
        burst: i64,
    ) -> StorageResult<Result<(), i64>>;
    /// Takes one request for `key` from `limiter`, counted in this database (so on every
    /// replica using it); over the limit, refused as `what`.
    async fn take_shared_limit(
        &self,
        limiter: &plexica_server::ratelimit::SharedRateLimiter,
        key: &str,
        what: &'static str,
    ) -> StorageResult<Result<(), plexica_server::ratelimit::Refused>>;
    /// Gives back a slot taken by [`MetadataStore::take_publish_slot`] for a publish that
    /// failed: only versions that were published count against the limit.
    async fn refund_publish_slot(&self, user_id: i64, interval_ms: i64) -> StorageResult<()>;
    /// Owners' user ids of a plugin (empty when the plugin does not exist).
    async fn owner_ids(&self, plugin_id: &str) -> StorageResult<Vec<i64>>;
    /// Does `id@version` exist (by SemVer precedence key)?
    async fn version_exists(&self, plugin_id: &str, version_key: &str) -> StorageResult<bool>;
    /// Records that a blob is about to be written.
    async fn begin_upload(&self, upload_id: &str, digest: &str, now: i64) -> StorageResult<()>;
    /// Forgets a pending upload that did not commit.
    async fn abort_upload(&self, upload_id: &str) -> StorageResult<()>;
    /// Pending uploads older than `before`: (upload id, digest).
    async fn stale_uploads(&self, before: i64) -> StorageResult<Vec<(String, String)>>;
    /// Is a digest referenced by any version?
    async fn digest_in_use(&self, digest: &str) -> StorageResult<bool>;
    /// Commits a version: plugin row and ownership, the version, the latest pointer, and the
    /// pending-blob row's removal, in one transaction.
    async fn commit_version(&self, new: &NewVersion) -> Result<(), PublishConflict>;
    /// A plugin.
    async fn plugin(&self, id: &str) -> StorageResult<Option<PluginRecord>>;
    /// A plugin's versions (any order).
    async fn versions(&self, plugin_id: &str) -> StorageResult<Vec<VersionRecord>>;
    /// (version, digest, yanked) of every version: what the index's ETag is computed from.
    async fn version_digests(&self, plugin_id: &str) -> StorageResult<Vec<(String, String, bool)>>;
    /// One version by its exact string or precedence key.
    async fn version(&self, plugin_id: &str, version: &str)
    -> StorageResult<Option<VersionRecord>>;
    /// Sets or clears a yank; recomputes latest. False when the version does not exist.
    async fn set_yanked(
        &self,
        plugin_id: &str,
        version: &str,
        reason: Option<&str>,
    ) -> StorageResult<bool>;
    /// Sets or clears the deprecation.
    async fn set_deprecation(
        &self,
        plugin_id: &str,
        message: Option<&str>,
        successor: Option<&str>,
    ) -> StorageResult<()>;
    /// Owners' usernames.
    async fn owners(&self, plugin_id: &str) -> StorageResult<Vec<String>>;
    /// Adds owners; returns the names that do not exist.
    async fn add_owners(&self, plugin_id: &str, usernames: &[String])
    -> StorageResult<Vec<String>>;
    /// Removes owners (never the last one); false if that would leave none.
    async fn remove_owners(&self, plugin_id: &str, usernames: &[String]) -> StorageResult<bool>;
    /// Counts a download of a version.
    async fn count_download(&self, plugin_id: &str, version: &str) -> StorageResult<()>;
    /// Every plugin (for the in-memory search index).
    async fn all_plugins(&self) -> StorageResult<Vec<PluginRecord>>;
    /// Creates or replaces a user's review.
    async fn put_review(
        &self,
        plugin_id: &str,
        user_id: i64,
        rating: i64,
        text: &str,
        now: i64,
    ) -> StorageResult<()>;
    /// A plugin's reviews, newest first.
    async fn reviews(&self, plugin_id: &str) -> StorageResult<Vec<ReviewRecord>>;
    /// Totals: plugins, versions, downloads.
    async fn totals(&self) -> StorageResult<(i64, i64, i64)>;
    /// Category → plugin count, most used first.
    async fn top_categories(&self, limit: i64) -> StorageResult<Vec<(String, i64)>>;
    /// Latest publishes across plugins: (id, version, published_at).
    async fn recent_versions(&self, limit: i64) -> StorageResult<Vec<(String, String, i64)>>;
    /// A version's document of `kind` (Markdown source).
    async fn document(
        &self,
        plugin_id: &str,
        version: &str,
        kind: DocumentKind,
    ) -> StorageResult<Option<String>>;
    /// A version's image at `path`.
    async fn image(
        &self,
        plugin_id: &str,
        version: &str,
        path: &str,
    ) -> StorageResult<Option<Image>>;
    /// The paths of a version's images.
    async fn image_paths(&self, plugin_id: &str, version: &str) -> StorageResult<Vec<String>>;
    /// The account a key id is registered to.
    async fn key_holder(&self, key_id: &str) -> StorageResult<Option<KeyHolder>>;
    /// The plugins a user owns, by id.
    async fn plugins_owned_by(&self, user_id: i64) -> StorageResult<Vec<PluginRecord>>;
    /// Deletes up to `batch` tokens expired or revoked before `before`, up to `batch` invites
    /// expired or used before it, and the shared rate-limit rows whose allowance is whole
    /// again; returns how many rows went.
    async fn prune_credentials(&self, before: i64, batch: i64) -> StorageResult<u64>;
}

/// Package bytes, content-addressed by their sha256 (hex).
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `digest`, durably, before returning; idempotent.
    async fn put(&self, digest: &str, bytes: Bytes) -> StorageResult<()>;
    /// The bytes stored under `digest`.
    async fn get(&self, digest: &str) -> StorageResult<Option<Bytes>>;
    /// Removes the blob; absent is fine.
    async fn delete(&self, digest: &str) -> StorageResult<()>;
    /// Every stored digest.
    async fn list(&self) -> StorageResult<Vec<String>>;
    /// Can the store be used: does its directory or its bucket exist and answer?
    async fn ping(&self) -> StorageResult<()>;
}
