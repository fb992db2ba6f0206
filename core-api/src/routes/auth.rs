//! `/api/v1/auth/*` and the JWKS: login, refresh with rotation and reuse detection, logout,
//! the caller's identity, and API tokens.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use plexica_sdk::api::core::{
    API_TOKEN_PREFIX, ApiTokenInfo, CreatedApiToken, LoginRequest, Me, NewApiTokenRequest,
    REFRESH_TOKEN_PREFIX, RefreshRequest, RotatedSigningKey, SUPER_ADMIN_EMAIL, TenantStatus,
    TokenPair,
};
use plexica_sdk::api::time::{now_ms, rfc3339};

use super::JsonBody;
use super::guard::Caller;
use crate::auth::jwt::{AUDIENCE, AccessClaims, PLUGIN_UI_AUDIENCE};
use crate::auth::{Credential, Principal, passwords};
use crate::authz::{Permissions, grants, is_permission};
use crate::db::core::{ApiTokenRecord, SessionRecord};
use crate::error::{ApiError, ApiResult};
use crate::secrets;
use crate::slug::TenantSlug;
use crate::state::AppState;

/// The client's address, when the server records it.
pub struct ClientAddr(pub(super) Option<SocketAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> ApiResult<Self> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

fn bad_credentials() -> ApiError {
    ApiError::unauthenticated("INVALID_CREDENTIALS", "wrong email, password or tenant")
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `POST /api/v1/admin/signing-keys/rotate`: a new signing key signs from now on; the JWKS
/// keeps the older ones, whose tokens stay valid until they expire.
pub async fn rotate_signing_key(
    State(state): State<AppState>,
) -> ApiResult<(StatusCode, Json<RotatedSigningKey>)> {
    let kid = state
        .keys
        .rotate(now_ms())
        .await
        .map_err(|e| ApiError::internal(format!("cannot rotate the signing key: {e}")))?;
    tracing::info!(%kid, "token signing key rotated");
    Ok((StatusCode::CREATED, Json(RotatedSigningKey { kid })))
}

/// `GET /.well-known/jwks.json`.
pub async fn jwks(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(state.keys.current().jwks().clone())
}

/// Signs an access token for `session` and pairs it with `refresh_token`.
fn token_pair(
    state: &AppState,
    session: &SessionRecord,
    refresh_token: String,
) -> ApiResult<TokenPair> {
    Ok(TokenPair {
        access_token: access_token(state, session)?,
        refresh_token,
        token_type: "Bearer".to_owned(),
        expires_in: state.config.access_token_ttl.as_secs(),
    })
}

/// A signed access token of `session`, valid for the configured access-token lifetime.
pub(super) fn access_token(state: &AppState, session: &SessionRecord) -> ApiResult<String> {
    session_token(
        state,
        &Principal::from(session),
        state.config.access_token_ttl,
        None,
    )
}

/// A token of the session that authenticated `user`, valid for `ttl`; with `plugin`, a plugin
/// UI token ([`Credential::PluginUi`]).
pub(super) fn session_token(
    state: &AppState,
    user: &Principal,
    ttl: Duration,
    plugin: Option<&str>,
) -> ApiResult<String> {
    let Credential::Session(sid) = &user.credential else {
        return Err(ApiError::internal(
            "a session token for a caller without a session",
        ));
    };
    let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
    let ttl = ttl.as_secs();
    let keys = state.keys.current();
    keys.sign(&AccessClaims {
        iss: keys.issuer().to_owned(),
        aud: match plugin {
            Some(_) => PLUGIN_UI_AUDIENCE,
            None => AUDIENCE,
        }
        .to_owned(),
        sub: user.user_id.clone(),
        exp: now + ttl,
        iat: now,
        sid: sid.clone(),
        email: user.email.clone(),
        tenant: user.tenant.clone(),
        super_admin: user.super_admin,
        plugin: plugin.map(str::to_owned),
    })
}

/// `POST /api/v1/auth/login`.
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    JsonBody(request): JsonBody<LoginRequest>,
) -> ApiResult<Json<TokenPair>> {
    let (session, refresh) = open_session(&state, addr, request).await?;
    Ok(Json(token_pair(&state, &session, refresh)?))
}

/// Checks `request`'s credentials (rate-limited per account and address) and opens a login
/// session: its record and its first refresh token.
pub(super) async fn open_session(
    state: &AppState,
    addr: Option<SocketAddr>,
    request: LoginRequest,
) -> ApiResult<(SessionRecord, String)> {
    if request.email.len() > 254 || request.password.len() > 1024 {
        return Err(bad_credentials());
    }
    let email = request.email.trim().to_lowercase();
    let account = format!("{}/{email}", request.tenant.as_deref().unwrap_or(""));
    state
        .limits
        .login(&state.core, &account, addr.map(|a| a.ip()))
        .await?;
    let (user_id, hash, tenant) = match &request.tenant {
        None => {
            let user = if email == SUPER_ADMIN_EMAIL {
                state.core.platform_user_by_email(&email).await?
            } else {
                None
            };
            (
                user.as_ref().map(|u| u.id.clone()),
                user.map(|u| u.password_hash),
                None,
            )
        }
        Some(raw) => {
            let slug = TenantSlug::parse(raw).ok();
            let tenant = match &slug {
                Some(slug) => state.tenant(slug).await?,
                None => None,
            };
            let user = match (&slug, &tenant) {
                (Some(slug), Some(t)) if t.status != TenantStatus::Provisioning => {
                    state
                        .tenant_dbs
                        .get(slug)
                        .await?
                        .user_by_email(&email)
                        .await?
                }
                _ => None,
            };
            (
                user.as_ref().map(|u| u.id.clone()),
                user.and_then(|u| u.password_hash),
                tenant,
            )
        }
    };
    if !passwords::verify(request.password, hash).await {
        return Err(bad_credentials());
    }
    let user_id = user_id.ok_or_else(bad_credentials)?;
    if let Some(t) = &tenant {
        match t.status {
            TenantStatus::Active => {}
            TenantStatus::Suspended => {
                return Err(ApiError::forbidden(
                    "TENANT_SUSPENDED",
                    "this tenant is suspended",
                ));
            }
            _ => {
                return Err(ApiError::forbidden(
                    "TENANT_DELETED",
                    "this tenant is being deleted",
                ));
            }
        }
    }
    let session = SessionRecord {
        id: secrets::new_id("s_"),
        user_id,
        email,
        tenant: tenant.map(|t| t.slug),
        super_admin: request.tenant.is_none(),
        revoked_at: None,
    };
    let refresh = secrets::new_secret(REFRESH_TOKEN_PREFIX);
    let now = now_ms();
    state
        .core
        .create_session(
            &session,
            &secrets::hash(&refresh),
            now + ms(state.config.refresh_token_ttl),
            now,
        )
        .await?;
    tracing::info!(user = %session.user_id, tenant = ?session.tenant, "login");
    Ok((session, refresh))
}

/// `POST /api/v1/auth/refresh`: single use; a reused token revokes its whole family.
pub async fn refresh(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    let (session, fresh) = rotate_refresh_token(&state, &request.refresh_token).await?;
    Ok(Json(token_pair(&state, &session, fresh)?))
}

/// Trades `refresh_token` for a new one of the same session (single use: a reused token
/// revokes the session).
pub(super) async fn rotate_refresh_token(
    state: &AppState,
    refresh_token: &str,
) -> ApiResult<(SessionRecord, String)> {
    let invalid = || ApiError::unauthenticated("INVALID_REFRESH_TOKEN", "unknown refresh token");
    let old_hash = secrets::hash(refresh_token);
    let record = state
        .core
        .refresh_token(&old_hash)
        .await?
        .ok_or_else(invalid)?;
    let session = state
        .core
        .session(&record.session_id)
        .await?
        .ok_or_else(invalid)?;
    if session.revoked_at.is_some() {
        return Err(ApiError::unauthenticated(
            "SESSION_REVOKED",
            "this session was revoked; log in again",
        ));
    }
    let now = now_ms();
    let reused = || async {
        state.core.revoke_session(&session.id, now).await?;
        state.session_revoked(session.id.clone());
        tracing::warn!(session = %session.id, "refresh token reused: session revoked");
        Ok::<_, ApiError>(ApiError::unauthenticated(
            "REFRESH_TOKEN_REUSED",
            "this refresh token was already used; the session is revoked, log in again",
        ))
    };
    if record.used_at.is_some() {
        return Err(reused().await?);
    }
    if record.expires_at <= now {
        return Err(ApiError::unauthenticated(
            "REFRESH_TOKEN_EXPIRED",
            format!(
                "the refresh token expired at {}; log in again",
                rfc3339(record.expires_at)
            ),
        ));
    }
    if let Some(slug) = session
        .tenant
        .as_deref()
        .and_then(|s| TenantSlug::parse(s).ok())
    {
        let active = state
            .tenant(&slug)
            .await?
            .is_some_and(|t| t.status == TenantStatus::Active);
        if !active {
            return Err(ApiError::forbidden(
                "TENANT_SUSPENDED",
                "this tenant is not active",
            ));
        }
    }
    let fresh = secrets::new_secret(REFRESH_TOKEN_PREFIX);
    let rotated = state
        .core
        .rotate_refresh_token(
            &old_hash,
            &secrets::hash(&fresh),
            &session.id,
            now + ms(state.config.refresh_token_ttl),
            now,
        )
        .await?;
    if !rotated {
        return Err(reused().await?);
    }
    Ok((session, fresh))
}

/// `POST /api/v1/auth/logout`: revokes the caller's session and its refresh tokens.
pub async fn logout(
    State(state): State<AppState>,
    Caller(principal): Caller,
) -> ApiResult<StatusCode> {
    match principal.credential {
        Credential::Session(sid) => {
            state.core.revoke_session(&sid, now_ms()).await?;
            state.session_revoked(sid);
            Ok(StatusCode::NO_CONTENT)
        }
        Credential::ApiToken { .. } => Err(ApiError::bad_request(
            "API tokens are revoked with `DELETE /api/v1/auth/tokens/{id}` (`plexica token revoke`)",
        )),
        Credential::External { .. } => Err(ApiError::bad_request(
            "sessions of an external identity provider end at the provider",
        )),
        Credential::Install { .. } => {
            Err(ApiError::bad_request("install tokens end with the install"))
        }
        Credential::PluginUi { .. } => Err(ApiError::bad_request(
            "a plugin's UI token ends with the session it was issued from",
        )),
    }
}

/// `GET /api/v1/auth/me`.
pub async fn me(State(state): State<AppState>, Caller(principal): Caller) -> ApiResult<Json<Me>> {
    Ok(Json(identity(&state, principal).await?))
}

/// Who `principal` is: name, roles, and the permissions its credential carries.
pub(super) async fn identity(state: &AppState, principal: crate::auth::Principal) -> ApiResult<Me> {
    let (permissions, tenant_name, name) = if principal.super_admin {
        let name = "Platform administrator".to_owned();
        (Permissions::all(), None, name)
    } else {
        let slug = principal
            .tenant
            .as_deref()
            .and_then(|s| TenantSlug::parse(s).ok())
            .ok_or_else(|| ApiError::unauthenticated("INVALID_TOKEN", "token without a tenant"))?;
        let tenant = state.tenant(&slug).await?.ok_or_else(|| {
            ApiError::unauthenticated("INVALID_TOKEN", "the token's tenant no longer exists")
        })?;
        let db = state.tenant_dbs.get(&slug).await?;
        let permissions = state
            .permissions
            .get(slug.as_str(), &principal.user_id, &db)
            .await?;
        let user = db.user(&principal.user_id).await?;
        let name = user.map_or_else(String::new, |u| u.name);
        ((*permissions).clone(), Some(tenant.name), name)
    };
    let effective = match &principal.credential {
        Credential::Session(_) | Credential::External { .. } => permissions.permissions,
        Credential::Install { .. } | Credential::PluginUi { .. } => Vec::new(),
        Credential::ApiToken { scopes, .. } => {
            if grants(scopes, "*") {
                permissions.permissions
            } else {
                scopes
                    .iter()
                    .filter(|s| permissions.grants(s))
                    .cloned()
                    .collect()
            }
        }
    };
    Ok(Me {
        id: principal.user_id,
        email: principal.email,
        name,
        tenant: principal.tenant,
        tenant_name,
        super_admin: principal.super_admin,
        roles: permissions.roles,
        permissions: effective,
        auth: match principal.credential {
            Credential::Session(_) => "session".to_owned(),
            Credential::External { .. } => "external".to_owned(),
            Credential::Install { .. } => "install".to_owned(),
            Credential::PluginUi { .. } => "plugin_ui".to_owned(),
            Credential::ApiToken { .. } => "api_token".to_owned(),
        },
    })
}

fn token_info(t: &ApiTokenRecord) -> ApiTokenInfo {
    ApiTokenInfo {
        id: t.id.clone(),
        name: t.name.clone(),
        scopes: t.scopes.clone(),
        created_at: rfc3339(t.created_at),
        expires_at: rfc3339(t.expires_at),
    }
}

/// `POST /api/v1/auth/tokens`: never wider than the credential that asks (and never from the
/// console's cookie: [`super::cookie_for`]).
pub async fn create_token(
    State(state): State<AppState>,
    Caller(principal): Caller,
    JsonBody(request): JsonBody<NewApiTokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedApiToken>)> {
    crate::slug::check_name("name", &request.name).map_err(|m| ApiError::invalid("name", m))?;
    let limit: Vec<String> = match &principal.credential {
        Credential::Session(_) | Credential::External { .. } => vec!["*".to_owned()],
        Credential::Install { .. } | Credential::PluginUi { .. } => Vec::new(),
        Credential::ApiToken { scopes, .. } => scopes.clone(),
    };
    let scopes = request.scopes.clone().unwrap_or_else(|| limit.clone());
    if scopes.is_empty() || scopes.len() > 64 {
        return Err(ApiError::invalid("scopes", "give 1–64 scopes"));
    }
    if let Some(bad) = scopes.iter().find(|s| !is_permission(s)) {
        return Err(ApiError::invalid(
            "scopes",
            format!(
                "`{}` is not a permission (`resource:action`)",
                bad.escape_debug()
            ),
        ));
    }
    if let Some(wider) = scopes.iter().find(|s| !grants(&limit, s)) {
        return Err(ApiError::forbidden(
            "SCOPE_TOO_WIDE",
            format!("this token cannot create a token with `{wider}`"),
        ));
    }
    let lifetime = request.expires_in_seconds.unwrap_or(90 * 24 * 3600);
    if !(60..=365 * 24 * 3600).contains(&lifetime) {
        return Err(ApiError::invalid(
            "expires_in_seconds",
            "a token lives from 60 seconds to one year",
        ));
    }
    let now = now_ms();
    let secret = secrets::new_secret(API_TOKEN_PREFIX);
    let record = ApiTokenRecord {
        id: secrets::new_id("tok_"),
        name: request.name,
        user_id: principal.user_id,
        email: principal.email,
        tenant: principal.tenant,
        super_admin: principal.super_admin,
        scopes,
        created_at: now,
        expires_at: now + i64::try_from(lifetime).unwrap_or(0) * 1000,
        revoked_at: None,
    };
    state
        .core
        .insert_api_token(&record, &secrets::hash(&secret))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiToken {
            info: token_info(&record),
            token: secret,
        }),
    ))
}

/// `GET /api/v1/auth/tokens`.
pub async fn list_tokens(
    State(state): State<AppState>,
    Caller(principal): Caller,
) -> ApiResult<Json<Vec<ApiTokenInfo>>> {
    let tokens = state
        .core
        .api_tokens_of(&principal.user_id, now_ms())
        .await?;
    Ok(Json(tokens.iter().map(token_info).collect()))
}

/// `DELETE /api/v1/auth/tokens/{id}`.
pub async fn revoke_token(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if state
        .core
        .revoke_api_token(&id, &principal.user_id, now_ms())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "TOKEN_NOT_FOUND",
            "no such token of yours",
        ))
    }
}
