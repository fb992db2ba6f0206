//! From a plugin directory to the registry: package (the reproducible `.pxp`), sign (with a
//! key of the store), publish (a directory built, packaged and signed in memory, or a `.pxp`
//! uploaded as is); and the stored package of a development install. Each step reports itself
//! in status lines; the caller prints the result.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use plexica_sdk::api::registry::Published;
use plexica_sdk::diagnostic::Diagnostic;
use plexica_sdk::manifest::{BuildProfile, MANIFEST_FILE, Manifest, PluginFiles};
use plexica_sdk::package::signing::SecretKey;
use plexica_sdk::package::{
    self, CollectError, CollectOptions, Compression, Limits, Package, PackageFile, SignError,
    sha256_hex,
};
use serde::Serialize;

use crate::config::ConfigDir;
use crate::error::{CliError, CliResult, IoContext};
use crate::keystore::KeyStore;
use crate::ops::build::{Parts, artifact_path, build, check_not_stale, check_versions};
use crate::ops::clients::{Access, registry_client};
use crate::ops::manifest::{load_manifest, plugin_dir};
use crate::output::{Ui, human_size};
use crate::profile::{Config, Selection};
use crate::render;

/// What [`package`] packages, and where it writes the package.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// The plugin directory.
    pub dir: PathBuf,
    /// Where to write [default: `DIR/target/plexica/<id>-<version>.pxp`].
    pub out: Option<PathBuf>,
    /// Package secret files instead of refusing.
    pub allow_secrets: bool,
}

/// A package [`package`] wrote (the JSON result of `plugin package`).
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

/// The files the package of the plugin in `dir` would hold (nothing is checked against the
/// build or written).
pub fn files(dir: &Path, allow_secrets: bool, ui: &Ui) -> CliResult<Vec<PackageFile>> {
    let manifest = load_manifest(dir, ui)?;
    let artifact = artifact_path(dir, &manifest, BuildProfile::Release);
    let options = CollectOptions {
        allow_secrets,
        artifact,
        ..CollectOptions::default()
    };
    package::collect(dir, &manifest, &options).map_err(collect_error)
}

