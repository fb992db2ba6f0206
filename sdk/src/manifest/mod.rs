//! The plugin manifest, `plexica.toml` (manifest.md): one schema for the CLI, the registry and
//! the core API.
//!
//! [`check`] reads a manifest and reports **every** problem at once as located
//! [`Diagnostic`]s with stable codes (`manifest::…`); [`Manifest::parse`] and
//! [`Manifest::from_file`] are the strict forms that fail on any error.
//!
//! ```
//! let text = r#"
//! [plugin]
//! id = "crm"
//! name = "CRM"
//! version = "1.2.0"
//! description = "Contacts and deals"
//! authors = ["Ada <ada@example.com>"]
//! license = "MIT"
//! [frontend]
//! dist = "ui/dist"
//! remote-entry = "remoteEntry.js"
//! "#;
//! let manifest = plexica_sdk::manifest::Manifest::parse(text).unwrap();
//! assert_eq!(manifest.plugin.id, "crm");
//! ```

mod build;
pub mod config;
mod migrations;
mod model;
mod reader;
mod rules;

use std::path::{Path, PathBuf};

pub use model::*;
pub use rules::{
    CONSOLE_PATHS, MAX_SCREENSHOTS, PLATFORM_TABLES, SCREENSHOT_EXTENSIONS, check_config_value,
    check_package_path, is_console_path, is_own_namespace, is_valid_plugin_id,
};

use crate::diagnostic::{Diagnostic, Severity, SourceFile};
use reader::Reader;

/// The file name of a manifest inside a plugin directory or package.
pub const MANIFEST_FILE: &str = "plexica.toml";

/// Catalogue categories a plugin may list.
pub const CATEGORIES: &[&str] = &[
    "analytics",
    "automation",
    "billing",
    "communication",
    "crm",
    "ecommerce",
    "finance",
    "hr",
    "integration",
    "marketing",
    "productivity",
    "reporting",
    "security",
    "storage",
    "utility",
    "other",
];

/// Places in the shell where frontend modules can be mounted.
pub const EXTENSION_POINTS: &[&str] = &[
    "header.logo",
    "header.search",
    "header.notifications",
    "header.quick-actions",
    "sidebar.menu",
    "dashboard.widgets",
    "page.tabs",
    "page.aside-actions",
    "form.fields",
];

/// Read access to the files next to a manifest, for the rules that look at them (migrations).
/// Implemented for a directory on disk ([`DirFiles`]) and by the package reader, so a source
/// tree and its package get the same diagnostics.
pub trait PluginFiles {
    /// File names (not paths) directly inside directory `dir`, or `None` if it does not exist.
    fn list(&self, dir: &str) -> Option<Vec<String>>;
    /// The UTF-8 text of the file at relative `path`, or `None`.
    fn read(&self, path: &str) -> Option<String>;
}

/// [`PluginFiles`] of a plugin directory on disk.
#[derive(Debug, Clone)]
pub struct DirFiles(pub PathBuf);

impl PluginFiles for DirFiles {
    fn list(&self, dir: &str) -> Option<Vec<String>> {
        let entries = std::fs::read_dir(self.0.join(dir)).ok()?;
        Some(
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
        )
    }

    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.0.join(path)).ok()
    }
}

/// The outcome of [`check`]: the manifest when it has no errors, and every diagnostic.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The typed manifest, present when no diagnostic is an error.
    pub manifest: Option<Manifest>,
    /// Errors and warnings, in source order per file.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// Number of diagnostics with severity error.
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }
}

/// Reads and validates manifest `text` (shown to users as `file_name`). With `files`, the rules
/// that look at other files of the plugin (migrations) run too.
pub fn check(text: &str, file_name: &str, files: Option<&dyn PluginFiles>) -> Checked {
    let source = SourceFile::new(file_name, text);
    let mut reader = Reader::new(&source);
    let (doc, errors) = toml::de::DeTable::parse_recoverable(text);
    for error in &errors {
        let span = error.span().unwrap_or(0..0);
        reader.error(
            "manifest::syntax",
            span,
            format!("invalid TOML: {}", error.message().trim_end()),
            None,
        );
    }
    if !errors.is_empty() {
        return finish(reader, None);
    }
    let manifest = build::manifest(&mut reader, &doc);
    rules::check(&mut reader, &manifest);
    if let Some(files) = files {
        rules::missing_screenshots(&mut reader, files, &manifest.plugin.screenshots);
    }
    if let (Some(files), Some(backend)) = (files, &manifest.backend)
        && let Some(dir) = &backend.migrations
        && check_package_path(dir).is_ok()
    {
        migrations::check(
            &mut reader,
            files,
            dir,
            &manifest.plugin.id,
            manifest.plugin.workspace_aware,
        );
    }
    finish(reader, Some(manifest))
}

fn finish(reader: Reader<'_>, manifest: Option<Manifest>) -> Checked {
    let mut diagnostics = reader.diagnostics;
    diagnostics.sort_by(|a, b| {
        (a.file != MANIFEST_FILE, &a.file, a.span.start, &a.code).cmp(&(
            b.file != MANIFEST_FILE,
            &b.file,
            b.span.start,
            &b.code,
        ))
    });
    let has_errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
    Checked {
        manifest: manifest.filter(|_| !has_errors),
        diagnostics,
    }
}

/// A manifest was rejected; holds every diagnostic.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The manifest's path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The manifest has errors.
    #[error("{} error(s) in the manifest:\n{}", .0.iter().filter(|d| d.is_error()).count(), render_plain(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render_plain(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Manifest {
    /// Parses and validates manifest text, without looking at other files.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let checked = check(text, MANIFEST_FILE, None);
        checked
            .manifest
            .ok_or(ManifestError::Invalid(checked.diagnostics))
    }

    /// Reads and validates the manifest at `path` (a `plexica.toml`, or a plugin directory
    /// containing one), including the rules on its migration files.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ManifestError> {
        let path = path.as_ref();
        let file = if path.is_dir() {
            path.join(MANIFEST_FILE)
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file).map_err(|source| ManifestError::Io {
            path: file.clone(),
            source,
        })?;
        let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let checked = check(&text, MANIFEST_FILE, Some(&DirFiles(dir)));
        checked
            .manifest
            .ok_or(ManifestError::Invalid(checked.diagnostics))
    }

    /// The file name of this plugin's package, `<id>-<version>.pxp`.
    pub fn package_file_name(&self) -> String {
        format!("{}-{}.pxp", self.plugin.id, self.plugin.version)
    }
}
