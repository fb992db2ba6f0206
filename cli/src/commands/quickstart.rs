//! `plexica quickstart [--data-dir DIR]`: the whole journey, end to end, on the embedded
//! default. Today that is the authoring half: scaffold, validate, build, package, sign, verify.
//! Each step is the real subcommand, run in order.

use std::path::PathBuf;

use clap::Args;

use super::keys::{self, KeysCommand};
use super::plugin::{self, PluginCommand, build, new, package, sign, validate, verify};
use crate::cli::GlobalArgs;
use crate::config::ConfigDir;
use crate::error::CliResult;
use crate::keystore::KeyStore;
use crate::output::Ui;
use crate::templates::Template;

/// The key quickstart signs with (created when missing).
const QUICKSTART_KEY: &str = "quickstart";
/// The plugin quickstart creates.
const QUICKSTART_PLUGIN: &str = "hello";

/// Arguments of `plexica quickstart`.
#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Directory that receives the sample plugin.
    #[arg(long, default_value = "plexica-quickstart")]
    pub data_dir: PathBuf,
}

/// Runs every step; stops at the first failure.
pub fn run(args: QuickstartArgs, global: &GlobalArgs, outer: &Ui) -> CliResult {
    let steps = outer.for_steps();
    let ui = &steps;
    let dir = args.data_dir.join(QUICKSTART_PLUGIN);
    let pxp = args.data_dir.join(format!("{QUICKSTART_PLUGIN}-0.1.0.pxp"));
    plugin::run(
        PluginCommand::New(new::NewArgs {
            name: Some(QUICKSTART_PLUGIN.to_owned()),
            template: Some(Template::Frontend),
            set: Vec::new(),
            dir: Some(dir.clone()),
            sdk_path: None,
            force: true,
        }),
        global,
        ui,
    )?;
    plugin::run(
        PluginCommand::Validate(validate::ValidateArgs {
            path: Some(dir.clone()),
            deny_warnings: false,
        }),
        global,
        ui,
    )?;
    plugin::run(
        PluginCommand::Build(build::BuildArgs {
            path: Some(dir.clone()),
            release: false,
            skip_frontend: false,
            skip_backend: false,
            no_check: false,
        }),
        global,
        ui,
    )?;
    plugin::run(
        PluginCommand::Package(package::PackageArgs {
            path: Some(dir.clone()),
            list: false,
            out: Some(pxp.clone()),
            allow_secrets: false,
        }),
        global,
        ui,
    )?;
    let store = KeyStore::new(&ConfigDir::locate()?);
    if store.public(QUICKSTART_KEY).is_err() {
        keys::run(
            KeysCommand::Generate {
                name: QUICKSTART_KEY.to_owned(),
            },
            global,
            ui,
        )?;
    }
    plugin::run(
        PluginCommand::Sign(sign::SignArgs {
            file: pxp.clone(),
            key: Some(QUICKSTART_KEY.to_owned()),
        }),
        global,
        ui,
    )?;
    plugin::run(
        PluginCommand::Verify(verify::VerifyArgs {
            file: pxp.clone(),
            keys: vec![QUICKSTART_KEY.to_owned()],
        }),
        global,
        ui,
    )?;
    let summary = Summary {
        plugin_dir: dir.display().to_string(),
        package: pxp.display().to_string(),
        key: QUICKSTART_KEY,
        verified: true,
    };
    outer.result(&summary, || {
        format!(
            "quickstart complete: {} is packaged, signed and verified",
            summary.package
        )
    });
    Ok(())
}

/// The JSON result of `plexica quickstart`.
#[derive(Debug, serde::Serialize)]
struct Summary {
    plugin_dir: String,
    package: String,
    key: &'static str,
    verified: bool,
}
