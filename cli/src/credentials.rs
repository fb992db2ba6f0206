//! `credentials.toml` (cli.md, "Files"): each profile's registry tokens by registry URL and
//! core API sessions by API URL, kept 0600 and refused when group or others can read it; and
//! which token a call uses. A profile only ever uses its own logins: logging in under one
//! profile never changes what another can do, even when both name the same server.
//!
//! ```toml
//! [profiles.default.registries."https://registry.example.com"]
//! token = "plxr_…"
//! token-id = "…"
//! username = "alice"
//! expires-at = "2026-01-01T00:00:00Z"
//!
//! [profiles.default.apis."https://api.example.com"]
//! token = "eyJ…"            # access token (or a `plx_` API token)
//! refresh-token = "plxrt_…" # absent for API tokens
//! expires-at-unix = 1767225600
//! username = "admin"
//! ```

use std::collections::BTreeMap;
use std::fmt;

use serde::de::IgnoredAny;
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

/// How long a stored login still works, as far as this machine knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Validity {
    /// It works for `seconds` more (`None`: the server did not say).
    Valid {
        /// Seconds left.
        seconds: Option<i64>,
    },
    /// The access token expired; the refresh token renews it on the next command.
    Renews,
    /// It expired: log in again.
    Expired,
}

impl ApiSession {
    /// How long this session still works at `now` (Unix seconds).
    pub fn validity(&self, now: i64) -> Validity {
        match (self.expires_at_unix, &self.refresh_token) {
            (Some(at), None) if at < now => Validity::Expired,
            (Some(at), Some(_)) if at < now => Validity::Renews,
            (at, _) => Validity::Valid {
                seconds: at.map(|at| at - now),
            },
        }
    }
}

impl StoredLogin {
    /// How long this token still works at `now` (Unix seconds).
    pub fn validity(&self, now: i64) -> Validity {
        let at = self.expires_at.as_deref().and_then(|text| {
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .ok()
                .map(time::OffsetDateTime::unix_timestamp)
        });
        match at {
            Some(at) if at < now => Validity::Expired,
            at => Validity::Valid {
                seconds: at.map(|at| at - now),
            },
        }
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid { seconds: None } => f.write_str("valid"),
            Self::Valid {
                seconds: Some(seconds),
            } => write!(f, "valid for {} more", human_duration(*seconds)),
            Self::Renews => f.write_str("access token expired; renewed on the next command"),
            Self::Expired => f.write_str("expired: log in again"),
        }
    }
}

/// The time now, Unix seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `seconds` as a person reads it: `90 s`, `12 min`, `5 h`, `30 days`.
pub fn human_duration(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// The contents of `credentials.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    profiles: BTreeMap<String, ProfileLogins>,
    /// Logins keyed by server alone, written before profiles owned them: never used (they
    /// could belong to any profile), dropped when the file is next written.
    #[serde(default, rename = "registries", skip_serializing)]
    unowned_registries: Option<IgnoredAny>,
    #[serde(default, rename = "apis", skip_serializing)]
    unowned_apis: Option<IgnoredAny>,
}

/// The logins of one profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileLogins {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    registries: BTreeMap<String, StoredLogin>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    apis: BTreeMap<String, ApiSession>,
}

impl ProfileLogins {
    /// The registry logins, by registry URL.
    pub fn registries(&self) -> impl Iterator<Item = (&str, &StoredLogin)> {
        self.registries
            .iter()
            .map(|(url, login)| (url.as_str(), login))
    }

    /// The core API sessions, by API URL.
    pub fn apis(&self) -> impl Iterator<Item = (&str, &ApiSession)> {
        self.apis
            .iter()
            .map(|(url, session)| (url.as_str(), session))
    }

    fn is_empty(&self) -> bool {
        self.registries.is_empty() && self.apis.is_empty()
    }
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

    /// Whether the file holds logins from before profiles owned them (which are not used).
    pub fn has_unowned(&self) -> bool {
        self.unowned_registries.is_some() || self.unowned_apis.is_some()
    }

    /// Every profile that holds a login.
    pub fn profiles(&self) -> impl Iterator<Item = (&str, &ProfileLogins)> {
        self.profiles
            .iter()
            .map(|(name, logins)| (name.as_str(), logins))
    }

    /// The login profile `profile` keeps for `registry`.
    pub fn registry(&self, profile: &str, registry: &ServiceUrl) -> Option<&StoredLogin> {
        self.profiles
            .get(profile)?
            .registries
            .get(registry.as_str())
    }

    /// Keeps `login` for `registry` in `profile`, replacing any previous one.
    pub fn set_registry(&mut self, profile: &str, registry: &ServiceUrl, login: StoredLogin) {
        self.profile_mut(profile)
            .registries
            .insert(registry.as_str().to_owned(), login);
    }

    /// Forgets `profile`'s login for `registry`; returns it.
    pub fn remove_registry(&mut self, profile: &str, registry: &ServiceUrl) -> Option<StoredLogin> {
        let removed = self
            .profiles
            .get_mut(profile)?
            .registries
            .remove(registry.as_str());
        self.drop_if_empty(profile);
        removed
    }

    /// The session profile `profile` keeps for core API `api`.
    pub fn api(&self, profile: &str, api: &ServiceUrl) -> Option<&ApiSession> {
        self.profiles.get(profile)?.apis.get(api.as_str())
    }

