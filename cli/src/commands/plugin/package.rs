//! `plexica plugin package [PATH] [--list] [--out FILE] [--allow-secrets]`: the reproducible
//! `.pxp` archive.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::error::CliResult;
use crate::ops::manifest::plugin_dir;
use crate::ops::package_pipeline::{self, PackageOptions};
use crate::output::{Ui, human_size};

/// Arguments of `plugin package`.
#[derive(Debug, Args)]
pub struct PackageArgs {
    /// Plugin directory or its plexica.toml [default: .]
    pub path: Option<PathBuf>,
    /// Print what would go into the package, with sizes, and write nothing.
    #[arg(long)]
    pub list: bool,
    /// Where to write the package [default: PATH/target/plexica/<id>-<version>.pxp]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Package secret files (.env*, *.pem, *.key, id_rsa*, credentials) instead of refusing.
    #[arg(long)]
    pub allow_secrets: bool,
}

/// One line of `--list`.
#[derive(Debug, Serialize)]
struct ListedFile {
    path: String,
    size: u64,
}

/// Packages (or lists) the plugin.
pub fn run(args: PackageArgs, ui: &Ui) -> CliResult {
    let dir = plugin_dir(args.path);
    if args.list {
        let listed: Vec<ListedFile> = package_pipeline::files(&dir, args.allow_secrets, ui)?
            .iter()
            .map(|f| ListedFile {
                path: f.path.clone(),
                size: f.size,
            })
            .collect();
        ui.result(&listed, || {
            let total: u64 = listed.iter().map(|f| f.size).sum();
            let mut out: String = listed
                .iter()
                .map(|f| format!("{:>10}  {}\n", human_size(f.size), f.path))
                .collect();
            out.push_str(&format!("{} files, {}", listed.len(), human_size(total)));
            out
        });
        return Ok(());
    }
    let result = package_pipeline::package(
        &PackageOptions {
            dir,
            out: args.out,
            allow_secrets: args.allow_secrets,
        },
        ui,
    )?;
    ui.result(&result, || {
        format!("{}\nsha256 {}", result.file, result.digest)
    });
    Ok(())
}
