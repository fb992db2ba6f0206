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

use clap::Subcommand;

use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::output::Ui;

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
