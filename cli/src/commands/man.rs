//! `plexica man [--out DIR]`: writes the manual pages, one per command (`plexica.1`,
//! `plexica-plugin-new.1`, …), generated from the same definitions as `--help`.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::error::{CliError, CliResult, IoContext};
use crate::output::Ui;

/// Arguments of `plexica man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write the pages to (created if missing).
    #[arg(long, default_value = "man", value_name = "DIR")]
    pub out: PathBuf,
}

/// The JSON result of `plexica man`.
#[derive(Debug, Serialize)]
struct Written {
    dir: String,
    pages: Vec<String>,
}

/// Writes every page of `grammar` (the whole command line, `cli::command`) to `--out`.
pub fn run(args: &ManArgs, grammar: clap::Command, ui: &Ui) -> CliResult {
    std::fs::create_dir_all(&args.out).context("create", &args.out)?;
    clap_mangen::generate_to(grammar, &args.out).map_err(|e| {
        CliError::failed(format!(
            "cannot write the manual pages to {}: {e}",
            args.out.display()
        ))
    })?;
    let mut pages: Vec<String> = std::fs::read_dir(&args.out)
        .context("read", &args.out)?
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.starts_with("plexica") && name.ends_with(".1"))
        .collect();
    pages.sort();
    let written = Written {
        dir: args.out.display().to_string(),
        pages,
    };
    ui.status(
        "Wrote",
        format!("{} manual pages to {}", written.pages.len(), written.dir),
    );
    ui.result(&written, || {
        format!(
            "read them with `man -l {}/plexica.1`, or add {} to MANPATH",
            written.dir, written.dir
        )
    });
    Ok(())
}
