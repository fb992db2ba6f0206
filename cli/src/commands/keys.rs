//! `plexica keys generate|list|register|export|revoke`: the signing keys of this machine.

use clap::Subcommand;
use serde::Serialize;

use super::{Access, registry_client};
use crate::config::ConfigDir;
use crate::error::CliResult;
use crate::global::GlobalArgs;
use crate::keystore::{DEFAULT_KEY, KeyStore};
use crate::ops::keys;
use crate::output::Ui;

/// Key management subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new Ed25519 key pair (minisign format; stock `minisign` uses it too).
    #[command(
        visible_alias = "gen",
        after_help = "Examples:\n  \
        plexica keys generate\n  \
        plexica keys generate release --encrypt      # asks for a passphrase\n  \
        PLEXICA_KEY_PASSPHRASE=… plexica keys generate ci --encrypt"
    )]
    Generate {
        /// Name of the key.
        #[arg(default_value = DEFAULT_KEY)]
        name: String,
        /// Encrypt the secret key with a passphrase (minisign's scheme), asked for on a
        /// terminal or read from PLEXICA_KEY_PASSPHRASE; signing then needs it the same way.
        #[arg(long)]
        encrypt: bool,
    },
    /// List the key pairs in the configuration directory.
    #[command(visible_alias = "ls")]
    List,
    /// Register a key with the registry, so that packages it signs are accepted. The key signs
    /// a challenge from the registry to prove it is yours (its secret half must be here).
    Register {
        /// Name of the key.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::keys))]
        name: String,
    },
    /// Print a public key in its one-line form, to share or register.
    Export {
        /// Name of the key.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::keys))]
        name: String,
    },
    /// Revoke a key: the registry refuses new packages signed with it, and the pair moves to
    /// `keys/revoked/` (asks first; `--yes` confirms without a prompt).
    #[command(after_help = "Examples:\n  \
        plexica keys revoke default\n  \
        plexica keys revoke old-laptop --yes --registry https://registry.example.com")]
    Revoke {
        /// Name of the key.
        #[arg(add = clap_complete::engine::ArgValueCompleter::new(crate::complete::keys))]
        name: String,
        /// The registry to revoke it at (a configured name or a URL) [default: the profile's]
        #[arg(long, value_name = "NAME|URL")]
        registry: Option<String>,
    },
}

/// The JSON result of `keys revoke`.
#[derive(Debug, Serialize)]
struct Revoked {
    name: String,
    key_id: String,
    registry: String,
    /// Whether the registry knew the key (`false`: it was never registered there).
    revoked_at_registry: bool,
    archived_to: String,
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
pub fn run(command: KeysCommand, global: &GlobalArgs, ui: &Ui) -> CliResult {
    let store = KeyStore::new(&ConfigDir::locate()?);
    match command {
        KeysCommand::Generate { name, encrypt } => {
            let (key, path) = keys::generate(&store, &name, encrypt, ui)?;
            let view = KeyView {
                name,
                key_id: key.id.to_string(),
                public_key: key.public_key().to_line(),
                secret_key_path: Some(path.display().to_string()),
            };
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
            let result = keys::register(&store, &name, &global.selection(), ui)?;
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
        KeysCommand::Revoke { name, registry } => revoke(&store, &name, registry, global, ui)?,
    }
    Ok(())
}

fn revoke(
    store: &KeyStore,
    name: &str,
    registry: Option<String>,
    global: &GlobalArgs,
    ui: &Ui,
) -> CliResult {
    let public = store.public(name)?;
    let key_id = public.id.to_string();
    let client = registry_client(global, registry.as_deref(), Access::Token, ui)?;
    crate::prompt::confirm(
        ui,
        &format!(
            "Revoke key `{name}` ({key_id}) at {}? Packages signed with it will be refused",
            client.registry()
        ),
    )?;
    let revoked_at_registry = match client.revoke_key(&key_id) {
        Ok(_) => true,
        Err(e) if e.status() == Some(404) => {
            ui.warn(format!(
                "{} does not know key {key_id}; archiving it here only",
                client.registry()
            ));
            false
        }
        Err(e) => return Err(e.into()),
    };
    let archived = store.archive(name)?;
    let result = Revoked {
        name: name.to_owned(),
        key_id,
        registry: client.registry().to_string(),
        revoked_at_registry,
        archived_to: archived.display().to_string(),
    };
    ui.status(
        "Revoked",
        format!("key `{}` ({})", result.name, result.key_id),
    );
    ui.result(&result, || {
        format!(
            "key {} revoked; its files moved to {}",
            result.key_id,
            archived
                .parent()
                .map_or_else(String::new, |d| d.display().to_string())
        )
    });
    Ok(())
}
