//! Decides what goes into a package: every file of the plugin directory, minus `target/`,
//! `node_modules/`, `.git/`, dotfiles, `*.pxp` and what `.plexicaignore` excludes; plus the
//! built backend artifact (of the release profile) at `backend.entry`. Secret files make packaging fail unless allowed.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

use super::{CHECKSUMS_FILE, IGNORE_FILE, SIGNATURE_FILE};
use crate::manifest::{BuildProfile, Manifest};

/// Directories never packaged, at any depth.
const EXCLUDED_DIRS: &[&str] = &["target", "node_modules", ".git"];

/// Where the bytes of a package entry come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on disk.
    File(PathBuf),
    /// Bytes in memory.
    Bytes(Vec<u8>),
}

/// One file to be packaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFile {
    /// Path inside the package, `/`-separated.
    pub path: String,
    /// Where its bytes come from.
    pub source: Source,
    /// Size in bytes.
    pub size: u64,
    /// Stored with mode 0755 rather than 0644.
    pub executable: bool,
}

/// Options of [`collect`].
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Package secret files instead of refusing.
    pub allow_secrets: bool,
    /// Whose build artifact is the backend's entry: release for a package that ships, debug
    /// for a development install.
    pub profile: BuildProfile,
    /// Where the build left the backend artifact, when not at `backend.artifact` under the
    /// plugin directory (e.g. in the target directory cargo was told to use).
    pub artifact: Option<PathBuf>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        Self {
            allow_secrets: false,
            profile: BuildProfile::Release,
            artifact: None,
        }
    }
}

/// Why a plugin directory cannot be packaged.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// Walking the directory failed.
    #[error("cannot read the plugin directory: {0}")]
    Walk(#[from] ignore::Error),
    /// Reading a file's metadata failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Secret files were found and not allowed.
    #[error("refusing to package secret files: {}", .0.join(", "))]
    Secrets(Vec<String>),
    /// A symbolic link was found where a file was expected.
    #[error("`{0}` is a symbolic link; packages hold regular files only")]
    Symlink(String),
    /// A path is not valid UTF-8.
    #[error("`{0}` is not a UTF-8 path")]
    NonUtf8Path(PathBuf),
    /// A file name cannot be stored in a package (control character, backslash).
    #[error("`{0}` cannot be packaged: names may not contain control characters or `\\`")]
    BadName(String),
    /// A file uses a name the package format reserves (`CHECKSUMS`, `SIGNATURE`).
    #[error("`{0}` is reserved for the package format; rename the file")]
    Reserved(String),
    /// The backend artifact has not been built.
    #[error("backend artifact `{0}` does not exist")]
    MissingArtifact(String),
    /// The backend entry is neither built nor present.
    #[error("backend entry `{0}` does not exist and no `artifact` is declared")]
    MissingEntry(String),
    /// The frontend's remote entry has not been built.
    #[error("frontend remote entry `{0}` does not exist")]
    MissingRemoteEntry(String),
}

/// Is the file name one of the secret kinds packaging refuses (`.env*`, `*.pem`, `*.key`,
/// `id_rsa*`, credentials files)?
pub fn is_secret_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with(".env")
        || lower.ends_with(".pem")
        || lower.ends_with(".key")
        || lower.ends_with(".p12")
        || lower.ends_with(".pfx")
        || ["id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"]
            .iter()
            .any(|k| lower.starts_with(k))
        || matches!(
            lower.as_str(),
            "credentials"
                | "credentials.toml"
                | "credentials.json"
                | ".netrc"
                | ".npmrc"
                | ".pypirc"
        )
}

