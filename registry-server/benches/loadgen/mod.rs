//! What the registry load benchmarks share, so that every registry is measured by the same code:
//! `load.rs` drives our registry, `peer.rs` a peer registry (Verdaccio, from
//! `bench/verdaccio.sh`).
//!
//! - the data set's shape: 10,000 plugins × 10 versions, their ids, descriptions and keywords,
//!   and the incompressible payloads;
//! - the drivers and the reporting, from `plexica_testkit::load` (the JSON lines it writes are
//!   read by `bench/verdaccio.sh` to print both registries side by side).

pub use plexica_testkit::load::*;

/// Plugins (packages) in the seeded data set.
pub const PLUGINS: usize = 10_000;
/// Versions per seeded plugin.
pub const VERSIONS: usize = 10;
/// The words ids, names, descriptions and keywords are made of; search queries are these words.
pub const WORDS: &[&str] = &[
    "crm", "sales", "billing", "invoice", "report", "chart", "mail", "chat", "task", "note",
    "calendar", "storage", "backup", "audit", "search", "export", "import", "sync", "form", "hr",
];

/// The id of seeded plugin `p` (a valid plugin id and a valid npm package name).
pub fn plugin_id(p: usize) -> String {
    format!(
        "{}-{}-{p}",
        WORDS[p % WORDS.len()],
        WORDS[(p / 7) % WORDS.len()]
    )
}

/// The description of seeded plugin `p`.
pub fn plugin_description(p: usize) -> String {
    format!(
        "A plugin about {} and {}",
        WORDS[(p / 5) % WORDS.len()],
        WORDS[(p / 13) % WORDS.len()]
    )
}

/// The two keywords of seeded plugin `p`.
pub fn plugin_keywords(p: usize) -> [&'static str; 2] {
    [WORDS[(p / 3) % WORDS.len()], WORDS[(p / 11) % WORDS.len()]]
}

/// The seeded plugin that request `i` of a metadata scenario asks for: a stride that visits the
/// whole data set instead of a hot subset.
pub fn spread(i: usize) -> usize {
    (i * 7919) % PLUGINS
}

/// The search query of request `i` of a search scenario.
pub fn query(i: usize) -> &'static str {
    WORDS[i % WORDS.len()]
}

/// Incompressible bytes (packages are mostly compressed assets).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
