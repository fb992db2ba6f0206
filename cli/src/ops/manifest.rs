//! The plugin in a directory: where it is, its manifest checked, its diagnostics shown.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plexica_sdk::manifest::{self, Checked, DirFiles, MANIFEST_FILE, Manifest};

use crate::error::{CliError, CliResult, ExitKind, IoContext};
use crate::output::Ui;
use crate::render;

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

/// Fails (exit 1) when `checked` has errors, or warnings and `deny_warnings`: what `plugin
/// validate` decides once its diagnostics are shown.
pub fn verdict(checked: &Checked, deny_warnings: bool) -> CliResult {
    let (errors, warnings) = (checked.error_count(), checked.warning_count());
    if errors > 0 || (deny_warnings && warnings > 0) {
        return Err(CliError::failed(format!(
            "validation failed: {errors} error(s), {warnings} warning(s)"
        )));
    }
    Ok(())
}
