//! Backup and restore of the embedded default (`plexica-core-api backup --to DIR`, `restore
//! --from DIR`): a consistent copy of every SQLite database, taken while the server runs
//! (`VACUUM INTO`, which reads one snapshot of each file), and of the downloaded plugin
//! packages. PostgreSQL is backed up with `pg_dump` (docs/deployment.md); the key-encryption
//! key is never part of a backup — keep it apart, as the server does.

use std::path::{Path, PathBuf};

use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

/// The file a backup describes itself in.
pub const MANIFEST: &str = "plexica-backup.json";

/// Why a backup or a restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The destination already holds something.
    #[error("{0} is not empty; back up into a new directory")]
    NotEmpty(PathBuf),
    /// The data directory to restore into already holds a core database.
    #[error("{0} already holds a core database; restore into a new data directory")]
    Occupied(PathBuf),
    /// No core database where one was expected.
    #[error("{0} holds no core.db: not a data directory or a backup")]
    Missing(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite refused.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// Why.
        source: sqlx::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackupManifest {
    /// When it was taken, RFC 3339.
    pub created_at: String,
    /// The databases, relative to the backup (`core.db`, `tenants/tenant_<slug>.db`).
    pub databases: Vec<String>,
    /// Plugin package files copied, relative to the backup.
    pub packages: Vec<String>,
}

/// The SQLite files of a data directory: `core.db`, then `tenants/*.db`, relative paths.
fn databases(data_dir: &Path) -> Result<Vec<String>, BackupError> {
    if !data_dir.join("core.db").is_file() {
        return Err(BackupError::Missing(data_dir.to_path_buf()));
    }
    let mut found = vec!["core.db".to_owned()];
    let tenants = data_dir.join("tenants");
    if tenants.is_dir() {
        let mut names: Vec<String> = std::fs::read_dir(&tenants)
            .map_err(io(&tenants))?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".db"))
            .map(|n| format!("tenants/{n}"))
            .collect();
        names.sort();
        found.extend(names);
    }
    Ok(found)
}

/// Files under `root/dir`, relative to `root`, recursively, leaving out `skip` directories.
fn files_under(root: &Path, dir: &str, skip: &[&str]) -> Result<Vec<String>, BackupError> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(relative) = pending.pop() {
        let path = root.join(&relative);
        if !path.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&path).map_err(io(&path))? {
            let entry = entry.map_err(io(&path))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let child = format!("{relative}/{name}");
            let kind = entry.file_type().map_err(io(&entry.path()))?;
            if kind.is_dir() && !skip.contains(&child.as_str()) {
                pending.push(child);
            } else if kind.is_file() {
                out.push(child);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn copy(from: &Path, to: &Path) -> Result<(), BackupError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::copy(from, to).map_err(io(from))?;
    Ok(())
}

/// Backs up the embedded data directory `data_dir` into the new or empty directory `to`,
/// while the server may be running.
pub async fn backup(data_dir: &Path, to: &Path) -> Result<BackupManifest, BackupError> {
    if to.exists() && std::fs::read_dir(to).map_err(io(to))?.next().is_some() {
        return Err(BackupError::NotEmpty(to.to_path_buf()));
    }
    let databases = databases(data_dir)?;
    std::fs::create_dir_all(to.join("tenants")).map_err(io(to))?;
    for relative in &databases {
        let source = data_dir.join(relative);
        let sqlite = |source_error| BackupError::Sqlite {
            path: source.clone(),
            source: source_error,
        };
        let options = SqliteConnectOptions::new()
            .filename(&source)
            .read_only(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let mut connection = SqliteConnection::connect_with(&options)
            .await
            .map_err(sqlite)?;
        let target = to.join(relative).display().to_string();
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&mut connection)
            .await
            .map_err(sqlite)?;
        connection.close().await.map_err(sqlite)?;
    }
    let packages = files_under(data_dir, "plugins", &["plugins/logs"])?;
    for relative in &packages {
        copy(&data_dir.join(relative), &to.join(relative))?;
    }
    let manifest = BackupManifest {
        created_at: plexica_sdk::api::time::rfc3339(plexica_sdk::api::time::now_ms()),
        databases,
        packages,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| BackupError::Io {
        path: to.join(MANIFEST),
        source: std::io::Error::other(e),
    })?;
    let path = to.join(MANIFEST);
    std::fs::write(&path, text).map_err(io(&path))?;
    Ok(manifest)
}

/// Restores the backup in `from` into `data_dir`, which must not hold a core database yet.
pub fn restore(from: &Path, data_dir: &Path) -> Result<BackupManifest, BackupError> {
    if data_dir.join("core.db").exists() {
        return Err(BackupError::Occupied(data_dir.to_path_buf()));
    }
    let path = from.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let manifest: BackupManifest = serde_json::from_str(&text).map_err(|e| BackupError::Io {
        path: path.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })?;
    for relative in manifest.databases.iter().chain(&manifest.packages) {
        if plexica_sdk::manifest::check_package_path(relative).is_ok() {
            copy(&from.join(relative), &data_dir.join(relative))?;
        } else {
            return Err(BackupError::Io {
                path: path.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("`{relative}` is not a path inside the backup"),
                ),
            });
        }
    }
    Ok(manifest)
}
