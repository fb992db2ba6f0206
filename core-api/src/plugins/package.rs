//! Packages the platform installs: resolved in the registry's index, downloaded once into a
//! local cache (`<data_dir>/plugins/packages`, content-addressed by digest), verified against
//! the platform's trusted keys on every install, and unpacked once per version
//! (`<plugin-state-dir>/packages/<id>/<version>`, outside the data directory, where a plugin
//! running as another user can read and execute it but not change it) for the runtime.

use std::path::{Path, PathBuf};

use plexica_sdk::api::registry::IndexLine;
use plexica_sdk::manifest::Manifest;
use plexica_sdk::package::signing::PublicKey;
use plexica_sdk::package::{
    CheckStatus, Limits, Package, extract_package, read_package, sha256_hex, verify_read_package,
};
use semver::{Op, Version, VersionReq};
use serde_json::json;

use crate::error::ApiError;
use crate::registry::{RegistryClient, RegistryError};

/// The file, in the directory a package is unpacked in, that holds the digest of that package.
const DIGEST_MARKER: &str = ".plexica-digest";

/// A package that passed every check, with its manifest.
#[derive(Debug)]
pub struct VerifiedPackage {
    /// The package bytes.
    pub bytes: Vec<u8>,
    /// Its structure and hashes.
    pub package: Package,
    /// Its (valid) manifest.
    pub manifest: Manifest,
}

/// Where packages are kept and which keys are trusted.
#[derive(Debug)]
pub struct PackageStore {
    dir: PathBuf,
    unpack_root: PathBuf,
    trusted: Vec<PublicKey>,
    trust_registry_keys: bool,
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound(_) => ApiError::not_found("PLUGIN_NOT_FOUND", e.to_string()),
            RegistryError::TooLarge => ApiError::new(
                http::StatusCode::UNPROCESSABLE_ENTITY,
                "PACKAGE_TOO_LARGE",
                e.to_string(),
            ),
            RegistryError::Unavailable(_) => ApiError::new(
                http::StatusCode::BAD_GATEWAY,
                "REGISTRY_UNAVAILABLE",
                e.to_string(),
            ),
        }
    }
}

fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(http::StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// Is `req` an exact pin (`=1.2.0`), which may select a yanked version?
fn is_pin(req: &VersionReq) -> bool {
    matches!(req.comparators.as_slice(), [c] if c.op == Op::Exact && c.minor.is_some() && c.patch.is_some())
}

/// The highest version of `index` matching `req` (any when `None`), skipping yanked versions
/// unless `req` pins one exactly.
pub fn resolve_version<'a>(
    id: &str,
    index: &'a [IndexLine],
    req: Option<&VersionReq>,
) -> Result<&'a IndexLine, ApiError> {
    let pinned = req.is_some_and(is_pin);
    let mut candidates: Vec<(Version, &IndexLine)> = index
        .iter()
        .filter_map(|line| Some((line.version.parse::<Version>().ok()?, line)))
        .filter(|(v, _)| req.map_or(v.pre.is_empty(), |r| r.matches(v)))
        .collect();
    candidates.sort_by(|a, b| a.0.cmp(&b.0));
    let yanked_only = !candidates.is_empty() && candidates.iter().all(|(_, l)| l.yanked);
    match candidates
        .into_iter()
        .rev()
        .find(|(_, l)| pinned || !l.yanked)
    {
        Some((_, line)) => Ok(line),
        None => {
            let wanted = req.map_or_else(|| "any version".to_owned(), ToString::to_string);
            let why = match yanked_only {
                true => " (the matching versions are yanked: pin one with `=VERSION` to use it)",
                false => "",
            };
            Err(
                ApiError::not_found(
                    "VERSION_NOT_FOUND",
                    format!("no version of `{id}` matches {wanted}{why}"),
                )
                .with_details(json!({
                    "available": index.iter().map(|l| json!({"version": l.version, "yanked": l.yanked})).collect::<Vec<_>>(),
                })),
            )
        }
    }
}

impl PackageStore {
    /// A store keeping downloads under `dir` and unpacking them under `unpack_root`, trusting
    /// `trusted` keys and, with `trust_registry_keys`, the keys the registry lists for each
    /// plugin's owners.
    pub fn new(
        dir: PathBuf,
        unpack_root: PathBuf,
        trusted: Vec<PublicKey>,
        trust_registry_keys: bool,
    ) -> Self {
        Self {
            dir,
            unpack_root,
            trusted,
            trust_registry_keys,
        }
    }

    fn cached_path(&self, digest: &str) -> PathBuf {
        self.dir.join("packages").join(format!("{digest}.pxp"))
    }

    /// Where `id@version` is unpacked.
    pub fn unpacked_dir(&self, id: &str, version: &str) -> PathBuf {
        self.unpack_root.join(id).join(version)
    }

