//! The configuration directory (cli.md, "Files"): where it is, and how secrets are kept in it.
//!
//! `PLEXICA_CONFIG_DIR` wins, then `$XDG_CONFIG_HOME/plexica`, then `~/.config/plexica`.
//! Secret files are created 0600 in 0700 directories and refused, with the `chmod` to run,
//! when group or others can read them.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{CliError, CliResult, ExitKind, IoContext};

/// The resolved configuration directory (it may not exist yet).
#[derive(Debug, Clone)]
pub struct ConfigDir(PathBuf);

impl ConfigDir {
    /// Finds the directory from the environment.
    pub fn locate() -> CliResult<Self> {
        if let Some(dir) = std::env::var_os("PLEXICA_CONFIG_DIR").filter(|d| !d.is_empty()) {
            return Ok(Self(PathBuf::from(dir)));
        }
        if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
            return Ok(Self(PathBuf::from(xdg).join("plexica")));
        }
        match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            Some(home) => Ok(Self(PathBuf::from(home).join(".config").join("plexica"))),
            None => Err(
                CliError::failed("cannot locate the configuration directory")
                    .with_help("set PLEXICA_CONFIG_DIR or HOME"),
            ),
        }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `keys/` inside it.
    pub fn keys_dir(&self) -> PathBuf {
        self.0.join("keys")
    }

    /// `config.toml`: profiles and named registries.
    pub fn config_file(&self) -> PathBuf {
        self.0.join("config.toml")
    }

    /// `credentials.toml`: registry tokens (0600).
    pub fn credentials_file(&self) -> PathBuf {
        self.0.join("credentials.toml")
    }
}

/// Creates `dir` (and parents) if needed; new directories are private (0700).
pub fn create_private_dir(dir: &Path) -> CliResult<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).context("create directory", dir)
}

#[cfg(feature = "platform")]
/// Makes the existing directory `dir` private (0700), as it may have been created before.
pub fn restrict_to_owner(dir: &Path) -> CliResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .context("restrict directory", dir)?;
    }
    Ok(())
}

/// Writes a new file readable by its owner only. Fails if it exists.
pub fn write_secret_file(path: &Path, contents: &str) -> CliResult<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::new(
                ExitKind::Conflict,
                format!("{} already exists", path.display()),
            )
        } else {
            CliError::failed(format!("cannot create {}: {e}", path.display()))
        }
    })?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .context("write", path)
}

/// Replaces `path` atomically: a temporary sibling (created 0600) is written, fsynced, given
/// mode 0644 unless `private`, and renamed over `path`. The directory is created (0700) if
/// needed.
pub fn replace_file(path: &Path, contents: &str, private: bool) -> CliResult<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir).context("create a file in", dir)?;
    temp.write_all(contents.as_bytes()).context("write", path)?;
    #[cfg(unix)]
    if !private {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .context("write", path)?;
    }
    #[cfg(not(unix))]
    let _ = private;
    temp.as_file().sync_all().context("write", path)?;
    temp.persist(path)
        .map_err(|e| CliError::failed(format!("cannot write {}: {}", path.display(), e.error)))?;
    Ok(())
}

/// Reads a secret file, refusing it when group or others may read it.
pub fn read_secret_file(path: &Path) -> CliResult<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .context("read", path)?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(CliError::new(
                ExitKind::Failed,
                format!(
                    "{} is readable by other users (mode {:o}); refusing to use it",
                    path.display(),
                    mode & 0o777
                ),
            )
            .with_help(format!("run `chmod 600 {}`", path.display())));
        }
    }
    std::fs::read_to_string(path).context("read", path)
}
