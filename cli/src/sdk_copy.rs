//! The `plexica-sdk` this CLI carries, written into Rust plugin projects.
//!
//! Until the SDK is on crates.io, a plugin depends on `plexica-sdk = "=VERSION"` (this CLI's
//! version) and a `[patch.crates-io]` entry points that name at `vendor/plexica-sdk`, the
//! sources embedded here. The copy is a pair of ordinary crates: their manifests are the
//! workspace's with every `workspace = true` resolved, and without the tests and benches that
//! stay in this repository. Deleting the patch switches the plugin to the published crate;
//! `plexica plugin sdk update` replaces the copy with the SDK of the CLI that runs it.

use std::path::PathBuf;

use include_dir::{Dir, include_dir};
use toml_edit::{DocumentMut, Item, Table, TableLike, Value};

use crate::templates::{self, RenderedFile};

static SDK_SOURCES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../sdk/src");
static MACROS_SOURCES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../sdk-macros/src");
const SDK_MANIFEST: &str = include_str!("../../sdk/Cargo.toml");
const MACROS_MANIFEST: &str = include_str!("../../sdk-macros/Cargo.toml");
const SDK_README: &str = include_str!("../../sdk/README.md");
const MACROS_README: &str = include_str!("../../sdk-macros/README.md");
const WORKSPACE_MANIFEST: &str = include_str!("../../Cargo.toml");
/// The lock file of this repository: the dependency versions the SDK was tested with. Cargo
/// drops the entries a plugin does not use the first time it builds.
pub const LOCK_FILE: &str = include_str!("../../Cargo.lock");

/// The SDK version this CLI carries (the CLI's own).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Where the copy goes, relative to the plugin directory.
pub const VENDOR_DIR: &str = "vendor";
/// The `.plexicaignore` line that keeps the copy out of the plugin's packages.
pub const IGNORE_LINE: &str = "vendor/";
/// The SDK crate's directory inside [`VENDOR_DIR`].
pub const SDK_DIR: &str = "plexica-sdk";
/// The macros crate's directory inside [`VENDOR_DIR`].
pub const MACROS_DIR: &str = "plexica-sdk-macros";

/// An embedded manifest that could not be made standalone (a defect of this build).
#[derive(Debug, thiserror::Error)]
#[error("the embedded SDK manifest cannot be made standalone: {0}")]
pub struct ManifestError(String);

/// Every file of the copy, paths relative to the plugin directory.
pub fn files() -> Result<Vec<RenderedFile>, ManifestError> {
    let mut files = Vec::new();
    for (dir, manifest, readme, sources) in [
        (SDK_DIR, SDK_MANIFEST, SDK_README, &SDK_SOURCES),
        (MACROS_DIR, MACROS_MANIFEST, MACROS_README, &MACROS_SOURCES),
    ] {
        let root = PathBuf::from(VENDOR_DIR).join(dir);
        files.push(RenderedFile {
            path: root.join("Cargo.toml"),
            contents: standalone_manifest(manifest)?.into_bytes(),
        });
        files.push(RenderedFile {
            path: root.join("README.md"),
            contents: readme.as_bytes().to_vec(),
        });
        let src = root.join("src");
        files.extend(
            templates::embedded_files(sources)
                .into_iter()
                .map(|file| RenderedFile {
                    path: src.join(file.path()),
                    contents: file.contents().to_vec(),
                }),
        );
    }
    files.push(RenderedFile {
        path: PathBuf::from(VENDOR_DIR).join("README.md"),
        contents: vendor_readme().into_bytes(),
    });
    Ok(files)
}

