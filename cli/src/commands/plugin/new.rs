//! `plexica plugin new [NAME] [--template T] [--set KEY=VALUE]… [--dir DIR] [--sdk-path PATH]
//! [--force]`: scaffolds a plugin that validates, builds and packages without edits, anywhere:
//! a Rust plugin gets the SDK this CLI carries and its lock file (`ops::scaffold`).

use std::path::PathBuf;

use clap::Args;

use crate::error::CliResult;
use crate::ops::scaffold::{NewOptions, scaffold};
use crate::output::Ui;
use crate::templates::Template;

/// Arguments of `plugin new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Plugin id, e.g. `crm` (lowercase letters, digits and `-`).
    pub name: Option<String>,
    /// Template to start from.
    #[arg(long, value_enum)]
    pub template: Option<Template>,
    /// Answer a question up front: id, name, description, author or template. Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Directory to create [default: ./NAME]
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Build against the `sdk/` of a Plexica checkout instead of the SDK this CLI carries
    /// (for SDK development; the project then builds only where that path exists).
    #[arg(long, env = "PLEXICA_SDK_PATH")]
    pub sdk_path: Option<PathBuf>,
    /// Write into a non-empty directory, overwriting files the template provides.
    #[arg(long)]
    pub force: bool,
}

/// Scaffolds the plugin.
pub fn run(args: NewArgs, ui: &Ui) -> CliResult {
    let options = NewOptions {
        name: args.name,
        template: args.template,
        set: args.set,
        dir: args.dir,
        sdk_path: args.sdk_path,
        force: args.force,
    };
    let created = scaffold(&options, ui)?;
    let dir = &created.path;
    ui.result(&created, || match ui.quiet() {
        true => String::new(),
        false => format!(
            "next steps:\n  cd {}\n  plexica up                # a platform on this machine (another terminal)\n  plexica plugin dev        # build, install and reload on every save\n  plexica plugin test       # the plugin's tests against a platform of their own\nto publish:\n  plexica keys generate && plexica keys register default\n  plexica plugin publish    # builds, validates, packages, signs, uploads",
            dir,
        ),
    });
    Ok(())
}
