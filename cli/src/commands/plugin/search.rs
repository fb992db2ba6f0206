//! `plexica plugin search QUERY [--category C] [--limit N] [--page N] [--sort …]`.

use clap::{Args, ValueEnum};
use plexica_sdk::api::registry::SearchSort;

use crate::client::registry::SearchQuery;
use crate::commands::{Access, registry_client};
use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::output::Ui;

/// Longest description shown in the table.
const DESCRIPTION_WIDTH: usize = 60;

/// Arguments of `plugin search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to find in ids, names, keywords and descriptions.
    pub query: String,
    /// Only plugins in this category.
    #[arg(long)]
    pub category: Option<String>,
    /// Results per page [default: the registry's]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Page number, from 1.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub page: Option<u32>,
    /// Order of the results.
    #[arg(long, value_enum, default_value_t = Sort::Relevance)]
    pub sort: Sort,
}

/// Sort orders of `--sort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sort {
    /// Exact id, id prefix, name, keywords, description.
    Relevance,
    /// Most downloaded first.
    Downloads,
    /// Most recently published first.
    Updated,
    /// By id.
    Name,
    /// Newest plugins first.
    New,
}

impl From<Sort> for SearchSort {
    fn from(sort: Sort) -> Self {
        match sort {
            Sort::Relevance => Self::Relevance,
            Sort::Downloads => Self::Downloads,
            Sort::Updated => Self::Updated,
            Sort::Name => Self::Name,
            Sort::New => Self::New,
        }
    }
}

/// Searches the registry; prints a table, or the registry's `SearchResults`.
pub fn run(args: SearchArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let client = registry_client(global, None, Access::Public, ui)?;
    let results = client.search(&SearchQuery {
        q: args.query,
        category: args.category,
        sort: args.sort.into(),
        page: args.page,
        per_page: args.limit,
    })?;
    ui.result(&results, || {
        if results.plugins.is_empty() {
            return format!("no plugins found ({} in all)", results.total);
        }
        let id_width = results
            .plugins
            .iter()
            .map(|p| p.id.len())
            .max()
            .unwrap_or(0)
            .max(2);
        let mut out = format!(
            "{:<id_width$}  {:<12} {:>10}  {}\n",
            "ID", "LATEST", "DOWNLOADS", "DESCRIPTION"
        );
        for p in &results.plugins {
            let mut description = truncate(&p.description, DESCRIPTION_WIDTH);
            if p.deprecated {
                description = format!("(deprecated) {description}");
            }
            out.push_str(&format!(
                "{:<id_width$}  {:<12} {:>10}  {description}\n",
                p.id,
                p.latest.as_deref().unwrap_or("-"),
                p.downloads,
            ));
        }
        let first = u64::from(results.page.saturating_sub(1)) * u64::from(results.per_page) + 1;
        let last = first + results.plugins.len() as u64 - 1;
        out.push_str(&format!(
            "{first}-{last} of {} (page {})",
            results.total, results.page
        ));
        if last < results.total {
            out.push_str(&format!("; next: --page {}", results.page + 1));
        }
        out
    });
    Ok(())
}

/// `text` on one line, cut to `width` characters with `…`.
fn truncate(text: &str, width: usize) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= width {
        return line;
    }
    let mut cut: String = line.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn descriptions_are_cut_on_one_line() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("a\nb  c", 10), "a b c");
        assert_eq!(truncate("abcdefghijkl", 5), "abcd…");
    }
}