/// Lists what a package of the plugin in `dir` contains, sorted by path.
pub fn collect(
    dir: &Path,
    manifest: &Manifest,
    options: &CollectOptions,
) -> Result<Vec<PackageFile>, CollectError> {
    let mut files = Vec::new();
    let mut secrets = Vec::new();
    let walker = WalkBuilder::new(dir)
        .hidden(false)
        .ignore(false)
        .git_ignore(false)
        .git_global(false)
        .git_exclude(false)
        .parents(false)
        .follow_links(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .filter_entry(|e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir() || t.is_symlink());
            !(e.depth() > 0 && is_dir && EXCLUDED_DIRS.iter().any(|d| e.file_name() == *d))
        })
        .build();
    for entry in walker {
        let entry = entry?;
        if entry.depth() == 0 || entry.file_type().is_some_and(|t| t.is_dir()) {
            continue;
        }
        let relative = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let path = package_path(relative)?;
        let (parents, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        // Dot-directories are never packaged, whatever they hold; a secret dotfile such as
        // `.env` in the tree is still refused, so that it is noticed.
        if parents.split('/').any(|segment| segment.starts_with('.')) {
            continue;
        }
        if is_secret_file(name) {
            secrets.push(path.clone());
            if !options.allow_secrets {
                continue;
            }
        }
        if name.starts_with('.') || name.ends_with(".pxp") {
            continue;
        }
        if path == CHECKSUMS_FILE || path == SIGNATURE_FILE {
            return Err(CollectError::Reserved(path));
        }
        if path.chars().any(char::is_control) || path.contains('\\') {
            return Err(CollectError::BadName(path));
        }
        if entry.path_is_symlink() {
            return Err(CollectError::Symlink(path));
        }
        files.push(file_entry(entry.path(), path)?);
    }
    if !secrets.is_empty() && !options.allow_secrets {
        secrets.sort();
        return Err(CollectError::Secrets(secrets));
    }
    add_backend_entry(dir, manifest, options, &mut files)?;
    if let Some(frontend) = &manifest.frontend {
        let remote_entry = format!("{}/{}", frontend.dist, frontend.remote_entry);
        if !files.iter().any(|f| f.path == remote_entry) {
            return Err(CollectError::MissingRemoteEntry(remote_entry));
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    Ok(files)
}

fn add_backend_entry(
    dir: &Path,
    manifest: &Manifest,
    options: &CollectOptions,
    files: &mut Vec<PackageFile>,
) -> Result<(), CollectError> {
    let Some(backend) = &manifest.backend else {
        return Ok(());
    };
    match backend.artifact_for(options.profile) {
        Some(artifact) => {
            let source = options
                .artifact
                .clone()
                .unwrap_or_else(|| dir.join(&artifact));
            if !source.is_file() {
                return Err(CollectError::MissingArtifact(source.display().to_string()));
            }
            files.retain(|f| f.path != backend.entry);
            let mut file = file_entry(&source, backend.entry.clone())?;
            file.executable = true;
            files.push(file);
        }
        None => {
            if !files.iter().any(|f| f.path == backend.entry) {
                return Err(CollectError::MissingEntry(backend.entry.clone()));
            }
        }
    }
    Ok(())
}

fn package_path(relative: &Path) -> Result<String, CollectError> {
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect();
    parts
        .map(|p| p.join("/"))
        .ok_or_else(|| CollectError::NonUtf8Path(relative.to_path_buf()))
}

fn file_entry(source: &Path, path: String) -> Result<PackageFile, CollectError> {
    let metadata = std::fs::metadata(source).map_err(|e| CollectError::Io {
        path: source.to_path_buf(),
        source: e,
    })?;
    #[cfg(unix)]
    let executable = {
        use std::os::unix::fs::PermissionsExt;
        metadata.permissions().mode() & 0o111 != 0
    };
    #[cfg(not(unix))]
    let executable = false;
    Ok(PackageFile {
        path,
        source: Source::File(source.to_path_buf()),
        size: metadata.len(),
        executable,
    })
}

#[cfg(test)]
mod tests {
    use super::is_secret_file;

    #[test]
    fn recognises_secret_files() {
        for name in [
            ".env",
            ".env.local",
            "server.pem",
            "signing.key",
            "id_rsa",
            "id_rsa.pub",
            "credentials.json",
        ] {
            assert!(is_secret_file(name), "{name}");
        }
        for name in ["README.md", "environment.ts", "keys.rs", "main.rs"] {
            assert!(!is_secret_file(name), "{name}");
        }
    }
}
