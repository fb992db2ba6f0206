//! `plexica plugin sign FILE.pxp [--key NAME|PATH]`: adds `SIGNATURE` over `CHECKSUMS`.

use std::path::PathBuf;

use clap::Args;

use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::ops::package_pipeline::{SignOptions, sign_file};
use crate::output::Ui;

/// Arguments of `plugin sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The package to sign, in place.
    pub file: PathBuf,
    /// Key name in the configuration directory, or path to a secret key file
    /// [default: the profile's default-key, else the key called `default`, else the only key]
    #[arg(long)]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::keys))]
    pub key: Option<String>,
}

/// Signs the package in place.
pub fn run(args: SignArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let options = SignOptions {
        file: args.file,
        key: args.key,
    };
    let result = sign_file(&options, &global.selection(), ui)?;
    // The status line says what happened; stdout is the file, for scripts.
    ui.result(&result, || result.file.clone());
    Ok(())
}
