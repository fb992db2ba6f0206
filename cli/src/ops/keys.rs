//! Signing keys of the store: made (encrypted on request), and registered with a registry by
//! signing its challenge.

use std::path::PathBuf;

use plexica_sdk::api::registry::RegisterKeyRequest;
use plexica_sdk::package::signing::SecretKey;
use serde::Serialize;

use crate::error::{CliError, CliResult};
use crate::keystore::{KeyStore, PASSPHRASE_ENV, passphrase_from_env};
use crate::ops::clients::{Access, registry_client};
use crate::output::Ui;
use crate::profile::Selection;

/// A key [`register`] registered (the JSON result of `keys register`).
#[derive(Debug, Serialize)]
pub struct Registered {
    /// Its name in the store.
    pub name: String,
    /// The registry it is registered with.
    pub registry: String,
    /// Its key id.
    pub key_id: String,
    /// Its public key, in its one-line form.
    pub public_key: String,
    /// When the registry recorded it.
    pub created_at: String,
}

/// Makes key pair `name` in `store`, its secret half encrypted with a passphrase (from the
/// environment, else asked twice) when `encrypt`; returns it and the secret key's path.
pub fn generate(
    store: &KeyStore,
    name: &str,
    encrypt: bool,
    ui: &Ui,
) -> CliResult<(SecretKey, PathBuf)> {
    let passphrase = match encrypt {
        true => Some(new_passphrase(ui)?),
        false => None,
    };
    let (key, path) = store.generate(name, passphrase.as_deref())?;
    ui.status("Generated", format!("key `{name}` ({})", key.id));
    Ok((key, path))
}

/// Registers key `name` of `store` with the registry `selection` selects: the key signs the
/// registry's challenge to prove it is there.
pub fn register(
    store: &KeyStore,
    name: &str,
    selection: &Selection,
    ui: &Ui,
) -> CliResult<Registered> {
    let secret = store.secret(Some(name), ui.can_prompt())?;
    let client = registry_client(selection, None, Access::Token, ui)?;
    let challenge = client.key_challenge()?;
    let key = client.register_key(&RegisterKeyRequest::proven(&secret, &challenge))?;
    let result = Registered {
        name: name.to_owned(),
        registry: client.registry().to_string(),
        key_id: key.key_id,
        public_key: key.public_key,
        created_at: key.created_at,
    };
    ui.status(
        "Registered",
        format!(
            "key `{}` ({}) with {}",
            result.name, result.key_id, result.registry
        ),
    );
    Ok(result)
}

/// The passphrase of a key about to be encrypted: from the environment, else asked twice.
fn new_passphrase(ui: &Ui) -> CliResult<String> {
    if let Some(passphrase) = passphrase_from_env() {
        return Ok(passphrase);
    }
    if !ui.can_prompt() {
        return Err(
            CliError::usage("--encrypt needs a passphrase").with_help(format!(
                "set {PASSPHRASE_ENV}, or run on a terminal to be asked"
            )),
        );
    }
    dialoguer::Password::with_theme(&dialoguer::theme::SimpleTheme)
        .with_prompt("Passphrase for the new key")
        .with_confirmation("Repeat it", "the passphrases differ")
        .interact()
        .map_err(|e| CliError::usage(format!("no passphrase: {e}")))
}
