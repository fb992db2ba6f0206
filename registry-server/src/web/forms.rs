//! The forms: sign-in and sign-out, reviews, and the owners' actions. Each action runs the
//! same [`crate::catalog`] operation as its API route and then sends the browser back to the
//! plugin page (303), or shows why it was refused.

use axum::Form;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plexica_sdk::api::registry::{CreateTokenRequest, Scope};
use plexica_sdk::api::time::now_ms;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{SESSION_COOKIE, SESSION_SECONDS, Session, pages};
use crate::catalog;
use crate::error::ApiResult;
use crate::limits::ClientIp;
use crate::state::AppState;

/// A 303 to `location` (a path of this site).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A form body; one that cannot be read is answered with a page saying why.
#[derive(Debug)]
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        match Form::<T>::from_request(request, state).await {
            Ok(Form(value)) => Ok(Self(value)),
            Err(rejection) => Err(pages::notice(
                rejection.status(),
                "Refused",
                &rejection.body_text(),
                None,
            )),
        }
    }
}

/// `GET /login`.
pub async fn login_page() -> Response {
    pages::login_form(StatusCode::OK, None, "")
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

fn session_cookie(state: &AppState, value: &str, max_age: u64) -> Option<HeaderValue> {
    let secure = state
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    plexica_server::cookies::set_cookie(
        SESSION_COOKIE,
        value,
        "/",
        std::time::Duration::from_secs(max_age),
        secure,
    )
    .ok()
}

/// `POST /login`: the same checks and limits as `POST /api/v1/tokens`; the session is a
/// `manage`-scoped token in an `HttpOnly`, `SameSite=Strict` cookie.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    PageForm(form): PageForm<LoginForm>,
) -> Response {
    let request = CreateTokenRequest {
        username: form.username.clone(),
        password: form.password,
        name: Some("web session".to_owned()),
        scopes: Some(vec![Scope::Manage]),
        expires_in_seconds: Some(SESSION_SECONDS),
    };
    match crate::accounts::sign_in(&state, address, request).await {
        Ok(created) => {
            let mut response = see_other(&format!("/users/{}", form.username));
            if let Some(cookie) = session_cookie(&state, &created.token, SESSION_SECONDS) {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(e) if e.status.is_server_error() => pages::error_page(&e),
        Err(e) => pages::login_form(e.status, Some(&e.detail), &form.username),
    }
}

/// `POST /logout`: revokes the session's token and forgets the cookie.
pub async fn logout(State(state): State<AppState>, session: Option<Session>) -> Response {
    if let Some(Session(caller)) = session
        && let Err(e) = state
            .meta
            .revoke_token(caller.user.id, &caller.token.id, now_ms())
            .await
    {
        return pages::error_page(&e.into());
    }
    let mut response = see_other("/");
    if let Some(cookie) = session_cookie(&state, "", 0) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// Back to the plugin page when `result` is fine, else a page saying why.
fn back_to(id: &str, result: ApiResult<()>) -> Response {
    let back = format!("/plugins/{id}");
    match result {
        Ok(()) => see_other(&back),
        Err(e) => pages::notice(e.status, "Refused", &e.detail, Some(&back)),
    }
}

/// The review form.
#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    rating: u8,
    #[serde(default)]
    text: String,
}

/// `POST /plugins/{id}/review`.
pub async fn review(
    State(state): State<AppState>,
    Session(caller): Session,
    Path(id): Path<String>,
    PageForm(form): PageForm<ReviewForm>,
) -> Response {
    let result = catalog::put_review(&state, &caller, &id, form.rating, form.text.trim()).await;
    back_to(&id, result)
}

/// The yank and unyank forms.
#[derive(Debug, Deserialize)]
pub struct VersionForm {
    version: String,
    #[serde(default)]
    reason: String,
}

/// `POST /plugins/{id}/yank`.
pub async fn yank(
    State(state): State<AppState>,
    Session(caller): Session,
    Path(id): Path<String>,
    PageForm(form): PageForm<VersionForm>,
) -> Response {
    let result = catalog::yank(&state, &caller, &id, &form.version, &form.reason).await;
    back_to(&id, result)
}

/// `POST /plugins/{id}/unyank`.
pub async fn unyank(
    State(state): State<AppState>,
    Session(caller): Session,
    Path(id): Path<String>,
    PageForm(form): PageForm<VersionForm>,
) -> Response {
    let result = catalog::unyank(&state, &caller, &id, &form.version).await;
    back_to(&id, result)
}

/// The deprecation form.
#[derive(Debug, Deserialize)]
pub struct DeprecateForm {
    message: String,
    #[serde(default)]
    successor: String,
}

/// `POST /plugins/{id}/deprecate`.
pub async fn deprecate(
    State(state): State<AppState>,
    Session(caller): Session,
    Path(id): Path<String>,
    PageForm(form): PageForm<DeprecateForm>,
) -> Response {
    let successor = Some(form.successor.trim()).filter(|s| !s.is_empty());
    let result = catalog::deprecate(&state, &caller, &id, &form.message, successor).await;
    back_to(&id, result)
}

/// `POST /plugins/{id}/undeprecate`.
pub async fn undeprecate(
    State(state): State<AppState>,
    Session(caller): Session,
    Path(id): Path<String>,
) -> Response {
    let result = catalog::undeprecate(&state, &caller, &id).await;
    back_to(&id, result)
}

/// The owner forms.
#[derive(Debug, Deserialize)]
pub struct OwnerForm {
    username: String,
}

/// `POST /plugins/{id}/owners/add`.
pub async fn add_owner(
    State(state): State<AppState>,
    Session(caller): Session,
    Path(id): Path<String>,
    PageForm(form): PageForm<OwnerForm>,
) -> Response {
    let users = [form.username.trim().to_owned()];
    let result = catalog::add_owners(&state, &caller, &id, &users).await;
    back_to(&id, result)
}

/// `POST /plugins/{id}/owners/remove`.
pub async fn remove_owner(
    State(state): State<AppState>,
    Session(caller): Session,
    Path(id): Path<String>,
    PageForm(form): PageForm<OwnerForm>,
) -> Response {
    let users = [form.username.trim().to_owned()];
    let result = catalog::remove_owners(&state, &caller, &id, &users).await;
    back_to(&id, result)
}
