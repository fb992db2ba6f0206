//! The CLI's shape (ARCHITECTURE.md, `cli/`), checked on its source:
//!
//! - a command never imports another command: a module under `commands/` imports, of
//!   `commands/`, only its own subcommands (to dispatch to them) and the items of the groups it
//!   belongs to (`commands::core_client`, `workspace`'s `TenantArg`); what two commands share
//!   lives in `ops/`;
//! - `ops/` and the modules below it know no command, no grammar (`cli`, `global`) and no
//!   clap;
//! - no import cycle between modules (a subcommand naming its group's items aside).
//!
//! The graph is read by [`ModuleGraph`] (testkit), from the text of `src/`.

use std::path::Path;

use plexica_testkit::layers::{ModuleGraph, within};

/// The grammar and the commands: what the modules below them may not import.
const ABOVE_OPS: &[&str] = &["cli", "global", "commands", "examples", "complete"];

/// Modules that may name clap: the grammar, the commands, and the value enums a flag takes.
const CLAP_ALLOWED: &[&str] = &[
    "crate",
    "cli",
    "global",
    "commands",
    "examples",
    "complete",
    // `OutputFormat` and `ColorChoice` (`-o`, `--color`) and `Template` (`--template`) are
    // `clap::ValueEnum`s.
    "output",
    "templates",
];

/// What names clap: the crate and its companions.
const CLAP: &[&str] = &["clap", "clap_complete", "clap_mangen"];

fn graph() -> ModuleGraph {
    ModuleGraph::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")).expect("the sources")
}

#[test]
fn the_graph_of_this_crate_is_read() {
    let graph = graph();
    let dispatcher = &graph.imports["commands::plugin"];
    assert!(
        dispatcher.contains("commands::plugin::build"),
        "{dispatcher:?}"
    );
    assert!(graph.naming(CLAP).contains("commands::plugin::build"));
}

#[test]
fn no_command_imports_another() {
    let graph = graph();
    let mut broken = Vec::new();
    for (module, imports) in &graph.imports {
        if !within(module, "commands") {
            continue;
        }
        for target in imports {
            // Its own subcommands (dispatch); its groups' items never reach `imports`.
            if within(target, "commands") && !within(target, module) {
                broken.push(format!("{module} imports {target}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "commands that import other commands (move what they share to ops/):\n{}",
        broken.join("\n")
    );
}

#[test]
fn nothing_below_the_commands_knows_them_or_clap() {
    let graph = graph();
    let mut broken = Vec::new();
    for (module, imports) in &graph.imports {
        if module == "crate" || ABOVE_OPS.iter().any(|a| within(module, a)) {
            continue;
        }
        for target in imports {
            if ABOVE_OPS.iter().any(|a| within(target, a)) {
                broken.push(format!("{module} imports {target}"));
            }
        }
    }
    for module in &graph.naming(CLAP) {
        if !CLAP_ALLOWED.iter().any(|a| within(module, a)) {
            broken.push(format!("{module} names clap"));
        }
    }
    assert!(
        broken.is_empty(),
        "modules below the commands that reach up (pass them plain values instead):\n{}",
        broken.join("\n")
    );
}

#[test]
fn no_import_cycle_between_modules() {
    let graph = graph();
    let found = graph.cycles();
    assert!(
        found.is_empty(),
        "modules that import each other (break the cycle; see ARCHITECTURE.md, `cli/`): {found:#?}"
    );
}
