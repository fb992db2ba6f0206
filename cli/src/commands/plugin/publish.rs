//! `plexica plugin publish [PATH|FILE.pxp] [--registry NAME|URL] [--dry-run] [--key NAME]
//! [--allow-secrets] [--no-build]`: a directory is built (release, as `plugin build` does,
//! unless `--no-build`), validated, packaged and signed in memory; an artifact older than its
//! sources, or a `Cargo.toml` whose version is not the manifest's, is refused. A `.pxp` is
//! uploaded as is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use plexica_sdk::diagnostic::Diagnostic;
use plexica_sdk::manifest::{BuildProfile, MANIFEST_FILE, Manifest, PluginFiles};
use plexica_sdk::package::{self, CollectOptions, Limits, Package};

use super::build::{Parts, artifact_path, build, check_not_stale, check_versions};
use super::package::{archive, collect_error};
use super::sign::{sign_now, signing_key};
use super::{load_manifest, plugin_dir};
use crate::cli::GlobalArgs;
use crate::commands::{Access, registry_client};
use crate::error::{CliError, CliResult, IoContext};
use crate::output::{Ui, human_size};
use crate::render;

/// Arguments of `plugin publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Plugin directory, its plexica.toml, or a .pxp to upload as is [default: .]
    pub path: Option<PathBuf>,
    /// A registry named in config.toml (`[registries.NAME]`), or a URL
    /// [default: --registry-url, else the profile's registry-url]
    #[arg(long, value_name = "NAME|URL")]
    pub registry: Option<String>,
    /// Run every check on the registry and store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Key to sign a directory's package with: a name or a path
    /// [default: the profile's default-key, else `default`, else the only key]
    #[arg(long)]
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::keys))]
    pub key: Option<String>,
    /// Package secret files (.env*, *.pem, *.key, id_rsa*, credentials) instead of refusing.
    #[arg(long)]
    pub allow_secrets: bool,
    /// Do not build a directory first: publish the artifact already built (refused when it
    /// is older than its sources).
    #[arg(long)]
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

/// Publishes the plugin.
pub fn run(args: PublishArgs, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let client = registry_client(global, args.registry.as_deref(), Access::Token, ui)?;
    let path = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let upload = if !path.is_dir() && path.extension().is_some_and(|e| e == "pxp") {
        read_file(&path)?
    } else {
        package_dir(plugin_dir(Some(path)), &args, global, ui)?
    };
    let what = format!("{}@{}", upload.id, upload.version);
    ui.status(
        if args.dry_run {
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
    let outcome = client.publish(upload.bytes, args.dry_run, &progress);
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
    ui.result(&published, || {
        let verb = if published.dry_run {
            "would publish"
        } else {
            "published"
        };
        format!(
            "{verb} {}@{}\nsha256 {}\n{}",
            published.id, published.version, published.digest, published.url
        )
    });
    Ok(())
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
    args: &PublishArgs,
    global: &GlobalArgs,
    ui: &Ui,
) -> CliResult<Upload> {
    let manifest = load_manifest(&dir, ui)?;
    if manifest.plugin.homepage.is_none() && manifest.plugin.repository.is_none() {
        ui.warn(
            "neither `plugin.homepage` nor `plugin.repository` is set in plexica.toml: \
             the registry's page will not link to the project",
        );
    }
    let key = signing_key(args.key.as_deref(), global, ui)?;
    check_versions(&dir, &manifest)?;
    let artifact = artifact_path(&dir, &manifest, BuildProfile::Release);
    if args.no_build {
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
    let options = CollectOptions {
        allow_secrets: args.allow_secrets,
        artifact,
        ..CollectOptions::default()
    };
    let files = package::collect(&dir, &manifest, &options).map_err(collect_error)?;
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
