//! The plugin gateway (core-api.md, "Plugin-to-plugin"): `ANY
//! /api/v1/tenants/{t}/gateway/{plugin}/{service}/{*path}` forwards to an endpoint the target
//! plugin declares in its manifest, after checking that the target is installed and active in
//! the tenant, that the endpoint exists, and that the caller holds its permission. The
//! platform's context headers are added; hop-by-hop, authentication and caller-supplied
//! platform headers are stripped; the body and the wait are capped.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use plexica_sdk::api::core::{PluginState, WorkspaceRole};
use plexica_sdk::manifest::{Endpoint as DeclaredEndpoint, HttpMethod, Manifest};
use plexica_sdk::runtime::{CORRELATION_HEADER, TENANT_HEADER, USER_HEADER, WORKSPACE_HEADER};

use crate::error::{ApiError, ApiResult};
use crate::plugins::runtime::Endpoint;

/// Header naming the plugin that made a gateway call (absent for users).
pub const CALLER_PLUGIN_HEADER: &str = "x-plexica-caller-plugin";

/// Header carrying the request id to the target.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Largest request body forwarded.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Longest wait for the target's answer.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Where each active plugin of each tenant is reached: `(tenant, plugin id)` → its endpoint.
/// Kept in memory beside the runtime (set when a backend starts serving a tenant, removed when
/// it stops), so that a gateway call reads no database for it.
#[derive(Debug, Default)]
pub struct Targets {
    urls: RwLock<HashMap<(String, String), Endpoint>>,
}

impl Targets {
    /// `plugin_id` serves `tenant` at `endpoint`.
    pub fn insert(&self, tenant: &str, plugin_id: &str, endpoint: Endpoint) {
        self.urls
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((tenant.to_owned(), plugin_id.to_owned()), endpoint);
    }

    /// `plugin_id` no longer serves `tenant`.
    pub fn remove(&self, tenant: &str, plugin_id: &str) {
        self.urls
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&(tenant.to_owned(), plugin_id.to_owned()));
    }

    /// Where `plugin_id` serves `tenant`, if it does.
    pub fn get(&self, tenant: &str, plugin_id: &str) -> Option<Endpoint> {
        self.urls
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(tenant.to_owned(), plugin_id.to_owned()))
            .cloned()
    }
}

/// Does the request `path` (no leading `/`) match the endpoint pattern (`/contacts/:id`,
/// `*` for the rest)?
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let mut wanted = pattern.trim_start_matches('/').split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (Some("*"), Some(s)) => return !s.is_empty(),
            (Some(w), Some(g)) if w.starts_with(':') => {
                if g.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(g)) if w == g => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Refuses paths that could leave the endpoint: `..`, `.`, empty segments, backslashes,
/// encoded separators or dots, control characters.
pub fn check_path(path: &str) -> ApiResult<()> {
    let lowered = path.to_ascii_lowercase();
    let bad = path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
        || path.contains('\\')
        || path.chars().any(char::is_control)
        || ["%2e", "%2f", "%5c", "%00"]
            .iter()
            .any(|e| lowered.contains(e));
    match bad {
        true => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "PATH_REFUSED",
            "the gateway path has `.`/`..` or empty segments, backslashes or encoded separators",
        )),
        false => Ok(()),
    }
}

fn http_method(method: &Method) -> Option<HttpMethod> {
    Some(match *method {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        _ => return None,
    })
}

/// The endpoint of service `service` of `manifest` that `method` + `path` call.
pub fn find_endpoint<'a>(
    manifest: &'a Manifest,
    service: &str,
    method: &Method,
    path: &str,
) -> ApiResult<&'a DeclaredEndpoint> {
    let declared = manifest
        .services
        .iter()
        .find(|s| s.name == service)
        .ok_or_else(|| {
            ApiError::not_found(
                "SERVICE_NOT_FOUND",
                format!(
                    "`{}` offers no service `{}`",
                    manifest.plugin.id,
                    service.escape_debug()
                ),
            )
        })?;
    let method = http_method(method);
    declared
        .endpoints
        .iter()
        .find(|e| Some(e.method) == method && path_matches(&e.path, path))
        .ok_or_else(|| {
            ApiError::not_found(
                "ENDPOINT_NOT_FOUND",
                format!("service `{service}` declares no such endpoint"),
            )
        })
}

/// The workspace role a plugin permission is granted from (`default-role`), if any.
pub fn default_role(manifest: &Manifest, permission: &str) -> Option<WorkspaceRole> {
    use plexica_sdk::manifest::WorkspaceRole as M;
    let p = manifest.permissions.iter().find(|p| p.key == permission)?;
    Some(match p.default_role? {
        M::Admin => WorkspaceRole::Admin,
        M::Member => WorkspaceRole::Member,
        M::Viewer => WorkspaceRole::Viewer,
    })
}

