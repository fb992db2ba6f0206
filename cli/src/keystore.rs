//! Signing keys in the configuration directory: `keys/NAME.key` (0600, optionally encrypted
//! with a passphrase) and `keys/NAME.pub`; revoked pairs are kept in `keys/revoked/`.

use std::path::{Path, PathBuf};

use plexica_sdk::package::signing::{PublicKey, SecretKey};

use crate::config::{ConfigDir, create_private_dir, read_secret_file, write_secret_file};
use crate::error::{CliError, CliResult, ExitKind, IoContext};

/// Name of the key used when none is given and several exist.
pub const DEFAULT_KEY: &str = "default";

/// The environment variable that holds the passphrase of an encrypted secret key (for CI; on
/// a terminal it is asked for).
pub const PASSPHRASE_ENV: &str = "PLEXICA_KEY_PASSPHRASE";

/// The passphrase from [`PASSPHRASE_ENV`], if set and not empty.
pub fn passphrase_from_env() -> Option<String> {
    std::env::var(PASSPHRASE_ENV).ok().filter(|p| !p.is_empty())
}

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

    /// Generates and stores a new key pair called `name`, its secret half encrypted with
    /// `passphrase` when one is given.
    pub fn generate(
        &self,
        name: &str,
        passphrase: Option<&str>,
    ) -> CliResult<(SecretKey, PathBuf)> {
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
        let text = match passphrase {
            Some(passphrase) => key.to_encrypted_file_text(passphrase),
            None => key.to_file_text(),
        };
        write_secret_file(&secret_path, &text)?;
        std::fs::write(&public_path, key.public_key().to_file_text())
            .context("write", &public_path)?;
        Ok((key, secret_path))
    }

    #[cfg(feature = "platform")]
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

    /// Moves the key pair called `name` to `keys/revoked/NAME-KEYID.{key,pub}` (kept, so that
    /// what it signed can still be checked); returns the archived public key's path.
    pub fn archive(&self, name: &str) -> CliResult<PathBuf> {
        let public = self.public(name)?;
        let archive = self.dir.join("revoked");
        create_private_dir(&archive)?;
        let (secret_path, public_path) = self.paths(name);
        let stem = format!("{name}-{}", public.id);
        let archived_public = archive.join(format!("{stem}.pub"));
        if secret_path.exists() {
            let to = archive.join(format!("{stem}.key"));
            std::fs::rename(&secret_path, &to).context("move", &secret_path)?;
        }
        std::fs::rename(&public_path, &archived_public).context("move", &public_path)?;
        Ok(archived_public)
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
    /// An encrypted key is opened with [`PASSPHRASE_ENV`], else, when `ask`, a hidden prompt.
    pub fn secret(&self, key: Option<&str>, ask: bool) -> CliResult<SecretKey> {
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
        if !SecretKey::is_encrypted(&text) {
            return SecretKey::parse(&text)
                .map_err(|e| CliError::failed(format!("{}: {e}", path.display())));
        }
        let passphrase = match passphrase_from_env() {
            Some(passphrase) => passphrase,
            None if ask => dialoguer::Password::with_theme(&dialoguer::theme::SimpleTheme)
                .with_prompt(format!("Passphrase of {}", path.display()))
                .interact()
                .map_err(|e| CliError::usage(format!("no passphrase: {e}")))?,
            None => {
                return Err(CliError::usage(format!(
                    "the secret key {} is protected by a passphrase",
                    path.display()
                ))
                .with_help(format!(
                    "set {PASSPHRASE_ENV} (from your CI's secret store), or run on a terminal to be asked"
                )));
            }
        };
        SecretKey::parse_with_passphrase(&text, &passphrase).map_err(|e| {
            CliError::new(ExitKind::Auth, format!("{}: {e}", path.display()))
                .with_help(format!("check the passphrase (or {PASSPHRASE_ENV})"))
        })
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
