//! The marketplace: the registry's web pages, server-rendered HTML with no script at all.
//!
//! Pages read through [`crate::catalog`] (the same rules as the API) and render with `maud`,
//! which escapes every value; READMEs are rendered by [`crate::documents::render`] and
//! sanitized. Every page carries a Content-Security-Policy without `script-src`, so nothing a
//! publisher writes can run.
//!
//! Signed-in publishers hold a session: an ordinary registry token (scope `manage`, 12 hours)
//! in an `HttpOnly`, `SameSite=Strict` cookie, revoked at sign-out. Cross-site request forgery
//! is refused twice over: the browser does not send a `SameSite=Strict` cookie with a request
//! another site started, and every form post whose `Origin` is not this registry, or whose
//! `Sec-Fetch-Site` is not `same-origin`, is refused before it is read.

mod feeds;
mod forms;
mod pages;

use axum::Router;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "plexica_registry_session";
/// How long a web session lasts, seconds.
pub const SESSION_SECONDS: u64 = 12 * 60 * 60;

/// The policy of every page: styles and images from here (images also over https), forms
/// posting here, no script, no frame, no plugin.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' https:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The pages' routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/search", get(pages::search))
        .route("/plugins/{id}", get(pages::plugin))
        .route("/plugins/{id}/v/{version}", get(pages::plugin_version))
        .route("/users/{name}", get(pages::publisher))
        .route("/login", get(forms::login_page).post(forms::login))
        .route("/logout", post(forms::logout))
        .route("/plugins/{id}/review", post(forms::review))
        .route("/plugins/{id}/yank", post(forms::yank))
        .route("/plugins/{id}/unyank", post(forms::unyank))
        .route("/plugins/{id}/deprecate", post(forms::deprecate))
        .route("/plugins/{id}/undeprecate", post(forms::undeprecate))
        .route("/plugins/{id}/owners/add", post(forms::add_owner))
        .route("/plugins/{id}/owners/remove", post(forms::remove_owner))
        .route("/feed.atom", get(feeds::atom))
        .route("/sitemap.xml", get(feeds::sitemap))
        .route("/assets/site.css", get(stylesheet))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard_pages,
        ))
        .with_state(state)
}

/// The stylesheet, the pages' only asset.
const STYLESHEET: &str = include_str!("site.css");

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// Refuses form posts another site started, then adds the security headers to every answer.
async fn guard_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() == Method::POST && !same_origin(&state, request.headers()) {
        return pages::notice(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form was not sent from this registry's own pages.",
            None,
        );
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Did this registry's own page send the request? Browsers send `Sec-Fetch-Site` and
/// `Origin` with every form post; a request without them did not come from another site's
/// page in a browser.
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let fetch_site_ok = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|site| site == "same-origin" || site == "none");
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|origin| origin == state.base_url(headers));
    fetch_site_ok && origin_ok
}

/// The signed-in publisher of a page request, from the session cookie.
#[derive(Debug, Clone)]
pub struct Session(pub Caller);

/// The session secret in the request's cookies.
fn session_secret(parts: &Parts) -> Option<&str> {
    plexica_server::cookies::cookie(&parts.headers, SESSION_COOKIE)
}

impl OptionalFromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    /// `None` without a session cookie or with one that no longer signs anybody in (expired,
    /// revoked): the page is then shown as to anybody.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        let Some(secret) = session_secret(parts) else {
            return Ok(None);
        };
        match crate::auth::caller_from_secret(state, secret).await {
            Ok(caller) => Ok(Some(Self(caller))),
            Err(e) if e.status.is_server_error() => Err(e),
            Err(_) => Ok(None),
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    /// A form that needs a session, posted without one, sends the browser to sign in.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match <Self as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(Some(session)) => Ok(session),
            Ok(None) => Err(forms::see_other("/login")),
            Err(e) => Err(pages::error_page(&e)),
        }
    }
}
