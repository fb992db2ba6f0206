//! `plexica plugin publish [PATH|FILE.pxp] [--registry NAME|URL] [--dry-run] [--key NAME]
//! [--allow-secrets] [--no-build]`: a directory is built (release, as `plugin build` does,
//! unless `--no-build`), validated, packaged and signed in memory; an artifact older than its
//! sources, or a `Cargo.toml` whose version is not the manifest's, is refused. A `.pxp` is
//! uploaded as is.

use std::path::PathBuf;

use clap::Args;

use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::ops::package_pipeline::{PublishOptions, publish};
use crate::output::Ui;

/// Arguments of `plugin publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Plugin directory, its plexica.toml, or a .pxp to upload as is [default: .]
    pub path: Option<PathBuf>,
    /// A registry named in config.toml (`[registries.NAME]`), or a URL
    /// [default: --registry-url, else the profile's registry-url]
    #[arg(long, value_name = "NAME|URL")]
    pub registry: Option<String>,
    /// Run every check on the registry and store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Key to sign a directory's package with: a name or a path
    /// [default: the profile's default-key, else `default`, else the only key]
    #[arg(long)]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::keys))]
    pub key: Option<String>,
    /// Package secret files (.env*, *.pem, *.key, id_rsa*, credentials) instead of refusing.
    #[arg(long)]
    pub allow_secrets: bool,
    /// Do not build a directory first: publish the artifact already built (refused when it
    /// is older than its sources).
    #[arg(long)]
    pub no_build: bool,
}

/// Publishes the plugin.
pub fn run(args: PublishArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let options = PublishOptions {
        path: args.path.unwrap_or_else(|| PathBuf::from(".")),
        registry: args.registry,
        dry_run: args.dry_run,
        key: args.key,
        allow_secrets: args.allow_secrets,
        no_build: args.no_build,
    };
    let published = publish(&options, &global.selection(), ui)?;
    ui.result(&published, || {
        let verb = if published.dry_run {
            "would publish"
        } else {
            "published"
        };
        format!(
            "{verb} {}@{}\nsha256 {}\n{}",
            published.id, published.version, published.digest, published.url
        )
    });
    Ok(())
}
