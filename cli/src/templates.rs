//! The plugin templates of `templates/`, embedded in the binary, and their rendering.
//!
//! Every file's text has `{{placeholder}}`s replaced; a `.tmpl` suffix is dropped (so no
//! template is mistaken for a real crate); files named `gitignore` and `plexicaignore` get a
//! leading dot.
//! A template may be layered on others: `fullstack` is `rust-backend` plus `frontend` plus its
//! own files (its manifest, README and ignore file), later layers replacing earlier ones.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use include_dir::{Dir, DirEntry, File, include_dir};

use crate::error::{CliResult, IoContext};

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../templates");

/// The templates `plexica plugin new` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Template {
    /// A Rust backend using plexica-sdk: an event handler, an HTTP route, a migration.
    RustBackend,
    /// A Module Federation remote (Vite, React shared with the console), its build prebuilt.
    Frontend,
    /// Both, in one plugin.
    Fullstack,
}

impl Template {
    /// Every template, in menu order.
    pub const ALL: [Template; 3] = [Self::RustBackend, Self::Frontend, Self::Fullstack];

    /// The directories of `templates/` it is made of, applied in order.
    fn layers(self) -> &'static [&'static str] {
        match self {
            Self::RustBackend => &["rust-backend"],
            Self::Frontend => &["frontend"],
            Self::Fullstack => &["rust-backend", "frontend", "fullstack"],
        }
    }

    /// Its name on the command line and in `templates/`.
    pub fn name(self) -> &'static str {
        match self {
            Self::RustBackend => "rust-backend",
            Self::Frontend => "frontend",
            Self::Fullstack => "fullstack",
        }
    }

    /// The template called `name` (as [`Template::name`] gives it).
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// Values substituted into a template.
#[derive(Debug, Clone)]
pub struct Values {
    /// `(placeholder, value)` pairs.
    pub pairs: Vec<(&'static str, String)>,
}

impl Values {
    fn render(&self, text: &str) -> String {
        self.pairs
            .iter()
            .fold(text.to_owned(), |acc, (key, value)| {
                acc.replace(&format!("{{{{{key}}}}}"), value)
            })
    }
}

/// A rendered file: path relative to the plugin directory, and contents.
#[derive(Debug, Clone)]
pub struct RenderedFile {
    /// Relative path.
    pub path: PathBuf,
    /// Contents.
    pub contents: Vec<u8>,
}

/// Renders `template` with `values`.
pub fn render(template: Template, values: &Values) -> Vec<RenderedFile> {
    let mut files = std::collections::BTreeMap::new();
    for layer in template.layers() {
        let mut rendered = Vec::new();
        if let Some(dir) = TEMPLATES.get_dir(layer) {
            collect(dir, Path::new(layer), values, &mut rendered);
        }
        files.extend(rendered.into_iter().map(|f| (f.path.clone(), f)));
    }
    files.into_values().collect()
}

/// Writes `files` under `dir`, creating directories as needed.
pub fn write_files(dir: &Path, files: &[RenderedFile]) -> CliResult {
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).context("create directory", parent)?;
        }
        std::fs::write(&path, &file.contents).context("write", &path)?;
    }
    Ok(())
}

/// Every file under `dir` of an embedded tree, at any depth (paths relative to the tree's
/// root).
pub fn embedded_files(dir: &'static Dir<'static>) -> Vec<&'static File<'static>> {
    let mut files = Vec::new();
    let mut pending = vec![dir];
    while let Some(dir) = pending.pop() {
        for entry in dir.entries() {
            match entry {
                DirEntry::Dir(sub) => pending.push(sub),
                DirEntry::File(file) => files.push(file),
            }
        }
    }
    files
}

fn collect(dir: &'static Dir<'static>, root: &Path, values: &Values, out: &mut Vec<RenderedFile>) {
    for file in embedded_files(dir) {
        let relative = file.path().strip_prefix(root).unwrap_or(file.path());
        let mut path = relative.to_path_buf();
        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            let renamed = match name {
                "gitignore" | "plexicaignore" => format!(".{name}"),
                _ => name.strip_suffix(".tmpl").unwrap_or(name).to_owned(),
            };
            path.set_file_name(renamed);
        }
        let contents = match file.contents_utf8() {
            Some(text) => values.render(text).into_bytes(),
            None => file.contents().to_vec(),
        };
        out.push(RenderedFile { path, contents });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_named_as_the_command_line_names_it() {
        for template in Template::ALL {
            let value = template
                .to_possible_value()
                .map(|v| v.get_name().to_owned());
            assert_eq!(value.as_deref(), Some(template.name()));
            assert_eq!(Template::named(template.name()), Some(template));
        }
        assert_eq!(Template::named("RustBackend"), None);
    }

    #[test]
    fn every_template_is_embedded_and_fully_rendered() {
        let values = Values {
            pairs: [
                "plugin_id",
                "route_prefix",
                "plugin_name",
                "description",
                "author",
                "crate_name",
                "table_prefix",
                "sdk_version",
                "sdk_patch",
            ]
            .into_iter()
            .map(|k| (k, format!("<{k}>")))
            .collect(),
        };
        for template in Template::ALL {
            let files = render(template, &values);
            assert!(
                files.iter().any(|f| f.path == Path::new("plexica.toml")),
                "{template:?}"
            );
            for file in &files {
                let text = String::from_utf8_lossy(&file.contents);
                assert!(
                    !text.contains("{{"),
                    "{template:?} {} keeps a placeholder",
                    file.path.display()
                );
                assert!(!file.path.to_string_lossy().ends_with(".tmpl"));
            }
        }
    }
}
