//! `credentials.toml` (cli.md, "Files"): registry tokens by registry URL, kept 0600 and refused
//! when group or others can read it; and which token a registry call uses.
//!
//! ```toml
//! [registries."https://registry.example.com"]
//! token = "plxr_…"
//! token-id = "…"
//! username = "alice"
//! expires-at = "2026-01-01T00:00:00Z"
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigDir, read_secret_file, replace_file};
use crate::error::{CliError, CliResult};
use crate::profile::RegistryUrl;

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

/// The contents of `credentials.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(default)]
    registries: BTreeMap<String, StoredLogin>,
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
    pub fn get(&self, registry: &RegistryUrl) -> Option<&StoredLogin> {
        self.registries.get(registry.as_str())
    }

    /// Keeps `login` for `registry`, replacing any previous one.
    pub fn set(&mut self, registry: &RegistryUrl, login: StoredLogin) {
        self.registries.insert(registry.as_str().to_owned(), login);
    }

    /// Forgets the login for `registry`; returns it.
    pub fn remove(&mut self, registry: &RegistryUrl) -> Option<StoredLogin> {
        self.registries.remove(registry.as_str())
    }
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
pub fn resolve(dir: &ConfigDir, registry: &RegistryUrl) -> CliResult<Option<(Token, TokenSource)>> {
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
        let registry = RegistryUrl::parse("http://127.0.0.1:9/").expect("url");
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
