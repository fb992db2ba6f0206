//! `plexica plugin …`: the authoring journey, and the plugin's life on the registry.

pub mod build;
pub mod deprecate;
#[cfg(feature = "platform")]
pub mod dev;
pub mod download;
pub mod info;
pub mod new;
pub mod owner;
pub mod package;
pub mod publish;
pub mod sdk;
pub mod search;
pub mod sign;
#[cfg(feature = "platform")]
pub mod test;
pub mod validate;
pub mod verify;
pub mod yank;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use plexica_sdk::manifest::{self, Checked, DirFiles, MANIFEST_FILE, Manifest, is_valid_plugin_id};

use crate::cli::GlobalArgs;
use crate::error::{CliError, CliResult, ExitKind, IoContext};
use crate::output::Ui;
use crate::render;

/// Plugin subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Create a plugin from a template.
    New(new::NewArgs),
    /// Check plexica.toml (and its migrations); report every problem at once.
    Validate(validate::ValidateArgs),
    /// Run the plugin's backend and frontend build commands.
    Build(build::BuildArgs),
    /// Run the plugin on a local platform in development mode, rebuilt and reinstalled on
    /// every change, its logs, events and gateway calls in one stream.
    #[cfg(feature = "platform")]
    Dev(dev::DevArgs),
    /// Run the plugin's own tests with a platform of their own: the plugin installed in a
    /// tenant, URL and tokens in the environment (plexica_sdk::testing::platform).
    #[cfg(feature = "platform")]
    Test(test::TestArgs),
    /// Write the reproducible .pxp archive.
    Package(package::PackageArgs),
    /// Sign a .pxp with one of your keys.
    Sign(sign::SignArgs),
    /// Check a .pxp's checksums and signature, file by file.
    Verify(verify::VerifyArgs),
    /// Package, sign and upload a plugin (or upload a .pxp as is) to the registry.
    Publish(publish::PublishArgs),
    /// Search the registry.
    Search(search::SearchArgs),
    /// Show a plugin, or one of its versions, from the registry.
    Info(info::InfoArgs),
    /// Download a package; it is written only once its digest and signature check out.
    Download(download::DownloadArgs),
    /// Withdraw a published version (or restore it with --undo).
    Yank(yank::YankArgs),
    /// Mark a plugin deprecated (or lift it with --undo).
    Deprecate(deprecate::DeprecateArgs),
    /// List, add or remove a plugin's co-owners.
    #[command(subcommand)]
    Owner(owner::OwnerCommand),
    /// Manage the copy of plexica-sdk a Rust plugin builds against.
    #[command(subcommand)]
    Sdk(sdk::SdkCommand),
}

/// Runs a `plugin` subcommand.
pub fn run(command: PluginCommand, global: &GlobalArgs, ui: &Ui) -> CliResult {
    match command {
        PluginCommand::New(args) => new::run(args, ui),
        PluginCommand::Validate(args) => validate::run(args, ui),
        PluginCommand::Build(args) => build::run(args, ui),
        #[cfg(feature = "platform")]
        PluginCommand::Dev(args) => dev::run(args, global, ui),
        #[cfg(feature = "platform")]
        PluginCommand::Test(args) => test::run(args, ui),
        PluginCommand::Package(args) => package::run(args, ui),
        PluginCommand::Sign(args) => sign::run(args, global, ui),
        PluginCommand::Verify(args) => verify::run(args, ui),
        PluginCommand::Publish(args) => publish::run(args, global, ui),
        PluginCommand::Search(args) => search::run(args, global, ui),
        PluginCommand::Info(args) => info::run(args, global, ui),
        PluginCommand::Download(args) => download::run(args, global, ui),
        PluginCommand::Yank(args) => yank::run(args, global, ui),
        PluginCommand::Deprecate(args) => deprecate::run(args, global, ui),
        PluginCommand::Owner(command) => owner::run(command, global, ui),
        PluginCommand::Sdk(command) => sdk::run(command, ui),
    }
}

/// Parses `ID[@VERSION]`.
pub fn parse_spec(spec: &str) -> CliResult<(String, Option<String>)> {
    let (id, version) = match spec.split_once('@') {
        Some((id, version)) => (id, Some(version)),
        None => (spec, None),
    };
    if !is_valid_plugin_id(id) {
        return Err(
            CliError::usage(format!("`{id}` is not a valid plugin id")).with_help(
                "use 2-63 lowercase letters, digits and single `-`, starting with a letter",
            ),
        );
    }
    if version.is_some_and(str::is_empty) {
        return Err(CliError::usage(format!("`{spec}` has an empty version"))
            .with_help("write ID@VERSION, e.g. crm@1.2.0"));
    }
    Ok((id.to_owned(), version.map(str::to_owned)))
}

/// Parses a plugin id without a version.
pub fn parse_id(text: &str) -> CliResult<String> {
    match parse_spec(text)? {
        (id, None) => Ok(id),
        (id, Some(_)) => Err(CliError::usage(format!(
            "`{text}` names a version, but this takes a whole plugin"
        ))
        .with_help(format!("pass `{id}`"))),
    }
}

/// Parses `ID@VERSION` (the version is required).
pub fn parse_versioned(spec: &str) -> CliResult<(String, String)> {
    match parse_spec(spec)? {
        (id, Some(version)) => Ok((id, version)),
        (id, None) => Err(CliError::usage(format!("`{spec}` names no version"))
            .with_help(format!("write {id}@VERSION, e.g. {id}@1.2.0"))),
    }
}

/// The plugin directory named by an optional `PATH` argument (a directory or its
/// `plexica.toml`); the current directory by default.
pub fn plugin_dir(path: Option<PathBuf>) -> PathBuf {
    let path = path.unwrap_or_else(|| PathBuf::from("."));
    if path.file_name().is_some_and(|n| n == MANIFEST_FILE) {
        path.parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    } else {
        path
    }
}

/// Reads and checks the manifest of the plugin in `dir`.
pub fn check_manifest(dir: &Path) -> CliResult<(String, Checked)> {
    let file = dir.join(MANIFEST_FILE);
    if !file.is_file() {
        return Err(CliError::new(
            ExitKind::NotFound,
            format!("no {MANIFEST_FILE} in {}", dir.display()),
        )
        .with_help("run this inside a plugin directory, pass its path, or create one with `plexica plugin new`"));
    }
    let text = std::fs::read_to_string(&file).context("read", &file)?;
    let checked = manifest::check(&text, MANIFEST_FILE, Some(&DirFiles(dir.to_path_buf())));
    Ok((text, checked))
}

/// Prints diagnostics of the manifest in `dir` to stderr.
pub fn print_diagnostics(checked: &Checked, text: String, dir: &Path, ui: &Ui) {
    let sources = BTreeMap::from([(MANIFEST_FILE.to_owned(), text)]);
    render::print(&checked.diagnostics, &sources, dir, ui.color());
}

/// The valid manifest of the plugin in `dir`; on errors, prints them and fails with exit 1.
pub fn load_manifest(dir: &Path, ui: &Ui) -> CliResult<Manifest> {
    let (text, checked) = check_manifest(dir)?;
    match checked.manifest.clone() {
        Some(manifest) => Ok(manifest),
        None => {
            print_diagnostics(&checked, text, dir, ui);
            Err(CliError::new(
                ExitKind::Failed,
                format!("{MANIFEST_FILE} has {} error(s)", checked.error_count()),
            ))
        }
    }
}
