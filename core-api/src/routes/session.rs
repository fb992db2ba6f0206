//! `/api/v1/auth/session`: the console's sign-in. The browser keeps the session in two
//! cookies that no script can read (`HttpOnly`, so neither the console's nor a plugin's code
//! ever holds a credential) and that no other site can make it send (`SameSite=Strict`): the
//! short-lived access token, sent with every request, and the refresh token, sent to this
//! path only. Every call here, and every cookie-authenticated write elsewhere, must also come
//! from the console's own origin: the guard checks it ([`guard::same_origin`], and
//! [`guard::Cookie::ConsoleOnly`] for this module's routes).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use plexica_sdk::api::core::LoginRequest;
use plexica_sdk::api::time::now_ms;

use super::JsonBody;
use super::auth::{ClientAddr, access_token, identity, open_session, rotate_refresh_token};
use super::guard::{self, ACCESS_COOKIE, REFRESH_COOKIE};
use crate::auth::{Credential, Principal};
use crate::db::core::SessionRecord;
use crate::error::{ApiError, ApiResult};
use crate::secrets;
use crate::state::AppState;

/// The path the refresh cookie is sent to (and the routes of this module).
pub const SESSION_PATH: &str = "/api/v1/auth/session";

/// `POST /api/v1/auth/session`: signs in (as `POST /api/v1/auth/login`) and answers who the
/// user is, the tokens going into cookies only.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    JsonBody(request): JsonBody<LoginRequest>,
) -> ApiResult<Response> {
    let (session, refresh) = open_session(&state, addr, request).await?;
    signed_in(&state, session, refresh).await
}

/// `POST /api/v1/auth/session/refresh`: a new access token for the session of the refresh
/// cookie, which is rotated (single use, as `POST /api/v1/auth/refresh`).
pub async fn renew(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let token = guard::cookie(&headers, REFRESH_COOKIE)
        .ok_or_else(|| ApiError::unauthenticated("NO_SESSION", "no session to refresh: sign in"))?;
    let (session, fresh) = rotate_refresh_token(&state, token).await?;
    signed_in(&state, session, fresh).await
}

/// `DELETE /api/v1/auth/session`: revokes the cookie's session, if any, and clears both
/// cookies.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let mut sessions = Vec::new();
    if let Some(token) = guard::cookie(&headers, REFRESH_COOKIE)
        && let Some(record) = state.core.refresh_token(&secrets::hash(token)).await?
    {
        sessions.push(record.session_id);
    }
    if let Ok(principal) = guard::authenticate(&state, &headers).await
        && let Credential::Session(id) = principal.credential
    {
        sessions.push(id);
    }
    sessions.dedup();
    for id in sessions {
        state.core.revoke_session(&id, now_ms()).await?;
        state.session_revoked(id);
    }
    let cleared = session_cookies(&state, ("", Duration::ZERO), ("", Duration::ZERO))?;
    Ok((StatusCode::NO_CONTENT, AppendHeaders(cleared)).into_response())
}

/// The answer of a sign-in or refresh: the user, and the session's tokens as cookies.
async fn signed_in(
    state: &AppState,
    session: SessionRecord,
    refresh: String,
) -> ApiResult<Response> {
    let access = access_token(state, &session)?;
    let cookies = session_cookies(
        state,
        (&access, state.config.access_token_ttl),
        (&refresh, state.config.refresh_token_ttl),
    )?;
    let me = identity(state, Principal::from(&session)).await?;
    Ok((AppendHeaders(cookies), Json(me)).into_response())
}

/// The two `Set-Cookie` headers of a session: its `access` token (sent everywhere) and its
/// `refresh` token (sent to [`SESSION_PATH`] only), each with how long it lives; empty values
/// that live zero seconds clear them. No script reads them and no other site sends them; they
/// are `Secure` when the platform is reached over HTTPS (its issuer URL says so).
fn session_cookies(
    state: &AppState,
    (access, access_ttl): (&str, Duration),
    (refresh, refresh_ttl): (&str, Duration),
) -> ApiResult<[(HeaderName, HeaderValue); 2]> {
    let secure = state.config.issuer.starts_with("https://");
    let set_cookie = |name, value, path, max_age| {
        plexica_server::cookies::set_cookie(name, value, path, max_age, secure)
            .map_err(|_| ApiError::internal("a session cookie is not a header value"))
    };
    Ok([
        (
            SET_COOKIE,
            set_cookie(ACCESS_COOKIE, access, "/", access_ttl)?,
        ),
        (
            SET_COOKIE,
            set_cookie(REFRESH_COOKIE, refresh, SESSION_PATH, refresh_ttl)?,
        ),
    ])
}
