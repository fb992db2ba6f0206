//! `config.toml` in the configuration directory (cli.md, "Files"): profiles, named registries,
//! and which registry a command talks to.
//!
//! ```toml
//! current-profile = "default"
//!
//! [profiles.default]
//! registry-url = "https://registry.example.com"
//! default-key = "release"
//!
//! [registries.staging]
//! url = "https://registry.staging.example.com"
//! ```
//!
//! The file is rewritten as a whole (comments are not kept) by `login` and `profile use`.

use std::collections::BTreeMap;
use std::fmt;

use plexica_sdk::diagnostic::{SourceFile, closest};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use toml::de::{DeTable, DeValue};

use crate::config::{ConfigDir, replace_file};
use crate::error::{CliError, CliResult, ExitKind};

/// Which profile and services the global flags name (`--profile`, `--api-url`,
/// `--registry-url`, or their variables): where the resolution of [`Config`] starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `--profile`.
    pub profile: Option<String>,
    /// `--api-url`.
    pub api_url: Option<String>,
    /// `--registry-url`.
    pub registry_url: Option<String>,
}

/// The profile used when none is selected.
pub const DEFAULT_PROFILE: &str = "default";

/// The keys of `config.toml`, of a `[profiles.NAME]` and of a `[registries.NAME]` table.
const TOP_KEYS: &[&str] = &["current-profile", "profiles", "registries"];
const PROFILE_KEYS: &[&str] = &["api-url", "registry-url", "default-tenant", "default-key"];
const REGISTRY_KEYS: &[&str] = &["url"];

/// The contents of `config.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Config {
    /// The profile used when `--profile` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_profile: Option<String>,
    /// Profiles by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub profiles: BTreeMap<String, Profile>,
    /// Registries by name, for `plugin publish --registry NAME`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub registries: BTreeMap<String, NamedRegistry>,
}

/// One `[profiles.NAME]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Profile {
    /// Core API base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Registry base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_url: Option<String>,
    /// Tenant used when `--tenant` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_tenant: Option<String>,
    /// Signing key used when `--key` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_key: Option<String>,
}

/// One `[registries.NAME]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRegistry {
    /// Its base URL.
    pub url: String,
}

/// The profile a command uses, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// Its name.
    pub name: String,
    /// Its settings (empty when the implicit default does not exist yet).
    pub profile: Profile,
    /// Whether `config.toml` defines it.
    pub exists: bool,
}

impl Config {
    /// Reads `config.toml`; a missing file is an empty configuration.
    pub fn load(dir: &ConfigDir) -> CliResult<Self> {
        let path = dir.config_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(CliError::failed(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        toml::from_str(&text).map_err(|e| {
            let at = e.span().map_or_else(String::new, |span| {
                let (line, column) = SourceFile::new("", &text).locate(span.start);
                format!(":{line}:{column}")
            });
            CliError::usage(format!(
                "{}{at}: {}",
                path.display(),
                e.message().trim_end()
            ))
            .with_help(format!("fix or remove {}", path.display()))
        })
    }

    /// The keys of `config.toml` that no setting reads (typos, mostly), each as
    /// `PATH:LINE:COLUMN: …` with the closest known key; empty when the file is missing or does
    /// not parse ([`Config::load`] reports that).
    pub fn unknown_keys(dir: &ConfigDir) -> Vec<String> {
        let path = dir.config_file();
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Vec::new();
        };
        let Ok(doc) = DeTable::parse(&text) else {
            return Vec::new();
        };
        let source = SourceFile::new("", &text);
        let mut found = Vec::new();
        let mut check = |table: &DeTable<'_>, known: &[&str], place: &str| {
            for key in table.keys() {
                let name = key.get_ref().as_ref();
                if known.contains(&name) {
                    continue;
                }
                let (line, column) = source.locate(key.span().start);
                let hint = closest(name, known.iter().copied())
                    .map_or_else(String::new, |c| format!(" (did you mean `{c}`?)"));
                found.push(format!(
                    "{}:{line}:{column}: unknown key `{name}` in {place}, ignored{hint}",
                    path.display()
                ));
            }
        };
        check(doc.get_ref(), TOP_KEYS, "config.toml");
        for (section, known) in [("profiles", PROFILE_KEYS), ("registries", REGISTRY_KEYS)] {
            let tables = doc
                .get_ref()
                .iter()
                .find(|(k, _)| k.get_ref().as_ref() == section);
            if let Some((_, value)) = tables
                && let DeValue::Table(tables) = value.get_ref()
            {
                for (name, table) in tables {
                    if let DeValue::Table(table) = table.get_ref() {
                        check(table, known, &format!("[{section}.{}]", name.get_ref()));
                    }
                }
            }
        }
        found
    }

    /// Writes `config.toml` atomically.
    pub fn save(&self, dir: &ConfigDir) -> CliResult<()> {
        let text = toml::to_string(self)
            .map_err(|e| CliError::failed(format!("cannot write the configuration: {e}")))?;
        replace_file(&dir.config_file(), &text, false)
    }

    /// The name of the selected profile: `--profile`, else `current-profile`, else `default`.
    pub fn selected_name(&self, selection: &Selection) -> String {
        selection
            .profile
            .clone()
            .filter(|p| !p.is_empty())
            .or_else(|| self.current_profile.clone())
            .unwrap_or_else(|| DEFAULT_PROFILE.to_owned())
    }

