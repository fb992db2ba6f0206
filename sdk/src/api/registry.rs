//! Request and response bodies of the registry's HTTP API (`/api/v1`, registry.md), shared by
//! `plexica-registry` and the `plexica` CLI.

use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::manifest::Manifest;

/// Prefix of every registry API token.
pub const TOKEN_PREFIX: &str = "plxr_";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Publish new versions.
    Publish,
    /// Yank, deprecate, change owners, post reviews, register keys.
    Manage,
    /// Create users and act on any plugin (admins only).
    Admin,
}

impl Scope {
    /// Every scope, in order.
    pub const ALL: [Scope; 3] = [Scope::Publish, Scope::Manage, Scope::Admin];

    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "publish",
            Self::Manage => "manage",
            Self::Admin => "admin",
        }
    }
}

/// `POST /api/v1/tokens`: trade a username and password for a token. `Debug` hides the password.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateTokenRequest {
    /// Account name.
    pub username: String,
    /// Account password.
    pub password: String,
    /// A label for the token, e.g. the machine it lives on.
    #[serde(default)]
    pub name: Option<String>,
    /// Scopes to grant; default: every scope the user may hold.
    #[serde(default)]
    pub scopes: Option<Vec<Scope>>,
    /// Lifetime in seconds; default 90 days.
    #[serde(default)]
    pub expires_in_seconds: Option<u64>,
}

impl std::fmt::Debug for CreateTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateTokenRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .field("expires_in_seconds", &self.expires_in_seconds)
            .finish()
    }
}

/// `POST /api/v1/me/tokens`: another token for the caller, never wider than the caller's.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewTokenRequest {
    /// Label of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Scopes to grant; default: the caller's token's scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<Scope>>,
    /// Lifetime in seconds; default 90 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<u64>,
}

/// A token as listed: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    /// Token id.
    pub id: String,
    /// Label.
    pub name: String,
    /// Granted scopes.
    pub scopes: Vec<Scope>,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Expiry time, RFC 3339.
    pub expires_at: String,
}

/// Answer to `POST /api/v1/tokens`: the secret is shown this once. `Debug` hides it.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    /// The secret, `plxr_…`.
    pub token: String,
    /// Its listing.
    #[serde(flatten)]
    pub info: TokenInfo,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("token", &"<redacted>")
            .field("info", &self.info)
            .finish()
    }
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// Account name.
    pub username: String,
    /// Whether the account is an administrator.
    pub admin: bool,
    /// The calling token.
    pub token: TokenInfo,
}

/// `POST /api/v1/users`: an account, created by an administrator, by the holder of an invite
/// for that name, or by anyone when the registry has open sign-up. `Debug` hides the password
/// and the invite.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUserRequest {
    /// Account name, `^[a-z][a-z0-9-]{1,38}$`.
    pub username: String,
    /// Password, at least 12 characters.
    pub password: String,
    /// Make the account an administrator (administrators only).
    #[serde(default)]
    pub admin: bool,
    /// An invite for this name (`plxi_…`), from `POST /api/v1/invites`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite: Option<String>,
}

impl std::fmt::Debug for CreateUserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUserRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("admin", &self.admin)
            .field("invite", &self.invite.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A publisher account as shown to others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInfo {
    /// Account name.
    pub username: String,
    /// Whether it is an administrator.
    pub admin: bool,
}

/// Prefix of every invite.
pub const INVITE_PREFIX: &str = "plxi_";

/// `POST /api/v1/invites` (administrators): an invite to create the account `username`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateInviteRequest {
    /// The account name the invite is for.
    pub username: String,
    /// Lifetime in seconds (default 7 days, at most 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<u64>,
}

/// Answer to `POST /api/v1/invites`: the invite is shown this once and works once. `Debug`
/// hides it.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedInvite {
    /// The invite (`plxi_…`).
    pub invite: String,
    /// The account name it is for.
    pub username: String,
    /// When it stops working, RFC 3339.
    pub expires_at: String,
}

impl std::fmt::Debug for CreatedInvite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedInvite")
            .field("invite", &"<redacted>")
            .field("username", &self.username)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Answer to `POST /api/v1/keys/challenges`: text for the key to sign before it is registered,