/// Is the target usable: installed and active?
pub fn check_active(state: Option<PluginState>, plugin: &str) -> ApiResult<()> {
    match state {
        None => Err(ApiError::not_found(
            "SERVICE_NOT_FOUND",
            format!(
                "`{}` is not installed in this tenant",
                plugin.escape_debug()
            ),
        )),
        Some(PluginState::Active) => Ok(()),
        Some(_) => Err(unavailable(plugin, "is not active")),
    }
}

/// 503 for target `plugin`.
pub fn unavailable(plugin: &str, why: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
        format!("`{plugin}` {why}"),
    )
    .retry_after(1)
}

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// The caller's headers minus hop-by-hop, credentials and platform headers it must not set.
pub fn forwarded_headers(incoming: &HeaderMap) -> HeaderMap {
    let connection_listed: Vec<String> = incoming
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .collect();
    let mut out = HeaderMap::new();
    for (name, value) in incoming {
        let n = name.as_str();
        let dropped = HOP_BY_HOP.contains(&n)
            || connection_listed.iter().any(|c| c == n)
            || n == "authorization"
            || n == "cookie"
            || n == "content-length"
            || n.starts_with("x-plexica-")
            || n == REQUEST_ID_HEADER;
        if !dropped {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Who is calling, as the target sees it.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// Tenant slug.
    pub tenant: String,
    /// Workspace slug, when the caller named one it belongs to.
    pub workspace: Option<String>,
    /// User id (a user caller).
    pub user: Option<String>,
    /// Plugin id (a plugin caller).
    pub caller_plugin: Option<String>,
    /// Correlation id of the request.
    pub correlation_id: String,
}

fn put(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// Sends the call to `url` and streams the answer back. A target that cannot be reached is a
/// 503; one that does not answer in time a 504.
pub async fn forward(
    http: &reqwest::Client,
    method: Method,
    url: String,
    incoming: &HeaderMap,
    context: &CallContext,
    body: bytes::Bytes,
    plugin: &str,
) -> ApiResult<Response> {
    let mut headers = forwarded_headers(incoming);
    put(&mut headers, TENANT_HEADER, &context.tenant);
    if let Some(ws) = &context.workspace {
        put(&mut headers, WORKSPACE_HEADER, ws);
    }
    if let Some(user) = &context.user {
        put(&mut headers, USER_HEADER, user);
    }
    if let Some(p) = &context.caller_plugin {
        put(&mut headers, CALLER_PLUGIN_HEADER, p);
    }
    put(&mut headers, CORRELATION_HEADER, &context.correlation_id);
    put(&mut headers, REQUEST_ID_HEADER, &context.correlation_id);
    let answer = http
        .request(method, url)
        .headers(headers)
        .body(body)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| match e.is_timeout() {
            true => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "SERVICE_TIMEOUT",
                format!("`{plugin}` did not answer within {} s", TIMEOUT.as_secs()),
            ),
            false => unavailable(plugin, "cannot be reached"),
        })?;
    let mut response = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) && name != header::CONTENT_LENGTH {
            response = response.header(name.as_str(), value.as_bytes());
        }
    }
    response
        .body(Body::from_stream(answer.bytes_stream()))
        .map_err(|e| ApiError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_patterns() {
        assert!(path_matches("/contacts", "contacts"));
        assert!(path_matches("/contacts/:id", "contacts/42"));
        assert!(!path_matches("/contacts/:id", "contacts"));
        assert!(!path_matches("/contacts/:id", "contacts/42/notes"));
        assert!(path_matches("/files/*", "files/a/b/c"));
        assert!(!path_matches("/files/*", "files"));
        assert!(!path_matches("/contacts", "deals"));
    }

    #[test]
    fn traversal_is_refused() {
        for bad in [
            "../admin", "a/../b", "a//b", "a/./b", "%2e%2e/x", "a%2Fb", "a\\b", "a\u{0}b", "",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
        assert!(check_path("contacts/42").is_ok());
    }

    #[test]
    fn credentials_and_platform_headers_are_not_forwarded() {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("authorization", "Bearer x"),
            ("cookie", "a=b"),
            ("connection", "close, x-secret"),
            ("x-secret", "1"),
            ("x-plexica-tenant", "other"),
            ("x-plexica-user", "root"),
            ("accept", "application/json"),
        ] {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        let out = forwarded_headers(&h);
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept"]);
    }
}
