//! `plexica plugin package [PATH] [--list] [--out FILE] [--allow-secrets]`: the reproducible
//! `.pxp` archive.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use plexica_sdk::package::{
    self, CollectError, CollectOptions, Compression, PackageFile, sha256_hex,
};
use serde::Serialize;

use super::build::{artifact_path, check_not_stale, check_versions};
use super::{load_manifest, plugin_dir};
use crate::error::{CliError, CliResult, IoContext};
use crate::output::{Ui, human_size};
use plexica_sdk::manifest::BuildProfile;

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

/// The JSON result of `plugin package`.
#[derive(Debug, Serialize)]
pub struct Packaged {
    /// Written file.
    pub file: String,
    /// Plugin id.
    pub id: String,
    /// Plugin version.
    pub version: String,
    /// sha256 of the package bytes.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Number of files (besides CHECKSUMS).
    pub files: usize,
}

/// Packages (or lists) the plugin.
pub fn run(args: PackageArgs, ui: &Ui) -> CliResult {
    let dir = plugin_dir(args.path);
    let manifest = load_manifest(&dir, ui)?;
    let artifact = artifact_path(&dir, &manifest, BuildProfile::Release);
    if !args.list {
        check_versions(&dir, &manifest)?;
        if let Some(artifact) = &artifact {
            check_not_stale(&dir, artifact)?;
        }
    }
    let options = CollectOptions {
        allow_secrets: args.allow_secrets,
        artifact,
        ..CollectOptions::default()
    };
    let files = package::collect(&dir, &manifest, &options).map_err(collect_error)?;
    if args.list {
        let listed: Vec<ListedFile> = files
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
    let out = args.out.unwrap_or_else(|| {
        dir.join("target")
            .join("plexica")
            .join(manifest.package_file_name())
    });
    let bytes = archive(&files, &manifest.package_file_name(), ui)?;
    write_atomically(&out, &bytes)?;
    let result = Packaged {
        file: out.display().to_string(),
        id: manifest.plugin.id.clone(),
        version: manifest.plugin.version.to_string(),
        digest: sha256_hex(&bytes),
        size: bytes.len() as u64,
        files: files.len(),
    };
    ui.status(
        "Packaged",
        format!(
            "{} {} ({} files, {})",
            result.id,
            result.version,
            result.files,
            human_size(result.size)
        ),
    );
    ui.result(&result, || {
        format!("{}\nsha256 {}", result.file, result.digest)
    });
    Ok(())
}

/// Writes the package of `files` in memory, with a spinner named after `file_name`.
pub fn archive(files: &[PackageFile], file_name: &str, ui: &Ui) -> CliResult<Vec<u8>> {
    archive_with(files, file_name, Compression::Deflate, ui)
}

/// [`archive`], its entries stored as `compression` says.
pub fn archive_with(
    files: &[PackageFile],
    file_name: &str,
    compression: Compression,
    ui: &Ui,
) -> CliResult<Vec<u8>> {
    let spinner = ui.spinner(format!("packaging {file_name}"));
    let bytes = package::write_package_with(files, None, Cursor::new(Vec::new()), compression)
        .map(Cursor::into_inner)
        .map_err(|e| CliError::failed(format!("cannot write the package: {e}")));
    spinner.finish_and_clear();
    bytes
}

/// The error of a failed [`package::collect`], with what to do.
pub fn collect_error(e: CollectError) -> CliError {
    match &e {
        CollectError::Secrets(_) => CliError::failed(e.to_string()).with_help(
            "remove them, list them in .plexicaignore, or pass --allow-secrets if they are meant to ship",
        ),
        CollectError::MissingArtifact(_)
        | CollectError::MissingEntry(_)
        | CollectError::MissingRemoteEntry(_) => {
            CliError::failed(e.to_string()).with_help("run `plexica plugin build` first")
        }
        _ => CliError::failed(e.to_string()),
    }
}

/// Writes `bytes` to `path` through a temporary sibling, fsynced and renamed into place, so that
/// a crash never leaves a half-written package.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> CliResult {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).context("create directory", parent)?;
    let mut temp = tempfile::NamedTempFile::new_in(parent).context("create a file in", parent)?;
    temp.write_all(bytes).context("write", path)?;
    // Packages are not secret: readable like any file the user creates (temp files are 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .context("write", path)?;
    }
    temp.as_file().sync_all().context("write", path)?;
    temp.persist(path)
        .map_err(|e| CliError::failed(format!("cannot write {}: {}", path.display(), e.error)))?;
    Ok(())
}
