//! Dynamic shell completion (`COMPLETE=bash plexica`, or `plexica completions SHELL`): the
//! names only this machine or the platform knows. Profiles and keys come from the
//! configuration directory; tenants from the profile's core API, plugins from its registry,
//! both as the profile's login sees them. A completer that cannot reach its service offers
//! nothing rather than an error.

use std::ffi::OsStr;

use clap_complete::engine::CompletionCandidate;
use plexica_sdk::api::registry::SearchSort;

use crate::client::registry::SearchQuery;
use crate::config::ConfigDir;
use crate::keystore::KeyStore;
use crate::ops::clients::{Access, core_client, registry_client};
use crate::output::{ColorChoice, OutputFormat, Ui, UiOptions};
use crate::profile::{Config, Selection};

/// The candidates of `names` that start with what was typed.
fn matching(current: &OsStr, names: impl IntoIterator<Item = String>) -> Vec<CompletionCandidate> {
    let typed = current.to_str().unwrap_or_default();
    names
        .into_iter()
        .filter(|name| name.starts_with(typed))
        .map(CompletionCandidate::new)
        .collect()
}

/// The global flags as the environment sets them (completion sees no other flags), quiet and
/// without prompts.
fn from_environment() -> (Selection, Ui) {
    let variable = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let selection = Selection {
        profile: variable("PLEXICA_PROFILE"),
        api_url: variable("PLEXICA_API_URL"),
        registry_url: variable("PLEXICA_REGISTRY_URL"),
    };
    let ui = Ui::new(&UiOptions {
        format: OutputFormat::Table,
        quiet: true,
        verbose: false,
        no_input: true,
        yes: false,
        color: ColorChoice::Never,
    });
    (selection, ui)
}

/// Profile names from `config.toml`.
pub fn profiles(current: &OsStr) -> Vec<CompletionCandidate> {
    let names = ConfigDir::locate()
        .and_then(|dir| Config::load(&dir))
        .map(|config| config.profiles.into_keys().collect::<Vec<_>>())
        .unwrap_or_default();
    matching(current, names)
}

/// Signing key names from the key store.
pub fn keys(current: &OsStr) -> Vec<CompletionCandidate> {
    let names = ConfigDir::locate()
        .and_then(|dir| KeyStore::new(&dir).list())
        .map(|keys| keys.into_iter().map(|k| k.name).collect::<Vec<_>>())
        .unwrap_or_default();
    matching(current, names)
}

/// Tenant slugs the profile's core API shows its login.
pub fn tenants(current: &OsStr) -> Vec<CompletionCandidate> {
    let (selection, ui) = from_environment();
    let slugs = core_client(&selection, &ui)
        .ok()
        .and_then(|client| client.tenants(&[("per_page", "100".to_owned())]).ok())
        .map(|page| page.data.into_iter().map(|t| t.slug).collect::<Vec<_>>())
        .unwrap_or_default();
    matching(current, slugs)
}

/// Plugin ids the profile's registry lists.
pub fn plugins(current: &OsStr) -> Vec<CompletionCandidate> {
    let (selection, ui) = from_environment();
    let query = SearchQuery {
        q: current.to_str().unwrap_or_default().to_owned(),
        category: None,
        sort: SearchSort::Name,
        page: None,
        per_page: Some(100),
    };
    let ids = registry_client(&selection, None, Access::Public, &ui)
        .ok()
        .and_then(|client| client.search(&query).ok())
        .map(|found| found.plugins.into_iter().map(|p| p.id).collect::<Vec<_>>())
        .unwrap_or_default();
    matching(current, ids)
}
