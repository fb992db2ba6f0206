//! `plexica keys generate|list|register|export`: the signing keys of this machine.

use clap::Subcommand;
use plexica_sdk::api::registry::RegisterKeyRequest;
use serde::Serialize;

use super::{Access, registry_client};
use crate::cli::GlobalArgs;
use crate::config::ConfigDir;
use crate::error::CliResult;
use crate::keystore::{DEFAULT_KEY, KeyStore};
use crate::output::Ui;

/// Key management subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new Ed25519 key pair (minisign format).
    Generate {
        /// Name of the key.
        #[arg(default_value = DEFAULT_KEY)]
        name: String,
    },
    /// List the key pairs in the configuration directory.
    List,
    /// Register a key with the registry, so that packages it signs are accepted. The key signs
    /// a challenge from the registry to prove it is yours (its secret half must be here).
    Register {
        /// Name of the key.
        name: String,
    },
    /// Print a public key in its one-line form, to share or register.
    Export {
        /// Name of the key.
        name: String,
    },
}

/// A key as printed by `keys` commands.
#[derive(Debug, Serialize)]
struct KeyView {
    name: String,
    key_id: String,
    public_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_key_path: Option<String>,
}

/// The JSON result of `keys register`.
#[derive(Debug, Serialize)]
struct Registered {
    name: String,
    registry: String,
    key_id: String,
    public_key: String,
    created_at: String,
}

/// Runs a `keys` subcommand.
pub fn run(command: KeysCommand, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let store = KeyStore::new(&ConfigDir::locate()?);
    match command {
        KeysCommand::Generate { name } => {
            let (key, path) = store.generate(&name)?;
            let view = KeyView {
                name,
                key_id: key.id.to_string(),
                public_key: key.public_key().to_line(),
                secret_key_path: Some(path.display().to_string()),
            };
            ui.status(
                "Generated",
                format!("key `{}` ({})", view.name, view.key_id),
            );
            ui.result(&view, || {
                format!(
                    "key id:      {}\npublic key:  {}\nsecret key:  {} (keep it private)",
                    view.key_id,
                    view.public_key,
                    path.display()
                )
            });
        }
        KeysCommand::List => {
            let keys: Vec<KeyView> = store
                .list()?
                .into_iter()
                .map(|k| KeyView {
                    key_id: k.public.id.to_string(),
                    public_key: k.public.to_line(),
                    secret_key_path: k
                        .has_secret
                        .then(|| k.public_path.with_extension("key").display().to_string()),
                    name: k.name,
                })
                .collect();
            ui.result(&keys, || {
                if keys.is_empty() {
                    return "no keys; create one with `plexica keys generate`".to_owned();
                }
                let mut out = format!("{:<20} {:<16}  {}\n", "NAME", "KEY ID", "SECRET");
                for k in &keys {
                    let secret = if k.secret_key_path.is_some() {
                        "yes"
                    } else {
                        "no"
                    };
                    out.push_str(&format!("{:<20} {:<16}  {secret}\n", k.name, k.key_id));
                }
                out
            });
        }
        KeysCommand::Register { name } => {
            let secret = store.secret(Some(&name))?;
            let client = registry_client(global, None, Access::Token, ui)?;
            let challenge = client.key_challenge()?;
            let key = client.register_key(&RegisterKeyRequest::proven(&secret, &challenge))?;
            let result = Registered {
                name,
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
            ui.result(&result, || {
                format!("key {} registered with {}", result.key_id, result.registry)
            });
        }
        KeysCommand::Export { name } => {
            let public = store.public(&name)?;
            let view = KeyView {
                name,
                key_id: public.id.to_string(),
                public_key: public.to_line(),
                secret_key_path: None,
            };
            ui.result(&view, || view.public_key.clone());
        }
    }
    Ok(())
}
