//! Who is calling. Access tokens are JWTs this service signs ([`jwt`]); refresh tokens and
//! API tokens are opaque secrets stored as SHA-256 hashes ([`crate::secrets`]); passwords are
//! Argon2id ([`passwords`]). The HTTP guard turns an `Authorization` header into a
//! [`Principal`].

pub mod jwt;
pub mod oidc;
pub mod passwords;
pub mod sealing;

use plexica_sdk::api::core::INSTALL_TOKEN_PREFIX;

use crate::db::DbResult;
use crate::db::core::{CoreStore, SessionRecord};
use crate::secrets;

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An access token of login session `id`.
    Session(String),
    /// A token of the tenant's external identity provider (`issuer`).
    External {
        /// The provider.
        issuer: String,
    },
    /// The install token of plugin `plugin_id` in the principal's tenant.
    Install {
        /// The plugin.
        plugin_id: String,
    },
    /// A console session's short-lived token for the frontend of plugin `plugin_id`: it opens
    /// that plugin's endpoints through the gateway, as the user, and nothing else.
    PluginUi {
        /// The login session it was issued from (it ends with it).
        session: String,
        /// The plugin.
        plugin_id: String,
    },
    /// API token `id`, limited to its scopes (`*` for all).
    ApiToken {
        /// Token id.
        id: String,
        /// Permissions it is limited to.
        scopes: Vec<String>,
    },
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// User id.
    pub user_id: String,
    /// Email (`admin` for the super admin).
    pub email: String,
    /// The caller's tenant; `None` for the super admin.
    pub tenant: Option<String>,
    /// The platform's super admin.
    pub super_admin: bool,
    /// How.
    pub credential: Credential,
}

impl From<&SessionRecord> for Principal {
    /// The user of `session`, authenticated by it.
    fn from(session: &SessionRecord) -> Self {
        Principal {
            user_id: session.user_id.clone(),
            email: session.email.clone(),
            tenant: session.tenant.clone(),
            super_admin: session.super_admin,
            credential: Credential::Session(session.id.clone()),
        }
    }
}

impl Principal {
    /// Does the credential allow `permission`? Sessions allow everything the user may do;
    /// API tokens only what their scopes list.
    pub fn scope_allows(&self, permission: &str) -> bool {
        match &self.credential {
            Credential::Session(_) | Credential::External { .. } | Credential::PluginUi { .. } => {
                true
            }
            // An install holds no user permission: only the routes made for plugins accept it.
            Credential::Install { .. } => false,
            Credential::ApiToken { scopes, .. } => crate::authz::grants(scopes, permission),
        }
    }
}

/// Issues a new install token for the install of `plugin_id` in `tenant`: the secret is
/// returned (shown once), the database keeps its hash.
pub async fn issue_install_token(
    core: &CoreStore,
    tenant: &str,
    plugin_id: &str,
    now: i64,
) -> DbResult<String> {
    let secret = secrets::new_secret(INSTALL_TOKEN_PREFIX);
    core.put_install_token(&secrets::hash(&secret), tenant, plugin_id, now)
        .await?;
    Ok(secret)
}