fn vendor_readme() -> String {
    format!(
        "# The Plexica SDK {VERSION}\n\n\
         `plexica-sdk` and `plexica-sdk-macros` {VERSION}, written here by the `plexica` CLI \
         that created this project. `Cargo.toml` depends on `plexica-sdk = \"={VERSION}\"` and \
         its `[patch.crates-io]` entry points that name at `vendor/plexica-sdk`, so the project \
         builds anywhere without a Plexica checkout.\n\n\
         - Keep this directory in version control: a clone builds as it is.\n\
         - `plexica plugin sdk update` replaces it with the SDK of the `plexica` you run, and \
         moves the version in `Cargo.toml` to match.\n\
         - Once the SDK is published on crates.io, delete the `[patch.crates-io]` entry and \
         this directory to build against the published crate.\n\
         - Do not edit these files: `sdk update` overwrites them.\n"
    )
}

/// The crate manifest `text` with every `workspace = true` replaced by the workspace's value,
/// without dev-dependencies, tests and benches, and with the macros crate found beside it.
fn standalone_manifest(text: &str) -> Result<String, ManifestError> {
    let workspace: DocumentMut = WORKSPACE_MANIFEST
        .parse()
        .map_err(|e| ManifestError(format!("workspace manifest: {e}")))?;
    let mut manifest: DocumentMut = text
        .parse()
        .map_err(|e| ManifestError(format!("crate manifest: {e}")))?;
    let shared_package = workspace
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(Item::as_table_like)
        .ok_or_else(|| ManifestError("no [workspace.package]".into()))?;
    let shared_dependencies = workspace
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(Item::as_table_like)
        .ok_or_else(|| ManifestError("no [workspace.dependencies]".into()))?;
    // `[lints]` are this repository's conventions (`workspace = true`): a plugin's vendored copy
    // has no such workspace.
    for section in ["dev-dependencies", "bench", "test", "example", "lints"] {
        manifest.remove(section);
    }
    let package = manifest
        .get_mut("package")
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| ManifestError("no [package]".into()))?;
    let inherited: Vec<String> = package
        .iter()
        .filter(|(_, item)| inherits(item))
        .map(|(key, _)| key.to_owned())
        .collect();
    for key in inherited {
        let value = shared_package
            .get(&key)
            .ok_or_else(|| ManifestError(format!("package.{key} is not in the workspace")))?;
        package.insert(&key, value.clone());
    }
    if let Some(dependencies) = manifest
        .get_mut("dependencies")
        .and_then(Item::as_table_like_mut)
    {
        resolve_dependencies(dependencies, shared_dependencies)?;
    }
    manifest.decor_mut().set_prefix(format!(
        "# Written by `plexica` {VERSION} from the SDK's manifest; `plexica plugin sdk update` \
         rewrites it.\n"
    ));
    Ok(manifest.to_string())
}

/// Is `item` `{ workspace = true, … }` (or `x.workspace = true`)?
fn inherits(item: &Item) -> bool {
    item.as_table_like()
        .and_then(|t| t.get("workspace"))
        .and_then(Item::as_bool)
        == Some(true)
}

