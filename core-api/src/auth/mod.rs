//! Who is calling. Access tokens are JWTs this service signs ([`jwt`]); refresh tokens and
//! API tokens are opaque secrets stored as SHA-256 hashes ([`secrets`]); passwords are
//! Argon2id ([`passwords`]). [`authenticate`] turns an `Authorization` header into a
//! [`Principal`].

pub mod jwt;
pub mod oidc;
pub mod passwords;
pub mod sealing;
pub mod secrets;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use plexica_sdk::api::core::{API_TOKEN_PREFIX, INSTALL_TOKEN_PREFIX};
use plexica_sdk::api::time::{now_ms, rfc3339};

use crate::error::{ApiError, ApiResult};
use crate::slug::TenantSlug;
use crate::state::AppState;

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

impl Principal {
    /// Does the credential allow `permission`? Sessions allow everything the user may do;
    /// API tokens only what their scopes list.
    pub fn scope_allows(&self, permission: &str) -> bool {
        match &self.credential {
            Credential::Session(_) | Credential::External { .. } => true,
            // An install holds no user permission: only the routes made for plugins accept it.
            Credential::Install { .. } => false,
            Credential::ApiToken { scopes, .. } => crate::rbac::grants(scopes, permission),
        }
    }
}

/// The bearer token of `headers`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Authenticates `token` as a token of tenant `slug`'s external identity provider, if the
/// tenant has one: the provider is the path's tenant's, never one the token names.
pub async fn authenticate_external(
    state: &AppState,
    slug: &TenantSlug,
    headers: &HeaderMap,
) -> ApiResult<Option<Principal>> {
    let Some(token) = bearer(headers) else {
        return Ok(None);
    };
    let Some(tenant) = state.tenant(slug).await? else {
        return Ok(None);
    };
    let Ok(Some(config)) = oidc::OidcConfig::from_settings(&tenant.settings) else {
        return Ok(None);
    };
    let claims = state.oidc.verify(&config, token).await?;
    if config.require_verified_email && claims.email_verified != Some(true) {
        return Err(ApiError::unauthenticated(
            "EMAIL_NOT_VERIFIED",
            "the provider has not verified this token's email (email_verified is not true)",
        ));
    }
    let email = claims
        .email
        .map(|e| e.trim().to_lowercase())
        .ok_or_else(|| {
            ApiError::unauthenticated("INVALID_TOKEN", "the provider's token carries no email")
        })?;
    let user = state
        .tenant_dbs
        .get(slug)
        .await?
        .user_by_email(&email)
        .await?
        .ok_or_else(|| {
            ApiError::forbidden(
                "UNKNOWN_IDENTITY",
                "the identity provider vouches for someone who is not a user of this tenant",
            )
        })?;
    Ok(Some(Principal {
        user_id: user.id,
        email: user.email,
        tenant: Some(tenant.slug),
        super_admin: false,
        credential: Credential::External {
            issuer: config.issuer,
        },
    }))
}

/// Authenticates the request: 401 without a valid access or API token.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> ApiResult<Principal> {
    let token = bearer(headers).ok_or_else(|| {
        ApiError::unauthenticated(
            "UNAUTHENTICATED",
            "authentication required: `Authorization: Bearer <access token or plx_ API token>`",
        )
    })?;
    if token.starts_with(INSTALL_TOKEN_PREFIX) {
        let (tenant, plugin_id) = state
            .core
            .install_by_token_hash(&secrets::hash(token))
            .await?
            .ok_or_else(|| {
                ApiError::unauthenticated("INVALID_TOKEN", "unknown or revoked install token")
            })?;
        return Ok(Principal {
            user_id: format!("plugin:{plugin_id}"),
            email: String::new(),
            tenant: Some(tenant),
            super_admin: false,
            credential: Credential::Install { plugin_id },
        });
    }
    if token.starts_with(API_TOKEN_PREFIX) {
        let record = state
            .core
            .api_token_by_hash(&secrets::hash(token))
            .await?
            .filter(|t| t.revoked_at.is_none())
            .ok_or_else(|| {
                ApiError::unauthenticated("INVALID_TOKEN", "unknown or revoked API token")
            })?;
        if record.expires_at <= now_ms() {
            return Err(ApiError::unauthenticated(
                "TOKEN_EXPIRED",
                format!(
                    "the API token expired at {}; create a new one with `plexica token create`",
                    rfc3339(record.expires_at)
                ),
            ));
        }
        if let Some(tenant) = &record.tenant {
            let exists = match TenantSlug::parse(tenant) {
                Ok(slug) => state.tenant(&slug).await?.is_some(),
                Err(_) => false,
            };
            if !exists {
                return Err(ApiError::unauthenticated(
                    "INVALID_TOKEN",
                    "the token's tenant no longer exists",
                ));
            }
        }
        return Ok(Principal {
            user_id: record.user_id,
            email: record.email,
            tenant: record.tenant,
            super_admin: record.super_admin,
            credential: Credential::ApiToken {
                id: record.id,
                scopes: record.scopes,
            },
        });
    }
    let claims = state.keys.verify(token).await?;
    if state.revoked_sessions.contains(&claims.sid) {
        return Err(ApiError::unauthenticated(
            "SESSION_REVOKED",
            "this session was logged out; log in again",
        ));
    }
    if let Some(tenant) = &claims.tenant {
        // A token outlives neither its tenant nor a tenant re-created under the same slug.
        let issued_ms = i64::try_from(claims.iat)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        let current = match TenantSlug::parse(tenant) {
            Ok(slug) => state.tenant(&slug).await?,
            Err(_) => None,
        };
        if current.is_none_or(|t| t.created_at > issued_ms + 1000) {
            return Err(ApiError::unauthenticated(
                "INVALID_TOKEN",
                "the token's tenant no longer exists",
            ));
        }
    }
    Ok(Principal {
        user_id: claims.sub,
        email: claims.email,
        tenant: claims.tenant,
        super_admin: claims.super_admin,
        credential: Credential::Session(claims.sid),
    })
}
