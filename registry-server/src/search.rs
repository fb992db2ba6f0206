//! Plugin search (registry.md, "Search"): an in-memory index of every plugin, kept current by
//! the writes of this process and refreshed from the database periodically, so that replicas
//! converge on each other's writes within the refresh interval.
//!
//! Ranking: exact id > id prefix > name > keywords > description, each matched
//! case-insensitively by substring (which includes word prefixes); ties by downloads, then id.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use plexica_sdk::api::registry::SearchSort;

use crate::storage::{MetadataStore, PluginRecord, StorageResult};

/// A search request, validated.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// Lower-cased query; empty lists everything.
    pub text: String,
    /// Category filter.
    pub category: Option<String>,
    /// Keyword filter (exact keyword).
    pub keyword: Option<String>,
    /// Sort order.
    pub sort: SearchSort,
    /// Hits to skip.
    pub offset: usize,
    /// Hits to return.
    pub limit: usize,
}

#[derive(Debug, Clone)]
struct Entry {
    plugin: PluginRecord,
    name: String,
    keywords: String,
    description: String,
}

impl Entry {
    fn new(plugin: PluginRecord) -> Self {
        Self {
            name: plugin.name.to_lowercase(),
            keywords: plugin.keywords.join(" ").to_lowercase(),
            description: plugin.description.to_lowercase(),
            plugin,
        }
    }

    /// Rank of a match (lower is better), or `None` when it does not match: the whole text's
    /// rank when it matches as one phrase, else, when every word matches, the worst word's.
    fn rank(&self, query: &Matcher<'_>) -> Option<u8> {
        let rank = query.phrase.rank(self);
        if rank.is_some() || query.words.len() < 2 {
            return rank;
        }
        query
            .words
            .iter()
            .try_fold(0, |worst, word| Some(worst.max(word.rank(self)?)))
    }
}

/// A query's text and words, each with a substring finder built once per search (SIMD
/// `memmem`), since one search scans every plugin.
struct Matcher<'q> {
    phrase: Needle<'q>,
    words: Vec<Needle<'q>>,
}

impl<'q> Matcher<'q> {
    fn new(text: &'q str) -> Self {
        let words = if text.contains(char::is_whitespace) {
            text.split_whitespace().map(Needle::new).collect()
        } else {
            Vec::new()
        };
        Self {
            phrase: Needle::new(text),
            words,
        }
    }
}

struct Needle<'q> {
    text: &'q str,
    finder: memchr::memmem::Finder<'q>,
}

impl<'q> Needle<'q> {
    fn new(text: &'q str) -> Self {
        Self {
            text,
            finder: memchr::memmem::Finder::new(text.as_bytes()),
        }
    }

    fn found_in(&self, haystack: &str) -> bool {
        self.finder.find(haystack.as_bytes()).is_some()
    }

    /// exact id > id prefix > id or name > keywords > description.
    fn rank(&self, entry: &Entry) -> Option<u8> {
        let id = entry.plugin.id.as_str();
        if self.text.is_empty() || id == self.text {
            Some(0)
        } else if id.starts_with(self.text) {
            Some(1)
        } else if self.found_in(id) || self.found_in(&entry.name) {
            Some(2)
        } else if self.found_in(&entry.keywords) {
            Some(3)
        } else if self.found_in(&entry.description) {
            Some(4)
        } else {
            None
        }
    }
}

/// The index. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    entries: Arc<RwLock<BTreeMap<String, Entry>>>,
}