/// Packages the plugin: its release build must be there and up to date, its `Cargo.toml`
/// version the manifest's; the package is written atomically.
pub fn package(options: &PackageOptions, ui: &Ui) -> CliResult<Packaged> {
    let dir = &options.dir;
    let manifest = load_manifest(dir, ui)?;
    let artifact = artifact_path(dir, &manifest, BuildProfile::Release);
    check_versions(dir, &manifest)?;
    if let Some(artifact) = &artifact {
        check_not_stale(dir, artifact)?;
    }
    let collect = CollectOptions {
        allow_secrets: options.allow_secrets,
        artifact,
        ..CollectOptions::default()
    };
    let files = package::collect(dir, &manifest, &collect).map_err(collect_error)?;
    let out = options.out.clone().unwrap_or_else(|| {
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
    Ok(result)
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

#[cfg(feature = "platform")]
/// The plugin in `dir`, built for `profile`, as a package for a development install: stored,
/// since it goes to this machine's platform and there is nothing to gain from compressing it.
pub fn dev_package(
    dir: &Path,
    manifest: &Manifest,
    profile: BuildProfile,
    ui: &Ui,
) -> CliResult<Vec<u8>> {
    let options = CollectOptions {
        allow_secrets: false,
        profile,
        artifact: artifact_path(dir, manifest, profile),
    };
    let files = package::collect(dir, manifest, &options).map_err(collect_error)?;
    archive_with(
        &files,
        &manifest.package_file_name(),
        Compression::Store,
        ui,
    )
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

/// What [`sign_file`] signs, and with which key.
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// The package, signed in place.
    pub file: PathBuf,
    /// A key name or a path [default: the profile's `default-key`, else the store's default].
    pub key: Option<String>,
}

/// A package [`sign_file`] signed (the JSON result of `plugin sign`).
#[derive(Debug, Serialize)]
pub struct Signed {
    /// The package file.
    pub file: String,
    /// Plugin id.
    pub id: String,
    /// Plugin version.
    pub version: String,
    /// The signing key's id.
    pub key_id: String,
    /// sha256 of the signed package's bytes.
    pub digest: String,
    /// The digest of its contents (`CHECKSUMS`), what the signature covers.
    pub content_digest: String,
}

/// Signs a package file in place with the key `options` names, for the profile `selection`
/// selects.
pub fn sign_file(options: &SignOptions, selection: &Selection, ui: &Ui) -> CliResult<Signed> {
    let file = &options.file;
    let key = signing_key(options.key.as_deref(), selection, ui)?;
    let bytes = std::fs::read(file).context("read", file)?;
    let signed = sign_now(&bytes, &key)
        .map_err(|e| CliError::failed(format!("cannot sign {}: {e}", file.display())))?;
    write_atomically(file, &signed)?;
    let read = package::read_package(&signed, &Limits::default())
        .map_err(|e| CliError::failed(e.to_string()))?;
    let manifest =
        Manifest::parse(&read.manifest_text).map_err(|e| CliError::failed(e.to_string()))?;
    let result = Signed {
        file: file.display().to_string(),
        id: manifest.plugin.id,
        version: manifest.plugin.version.to_string(),
        key_id: key.id.to_string(),
        digest: sha256_hex(&signed),
        content_digest: read.content_digest().unwrap_or_default(),
    };
    ui.status(
        "Signed",
        format!(
            "{} {} with key {}",
            result.id, result.version, result.key_id
        ),
    );
    Ok(result)
}

/// The secret key named by `key` (a name or a path), else the profile's `default-key`, else
/// the store's default.
pub fn signing_key(key: Option<&str>, selection: &Selection, ui: &Ui) -> CliResult<SecretKey> {
    let dir = ConfigDir::locate()?;
    let key = match key {
        Some(key) => Some(key.to_owned()),
        None => Config::load(&dir)?.selected(selection)?.profile.default_key,
    };
    KeyStore::new(&dir).secret(key.as_deref(), ui.can_prompt())
}

/// Signs package `bytes` with `key`, timestamped now.
pub fn sign_now(bytes: &[u8], key: &SecretKey) -> Result<Vec<u8>, SignError> {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    package::sign_package(bytes, key, timestamp)
}

/// What [`publish`] uploads, where, and how a directory is packaged.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// A plugin directory, its `plexica.toml`, or a `.pxp` to upload as is.
    pub path: PathBuf,
    /// A registry named in `config.toml`, or a URL [default: the selection's].
    pub registry: Option<String>,
    /// Run every check on the registry and store nothing.
    pub dry_run: bool,
    /// The key to sign a directory's package with (as [`signing_key`] takes it).
    pub key: Option<String>,
    /// Package secret files instead of refusing.
    pub allow_secrets: bool,
    /// Do not build a directory first (its artifact must not be older than its sources).
    pub no_build: bool,
}

/// What is uploaded, and where its manifest diagnostics can be shown from.
struct Upload {
    bytes: Vec<u8>,
    id: String,
    version: String,
    origin: Origin,
}

enum Origin {
    /// Packaged from this plugin directory.
    Dir(PathBuf),
    /// A package file, read.
    File(Box<Package>),
}

/// Publishes to the registry: a directory is built (release, unless `no_build`), validated,
/// packaged and signed in memory; a `.pxp` is uploaded as is. The registry's manifest
/// diagnostics are rendered on stderr before its refusal is returned.
pub fn publish(options: &PublishOptions, selection: &Selection, ui: &Ui) -> CliResult<Published> {
    let client = registry_client(selection, options.registry.as_deref(), Access::Token, ui)?;
    let path = &options.path;
    let upload = if !path.is_dir() && path.extension().is_some_and(|e| e == "pxp") {
        read_file(path)?
    } else {
        package_dir(plugin_dir(Some(path.clone())), options, selection, ui)?
    };
    let what = format!("{}@{}", upload.id, upload.version);
    ui.status(
        if options.dry_run {
            "Checking"
        } else {
            "Uploading"
        },
        format!(
            "{what} ({}) to {}",
            human_size(upload.bytes.len() as u64),
            client.registry()
        ),
    );
    let progress = ui.transfer(format!("uploading {what}"));
    let outcome = client.publish(upload.bytes, options.dry_run, &progress);
    progress.finish_and_clear();
    let published = match outcome {
        Ok(published) => published,
        Err(e) => {
            if let Some(errors) = e.api_errors().filter(|e| !e.diagnostics.is_empty()) {
                let (sources, dir) = upload.origin.sources(&errors.diagnostics);
                render::print(&errors.diagnostics, &sources, &dir, ui.color());
            }
            return Err(e.into());
        }
    };
    if published.dry_run {
        ui.status("Checked", format!("{what}: the registry would accept it"));
    } else {
        ui.status("Published", format!("{what} to {}", client.registry()));
    }
    Ok(published)
}

fn read_file(path: &Path) -> CliResult<Upload> {
    let bytes = std::fs::read(path).context("read", path)?;
    let package = package::read_package(&bytes, &Limits::default())
        .map_err(|e| CliError::failed(format!("{} is not a valid package: {e}", path.display())))?;
    let manifest = Manifest::parse(&package.manifest_text).map_err(|e| {
        CliError::failed(format!("{}: invalid {MANIFEST_FILE}: {e}", path.display()))
            .with_help("unpack it and run `plexica plugin validate`, or publish the directory")
    })?;
    Ok(Upload {
        bytes,
        id: manifest.plugin.id,
        version: manifest.plugin.version.to_string(),
        origin: Origin::File(Box::new(package)),
    })
}

fn package_dir(
    dir: PathBuf,
    options: &PublishOptions,
    selection: &Selection,
    ui: &Ui,
) -> CliResult<Upload> {
    let manifest = load_manifest(&dir, ui)?;
    if manifest.plugin.homepage.is_none() && manifest.plugin.repository.is_none() {
        ui.warn(
            "neither `plugin.homepage` nor `plugin.repository` is set in plexica.toml: \
             the registry's page will not link to the project",
        );
    }
    let key = signing_key(options.key.as_deref(), selection, ui)?;
    check_versions(&dir, &manifest)?;
    let artifact = artifact_path(&dir, &manifest, BuildProfile::Release);
    if options.no_build {
        if let Some(artifact) = &artifact {
            check_not_stale(&dir, artifact)?;
        }
    } else {
        let parts = Parts {
            backend: true,
            frontend: true,
            check: true,
        };
        build(&dir, &manifest, BuildProfile::Release, parts, ui)?;
    }
    let collect = CollectOptions {
        allow_secrets: options.allow_secrets,
        artifact,
        ..CollectOptions::default()
    };
    let files = package::collect(&dir, &manifest, &collect).map_err(collect_error)?;
    let unsigned = archive(&files, &manifest.package_file_name(), ui)?;
    let bytes = sign_now(&unsigned, &key)
        .map_err(|e| CliError::failed(format!("cannot sign the package: {e}")))?;
    ui.status(
        "Packaged",
        format!(
            "{} {} ({} files, signed with key {})",
            manifest.plugin.id,
            manifest.plugin.version,
            files.len(),
            key.id
        ),
    );
    Ok(Upload {
        bytes,
        id: manifest.plugin.id.clone(),
        version: manifest.plugin.version.to_string(),
        origin: Origin::Dir(dir),
    })
}

impl Origin {
    /// The texts the diagnostics point into, and the directory to read others from.
    fn sources(&self, diagnostics: &[Diagnostic]) -> (BTreeMap<String, String>, PathBuf) {
        match self {
            Self::Dir(dir) => (BTreeMap::new(), dir.clone()),
            Self::File(package) => {
                let mut sources =
                    BTreeMap::from([(MANIFEST_FILE.to_owned(), package.manifest_text.clone())]);
                // Every file is in `sources` (empty when not in the package): nothing is read
                // from disk for a package.
                for d in diagnostics {
                    sources
                        .entry(d.file.clone())
                        .or_insert_with(|| package.read(&d.file).unwrap_or_default());
                }
                (sources, PathBuf::new())
            }
        }
    }
}
