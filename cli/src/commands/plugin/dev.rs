//! `plexica plugin dev [PATH]`: the inner loop. Starts the platform in this process in
//! development mode (data in `PATH/.plexica-dev`; or uses the one at `--api-url`, which must
//! run `plexica up --dev`), makes a `dev` tenant and workspace, builds the plugin (debug),
//! installs it unsigned from the working directory and activates it; then, on each change of
//! its files, rebuilds and reinstalls it (a frontend-only change just rebuilds the frontend,
//! which is served from the working directory). A failed build leaves the last good version
//! running. One stream of lines shows the backend's log, the events it receives and emits,
//! the gateway's calls to it and each reload's timings. Ctrl-C stops everything.

use std::path::PathBuf;

use clap::Args;

use crate::dev::session::{self, DevOptions};
use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::output::Ui;

/// Arguments of `plugin dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Plugin directory or its plexica.toml [default: .]
    pub path: Option<PathBuf>,
    /// Build the release profile instead of debug.
    #[arg(long)]
    pub release: bool,
    /// The tenant the plugin is installed in (created when missing).
    #[arg(long, default_value = "dev")]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::tenants))]
    pub tenant: String,
    /// The workspace made in that tenant (created when missing).
    #[arg(long, default_value = "dev")]
    pub workspace: String,
    /// Where the platform keeps its data [default: PATH/.plexica-dev]; unused with --api-url.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Port of the core API (0: any free port); unused with --api-url.
    #[arg(long, default_value_t = 0)]
    pub port_api: u16,
    /// Port the built frontend is served on (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port_ui: u16,
    /// Start the backend even where the kernel cannot sandbox it (Landlock ABI 6 or later is
    /// needed); unused with --api-url.
    #[arg(long)]
    pub allow_unsandboxed_plugins: bool,
}

/// Runs the loop until Ctrl-C.
pub fn run(args: DevArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let options = DevOptions {
        path: args.path,
        release: args.release,
        tenant: args.tenant,
        workspace: args.workspace,
        data_dir: args.data_dir,
        port_api: args.port_api,
        port_ui: args.port_ui,
        allow_unsandboxed_plugins: args.allow_unsandboxed_plugins,
    };
    session::run(&options, &global.selection(), ui)
}
