//! `plexica events dlq list|show|retry|delete`.

use clap::Subcommand;
use plexica_sdk::api::events::DeadLetter;
use serde::Serialize;

use crate::client::core::CoreClient;
use crate::error::{CliError, CliResult};
use crate::output::{Ui, table};

/// Dead letter subcommands.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters, newest first.
    #[command(visible_alias = "ls")]
    List {
        /// Only in this state: pending, retrying, resolved, discarded.
        #[arg(long)]
        state: Option<String>,
        /// Page, from 1.
        #[arg(long, default_value_t = 1)]
        page: u32,
        /// Dead letters per page (1–100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Show one dead letter with its event.
    Show {
        /// Dead letter id.
        id: String,
    },
    /// Deliver dead letters again, each to its own subscriber only.
    Retry {
        /// Dead letter id.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every pending dead letter (of `--type`, if given).
        #[arg(long)]
        all: bool,
        /// With `--all`: only events of this type or pattern (`core.workspace.*`).
        #[arg(long = "type", requires = "all")]
        event_type: Option<String>,
    },
    /// Discard a dead letter.
    #[command(visible_alias = "rm")]
    Delete {
        /// Dead letter id.
        id: String,
    },
}

fn rows<'a>(letters: impl IntoIterator<Item = &'a DeadLetter>) -> String {
    table(
        [
            "ID", "STATE", "TENANT", "PLUGIN", "TYPE", "ATTEMPTS", "FAILED", "ERROR",
        ],
        letters.into_iter().map(|d| {
            [
                d.id.clone(),
                d.state.clone(),
                d.tenant.clone(),
                d.plugin_id.clone(),
                d.event_type.clone(),
                d.attempts.to_string(),
                d.failed_at.clone(),
                d.error.chars().take(60).collect(),
            ]
        }),
    )
}

/// The JSON result of `events dlq delete`.
#[derive(Debug, Serialize)]
struct Discarded {
    id: String,
    discarded: bool,
}

/// Runs an `events dlq` subcommand.
pub fn run(command: DlqCommand, client: &CoreClient, ui: &Ui) -> CliResult {
    match command {
        DlqCommand::List { state, page, limit } => {
            let mut query = vec![("page", page.to_string()), ("per_page", limit.to_string())];
            if let Some(state) = state {
                query.push(("state", state.to_uppercase()));
            }
            let letters = client.dead_letters(&query)?;
            ui.result(&letters, || {
                if letters.data.is_empty() {
                    return "no dead letters".to_owned();
                }
                let mut out = rows(&letters.data);
                out.push_str(&format!("page {}, {} in all", letters.page, letters.total));
                out
            });
        }
        DlqCommand::Show { id } => {
            let letter = client.dead_letter(&id)?;
            ui.result(&letter, || {
                let event = letter
                    .event
                    .as_ref()
                    .and_then(|e| serde_json::to_string_pretty(e).ok())
                    .unwrap_or_default();
                format!(
                    "{}error: {}\nevent:\n{event}",
                    rows([&letter]),
                    letter.error
                )
            });
        }
        DlqCommand::Retry {
            id,
            all,
            event_type,
        } => {
            if all {
                let mut query = Vec::new();
                if let Some(t) = event_type {
                    query.push(("type", t));
                }
                let retried = client.retry_dead_letters(&query)?;
                ui.result(&retried, || {
                    format!("{} dead letter(s) queued again", retried.retried)
                });
            } else {
                let id = id.ok_or_else(|| CliError::usage("give a dead letter id, or --all"))?;
                let letter = client.retry_dead_letter(&id)?;
                ui.status(
                    "Queued",
                    format!("{} for {} again", letter.event_type, letter.plugin_id),
                );
                ui.result(&letter, || rows([&letter]));
            }
        }
        DlqCommand::Delete { id } => {
            client.discard_dead_letter(&id)?;
            let result = Discarded {
                id,
                discarded: true,
            };
            ui.result(&result, || format!("discarded {}", result.id));
        }
    }
    Ok(())
}
