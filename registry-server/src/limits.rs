//! Rate limits: password attempts per account and per address (counted in the database, so on
//! every replica, like the publish limit); anonymous requests per address and the window in
//! which one address's downloads of a version count once (in this process's memory: per
//! replica).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use plexica_server::ratelimit::{
    RateLimit, RateLimiter, Refused, SharedRateLimiter, take_from_address,
};

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, LimitsConfig};
use crate::storage::MetadataStore;

/// The limiters of one process.
#[derive(Debug)]
pub struct Limits {
    password_per_account: SharedRateLimiter,
    password_per_address: SharedRateLimiter,
    per_address: Option<RateLimiter>,
    // A limit of one per window: the first download of a version from an address passes.
    downloads: RateLimiter,
}

impl Limits {
    /// Limiters applying `config`.
    pub fn new(config: &LimitsConfig) -> Self {
        Self {
            password_per_account: SharedRateLimiter::new(
                "password-account",
                config.password_per_account,
            ),
            password_per_address: SharedRateLimiter::new(
                "password-address",
                config.password_per_address,
            ),
            per_address: config.per_address.map(RateLimiter::new),
            downloads: RateLimiter::new(RateLimit {
                burst: 1,
                interval: config.download_window,
            }),
        }
    }

    /// Takes one password attempt naming `account` from `address`, before any hashing.
    pub async fn password(
        &self,
        meta: &dyn MetadataStore,
        account: &str,
        address: Option<IpAddr>,
    ) -> ApiResult<()> {
        meta.take_shared_limit(
            &self.password_per_account,
            account,
            "too many password attempts for this account",
        )
        .await??;
        if let Some(address) = address {
            meta.take_shared_limit(
                &self.password_per_address,
                &address.to_string(),
                "too many password attempts from your address",
            )
            .await??;
        }
        Ok(())
    }

    /// Takes one anonymous (or refused) request from `address`.
    pub fn anonymous(&self, address: Option<IpAddr>) -> Result<(), Refused> {
        take_from_address(self.per_address.as_ref(), address)
    }

    /// Is this the first download of `plugin@version` from `address` within the window?
    pub fn first_download(&self, address: Option<IpAddr>, plugin: &str, version: &str) -> bool {
        let address = address.map_or_else(String::new, |a| a.to_string());
        self.downloads
            .check(&format!("{address} {plugin}@{version}"))
            .is_ok()
    }
}

/// The address of the peer that sent a request (the load balancer's, behind one).
pub fn client_ip(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The client's address, as an extractor.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_ip(&parts.extensions)))
    }
}

/// Middleware: a request without credentials takes a slot from its address's limit first.
pub async fn limit_anonymous(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !request.headers().contains_key(header::AUTHORIZATION)
        && let Err(refused) = state.limits.anonymous(client_ip(request.extensions()))
    {
        return ApiError::from(refused).into_response();
    }
    next.run(request).await
}