/// valid once and for a few minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyChallenge {
    /// Names the challenge in [`RegisterKeyRequest::challenge_id`].
    pub id: String,
    /// The exact bytes to sign (UTF-8), naming the registry account.
    pub challenge: String,
    /// When it stops working, RFC 3339.
    pub expires_at: String,
}

/// `PUT /api/v1/keys`: register a public key (one-line minisign form) for the caller, with
/// proof that the caller holds its secret half: the key's signature (minisign `.minisig`
/// text) over a [`KeyChallenge`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterKeyRequest {
    /// The public key.
    pub public_key: String,
    /// The challenge signed.
    #[serde(default)]
    pub challenge_id: Option<String>,
    /// The key's signature over the challenge's text.
    #[serde(default)]
    pub signature: Option<String>,
}

#[cfg(feature = "package")]
impl RegisterKeyRequest {
    /// Registers `key`'s public half, signing `challenge` with it.
    pub fn proven(key: &crate::package::signing::SecretKey, challenge: &KeyChallenge) -> Self {
        let signature = key.sign(challenge.challenge.as_bytes(), "plexica key registration");
        Self {
            public_key: key.public_key().to_line(),
            challenge_id: Some(challenge.id.clone()),
            signature: Some(signature.to_text()),
        }
    }
}

/// `DELETE /api/v1/keys/{key_id}` revokes; listing shows revoked keys marked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublisherKey {
    /// Key id, 16 hex digits.
    pub key_id: String,
    /// One-line public key.
    pub public_key: String,
    /// When it was registered, RFC 3339.
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// Answer to `POST /api/v1/packages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Published {
    /// Plugin id.
    pub id: String,
    /// Version.
    pub version: String,
    /// sha256 of the package.
    pub digest: String,
    /// sha256 of `CHECKSUMS`.
    pub content_digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Where the version's metadata is.
    pub url: String,
    /// True when `dry-run=true`: every check passed, nothing was stored.
    pub dry_run: bool,
}

/// Sort orders of the search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SearchSort {
    /// Exact id, id prefix, name, keywords, description.
    #[default]
    Relevance,
    /// Most downloaded first.
    Downloads,
    /// Most recently published first.
    Updated,
    /// By id.
    Name,
    /// Most recently created plugins first.
    New,
}

/// One hit of `GET /api/v1/plugins`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginSummary {
    /// Plugin id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Description of the latest version.
    pub description: String,
    /// Latest version (ignores yanked and pre-releases), if any.
    pub latest: Option<String>,
    /// Categories.
    pub categories: Vec<String>,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Total downloads.
    pub downloads: u64,
    /// Last publish, RFC 3339.
    pub updated_at: String,
    /// Deprecated?
    pub deprecated: bool,
}

/// `GET /api/v1/plugins?q=&category=&sort=&page=&per_page=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResults {
    /// This page.
    pub plugins: Vec<PluginSummary>,
    /// Hits in all pages.
    pub total: u64,
    /// Page number, from 1.
    pub page: u32,
    /// Page size.
    pub per_page: u32,
}

/// A version as listed in a plugin's detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionSummary {
    /// Version.
    pub version: String,
    /// Yanked?
    pub yanked: bool,
    /// Published, RFC 3339.
    pub published_at: String,
}

/// A deprecation notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deprecation {
    /// Why, and what to do.
    pub message: String,
    /// The plugin to use instead.
    #[serde(default)]
    pub successor: Option<String>,
}

/// `GET /api/v1/plugins/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginDetail {
    /// Plugin id.
    pub id: String,
    /// Display name of the latest version.
    pub name: String,
    /// Description of the latest version.
    pub description: String,
    /// Owners' usernames.
    pub owners: Vec<String>,
    /// Every version, highest SemVer first.
    pub versions: Vec<VersionSummary>,
    /// Latest version (ignores yanked and pre-releases).
    pub latest: Option<String>,
    /// Deprecation notice.
    pub deprecation: Option<Deprecation>,
    /// Average rating, 1..5, if reviewed.
    pub rating: Option<f64>,
    /// Number of reviews.
    pub reviews: u64,
    /// Total downloads.
    pub downloads: u64,
}

