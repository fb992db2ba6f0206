//! `plexica plugin build [PATH] [--debug] [--skip-frontend] [--skip-backend]`: runs the
//! manifest's build commands in the plugin directory for the release profile (what a package
//! ships) or the debug one, output streamed to stderr; then, for a
//! Rust backend written with `plexica-sdk`, starts the built binary in check-only mode so that
//! its handlers and hooks are checked against the manifest before anything is packaged.

use std::path::PathBuf;

use clap::Args;
use plexica_sdk::manifest::BuildProfile;

use crate::error::CliResult;
use crate::ops::build::{Parts, build_dir};
use crate::ops::manifest::plugin_dir;
use crate::output::Ui;

/// Arguments of `plugin build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Plugin directory or its plexica.toml [default: .]
    pub path: Option<PathBuf>,
    /// Build the debug profile (fast to build, what `plugin dev` runs) instead of the
    /// release one a package ships. Build commands read `PLEXICA_BUILD_PROFILE`
    /// (`debug`/`release`) and `PLEXICA_CARGO_PROFILE` (`dev`/`release`).
    #[arg(long, conflicts_with = "release")]
    pub debug: bool,
    /// Build the release profile (the default).
    #[arg(long)]
    pub release: bool,
    /// Do not run `frontend.build`.
    #[arg(long)]
    pub skip_frontend: bool,
    /// Do not run `backend.build`.
    #[arg(long)]
    pub skip_backend: bool,
    /// Do not start the built backend to check its handlers against the manifest (e.g. when
    /// it is built for another platform).
    #[arg(long)]
    pub no_check: bool,
}

/// Runs the build steps the manifest declares.
pub fn run(args: BuildArgs, ui: &Ui) -> CliResult {
    let dir = plugin_dir(args.path);
    let profile = if args.debug {
        BuildProfile::Debug
    } else {
        BuildProfile::Release
    };
    let parts = Parts {
        backend: !args.skip_backend,
        frontend: !args.skip_frontend,
        check: !args.no_check,
    };
    let result = build_dir(&dir, profile, parts, ui)?;
    ui.result(&result, || {
        if result.steps.is_empty() {
            "nothing to build: the manifest declares no build commands".to_owned()
        } else {
            result
                .steps
                .iter()
                .map(|s| format!("{:<9} {:>6.1}s  {}", s.part, s.seconds, s.command))
                .collect::<Vec<_>>()
                .join("\n")
        }
    });
    Ok(())
}