impl SearchIndex {
    /// Reloads every plugin from `store`.
    pub async fn refresh(&self, store: &dyn MetadataStore) -> StorageResult<()> {
        let fresh: BTreeMap<String, Entry> = store
            .all_plugins()
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), Entry::new(p)))
            .collect();
        if let Ok(mut entries) = self.entries.write() {
            *entries = fresh;
        }
        Ok(())
    }

    /// Reloads every plugin from `store` every `interval`, so that this replica sees the
    /// writes of the others (and their download counts); runs until dropped. A failed reload
    /// is logged and tried again at the next tick.
    pub async fn keep_fresh(&self, store: Arc<dyn MetadataStore>, interval: Duration) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            if let Err(e) = self.refresh(store.as_ref()).await {
                tracing::warn!(error = %e, "search index reload failed");
            }
        }
    }

    /// Reloads one plugin after a write.
    pub async fn refresh_one(&self, store: &dyn MetadataStore, id: &str) -> StorageResult<()> {
        let plugin = store.plugin(id).await?;
        if let Ok(mut entries) = self.entries.write() {
            match plugin {
                Some(p) => {
                    entries.insert(p.id.clone(), Entry::new(p));
                }
                None => {
                    entries.remove(id);
                }
            }
        }
        Ok(())
    }

    /// One page of hits and the total number of hits.
    pub fn search(&self, query: &SearchQuery) -> (Vec<PluginRecord>, usize) {
        let Ok(entries) = self.entries.read() else {
            return (Vec::new(), 0);
        };
        let matcher = Matcher::new(&query.text);
        let mut hits: Vec<(u8, &Entry)> = entries
            .values()
            .filter(|e| {
                query
                    .category
                    .as_ref()
                    .is_none_or(|c| e.plugin.categories.contains(c))
                    && query
                        .keyword
                        .as_ref()
                        .is_none_or(|k| e.plugin.keywords.contains(k))
            })
            .filter_map(|e| e.rank(&matcher).map(|rank| (rank, e)))
            .collect();
        let total = hits.len();
        match query.sort {
            SearchSort::Relevance => hits.sort_by(|(ra, a), (rb, b)| {
                ra.cmp(rb)
                    .then(b.plugin.downloads.cmp(&a.plugin.downloads))
                    .then_with(|| a.plugin.id.cmp(&b.plugin.id))
            }),
            SearchSort::Downloads => hits.sort_by(|(_, a), (_, b)| {
                b.plugin
                    .downloads
                    .cmp(&a.plugin.downloads)
                    .then_with(|| a.plugin.id.cmp(&b.plugin.id))
            }),
            SearchSort::Updated => hits.sort_by(|(_, a), (_, b)| {
                b.plugin
                    .updated_at
                    .cmp(&a.plugin.updated_at)
                    .then_with(|| a.plugin.id.cmp(&b.plugin.id))
            }),
            SearchSort::New => hits.sort_by(|(_, a), (_, b)| {
                b.plugin
                    .created_at
                    .cmp(&a.plugin.created_at)
                    .then_with(|| a.plugin.id.cmp(&b.plugin.id))
            }),
            SearchSort::Name => {}
        }
        let page = hits
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|(_, e)| e.plugin.clone())
            .collect();
        (page, total)
    }

    /// The plugin id or name closest to `text`, for a "did you mean" under a search that
    /// found little; `None` when nothing is close or `text` names a plugin exactly.
    pub fn suggest(&self, text: &str) -> Option<String> {
        let entries = self.entries.read().ok()?;
        if text.is_empty() || entries.contains_key(text) {
            return None;
        }
        let candidates = entries
            .values()
            .flat_map(|e| [e.plugin.id.as_str(), e.name.as_str()]);
        plexica_sdk::diagnostic::closest(text, candidates).map(str::to_owned)
    }

    /// The plugins of `ids` that the index holds.
    pub fn records<'i>(
        &self,
        ids: impl IntoIterator<Item = &'i str>,
    ) -> std::collections::HashMap<String, PluginRecord> {
        let Ok(entries) = self.entries.read() else {
            return Default::default();
        };
        ids.into_iter()
            .filter_map(|id| entries.get(id))
            .map(|e| (e.plugin.id.clone(), e.plugin.clone()))
            .collect()
    }

    /// Every plugin id with its last update (Unix ms), by id.
    pub fn ids_and_updates(&self) -> Vec<(String, i64)> {
        self.entries.read().map_or_else(
            |_| Vec::new(),
            |entries| {
                entries
                    .values()
                    .map(|e| (e.plugin.id.clone(), e.plugin.updated_at))
                    .collect()
            },
        )
    }
}