/// `GET /api/v1/plugins/{id}/versions/{version}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionDetail {
    /// Plugin id.
    pub id: String,
    /// Version.
    pub version: String,
    /// The manifest as published.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub manifest: Manifest,
    /// sha256 of the package.
    pub digest: String,
    /// sha256 of `CHECKSUMS`.
    pub content_digest: String,
    /// The detached signature (`.minisig` text), if signed.
    pub signature: Option<String>,
    /// Id of the key that signed it.
    pub key_id: Option<String>,
    /// Yanked?
    pub yanked: bool,
    /// Why it was yanked.
    pub yank_reason: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Published, RFC 3339.
    pub published_at: String,
    /// Publisher's username.
    pub published_by: String,
    /// Downloads of this version.
    pub downloads: u64,
    /// Does the package carry a `README.md` (`…/readme`)?
    #[serde(default)]
    pub readme: bool,
    /// Does the package carry a `CHANGELOG.md` (`…/changelog`)?
    #[serde(default)]
    pub changelog: bool,
}

/// One line of `GET /api/v1/index/{id}` (JSON lines, one per version, SemVer order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndexLine {
    /// Plugin id.
    pub id: String,
    /// Version.
    pub version: String,
    /// sha256 of the package.
    pub digest: String,
    /// Yanked?
    pub yanked: bool,
    /// Required plugin dependencies: id → SemVer requirement.
    pub dependencies: std::collections::BTreeMap<String, String>,
    /// Platform requirement.
    pub plexica: Option<String>,
}

/// `DELETE …/yank` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct YankRequest {
    /// Why the version is withdrawn.
    pub reason: String,
}

/// `PUT/DELETE /api/v1/plugins/{id}/owners` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnersRequest {
    /// Usernames to add or remove.
    pub users: Vec<String>,
}

/// `GET /api/v1/plugins/{id}/owners`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Owners {
    /// Usernames.
    pub users: Vec<String>,
}

/// `POST /api/v1/plugins/{id}/reviews` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewRequest {
    /// 1 to 5.
    pub rating: u8,
    /// Free text, up to 5,000 characters.
    #[serde(default)]
    pub text: String,
}

/// A review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    /// Author's username.
    pub username: String,
    /// 1 to 5.
    pub rating: u8,
    /// Free text.
    pub text: String,
    /// Last edit, RFC 3339.
    pub updated_at: String,
}

/// `GET /api/v1/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stats {
    /// Plugins.
    pub plugins: u64,
    /// Versions.
    pub versions: u64,
    /// Downloads.
    pub downloads: u64,
    /// Most used categories with their plugin counts.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<Value>>))]
    pub top_categories: Vec<(String, u64)>,
    /// Latest publishes.
    pub recent: Vec<VersionSummaryWithId>,
}

/// A version with its plugin id, for lists across plugins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionSummaryWithId {
    /// Plugin id.
    pub id: String,
    /// Version.
    pub version: String,
    /// Published, RFC 3339.
    pub published_at: String,
}

/// One error of the envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiErrorItem {
    /// Stable code, e.g. `VERSION_EXISTS`.
    pub code: String,
    /// What happened.
    pub detail: String,
}

/// Every error body: `{"errors":[{"code":…,"detail":…}]}`; manifest rejections also carry the
/// diagnostics the CLI prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiErrors {
    /// The errors.
    pub errors: Vec<ApiErrorItem>,
    /// Manifest diagnostics, on `422 MANIFEST_INVALID`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub diagnostics: Vec<Diagnostic>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_secrets() {
        let request = CreateTokenRequest {
            username: "ada".into(),
            password: "hunter2-but-longer".into(),
            name: None,
            scopes: None,
            expires_in_seconds: None,
        };
        assert!(!format!("{request:?}").contains("hunter2"));
        let user = CreateUserRequest {
            username: "ada".into(),
            password: "hunter2-but-longer".into(),
            admin: false,
            invite: Some("plxi_hunter3".into()),
        };
        assert!(!format!("{user:?}").contains("hunter"));
        let created = CreatedToken {
            token: "plxr_secret".into(),
            info: TokenInfo {
                id: "1".into(),
                name: "cli".into(),
                scopes: vec![Scope::Publish],
                created_at: String::new(),
                expires_at: String::new(),
            },
        };
        assert!(!format!("{created:?}").contains("plxr_secret"));
    }
}
