//! `plexica plugin test [PATH] [-- ARGS…]`: runs the plugin's own tests (`cargo test` for a
//! Rust plugin, `node --test ui/test` for a frontend that has tests) with a real platform
//! available to them: started in this process on a fresh data directory, development mode,
//! the plugin built (debug), installed unsigned and active in tenant `test` with a workspace
//! `test`. Where and with what to reach it is in the environment
//! (`plexica_sdk::api::core::test_platform`; `plexica_sdk::testing::platform()` reads it).
//! The platform is stopped and its data removed afterwards.

use std::path::PathBuf;

use clap::Args;

use crate::error::{CliError, CliResult};
use crate::ops::plugin_test::{TestOptions, test};
use crate::output::Ui;

/// Arguments of `plugin test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Plugin directory or its plexica.toml [default: .]
    pub path: Option<PathBuf>,
    /// Start the backend even where the kernel cannot sandbox it.
    #[arg(long)]
    pub allow_unsandboxed_plugins: bool,
    /// Passed to `cargo test` (e.g. a test name, `--release`).
    #[arg(last = true)]
    pub cargo_args: Vec<String>,
}

/// Runs the plugin's tests against a platform of their own.
pub fn run(args: TestArgs, ui: &Ui) -> CliResult {
    let options = TestOptions {
        path: args.path,
        allow_unsandboxed_plugins: args.allow_unsandboxed_plugins,
        cargo_args: args.cargo_args,
    };
    let result = test(&options, ui)?;
    let failed: Vec<String> = result
        .suites
        .iter()
        .filter(|s| !s.passed)
        .map(|s| s.command.clone())
        .collect();
    if !failed.is_empty() {
        if ui.json() {
            ui.result(&result, String::new);
        }
        return Err(CliError::failed(format!(
            "the plugin's tests failed: {}",
            failed.join(", ")
        )));
    }
    ui.result(&result, || {
        format!(
            "{} {}: {} suite(s) passed against a platform of their own",
            result.id,
            result.version,
            result.suites.len()
        )
    });
    Ok(())
}