    /// The directory of `id@version` if the package with `digest` is unpacked there (its
    /// [`DIGEST_MARKER`] says so).
    pub async fn unpacked_at(&self, id: &str, version: &str, digest: &str) -> Option<PathBuf> {
        let dir = self.unpacked_dir(id, version);
        let marker = tokio::fs::read_to_string(dir.join(DIGEST_MARKER)).await;
        marker.is_ok_and(|d| d == digest).then_some(dir)
    }

    /// The bytes of `line`'s package: from the cache when its digest matches, else downloaded
    /// (and then cached). A download whose digest differs from the index is refused.
    pub async fn fetch(
        &self,
        registry: &RegistryClient,
        line: &IndexLine,
    ) -> Result<Vec<u8>, ApiError> {
        let path = self.cached_path(&line.digest);
        if let Ok(bytes) = tokio::fs::read(&path).await
            && sha256_hex(&bytes) == line.digest
        {
            return Ok(bytes);
        }
        let bytes = registry.download(&line.id, &line.version).await?;
        let digest = sha256_hex(&bytes);
        if digest != line.digest {
            return Err(unprocessable(
                "PACKAGE_DIGEST_MISMATCH",
                format!(
                    "the downloaded package of {}@{} has digest {digest}, the registry lists {}",
                    line.id, line.version, line.digest
                ),
            ));
        }
        if let Err(e) = write_atomically(&path, &bytes).await {
            tracing::warn!(error = %e, "could not cache a package");
        }
        Ok(bytes)
    }

    /// Checks `bytes` as the package of `id@version`: structure, manifest (with its
    /// migrations), checksums, signature by a trusted key, and that it is what was asked for.
    pub async fn verify(
        &self,
        registry: &RegistryClient,
        id: &str,
        version: &str,
        bytes: Vec<u8>,
    ) -> Result<VerifiedPackage, ApiError> {
        let package = read_package(&bytes, &Limits::default())
            .map_err(|e| unprocessable("PACKAGE_CORRUPT", format!("{id}@{version}: {e}")))?;
        let mut trusted = self.trusted.clone();
        if self.trust_registry_keys {
            trusted.extend(
                registry
                    .owner_keys(id)
                    .await?
                    .iter()
                    .filter_map(|k| PublicKey::parse(k).ok()),
            );
        }
        let report = verify_read_package(&package, &trusted);
        if let Some(failed) = report.checks.iter().find(|c| c.status == CheckStatus::Fail) {
            let code = match failed.check {
                "manifest" => "MANIFEST_INVALID",
                "checksums" => "PACKAGE_TAMPERED",
                "key" => "PACKAGE_UNTRUSTED_KEY",
                "signature" if package.signature_text.is_none() => "PACKAGE_UNSIGNED",
                "signature" => "PACKAGE_SIGNATURE_INVALID",
                "trusted-comment" => "PACKAGE_SIGNATURE_MISMATCH",
                _ => "PACKAGE_CORRUPT",
            };
            return Err(
                unprocessable(code, format!("{id}@{version}: {}", failed.detail))
                    .with_details(json!({ "checks": report.checks })),
            );
        }
        // Every rule, migrations included, passed in `verify_read_package`: only the typed
        // form is needed here.
        let manifest = Manifest::parse(&package.manifest_text)
            .map_err(|e| unprocessable("MANIFEST_INVALID", format!("{id}@{version}: {e}")))?;
        if manifest.plugin.id != id || manifest.plugin.version.to_string() != version {
            return Err(unprocessable(
                "PACKAGE_MISMATCH",
                format!(
                    "the registry's {id}@{version} contains {}@{}",
                    manifest.plugin.id, manifest.plugin.version
                ),
            ));
        }
        Ok(VerifiedPackage {
            bytes,
            package,
            manifest,
        })
    }

    /// `bytes` as a package of plugin `id` whose signature is not checked (development mode):
    /// every other check of [`PackageStore::verify`] holds.
    pub fn accept_unsigned(&self, id: &str, bytes: Vec<u8>) -> Result<VerifiedPackage, ApiError> {
        let package = read_package(&bytes, &Limits::default())
            .map_err(|e| unprocessable("PACKAGE_CORRUPT", format!("{id}: {e}")))?;
        let report = verify_read_package(&package, &[]);
        let unsigned_only = ["signature", "key", "trusted-comment"];
        if let Some(failed) = report
            .checks
            .iter()
            .find(|c| c.status == CheckStatus::Fail && !unsigned_only.contains(&c.check))
        {
            let code = match failed.check {
                "manifest" => "MANIFEST_INVALID",
                "checksums" => "PACKAGE_TAMPERED",
                _ => "PACKAGE_CORRUPT",
            };
            return Err(unprocessable(code, format!("{id}: {}", failed.detail))
                .with_details(json!({ "checks": report.checks })));
        }
        let manifest = Manifest::parse(&package.manifest_text)
            .map_err(|e| unprocessable("MANIFEST_INVALID", format!("{id}: {e}")))?;
        if manifest.plugin.id != id {
            return Err(unprocessable(
                "PACKAGE_MISMATCH",
                format!("the package is plugin `{}`, not `{id}`", manifest.plugin.id),
            ));
        }
        Ok(VerifiedPackage {
            bytes,
            package,
            manifest,
        })
    }