    /// The selected profile. A profile named by `--profile` or `current-profile` must exist;
    /// the implicit `default` may not exist yet.
    pub fn selected(&self, selection: &Selection) -> CliResult<Selected> {
        let name = self.selected_name(selection);
        self.named(&name, name == DEFAULT_PROFILE)
    }

    /// The profile called `name`; unless `may_be_missing`, it must exist.
    pub fn named(&self, name: &str, may_be_missing: bool) -> CliResult<Selected> {
        match self.profiles.get(name) {
            Some(profile) => Ok(Selected {
                name: name.to_owned(),
                profile: profile.clone(),
                exists: true,
            }),
            None if may_be_missing => Ok(Selected {
                name: name.to_owned(),
                profile: Profile::default(),
                exists: false,
            }),
            None => Err(self.no_profile(name)),
        }
    }

    fn no_profile(&self, name: &str) -> CliError {
        let known: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
        let help = if known.is_empty() {
            "no profiles yet: `plexica login --profile NAME --registry-url URL` creates one"
                .to_owned()
        } else {
            format!(
                "known profiles: {}; `plexica login --profile NAME --registry-url URL` creates one",
                known.join(", ")
            )
        };
        CliError::new(ExitKind::NotFound, format!("no profile called `{name}`")).with_help(help)
    }

    /// The registry a command talks to: `--registry NAME|URL` (`registry`), else
    /// `--registry-url` / `PLEXICA_REGISTRY_URL`, else the profile's `registry-url`.
    pub fn registry_url(
        &self,
        selection: &Selection,
        registry: Option<&str>,
    ) -> CliResult<ServiceUrl> {
        if let Some(registry) = registry {
            if registry.contains("://") {
                return ServiceUrl::parse(registry);
            }
            return match self.registries.get(registry) {
                Some(named) => ServiceUrl::parse(&named.url),
                None => {
                    let known: Vec<&str> = self.registries.keys().map(String::as_str).collect();
                    let known = if known.is_empty() {
                        String::new()
                    } else {
                        format!(" (known: {})", known.join(", "))
                    };
                    Err(
                        CliError::usage(format!("no registry called `{registry}`{known}"))
                            .with_help(format!(
                                "pass a URL, or add `[registries.{registry}]` with `url = \"…\"` to config.toml"
                            )),
                    )
                }
            };
        }
        if let Some(url) = selection.registry_url.as_deref().filter(|u| !u.is_empty()) {
            return ServiceUrl::parse(url);
        }
        if let Some(url) = self.selected(selection)?.profile.registry_url {
            return ServiceUrl::parse(&url);
        }
        Err(CliError::usage("no registry configured").with_help(
            "pass --registry-url URL (or set PLEXICA_REGISTRY_URL); `plexica login --registry-url URL` remembers it in the profile",
        ))
    }
}

impl Config {
    /// The core API a command talks to: `--api-url` / `PLEXICA_API_URL`, else the profile's
    /// `api-url`.
    pub fn api_url(&self, selection: &Selection) -> CliResult<ServiceUrl> {
        if let Some(url) = selection.api_url.as_deref().filter(|u| !u.is_empty()) {
            return ServiceUrl::parse(url);
        }
        if let Some(url) = self.selected(selection)?.profile.api_url {
            return ServiceUrl::parse(&url);
        }
        Err(CliError::usage("no core API configured").with_help(
            "pass --api-url URL (or set PLEXICA_API_URL); `plexica up` and `plexica login --api-url URL` remember it in the profile",
        ))
    }

    /// The tenant a command acts in: `flag` (`--tenant` / `PLEXICA_TENANT`), else the
    /// profile's `default-tenant`.
    pub fn tenant(&self, selection: &Selection, flag: Option<&str>) -> CliResult<String> {
        if let Some(tenant) = flag.filter(|t| !t.is_empty()) {
            return Ok(tenant.to_owned());
        }
        self.selected(selection)?
            .profile
            .default_tenant
            .ok_or_else(|| {
                CliError::usage("no tenant given").with_help(
                    "pass --tenant SLUG (or set PLEXICA_TENANT, or `default-tenant` in the profile)",
                )
            })
    }
}

/// A service (registry or core API) base URL: `http` or `https`, shown and keyed without a
/// trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUrl(Url);

impl ServiceUrl {
    /// Parses and checks a service URL.
    pub fn parse(text: &str) -> CliResult<Self> {
        let invalid = |why: &str| {
            CliError::usage(format!("`{text}` is not a service URL: {why}"))
                .with_help("use http(s)://HOST[:PORT][/PATH]")
        };
        let url = Url::parse(text.trim()).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if url.cannot_be_a_base() || url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("it has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("it may not have a query or fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("credentials do not belong in the URL"));
        }
        Ok(Self(url))
    }

    /// The URL as text, without a trailing `/` (the key of `credentials.toml`).
    pub fn as_str(&self) -> &str {
        self.0.as_str().trim_end_matches('/')
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for ServiceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_urls_are_checked_and_keyed_without_a_trailing_slash() {
        let url = ServiceUrl::parse("https://registry.example.com/").expect("valid");
        assert_eq!(url.as_str(), "https://registry.example.com");
        let url = ServiceUrl::parse("http://host:8080/prefix/").expect("valid");
        assert_eq!(url.to_string(), "http://host:8080/prefix");
        for bad in [
            "registry.example.com",
            "ftp://host",
            "https://user:pw@host",
            "https://host/?q=1",
        ] {
            assert!(ServiceUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
