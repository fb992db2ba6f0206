//! `plexica plugin sdk update [PATH]`: moves a Rust plugin to the SDK this CLI carries.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Serialize;
use toml_edit::{DocumentMut, Item, Value};

use crate::error::{CliError, CliResult, ExitKind, IoContext};
use crate::ops::manifest::plugin_dir;
use crate::output::Ui;
use crate::sdk_copy::{self, IGNORE_LINE, MACROS_DIR, SDK_DIR, VENDOR_DIR, VERSION};
use crate::templates;

/// `plugin sdk` subcommands.
#[derive(Debug, Subcommand)]
pub enum SdkCommand {
    /// Replace the project's copy of the SDK (`vendor/`) with the one this `plexica` carries,
    /// and pin `plexica-sdk` in Cargo.toml to its version.
    Update(UpdateArgs),
}

/// Arguments of `plugin sdk update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Plugin directory or its plexica.toml [default: .]
    pub path: Option<PathBuf>,
}

/// The JSON result of `plugin sdk update`.
#[derive(Debug, Serialize)]
struct Updated {
    path: String,
    /// The `plexica-sdk` requirement before (`null` when the crate did not depend on it).
    from: Option<String>,
    /// The requirement now.
    to: String,
    files: usize,
}

/// Runs a `plugin sdk` subcommand.
pub fn run(command: SdkCommand, ui: &Ui) -> CliResult {
    match command {
        SdkCommand::Update(args) => update(args, ui),
    }
}

fn update(args: UpdateArgs, ui: &Ui) -> CliResult {
    let dir = plugin_dir(args.path);
    let cargo = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&cargo).map_err(|e| {
        CliError::new(
            ExitKind::NotFound,
            format!("cannot read {}: {e}", cargo.display()),
        )
        .with_help("`plugin sdk update` works on a Rust plugin: run it where its Cargo.toml is")
    })?;
    let mut manifest: DocumentMut = text
        .parse()
        .map_err(|e| CliError::failed(format!("{} is not valid TOML: {e}", cargo.display())))?;
    let to = format!("={VERSION}");
    let from = pin(&mut manifest, &to);
    let patch = manifest
        .entry("patch")
        .or_insert_with(|| {
            let mut table = toml_edit::Table::new();
            table.set_implicit(true);
            Item::Table(table)
        })
        .as_table_like_mut()
        .ok_or_else(|| CliError::failed("`patch` in Cargo.toml is not a table"))?;
    match patch.get_mut("crates-io").and_then(Item::as_table_like_mut) {
        Some(crates_io) => {
            let fresh = sdk_copy::patch_table();
            if let Some(entry) = fresh.get("plexica-sdk") {
                crates_io.insert("plexica-sdk", entry.clone());
            }
        }
        None => {
            patch.insert("crates-io", Item::Table(sdk_copy::patch_table()));
        }
    }
    let files = sdk_copy::files().map_err(|e| CliError::failed(e.to_string()))?;
    for old in [SDK_DIR, MACROS_DIR] {
        let old = dir.join(VENDOR_DIR).join(old);
        if old.exists() {
            std::fs::remove_dir_all(&old).context("remove the old SDK copy", &old)?;
        }
    }
    templates::write_files(&dir, &files)?;
    std::fs::write(&cargo, manifest.to_string()).context("write", &cargo)?;
    keep_out_of_packages(&dir)?;
    ui.status(
        "Updated",
        format!(
            "plexica-sdk {} -> {to} ({}/{SDK_DIR})",
            from.as_deref().unwrap_or("(none)"),
            VENDOR_DIR
        ),
    );
    let updated = Updated {
        path: dir.display().to_string(),
        from,
        to,
        files: files.len(),
    };
    ui.result(&updated, || {
        format!(
            "plexica-sdk is now {} (the SDK of this plexica); build to refresh Cargo.lock",
            updated.to
        )
    });
    Ok(())
}

/// Sets the `plexica-sdk` requirement to `to` (a plain version: a `path` or `git` source the
/// dependency had is dropped, the patch provides the crate); returns the one it replaced.
fn pin(manifest: &mut DocumentMut, to: &str) -> Option<String> {
    let dependencies = manifest
        .entry("dependencies")
        .or_insert_with(|| Item::Table(toml_edit::Table::new()))
        .as_table_like_mut()?;
    let before = dependencies.get("plexica-sdk").map(|item| match item {
        Item::Value(Value::String(version)) => version.value().clone(),
        other => other
            .get("version")
            .and_then(Item::as_str)
            .map_or_else(|| other.to_string().trim().to_owned(), str::to_owned),
    });
    match dependencies
        .get_mut("plexica-sdk")
        .and_then(Item::as_table_like_mut)
    {
        Some(table) => {
            for source in ["path", "git", "branch", "tag", "rev", "registry"] {
                table.remove(source);
            }
            table.insert("version", toml_edit::value(to));
        }
        None => {
            dependencies.insert("plexica-sdk", toml_edit::value(to));
        }
    }
    before
}

/// Adds `vendor/` to `.plexicaignore` when it is not there: the SDK's sources are not part of
/// the plugin's package.
fn keep_out_of_packages(dir: &Path) -> CliResult {
    let file = dir.join(plexica_sdk::package::IGNORE_FILE);
    let current = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).context("read", &file),
    };
    if current.lines().any(|l| l.trim() == IGNORE_LINE) {
        return Ok(());
    }
    let separator = if current.is_empty() || current.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    std::fs::write(&file, format!("{current}{separator}{IGNORE_LINE}\n")).context("write", &file)
}
