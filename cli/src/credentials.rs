//! `credentials.toml` (cli.md, "Files"): registry tokens by registry URL and core API sessions
//! by API URL, kept 0600 and refused when group or others can read it; and which token a call
//! uses.
//!
//! ```toml
//! [registries."https://registry.example.com"]
//! token = "plxr_…"
//! token-id = "…"
//! username = "alice"
//! expires-at = "2026-01-01T00:00:00Z"
//!
//! [apis."https://api.example.com"]
//! token = "eyJ…"            # access token (or a `plx_` API token)
//! refresh-token = "plxrt_…" # absent for API tokens
//! expires-at-unix = 1767225600
//! username = "admin"
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigDir, read_secret_file, replace_file};
use crate::error::{CliError, CliResult};
use crate::profile::ServiceUrl;

/// Environment variables that carry a registry token, in order of precedence.
pub const TOKEN_VARIABLES: [&str; 2] = ["PLEXICA_REGISTRY_TOKEN", "PLEXICA_TOKEN"];

/// An API token. It is never shown: `Debug` prints a placeholder.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// What the file keeps about the login to one registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct StoredLogin {
    /// The token.
    pub token: Token,
    /// Its id on the registry, to revoke it at logout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The account it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// When it expires, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// What the file keeps about the login to one core API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ApiSession {
    /// The access token (or a `plx_` API token).
    pub token: Token,
    /// Renews the access token; absent for API tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Token>,
    /// When the access token expires, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_unix: Option<i64>,
    /// Who logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The tenant logged in to; absent for the super admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// The contents of `credentials.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    registries: BTreeMap<String, StoredLogin>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    apis: BTreeMap<String, ApiSession>,
}

impl Credentials {
    /// Reads the file (refused when group or others can read it); missing means empty.
    pub fn load(dir: &ConfigDir) -> CliResult<Self> {
        let path = dir.credentials_file();
        if !path.exists() {
            return Ok(Self::default());
        }
        let text = read_secret_file(&path)?;
        toml::from_str(&text).map_err(|e| {
            CliError::failed(format!("{} is not valid: {}", path.display(), e.message())).with_help(
                format!(
                    "fix it, or remove it and run `plexica login` again ({})",
                    path.display()
                ),
            )
        })
    }

    /// Writes the file atomically, mode 0600.
    pub fn save(&self, dir: &ConfigDir) -> CliResult<()> {
        let text = toml::to_string(self)
            .map_err(|e| CliError::failed(format!("cannot write the credentials: {e}")))?;
        replace_file(&dir.credentials_file(), &text, true)
    }

    /// The login kept for `registry`.
    pub fn get(&self, registry: &ServiceUrl) -> Option<&StoredLogin> {
        self.registries.get(registry.as_str())
    }

    /// Keeps `login` for `registry`, replacing any previous one.
    pub fn set(&mut self, registry: &ServiceUrl, login: StoredLogin) {
        self.registries.insert(registry.as_str().to_owned(), login);
    }

    /// Forgets the login for `registry`; returns it.
    pub fn remove(&mut self, registry: &ServiceUrl) -> Option<StoredLogin> {
        self.registries.remove(registry.as_str())
    }

    /// The session kept for core API `api`.
    pub fn api(&self, api: &ServiceUrl) -> Option<&ApiSession> {
        self.apis.get(api.as_str())
    }

    /// Keeps `session` for `api`, replacing any previous one.
    pub fn set_api(&mut self, api: &ServiceUrl, session: ApiSession) {
        self.apis.insert(api.as_str().to_owned(), session);
    }

    /// Forgets the session for `api`; returns it.
    pub fn remove_api(&mut self, api: &ServiceUrl) -> Option<ApiSession> {
        self.apis.remove(api.as_str())
    }
}

/// The environment variable that carries a core API token (`plx_…` or an access token).
pub const API_TOKEN_VARIABLE: &str = "PLEXICA_TOKEN";

/// The credentials for calls to core API `api`: `PLEXICA_TOKEN`, then the credentials file.
pub fn resolve_api(
    dir: &ConfigDir,
    api: &ServiceUrl,
) -> CliResult<Option<(ApiSession, TokenSource)>> {
    if let Some(value) = std::env::var(API_TOKEN_VARIABLE)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
    {
        let session = ApiSession {
            token: Token::new(value),
            refresh_token: None,
            expires_at_unix: None,
            username: None,
            tenant: None,
        };
        return Ok(Some((session, TokenSource::Env(API_TOKEN_VARIABLE))));
    }
    Ok(Credentials::load(dir)?
        .api(api)
        .map(|session| (session.clone(), TokenSource::File)))
}

/// Where the token of a call came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// An environment variable.
    Env(&'static str),
    /// `credentials.toml`.
    File,
}

/// The token for calls to `registry`: `PLEXICA_REGISTRY_TOKEN`, then `PLEXICA_TOKEN`, then the
/// credentials file (which is only read when no variable is set).
pub fn resolve(dir: &ConfigDir, registry: &ServiceUrl) -> CliResult<Option<(Token, TokenSource)>> {
    for variable in TOKEN_VARIABLES {
        if let Some(value) = std::env::var(variable)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
        {
            return Ok(Some((Token::new(value), TokenSource::Env(variable))));
        }
    }
    Ok(Credentials::load(dir)?
        .get(registry)
        .map(|login| (login.token.clone(), TokenSource::File)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let login = StoredLogin {
            token: Token::new("plxr_topsecret"),
            token_id: Some("t1".into()),
            username: Some("alice".into()),
            expires_at: None,
        };
        let mut credentials = Credentials::default();
        let registry = ServiceUrl::parse("http://127.0.0.1:9/").expect("url");
        credentials.set(&registry, login.clone());
        for shown in [format!("{login:?}"), format!("{credentials:?}")] {
            assert!(!shown.contains("topsecret"), "{shown}");
        }
        assert!(
            toml::to_string(&credentials)
                .expect("toml")
                .contains("[registries.\"http://127.0.0.1:9\"]")
        );
    }
}
