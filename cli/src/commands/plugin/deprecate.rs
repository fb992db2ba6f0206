//! `plexica plugin deprecate ID --message TEXT [--successor ID] [--undo]`.

use clap::Args;
use plexica_sdk::api::registry::Deprecation;
use serde::Serialize;

use crate::commands::{Access, registry_client};
use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::ops::spec::parse_id;
use crate::output::Ui;

/// Arguments of `plugin deprecate`.
#[derive(Debug, Args)]
pub struct DeprecateArgs {
    /// Plugin id.
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::plugins))]
    pub id: String,
    /// Why, and what to do instead.
    #[arg(long, required_unless_present = "undo")]
    pub message: Option<String>,
    /// The plugin to use instead.
    #[arg(long, conflicts_with = "undo")]
    pub successor: Option<String>,
    /// Lift the deprecation.
    #[arg(long, conflicts_with = "message")]
    pub undo: bool,
}

/// The JSON result of `plugin deprecate`.
#[derive(Debug, Serialize)]
struct Deprecated {
    id: String,
    deprecation: Option<Deprecation>,
}

/// Deprecates the plugin, or lifts its deprecation.
pub fn run(args: DeprecateArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let id = parse_id(&args.id)?;
    if let Some(successor) = &args.successor {
        parse_id(successor)?;
    }
    let client = registry_client(global, None, Access::Token, ui)?;
    let detail = match args.message {
        Some(message) if !args.undo => client.deprecate(
            &id,
            &Deprecation {
                message,
                successor: args.successor,
            },
        )?,
        _ => client.undeprecate(&id)?,
    };
    let result = Deprecated {
        id: detail.id,
        deprecation: detail.deprecation,
    };
    ui.result(&result, || match &result.deprecation {
        Some(d) => {
            let successor = d
                .successor
                .as_ref()
                .map(|s| format!(" (successor: {s})"))
                .unwrap_or_default();
            format!("{} is deprecated: {}{successor}", result.id, d.message)
        }
        None => format!("{} is no longer deprecated", result.id),
    });
    Ok(())
}
