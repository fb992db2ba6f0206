//! Signing keys in the configuration directory: `keys/NAME.key` (0600) and `keys/NAME.pub`.

use std::path::{Path, PathBuf};

use plexica_sdk::package::signing::{PublicKey, SecretKey};

use crate::config::{ConfigDir, create_private_dir, read_secret_file, write_secret_file};
use crate::error::{CliError, CliResult, ExitKind, IoContext};

/// Name of the key used when none is given and several exist.
pub const DEFAULT_KEY: &str = "default";

/// One key pair found in the store.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// Its name (file stem).
    pub name: String,
    /// The public half.
    pub public: PublicKey,
    /// Path of the public key file.
    pub public_path: PathBuf,
    /// Whether the secret half is present.
    pub has_secret: bool,
}

/// The `keys/` directory.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
}

fn check_name(name: &str) -> CliResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(CliError::usage(format!("`{name}` is not a valid key name"))
            .with_help("use letters, digits, `-` and `_`, at most 64 characters"))
    }
}

impl KeyStore {
    /// The store inside `config`.
    pub fn new(config: &ConfigDir) -> Self {
        Self {
            dir: config.keys_dir(),
        }
    }

    fn paths(&self, name: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{name}.key")),
            self.dir.join(format!("{name}.pub")),
        )
    }

    /// Generates and stores a new key pair called `name`.
    pub fn generate(&self, name: &str) -> CliResult<(SecretKey, PathBuf)> {
        check_name(name)?;
        create_private_dir(&self.dir)?;
        let (secret_path, public_path) = self.paths(name);
        if secret_path.exists() || public_path.exists() {
            return Err(
                CliError::new(ExitKind::Conflict, format!("key `{name}` already exists"))
                    .with_help("pick another name, or remove the old key files first"),
            );
        }
        let key = SecretKey::generate();
        write_secret_file(&secret_path, &key.to_file_text())?;
        std::fs::write(&public_path, key.public_key().to_file_text())
            .context("write", &public_path)?;
        Ok((key, secret_path))
    }

    /// Deletes the key pair called `name` (missing files are not an error).
    pub fn remove(&self, name: &str) -> CliResult {
        check_name(name)?;
        let (secret_path, public_path) = self.paths(name);
        for path in [secret_path, public_path] {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(CliError::failed(format!(
                        "cannot remove {}: {e}",
                        path.display()
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Every key pair, sorted by name.
    pub fn list(&self) -> CliResult<Vec<StoredKey>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(CliError::failed(format!(
                    "cannot read {}: {e}",
                    self.dir.display()
                )));
            }
        };
        let mut keys = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let Some(name) = path
                .extension()
                .filter(|ext| *ext == "pub")
                .and_then(|_| path.file_stem())
                .and_then(|stem| stem.to_str())
            else {
                continue;
            };
            let public = read_public(&path)?;
            keys.push(StoredKey {
                name: name.to_owned(),
                public,
                has_secret: self.paths(name).0.exists(),
                public_path: path.clone(),
            });
        }
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }

    /// The public key called `name`.
    pub fn public(&self, name: &str) -> CliResult<PublicKey> {
        check_name(name)?;
        let (_, public_path) = self.paths(name);
        if !public_path.exists() {
            return Err(not_found(name));
        }
        read_public(&public_path)
    }

    /// The secret key given by `--key` (a name in the store or a path), or the default one.
    pub fn secret(&self, key: Option<&str>) -> CliResult<SecretKey> {
        let path = match key {
            Some(k) if k.contains('/') || k.ends_with(".key") => PathBuf::from(k),
            Some(name) => {
                check_name(name)?;
                self.paths(name).0
            }
            None => self.default_secret_path()?,
        };
        if !path.exists() {
            return Err(CliError::new(
                ExitKind::NotFound,
                format!("no secret key at {}", path.display()),
            )
            .with_help("create one with `plexica keys generate`"));
        }
        let text = read_secret_file(&path)?;
        SecretKey::parse(&text).map_err(|e| CliError::failed(format!("{}: {e}", path.display())))
    }

    fn default_secret_path(&self) -> CliResult<PathBuf> {
        let (default_path, _) = self.paths(DEFAULT_KEY);
        if default_path.exists() {
            return Ok(default_path);
        }
        let with_secret: Vec<StoredKey> =
            self.list()?.into_iter().filter(|k| k.has_secret).collect();
        match with_secret.as_slice() {
            [only] => Ok(self.paths(&only.name).0),
            [] => Err(CliError::new(ExitKind::NotFound, "no signing key yet")
                .with_help("create one with `plexica keys generate`")),
            _ => Err(
                CliError::usage("several signing keys exist and none is called `default`")
                    .with_help("pass --key NAME"),
            ),
        }
    }
}

fn not_found(name: &str) -> CliError {
    CliError::new(ExitKind::NotFound, format!("no key called `{name}`"))
        .with_help("see `plexica keys list`, or create it with `plexica keys generate`")
}

fn read_public(path: &Path) -> CliResult<PublicKey> {
    let text = std::fs::read_to_string(path).context("read", path)?;
    PublicKey::parse(&text).map_err(|e| CliError::failed(format!("{}: {e}", path.display())))
}
