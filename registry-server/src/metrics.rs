//! The registry's metric families, each named once: call sites record through these names, and
//! [`FAMILIES`] gives each its help text at start-up.

use plexica_server::metrics::Family;

/// Versions published.
pub const PUBLISHES: &str = "registry_publishes_total";
/// Package downloads served.
pub const DOWNLOADS: &str = "registry_downloads_total";

/// Every family above, with its help text.
pub const FAMILIES: &[Family] = &[
    Family::counter(PUBLISHES, "Plugin versions published."),
    Family::counter(DOWNLOADS, "Plugin packages downloaded."),
];