    /// Keeps `session` for `api` in `profile`, replacing any previous one.
    pub fn set_api(&mut self, profile: &str, api: &ServiceUrl, session: ApiSession) {
        self.profile_mut(profile)
            .apis
            .insert(api.as_str().to_owned(), session);
    }

    /// Forgets `profile`'s session for `api`; returns it.
    pub fn remove_api(&mut self, profile: &str, api: &ServiceUrl) -> Option<ApiSession> {
        let removed = self.profiles.get_mut(profile)?.apis.remove(api.as_str());
        self.drop_if_empty(profile);
        removed
    }

    /// Forgets every login of `profile`; returns them.
    pub fn remove_profile(&mut self, profile: &str) -> Option<ProfileLogins> {
        self.profiles.remove(profile)
    }

    fn profile_mut(&mut self, profile: &str) -> &mut ProfileLogins {
        self.profiles.entry(profile.to_owned()).or_default()
    }

    fn drop_if_empty(&mut self, profile: &str) {
        if self
            .profiles
            .get(profile)
            .is_some_and(ProfileLogins::is_empty)
        {
            self.profiles.remove(profile);
        }
    }
}

/// The environment variable that carries a core API token (`plx_…` or an access token).
pub const API_TOKEN_VARIABLE: &str = "PLEXICA_TOKEN";

/// The credentials for calls to core API `api` under `profile`: `PLEXICA_TOKEN`, then the
/// profile's session in the credentials file.
pub fn resolve_api(
    dir: &ConfigDir,
    profile: &str,
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
        .api(profile, api)
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

/// The token for calls to `registry` under `profile`: `PLEXICA_REGISTRY_TOKEN`, then
/// `PLEXICA_TOKEN`, then the profile's login in the credentials file (which is only read when
/// no variable is set).
pub fn resolve(
    dir: &ConfigDir,
    profile: &str,
    registry: &ServiceUrl,
) -> CliResult<Option<(Token, TokenSource)>> {
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
        .registry(profile, registry)
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
        credentials.set_registry("ci", &registry, login.clone());
        for shown in [format!("{login:?}"), format!("{credentials:?}")] {
            assert!(!shown.contains("topsecret"), "{shown}");
        }
        assert!(
            toml::to_string(&credentials)
                .expect("toml")
                .contains("[profiles.ci.registries.\"http://127.0.0.1:9\"]")
        );
    }

    #[test]
    fn validity_reads_the_expiry_of_each_kind_of_login() {
        let now = 1_796_464_800; // 2026-12-05T10:00:00Z
        let login = |at: &str| StoredLogin {
            token: Token::new("plxr_x"),
            token_id: None,
            username: None,
            expires_at: Some(at.to_owned()),
        };
        assert_eq!(
            login("2026-12-05T10:01:30Z").validity(now),
            Validity::Valid { seconds: Some(90) }
        );
        assert_eq!(
            login("2026-12-05T09:00:00Z").validity(now),
            Validity::Expired
        );
        let session = |refresh: Option<&str>| ApiSession {
            token: Token::new("eyJ"),
            refresh_token: refresh.map(Token::new),
            expires_at_unix: Some(now - 1),
            username: None,
            tenant: None,
        };
        assert_eq!(session(Some("plxrt_x")).validity(now), Validity::Renews);
        assert_eq!(session(None).validity(now), Validity::Expired);
        assert_eq!(human_duration(90), "90 s");
        assert_eq!(human_duration(3 * 86_400), "3 days");
    }

    #[test]
    fn a_profile_sees_only_its_own_logins() {
        let api = ServiceUrl::parse("http://127.0.0.1:7800").expect("url");
        let session = |who: &str| ApiSession {
            token: Token::new(format!("token of {who}")),
            refresh_token: None,
            expires_at_unix: None,
            username: Some(who.to_owned()),
            tenant: None,
        };
        let mut credentials = Credentials::default();
        credentials.set_api("local", &api, session("admin"));
        credentials.set_api("bob", &api, session("bob"));
        assert_eq!(credentials.api("local", &api), Some(&session("admin")));
        assert_eq!(credentials.api("bob", &api), Some(&session("bob")));
        assert_eq!(credentials.remove_api("bob", &api), Some(session("bob")));
        assert_eq!(credentials.api("bob", &api), None);
        assert_eq!(credentials.api("local", &api), Some(&session("admin")));
        assert_eq!(
            credentials.profiles().count(),
            1,
            "an empty profile is dropped"
        );
    }

    #[test]
    fn logins_keyed_by_server_alone_are_never_used_and_not_written_back() {
        let old = "[apis.\"http://127.0.0.1:7800\"]\ntoken = \"plx_old\"\n\n\
                   [registries.\"http://127.0.0.1:7700\"]\ntoken = \"plxr_old\"\n";
        let credentials: Credentials = toml::from_str(old).expect("the old shape still reads");
        assert!(credentials.has_unowned());
        let api = ServiceUrl::parse("http://127.0.0.1:7800").expect("url");
        assert_eq!(credentials.api(crate::profile::DEFAULT_PROFILE, &api), None);
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("plx_old"), "{shown}");
        let written = toml::to_string(&credentials).expect("toml");
        assert!(!written.contains("old"), "{written}");
    }
}