    /// The package of `id@version` with `digest` from the local cache, if it is there. Its
    /// bytes are those verified, signature included, when it was installed (the digest
    /// recorded then binds them), so only its structure is checked again: a restored backup,
    /// or a replica restarting, runs its backends without the registry.
    pub async fn cached(&self, id: &str, version: &str, digest: &str) -> Option<VerifiedPackage> {
        let bytes = tokio::fs::read(self.cached_path(digest)).await.ok()?;
        if sha256_hex(&bytes) != digest {
            return None;
        }
        let package = self.accept_unsigned(id, bytes).ok()?;
        (package.manifest.plugin.version.to_string() == version).then_some(package)
    }

    /// Unpacks `verified` (once per version) and returns the directory.
    pub async fn unpack(&self, verified: &VerifiedPackage) -> Result<PathBuf, ApiError> {
        let m = &verified.manifest.plugin;
        let version = m.version.to_string();
        if let Some(dir) = self
            .unpacked_at(&m.id, &version, &verified.package.digest)
            .await
        {
            return Ok(dir);
        }
        let dir = self.unpacked_dir(&m.id, &version);
        let staging = dir.with_extension(format!("partial-{}", uuid_like()));
        let result = {
            let staging = staging.clone();
            let bytes = verified.bytes.clone();
            let package = verified.package.clone();
            tokio::task::spawn_blocking(move || {
                std::fs::create_dir_all(&staging)?;
                extract_package(&bytes, &package, &staging)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                std::fs::write(staging.join(DIGEST_MARKER), &package.digest)
            })
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
        };
        let installed = result.and_then(|()| {
            readable_by_all(&self.unpack_root, &staging)?;
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            std::fs::rename(&staging, &dir)
        });
        if let Err(e) = installed {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(ApiError::internal(format!(
                "could not unpack {}@{}: {e}",
                m.id, m.version
            )));
        }
        Ok(dir)
    }
}

/// Makes the directories from `root` down to `tree`, and every directory in `tree`, 0755: a
/// plugin running as another user reads and executes its package (files are 0644 or 0755
/// already) and changes nothing. Who may reach `root` at all is decided above it.
fn readable_by_all(root: &Path, tree: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let open = |dir: &Path| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    for dir in tree.ancestors().skip(1).take_while(|d| d.starts_with(root)) {
        open(dir)?;
    }
    let mut pending = vec![tree.to_path_buf()];
    while let Some(dir) = pending.pop() {
        open(&dir)?;
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    Ok(())
}

fn uuid_like() -> String {
    format!("{:016x}", rand::random::<u64>())
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let partial = path.with_extension(format!("partial-{}", uuid_like()));
    tokio::fs::write(&partial, bytes).await?;
    tokio::fs::rename(&partial, path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(versions: &[(&str, bool)]) -> Vec<IndexLine> {
        versions
            .iter()
            .map(|(v, yanked)| IndexLine {
                id: "crm".into(),
                version: (*v).into(),
                digest: format!("d{v}"),
                yanked: *yanked,
                dependencies: Default::default(),
                plexica: None,
            })
            .collect()
    }

    fn req(text: &str) -> VersionReq {
        match VersionReq::parse(text) {
            Ok(r) => r,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    fn resolved(index: &[IndexLine], r: Option<&str>) -> Option<String> {
        let r = r.map(req);
        resolve_version("crm", index, r.as_ref())
            .ok()
            .map(|l| l.version.clone())
    }

    #[test]
    fn yanked_versions_are_skipped_unless_pinned() {
        let idx = index(&[
            ("1.0.0", false),
            ("1.1.0", false),
            ("1.2.0", true),
            ("2.0.0-rc.1", false),
        ]);
        assert_eq!(resolved(&idx, None).as_deref(), Some("1.1.0"));
        assert_eq!(resolved(&idx, Some("^1")).as_deref(), Some("1.1.0"));
        assert_eq!(resolved(&idx, Some("=1.2.0")).as_deref(), Some("1.2.0"));
        assert_eq!(resolved(&idx, Some("^1.2")), None);
        assert_eq!(
            resolved(&idx, Some("=2.0.0-rc.1")).as_deref(),
            Some("2.0.0-rc.1")
        );
        let err = resolve_version("crm", &idx, Some(&req("^1.2"))).unwrap_err();
        assert_eq!(err.code, "VERSION_NOT_FOUND");
        assert!(err.message.contains("yanked"), "{}", err.message);
    }
}
