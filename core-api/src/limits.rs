//! Request floods: rate limits per tenant, per credential and per client address, answered
//! with 429 `RATE_LIMITED` and `Retry-After` before a handler runs.
//!
//! Authenticated requests count against their tenant and their credential (a session, an API
//! token, an install, an external identity), separately for the core API and the plugin
//! gateway, so that a tenant flooding one cannot starve another tenant, nor its own use of the
//! other. Anonymous requests, and requests whose credential is refused, count against the
//! client's address. Those are kept in each replica's memory; login attempts (per account and
//! per address) are counted in the core database, so that they hold across replicas (see
//! [`plexica_server::ratelimit`]).

use std::net::IpAddr;

pub use plexica_server::ratelimit::{RateLimit, Refused, Switchable};
use plexica_server::ratelimit::{RateLimiter, SharedRateLimiter, take_from_address};

use crate::auth::{Credential, Principal};
use crate::db::DbError;
use crate::db::core::CoreStore;
use crate::error::ApiResult;

pub use crate::config::LimitsConfig;

/// Which budget a route draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteFamily {
    /// The core API's own routes.
    Api,
    /// Calls through the plugin gateway.
    Gateway,
}

impl RouteFamily {
    fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Gateway => "gateway",
        }
    }
}

/// The limiters of one process.
#[derive(Debug)]
pub struct RequestLimits {
    per_tenant: Option<RateLimiter>,
    per_credential: Option<RateLimiter>,
    per_address: Option<RateLimiter>,
    login_per_account: SharedRateLimiter,
    login_per_address: SharedRateLimiter,
}

impl RequestLimits {
    /// Limiters applying `config`.
    pub fn new(config: &LimitsConfig) -> Self {
        Self {
            per_tenant: config.per_tenant.map(RateLimiter::new),
            per_credential: config.per_credential.map(RateLimiter::new),
            per_address: config.per_address.map(RateLimiter::new),
            login_per_account: SharedRateLimiter::new("login-account", config.login_per_account),
            login_per_address: SharedRateLimiter::new("login-address", config.login_per_address),
        }
    }

    /// Takes one request of `principal` on a route of `family`.
    pub fn authenticated(&self, family: RouteFamily, principal: &Principal) -> Result<(), Refused> {
        let family = family.as_str();
        if let (Some(limiter), Some(tenant)) = (&self.per_tenant, &principal.tenant) {
            limiter.take(
                &format!("{family}/{tenant}"),
                "this tenant sends too many requests",
            )?;
        }
        if let Some(limiter) = &self.per_credential {
            limiter.take(
                &format!("{family}/{}", credential_key(principal)),
                "this credential sends too many requests",
            )?;
        }
        Ok(())
    }

    /// Takes one login attempt naming `account` (`tenant/email`) from `address`, counted on
    /// every replica of `core`'s database.
    pub async fn login(
        &self,
        core: &CoreStore,
        account: &str,
        address: Option<IpAddr>,
    ) -> ApiResult<()> {
        const WHAT: &str = "too many login attempts";
        let pool = core.pool();
        self.login_per_account
            .take(pool, account, WHAT)
            .await
            .map_err(DbError::from)??;
        if let Some(address) = address {
            self.login_per_address
                .take(pool, &address.to_string(), WHAT)
                .await
                .map_err(DbError::from)??;
        }
        Ok(())
    }

    /// Takes one anonymous (or refused) request from `address`.
    pub fn anonymous(&self, address: Option<IpAddr>) -> Result<(), Refused> {
        take_from_address(self.per_address.as_ref(), address)
    }
}

/// What identifies a credential across requests.
fn credential_key(principal: &Principal) -> String {
    let tenant = principal.tenant.as_deref().unwrap_or("");
    match &principal.credential {
        Credential::Session(id) | Credential::PluginUi { session: id, .. } => {
            format!("session/{id}")
        }
        Credential::ApiToken { id, .. } => format!("token/{id}"),
        Credential::Install { plugin_id } => format!("install/{tenant}/{plugin_id}"),
        Credential::External { issuer } => {
            format!("external/{tenant}/{issuer}/{}", principal.user_id)
        }
    }
}
