//! Access tokens: EdDSA (Ed25519) JWTs, signed with a key kept in the core database so that
//! every replica signs and verifies alike, published at `/.well-known/jwks.json`.
//! Verification accepts only `EdDSA`, this issuer and audience, a known `kid` and an unexpired
//! `exp`: `alg: none`, HMAC confusion, foreign keys and stale tokens all fail.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::db::DbResult;
use crate::db::core::CoreStore;
use crate::error::{ApiError, ApiResult};

/// The audience of every access token.
pub const AUDIENCE: &str = "plexica-core-api";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// User id.
    pub sub: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Login session (the refresh-token family).
    pub sid: String,
    /// Email.
    pub email: String,
    /// Tenant slug; absent for the super admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The platform's super admin.
    #[serde(default)]
    pub super_admin: bool,
}

struct KeyPair {
    kid: String,
    encoding: EncodingKey,
    public_x: String,
}

/// The signing keys: the newest signs, all verify.
pub struct SigningKeys {
    current: KeyPair,
    decoding: HashMap<String, DecodingKey>,
    jwks: serde_json::Value,
    validation: Validation,
    issuer: String,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("kid", &self.current.kid)
            .finish_non_exhaustive()
    }
}

fn generate() -> Result<(String, String, String), String> {
    let key = SigningKey::from_bytes(&super::secrets::random_bytes::<32>());
    let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    let public = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
    let kid = super::secrets::new_id("k_");
    Ok((kid, STANDARD.encode(der.as_bytes()), public))
}

impl SigningKeys {
    /// Loads the keys from the core database, creating the first one if there is none.
    pub async fn load(
        core: &CoreStore,
        issuer: &str,
        now_ms: i64,
    ) -> DbResult<Result<Self, String>> {
        let mut rows = core.signing_keys().await?;
        if rows.is_empty() {
            let (kid, private, public) = match generate() {
                Ok(k) => k,
                Err(e) => return Ok(Err(e)),
            };
            core.insert_signing_key(&kid, &private, &public, now_ms)
                .await?;
            rows = core.signing_keys().await?;
        }
        Ok(Self::from_rows(&rows, issuer))
    }

    fn from_rows(rows: &[(String, String, String)], issuer: &str) -> Result<Self, String> {
        let (kid, private, public) = rows.first().ok_or("no signing key")?;
        let der = STANDARD.decode(private).map_err(|e| e.to_string())?;
        let mut decoding = HashMap::new();
        let mut keys = Vec::new();
        for (kid, _, x) in rows {
            let key = DecodingKey::from_ed_components(x).map_err(|e| e.to_string())?;
            if URL_SAFE_NO_PAD.decode(x).map(|b| b.len()).unwrap_or(0) != 32 {
                return Err(format!("signing key {kid} is not an Ed25519 public key"));
            }
            decoding.insert(kid.clone(), key);
            keys.push(serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": x,
            }));
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            current: KeyPair {
                kid: kid.clone(),
                encoding: EncodingKey::from_ed_der(&der),
                public_x: public.clone(),
            },
            decoding,
            jwks: serde_json::json!({ "keys": keys }),
            validation,
            issuer: issuer.to_owned(),
        })
    }

    /// The issuer written into and required from tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The public keys as a JWKS document.
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    /// The current key's public half (base64url), for tests and diagnostics.
    pub fn current_public_key(&self) -> &str {
        &self.current.public_x
    }

    /// Signs `claims`.
    pub fn sign(&self, claims: &AccessClaims) -> ApiResult<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.current.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.current.encoding)
            .map_err(|e| ApiError::internal(format!("cannot sign a token: {e}")))
    }

    /// Verifies an access token: 401 `INVALID_TOKEN` or `TOKEN_EXPIRED` when it fails.
    pub fn verify(&self, token: &str) -> ApiResult<AccessClaims> {
        let invalid = || ApiError::unauthenticated("INVALID_TOKEN", "invalid access token");
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid());
        }
        let key = header
            .kid
            .as_ref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or_else(invalid)?;
        match jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(ApiError::unauthenticated(
                    "TOKEN_EXPIRED",
                    "the access token expired; renew it with `plexica login` (or the refresh token)",
                ))
            }
            Err(_) => Err(invalid()),
        }
    }
}
