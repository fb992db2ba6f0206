//! Accounts, tokens and publisher keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plexica_sdk::api::registry::{
    CreateInviteRequest, CreateTokenRequest, CreateUserRequest, CreatedInvite, CreatedToken,
    INVITE_PREFIX, KeyChallenge, Me, NewTokenRequest, PublisherKey, RegisterKeyRequest, Scope,
    TokenInfo, UserInfo,
};
use plexica_sdk::package::signing::{PublicKey, Signature};
use plexica_server::secrets;

use super::JsonBody;
use crate::accounts;
use crate::auth::{Caller, hash_password};
use crate::error::{ApiError, ApiResult};
use crate::limits::ClientIp;
use crate::state::AppState;
use crate::storage::{Invited, KeyRecord};
use plexica_sdk::api::time::{now_ms, rfc3339};

fn created(user: UserInfo) -> ApiResult<(StatusCode, Json<UserInfo>)> {
    Ok((StatusCode::CREATED, Json(user)))
}

fn key_view(k: KeyRecord) -> PublisherKey {
    PublisherKey {
        key_id: k.key_id,
        public_key: k.public_key,
        created_at: rfc3339(k.created_at),
        revoked_at: k.revoked_at.map(rfc3339),
    }
}

/// `POST /api/v1/tokens`: username and password for a token (shown once).
pub async fn create_token(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    JsonBody(request): JsonBody<CreateTokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let created = accounts::sign_in(&state, address, request).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `POST /api/v1/me/tokens`: another token for the caller, never wider than the caller's.
pub async fn create_token_for_caller(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<NewTokenRequest>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    if let Some(wider) = request
        .scopes
        .iter()
        .flatten()
        .find(|s| !caller.token.scopes.contains(s))
    {
        return Err(ApiError::forbidden(
            "SCOPE_MISSING",
            format!("a token cannot grant `{}`, which it lacks", wider.as_str()),
        ));
    }
    let scopes = request.scopes.or_else(|| Some(caller.token.scopes.clone()));
    let created = accounts::issue_token(
        &state,
        &caller.user,
        request.name,
        scopes,
        request.expires_in_seconds,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /api/v1/tokens`: the caller's live tokens (never their secrets).
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    let tokens = state.meta.tokens_of(caller.user.id).await?;
    Ok(Json(tokens.iter().map(accounts::token_info).collect()))
}

/// `DELETE /api/v1/tokens/{id}`: revokes one of the caller's tokens.
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if state
        .meta
        .revoke_token(caller.user.id, &id, now_ms())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("you have no token `{id}`")))
    }
}

/// `GET /api/v1/me`.
pub async fn me(caller: Caller) -> Json<Me> {
    Json(Me {
        username: caller.user.username.clone(),
        admin: caller.user.admin,
        token: accounts::token_info(&caller.token),
    })
}

/// `POST /api/v1/users`: an administrator creates an account; without a token, the holder of
/// an invite creates the account it names, or anyone creates one when sign-up is open.
pub async fn create_user(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    caller: Option<Caller>,
    JsonBody(request): JsonBody<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<UserInfo>)> {
    if let Some(caller) = caller {
        caller.require_admin()?;
        return created(accounts::create_account(&state, request).await?);
    }
    accounts::check_new_account(&request)?;
    state
        .limits
        .password(state.meta.as_ref(), &request.username, address)
        .await?;
    if request.admin {
        return Err(ApiError::forbidden(
            "FORBIDDEN",
            "only an administrator may create an administrator",
        ));
    }
    let Some(invite) = &request.invite else {
        if state.config.open_signup {
            return created(accounts::create_account(&state, request).await?);
        }
        return Err(ApiError::forbidden(
            "SIGNUP_CLOSED",
            "this registry creates accounts for invites only: ask an administrator for one \
             (`plexica registry user add NAME`)",
        ));
    };
    let hash = hash_password(request.password.clone()).await?;
    match state
        .meta
        .create_invited_user(&request.username, &hash, &secrets::hash(invite), now_ms())
        .await?
    {
        Invited::Created(user) => created(UserInfo {
            username: user.username,
            admin: user.admin,
        }),
        Invited::BadInvite => Err(ApiError::forbidden(
            "INVITE_INVALID",
            format!(
                "this invite is unknown, used, expired, or not for `{}`",
                request.username
            ),
        )),
        Invited::NameTaken => Err(accounts::user_exists(&request.username)),
    }
}

/// Default invite lifetime: 7 days.
const DEFAULT_INVITE_SECONDS: u64 = 7 * 24 * 3600;
/// Longest invite lifetime: 30 days.
const MAX_INVITE_SECONDS: u64 = 30 * 24 * 3600;

/// `POST /api/v1/invites`: administrators invite a publisher to create the account `username`
/// (the invite is shown once, works once).
pub async fn create_invite(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<CreateInviteRequest>,
) -> ApiResult<(StatusCode, Json<CreatedInvite>)> {
    caller.require_admin()?;
    accounts::check_username(&request.username)?;
    if state.meta.user_by_name(&request.username).await?.is_some() {
        return Err(accounts::user_exists(&request.username));
    }
    let seconds = request.expires_in_seconds.unwrap_or(DEFAULT_INVITE_SECONDS);
    if seconds == 0 || seconds > MAX_INVITE_SECONDS {
        return Err(ApiError::bad_request(format!(
            "expires_in_seconds must be between 1 and {MAX_INVITE_SECONDS}"
        )));
    }
    let invite = secrets::random_hex::<32>(INVITE_PREFIX);
    let now = now_ms();
    let expires_at = now + i64::try_from(seconds).unwrap_or(0) * 1000;
    state
        .meta
        .create_invite(
            &secrets::hash(&invite),
            &request.username,
            caller.user.id,
            now,
            expires_at,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedInvite {
            invite,
            username: request.username,
            expires_at: rfc3339(expires_at),
        }),
    ))
}

/// How long a key challenge may be answered: 10 minutes.
const CHALLENGE_MS: i64 = 10 * 60_000;

/// `POST /api/v1/keys/challenges`: a text for a key to sign, to prove that the caller holds
/// it when registering it (once, within 10 minutes).
pub async fn key_challenge(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<(StatusCode, Json<KeyChallenge>)> {
    caller.require(Scope::Manage)?;
    let id = secrets::random_hex::<12>("");
    let challenge = format!(
        "plexica registry key registration\naccount: {}\nchallenge: {}\n",
        caller.user.username,
        secrets::random_hex::<32>("")
    );
    let now = now_ms();
    let expires_at = now + CHALLENGE_MS;
    state
        .meta
        .put_key_challenge(&id, caller.user.id, &challenge, expires_at, now)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(KeyChallenge {
            id,
            challenge,
            expires_at: rfc3339(expires_at),
        }),
    ))
}

/// `PUT /api/v1/keys`: registers a public key for the caller, given the key's signature over
/// one of the caller's challenges. A key belongs to one account.
pub async fn register_key(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(request): JsonBody<RegisterKeyRequest>,
) -> ApiResult<(StatusCode, Json<PublisherKey>)> {
    caller.require(Scope::Manage)?;
    let key = PublicKey::parse(&request.public_key)
        .map_err(|e| ApiError::unprocessable("INVALID_KEY", e.to_string()))?;
    let (Some(challenge_id), Some(signature)) = (&request.challenge_id, &request.signature) else {
        return Err(ApiError::unprocessable(
            "PROOF_REQUIRED",
            "sign a challenge from POST /api/v1/keys/challenges with the key and send \
             `challenge_id` and `signature` (`plexica keys register` does this)",
        ));
    };
    let challenge = state
        .meta
        .take_key_challenge(challenge_id, caller.user.id, now_ms())
        .await?
        .ok_or_else(|| {
            ApiError::unprocessable(
                "CHALLENGE_INVALID",
                "this challenge is unknown, used, expired or another account's; ask for a new one",
            )
        })?;
    let bad_proof = |why: String| {
        ApiError::unprocessable(
            "BAD_PROOF",
            format!("the signature does not prove the key is yours: {why}"),
        )
    };
    let signature = Signature::parse(signature).map_err(|e| bad_proof(e.to_string()))?;
    key.verify(challenge.as_bytes(), &signature)
        .map_err(|e| bad_proof(e.to_string()))?;
    let record = KeyRecord {
        key_id: key.id.to_string(),
        public_key: key.to_line(),
        created_at: now_ms(),
        revoked_at: None,
    };
    let stored = state
        .meta
        .add_key(caller.user.id, &record)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "KEY_TAKEN",
                format!("key {} is registered to another account", record.key_id),
            )
        })?;
    if stored.revoked_at.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "KEY_REVOKED",
            format!(
                "key {} was revoked and cannot be registered again",
                stored.key_id
            ),
        ));
    }
    Ok((StatusCode::CREATED, Json(key_view(stored))))
}

/// `DELETE /api/v1/keys/{key_id}`: revokes one of the caller's keys.
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(key_id): Path<String>,
) -> ApiResult<Json<PublisherKey>> {
    caller.require(Scope::Manage)?;
    state
        .meta
        .revoke_key(caller.user.id, &key_id, now_ms())
        .await?
        .map(|k| Json(key_view(k)))
        .ok_or_else(|| ApiError::not_found(format!("you have no key `{key_id}`")))
}

/// `GET /api/v1/users/{name}/keys`: a publisher's keys, revoked ones marked.
pub async fn user_keys(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<PublisherKey>>> {
    let user = state
        .meta
        .user_by_name(&name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user `{name}`")))?;
    let keys = state.meta.keys_of(user.id).await?;
    Ok(Json(keys.into_iter().map(key_view).collect()))
}