fn resolve_dependencies(
    dependencies: &mut dyn TableLike,
    shared: &dyn TableLike,
) -> Result<(), ManifestError> {
    let names: Vec<String> = dependencies
        .iter()
        .filter(|(_, item)| inherits(item))
        .map(|(name, _)| name.to_owned())
        .collect();
    for name in names {
        let mut resolved = toml_edit::InlineTable::new();
        match shared.get(&name) {
            Some(Item::Value(Value::String(version))) => {
                resolved.insert("version", version.value().as_str().into());
            }
            Some(item) => {
                let table = item.as_table_like().ok_or_else(|| {
                    ManifestError(format!("workspace dependency `{name}` is not a table"))
                })?;
                for (key, value) in table.iter() {
                    if let Some(value) = value.as_value() {
                        resolved.insert(key, value.clone());
                    }
                }
            }
            None => {
                return Err(ManifestError(format!(
                    "dependency `{name}` is not in the workspace"
                )));
            }
        }
        if resolved.contains_key("path") {
            // The only path dependency of the SDK is its macros crate, copied beside it.
            resolved.insert("path", format!("../{MACROS_DIR}").into());
        }
        let own = dependencies
            .get(&name)
            .and_then(Item::as_table_like)
            .map(|t| {
                t.iter()
                    .filter(|(key, _)| *key != "workspace")
                    .filter_map(|(key, item)| Some((key.to_owned(), item.as_value()?.clone())))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for (key, value) in own {
            if key == "features" {
                merge_features(&mut resolved, &value);
            } else {
                resolved.insert(&key, value);
            }
        }
        resolved.fmt();
        dependencies.insert(&name, Item::Value(Value::InlineTable(resolved)));
    }
    Ok(())
}

/// Features named by the crate add to the workspace's.
fn merge_features(resolved: &mut toml_edit::InlineTable, extra: &Value) {
    let mut features = resolved
        .get("features")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for feature in extra.as_array().into_iter().flatten() {
        if !features.iter().any(|f| f.as_str() == feature.as_str()) {
            features.push(feature.clone());
        }
    }
    resolved.insert("features", Value::Array(features));
}

/// A fresh `[patch.crates-io]` table pointing `plexica-sdk` at the copy.
pub fn patch_table() -> Table {
    let mut patch = toml_edit::InlineTable::new();
    patch.insert("path", format!("{VENDOR_DIR}/{SDK_DIR}").into());
    let mut crates_io = Table::new();
    crates_io.insert("plexica-sdk", Item::Value(Value::InlineTable(patch)));
    crates_io
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<toml::Table, Box<dyn std::error::Error>> {
        Ok(standalone_manifest(text)?.parse::<toml::Table>()?)
    }

    #[test]
    fn the_copied_manifests_inherit_nothing() -> Result<(), Box<dyn std::error::Error>> {
        for text in [SDK_MANIFEST, MACROS_MANIFEST] {
            let manifest = standalone_manifest(text)?;
            assert!(!manifest.contains("workspace"), "{manifest}");
            assert!(!manifest.contains("dev-dependencies"), "{manifest}");
        }
        let sdk = parsed(SDK_MANIFEST)?;
        assert_eq!(sdk["package"]["version"].as_str(), Some(VERSION));
        assert_eq!(sdk["package"]["edition"].as_str(), Some("2024"));
        let macros = &sdk["dependencies"]["plexica-sdk-macros"];
        assert_eq!(macros["path"].as_str(), Some("../plexica-sdk-macros"));
        assert_eq!(macros["version"].as_str(), Some(VERSION));
        assert_eq!(macros["optional"].as_bool(), Some(true));
        assert!(sdk.get("bench").is_none() && sdk.get("test").is_none());
        Ok(())
    }

    #[test]
    fn features_add_to_the_workspace_ones() -> Result<(), Box<dyn std::error::Error>> {
        let text = "[package]\nname = \"x\"\nversion.workspace = true\n\
                    [dependencies]\ntokio = { workspace = true, features = [\"fs\", \"extra\"], optional = true }\n";
        let tokio = parsed(text)?["dependencies"]["tokio"].clone();
        let features: Vec<&str> = tokio["features"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(toml::Value::as_str)
            .collect();
        assert!(features.contains(&"macros") && features.contains(&"extra"));
        assert_eq!(features.iter().filter(|f| **f == "fs").count(), 1);
        assert_eq!(tokio["optional"].as_bool(), Some(true));
        Ok(())
    }

    #[test]
    fn every_source_file_is_copied() -> Result<(), Box<dyn std::error::Error>> {
        let files = files()?;
        for path in [
            "vendor/plexica-sdk/src/lib.rs",
            "vendor/plexica-sdk/Cargo.toml",
            "vendor/plexica-sdk-macros/src/lib.rs",
            "vendor/README.md",
        ] {
            assert!(
                files.iter().any(|f| f.path == std::path::Path::new(path)),
                "{path}"
            );
        }
        Ok(())
    }
}
