//! The tenant console: the single-page app built from `console/` (its `dist/` is embedded
//! in the binary, so `cargo build` needs no Node). `/` and every page path a browser asks
//! for answer `index.html`; `/_console/…` are its content-hashed files.
//!
//! The console's policy lets scripts, styles, connections and images come from this origin
//! only: plugin modules are files of packages installed here (`/plugins/…`), and whatever
//! runs in the page cannot send data to another site by `fetch`.

use axum::extract::Path;
use axum::http::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use include_dir::{Dir, include_dir};

use crate::error::ApiError;

static DIST: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../console/dist");

/// What the console's pages may load and where they may connect.
pub const CONSOLE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Is the route at `path` one of the files a browser loads for the console: its page, its
/// build, or a plugin's frontend?
pub fn is_web_file(path: &str) -> bool {
    path == "/" || path.starts_with("/_console/") || path.starts_with("/plugins/")
}

/// What a file of a web frontend (the console's or a plugin's) is sent as, by its extension:
/// the types a frontend is built of.
const MEDIA_TYPES: &[(&str, &str)] = &[
    ("js", "text/javascript; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("css", "text/css; charset=utf-8"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("wasm", "application/wasm"),
    ("svg", "image/svg+xml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("ico", "image/x-icon"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("txt", "text/plain; charset=utf-8"),
];

/// The media type of web file `name`; any other file is bytes to download, never something a
/// browser would render.
pub fn media_type(name: &str) -> &'static str {
    name.rsplit_once('.')
        .and_then(|(_, ext)| {
            MEDIA_TYPES
                .iter()
                .find(|(e, _)| ext.eq_ignore_ascii_case(e))
        })
        .map_or("application/octet-stream", |(_, media)| media)
}

/// `GET /`: the console.
pub async fn index() -> Response {
    page()
}

/// `GET /_console/{file}`: a file of the console's build; its name changes with its content.
pub async fn file(Path(name): Path<String>) -> Response {
    let Some(file) = DIST.get_file(format!("_console/{name}")) else {
        return ApiError::not_found("NOT_FOUND", "no such console file").into_response();
    };
    let media = media_type(&name);
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(media)),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        file.contents(),
    )
        .into_response()
}

/// Any other path: the console's page for a browser navigating to one of its routes
/// (`/crm/contacts`, `/admin/users`, …), the API's 404 for everything else.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let navigating = (method == Method::GET || method == Method::HEAD)
        && !uri.path().starts_with("/api/")
        && headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    if navigating {
        page()
    } else {
        ApiError::not_found("NOT_FOUND", "no such route").into_response()
    }
}

/// `index.html`, never cached (it names the current build's files), under the console's
/// policy.
fn page() -> Response {
    let Some(html) = DIST.get_file("index.html").map(include_dir::File::contents) else {
        return ApiError::internal("this build has no console (console/dist/index.html)")
            .into_response();
    };
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONSOLE_POLICY),
            ),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (REFERRER_POLICY, HeaderValue::from_static("same-origin")),
        ],
        html,
    )
        .into_response()
}
