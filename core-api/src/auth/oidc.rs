//! Tokens of an external OIDC provider (a Keycloak realm per tenant, say). A tenant opts in
//! with `settings.oidc = {"issuer", "audience", "jwks_uri"}`. The tenant — and so the provider —
//! always comes from the route's path, never from the token: a token is accepted for tenant `t`
//! only if it verifies against `t`'s provider keys with `t`'s issuer and audience, and its
//! `email` — verified by the provider (`email_verified: true`, unless the tenant sets
//! `require_verified_email = false`) — names a user of `t`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// How long a provider's key set is trusted before it is fetched again.
const KEYS_TTL: Duration = Duration::from_secs(300);
/// A token with an unknown `kid` may trigger a refetch this often per provider at most.
const REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// A tenant's provider, from `settings.oidc`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OidcConfig {
    /// The `iss` tokens must carry.
    pub issuer: String,
    /// The `aud` tokens must carry.
    pub audience: String,
    /// Where the provider publishes its keys.
    pub jwks_uri: String,
    /// Accept only tokens whose `email_verified` is `true` (default): a provider that lets
    /// anyone claim an address would otherwise hand out the tenant's accounts.
    #[serde(default = "verified_by_default")]
    pub require_verified_email: bool,
}

fn verified_by_default() -> bool {
    true
}

impl OidcConfig {
    /// The provider configured in tenant `settings`, if any; an error names what is wrong.
    pub fn from_settings(settings: &Value) -> Result<Option<Self>, String> {
        let Some(value) = settings.get("oidc") else {
            return Ok(None);
        };
        let config: Self = serde_json::from_value(value.clone())
            .map_err(|e| format!("`settings.oidc` needs issuer, audience and jwks_uri: {e}"))?;
        let url = reqwest::Url::parse(&config.jwks_uri)
            .map_err(|e| format!("`settings.oidc.jwks_uri` is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("`settings.oidc.jwks_uri` must be http(s)".into());
        }
        if config.issuer.is_empty() || config.audience.is_empty() {
            return Err("`settings.oidc` issuer and audience cannot be empty".into());
        }
        Ok(Some(config))
    }
}

/// What is taken from a verified external token.
#[derive(Debug, Clone, Deserialize)]
pub struct ExternalClaims {
    /// The provider's subject.
    pub sub: String,
    /// The user's email (matched to a tenant user).
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the provider verified that email.
    #[serde(default)]
    pub email_verified: Option<bool>,
}

struct CachedKeys {
    keys: JwkSet,
    fetched: Instant,
}

/// Verifies external tokens, caching each provider's keys.
pub struct OidcVerifier {
    http: reqwest::Client,
    keys: Mutex<HashMap<String, CachedKeys>>,
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcVerifier").finish_non_exhaustive()
    }
}

impl Default for OidcVerifier {
    fn default() -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            keys: Mutex::default(),
        }
    }
}

fn invalid() -> ApiError {
    ApiError::unauthenticated("INVALID_TOKEN", "invalid access token")
}

impl OidcVerifier {
    fn cached(&self, uri: &str, fresh_within: Duration) -> Option<JwkSet> {
        let keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.get(uri)
            .filter(|c| c.fetched.elapsed() < fresh_within)
            .map(|c| c.keys.clone())
    }

    async fn fetch(&self, uri: &str) -> ApiResult<JwkSet> {
        let unavailable = |e: String| {
            tracing::warn!(jwks_uri = %uri, error = %e, "cannot fetch the provider's keys");
            ApiError::new(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "IDENTITY_PROVIDER_UNAVAILABLE",
                "the tenant's identity provider cannot be reached; retry later",
            )
            .retry_after(5)
        };
        let keys: JwkSet = self
            .http
            .get(uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unavailable(e.to_string()))?
            .json()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                uri.to_owned(),
                CachedKeys {
                    keys: keys.clone(),
                    fetched: Instant::now(),
                },
            );
        Ok(keys)
    }

    /// Verifies `token` against `config`: signature by one of the provider's asymmetric keys
    /// (chosen by `kid`), `iss`, `aud` and `exp`.
    pub async fn verify(&self, config: &OidcConfig, token: &str) -> ApiResult<ExternalClaims> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        let kid = header.kid.clone().ok_or_else(invalid)?;
        if matches!(
            header.alg,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        ) {
            return Err(invalid());
        }
        let mut keys = match self.cached(&config.jwks_uri, KEYS_TTL) {
            Some(keys) => keys,
            None => self.fetch(&config.jwks_uri).await?,
        };
        if keys.find(&kid).is_none() && self.cached(&config.jwks_uri, REFETCH_INTERVAL).is_none() {
            // The provider may have rotated its keys.
            keys = self.fetch(&config.jwks_uri).await?;
        }
        let jwk = keys.find(&kid).ok_or_else(invalid)?;
        if !matches!(
            jwk.algorithm,
            AlgorithmParameters::RSA(_)
                | AlgorithmParameters::EllipticCurve(_)
                | AlgorithmParameters::OctetKeyPair(_)
        ) {
            return Err(invalid());
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|_| invalid())?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        match jsonwebtoken::decode::<ExternalClaims>(token, &key, &validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => Err(
                ApiError::unauthenticated("TOKEN_EXPIRED", "the identity provider's token expired"),
            ),
            Err(_) => Err(invalid()),
        }
    }
}
