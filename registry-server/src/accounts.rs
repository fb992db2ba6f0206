//! Accounts and their tokens, whichever door a request comes in by: the API routes, the web
//! sign-in and the first administrator created at start-up all call these, so a rule (names,
//! password lengths, scopes a token may hold, the sign-in rate limit) holds for each.

use axum::http::StatusCode;
use plexica_sdk::api::registry::{
    CreateTokenRequest, CreateUserRequest, CreatedToken, Scope, TokenInfo, UserInfo,
};
use plexica_sdk::api::time::{now_ms, rfc3339};
use plexica_server::secrets;

use crate::auth::{hash_password, new_token_secret, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::{Token, User};

/// Default token lifetime: 90 days.
const DEFAULT_TOKEN_SECONDS: u64 = 90 * 24 * 3600;
/// Longest token lifetime: one year.
const MAX_TOKEN_SECONDS: u64 = 366 * 24 * 3600;

pub(crate) fn token_info(t: &Token) -> TokenInfo {
    TokenInfo {
        id: t.id.clone(),
        name: t.name.clone(),
        scopes: t.scopes.clone(),
        created_at: rfc3339(t.created_at),
        expires_at: rfc3339(t.expires_at),
    }
}

/// Issues a token for `user`, limited to the scopes the user may hold.
pub(crate) async fn issue_token(
    state: &AppState,
    user: &User,
    name: Option<String>,
    scopes: Option<Vec<Scope>>,
    expires_in: Option<u64>,
) -> ApiResult<CreatedToken> {
    let allowed: Vec<Scope> = Scope::ALL
        .into_iter()
        .filter(|s| *s != Scope::Admin || user.admin)
        .collect();
    let mut scopes = scopes.unwrap_or_else(|| allowed.clone());
    scopes.sort();
    scopes.dedup();
    if let Some(denied) = scopes.iter().find(|s| !allowed.contains(s)) {
        return Err(ApiError::forbidden(
            "FORBIDDEN",
            format!("this account may not hold the `{}` scope", denied.as_str()),
        ));
    }
    let seconds = expires_in.unwrap_or(DEFAULT_TOKEN_SECONDS);
    if seconds == 0 || seconds > MAX_TOKEN_SECONDS {
        return Err(ApiError::bad_request(format!(
            "expires_in_seconds must be between 1 and {MAX_TOKEN_SECONDS}"
        )));
    }
    let name = name.unwrap_or_else(|| "cli".to_owned());
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "token names are 1 to 64 printable characters",
        ));
    }
    let (secret, id) = new_token_secret();
    let now = now_ms();
    let token = Token {
        id,
        user_id: user.id,
        name,
        scopes,
        created_at: now,
        expires_at: now + i64::try_from(seconds).unwrap_or(0) * 1000,
        revoked_at: None,
    };
    state
        .meta
        .create_token(&token, &secrets::hash(&secret))
        .await?;
    Ok(CreatedToken {
        token: secret,
        info: token_info(&token),
    })
}

/// Username and password for a token (shown once), as `POST /api/v1/tokens` and the web
/// sign-in do it. Rate limited per account and per address before any hashing; an unknown
/// name costs as much as a known one.
pub async fn sign_in(
    state: &AppState,
    address: Option<std::net::IpAddr>,
    request: CreateTokenRequest,
) -> ApiResult<CreatedToken> {
    let wrong = || ApiError::unauthenticated("wrong username or password");
    // No account has such a name or password: refused at once, which tells nothing.
    if !valid_username(&request.username) || request.password.len() > MAX_PASSWORD_BYTES {
        return Err(wrong());
    }
    state
        .limits
        .password(state.meta.as_ref(), &request.username, address)
        .await?;
    let user = state.meta.user_by_name(&request.username).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    if !verify_password(request.password, hash).await {
        return Err(wrong());
    }
    let user = user.ok_or_else(wrong)?;
    issue_token(
        state,
        &user,
        request.name,
        request.scopes,
        request.expires_in_seconds,
    )
    .await
}

/// Is `name` a valid account name?
pub fn valid_username(name: &str) -> bool {
    let bytes = name.as_bytes();
    (2..=39).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

pub(crate) fn user_exists(username: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "USER_EXISTS",
        format!("user `{username}` already exists"),
    )
}

/// Longest password accepted, bytes.
const MAX_PASSWORD_BYTES: usize = 1024;

/// 422 `INVALID_USERNAME` unless `name` is a valid account name.
pub(crate) fn check_username(name: &str) -> ApiResult<()> {
    if valid_username(name) {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "INVALID_USERNAME",
            "usernames are 2 to 39 lowercase letters, digits and `-`, starting with a letter",
        ))
    }
}

/// Checks a new account's name and password.
pub(crate) fn check_new_account(request: &CreateUserRequest) -> ApiResult<()> {
    check_username(&request.username)?;
    if request.password.chars().count() < 12 || request.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::unprocessable(
            "WEAK_PASSWORD",
            "passwords are 12 characters to 1 KiB long",
        ));
    }
    Ok(())
}

/// Creates an account after validating name and password.
pub async fn create_account(state: &AppState, request: CreateUserRequest) -> ApiResult<UserInfo> {
    check_new_account(&request)?;
    let hash = hash_password(request.password).await?;
    match state
        .meta
        .create_user(&request.username, &hash, request.admin)
        .await?
    {
        Some(user) => Ok(UserInfo {
            username: user.username,
            admin: user.admin,
        }),
        None => Err(user_exists(&request.username)),
    }
}
