//! Forgotten logins revoked on their servers, best effort: a failure is a warning.

use crate::client::core::CoreClient;
use crate::credentials::{ApiSession, StoredLogin};
use crate::ops::clients::client_for;
use crate::output::Ui;
use crate::profile::ServiceUrl;

/// Revokes a forgotten core API session on its server (best effort: a failure is a warning);
/// whether the server confirmed. An API token stays valid (`token revoke` ends it).
pub fn revoke_session(api: &ServiceUrl, session: &ApiSession, ui: &Ui) -> bool {
    if session.refresh_token.is_none() {
        return false;
    }
    match CoreClient::new(api.clone(), Some(session.clone())).and_then(|client| client.logout()) {
        Ok(()) => true,
        Err(e) => {
            ui.warn(format!(
                "the session was forgotten here but not revoked on {api}: {e}"
            ));
            false
        }
    }
}

/// Revokes a forgotten registry token that `login` created (best effort: a failure is a
/// warning); whether the registry confirmed.
pub fn revoke_token(registry: &ServiceUrl, login: &StoredLogin, ui: &Ui) -> bool {
    let Some(id) = &login.token_id else {
        return false;
    };
    match client_for(registry.clone(), Some(login.token.clone()), ui)
        .and_then(|client| Ok(client.revoke_token(id)?))
    {
        Ok(()) => true,
        Err(e) => {
            ui.warn(format!(
                "the token was forgotten here but not revoked on {registry}: {}",
                e.message
            ));
            false
        }
    }
}
