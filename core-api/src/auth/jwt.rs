//! Access tokens: EdDSA (Ed25519) JWTs, signed with a key kept in the core database so that
//! every replica signs and verifies alike, published at `/.well-known/jwks.json`.
//! Verification accepts only `EdDSA`, this issuer and audience, a known `kid` and an unexpired
//! `exp`: `alg: none`, HMAC confusion, foreign keys and stale tokens all fail. The private
//! halves are stored sealed (`sealing.rs`); `KeyRing::rotate` adds a newer key.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::sealing::{KeyEncryptionKey, SealingError, is_sealed};
use crate::db::core::CoreStore;
use crate::error::{ApiError, ApiResult};

/// The audience of every access token.
pub const AUDIENCE: &str = "plexica-core-api";
/// The audience of a plugin UI token ([`super::Credential::PluginUi`]): not [`AUDIENCE`], so
/// that nothing taking access tokens takes it.
pub const PLUGIN_UI_AUDIENCE: &str = "plexica-plugin-ui";

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
    /// Set on a plugin UI token ([`super::Credential::PluginUi`]): the plugin whose endpoints
    /// it opens, and nothing else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
}

struct KeyPair {
    kid: String,
    encoding: EncodingKey,
    public_x: String,
}

/// 401 `INVALID_TOKEN`.
fn invalid_token() -> ApiError {
    ApiError::unauthenticated("INVALID_TOKEN", "invalid access token")
}

/// Why the signing keys could not be loaded or rotated.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The core database failed.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// A stored key does not open with the key-encryption key.
    #[error(transparent)]
    Sealing(#[from] SealingError),
    /// A stored key is not a usable Ed25519 key.
    #[error("signing key: {0}")]
    Invalid(String),
}

/// The signing keys as the core database has them: the newest signs, all verify. Rotation
/// adds a key and makes it sign; a token signed with a key this replica has not loaded yet
/// (another replica rotated) makes it read the keys again, at most once a second.
pub struct KeyRing {
    keys: RwLock<Arc<SigningKeys>>,
    core: CoreStore,
    kek: KeyEncryptionKey,
    issuer: String,
    /// When a token with an unknown key last made this replica read the keys again.
    last_reload: std::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.current())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Loads the keys (see [`SigningKeys`]), creating the first one on an empty database.
    pub async fn load(
        core: CoreStore,
        kek: KeyEncryptionKey,
        issuer: &str,
        now_ms: i64,
    ) -> Result<Self, KeyError> {
        let keys = SigningKeys::load(&core, &kek, issuer, now_ms).await?;
        Ok(Self {
            keys: RwLock::new(Arc::new(keys)),
            core,
            kek,
            issuer: issuer.to_owned(),
            last_reload: std::sync::Mutex::new(None),
        })
    }

    /// The keys as last loaded.
    pub fn current(&self) -> Arc<SigningKeys> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Reads the keys again from the core database.
    async fn reload(&self, now_ms: i64) -> Result<(), KeyError> {
        let keys = SigningKeys::load(&self.core, &self.kek, &self.issuer, now_ms).await?;
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        Ok(())
    }

    /// Adds a new key, which signs from now on; tokens signed with the older ones stay valid
    /// until they expire. Answers the new key's id.
    pub async fn rotate(&self, now_ms: i64) -> Result<String, KeyError> {
        let (kid, private, public) = generate().map_err(KeyError::Invalid)?;
        self.core
            .insert_signing_key(&kid, &self.kek.seal(&kid, &private), &public, now_ms)
            .await?;
        self.reload(now_ms).await?;
        Ok(kid)
    }

    /// Verifies an access token (`EdDSA` only, a known `kid`, this issuer and audience, unexpired); a key id this replica does not
    /// know yet makes it read the keys again first.
    pub async fn verify(&self, token: &str) -> ApiResult<AccessClaims> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid_token())?;
        let keys = self.current();
        let known = header.kid.as_ref().is_none_or(|kid| keys.knows(kid));
        if !known && self.may_reload() {
            self.reload(plexica_sdk::api::time::now_ms())
                .await
                .map_err(|e| ApiError::internal(format!("cannot read the signing keys: {e}")))?;
            return self.current().verify_decoded(&header, token);
        }
        keys.verify_decoded(&header, token)
    }

    /// Whether a second has passed since the last such reload (and counts this one).
    fn may_reload(&self) -> bool {
        let mut last = self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
            *last = Some(Instant::now());
            true
        } else {
            false
        }
    }
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
    let key = SigningKey::from_bytes(&crate::secrets::random_bytes::<32>());
    let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    let public = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
    let kid = crate::secrets::new_id("k_");
    Ok((kid, STANDARD.encode(der.as_bytes()), public))
}

impl SigningKeys {
    /// Loads the keys from the core database, opening each private half with `kek`, creating
    /// the first key if there is none and sealing any stored before keys were sealed.
    async fn load(
        core: &CoreStore,
        kek: &KeyEncryptionKey,
        issuer: &str,
        now_ms: i64,
    ) -> Result<Self, KeyError> {
        let mut rows = core.signing_keys().await?;
        if rows.is_empty() {
            let (kid, private, public) = generate().map_err(KeyError::Invalid)?;
            core.insert_signing_key(&kid, &kek.seal(&kid, &private), &public, now_ms)
                .await?;
            rows = core.signing_keys().await?;
        }
        let mut opened = Vec::with_capacity(rows.len());
        for (kid, stored, public) in rows {
            let private = if is_sealed(&stored) {
                kek.open(&kid, &stored)?
            } else {
                core.reseal_signing_key(&kid, &stored, &kek.seal(&kid, &stored))
                    .await?;
                stored
            };
            opened.push((kid, private, public));
        }
        Self::from_rows(&opened, issuer).map_err(KeyError::Invalid)
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
        validation.set_audience(&[AUDIENCE, PLUGIN_UI_AUDIENCE]);
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

    /// Whether `kid` is one of these keys.
    pub fn knows(&self, kid: &str) -> bool {
        self.decoding.contains_key(kid)
    }

    /// The current key's id.
    pub fn current_kid(&self) -> &str {
        &self.current.kid
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

    /// Verifies an access token whose `header` was decoded already: 401 `INVALID_TOKEN` or
    /// `TOKEN_EXPIRED` when it fails.
    fn verify_decoded(&self, header: &Header, token: &str) -> ApiResult<AccessClaims> {
        let invalid = invalid_token;
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
