//! `plexica keys generate|list|export`: the signing keys of this machine.

use clap::Subcommand;
use serde::Serialize;

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

/// Runs a `keys` subcommand.
pub fn run(command: KeysCommand, ui: &Ui) -> CliResult {
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
