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

/// Consecutive failures (unreachable or timed out) that open a target's circuit.
pub const BREAKER_THRESHOLD: u32 = 5;

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

/// A circuit breaker per target URL: after [`BREAKER_THRESHOLD`] consecutive failures the
/// target is refused at once (503 `CIRCUIT_OPEN`) for a cool-down; then calls go through again,
/// and the first success closes the circuit (a failure opens it for another cool-down).
#[derive(Debug)]
pub struct Breakers {
    cooldown: Duration,
    states: std::sync::Mutex<HashMap<String, Breaker>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Breaker {
    failures: u32,
    open_until: Option<std::time::Instant>,
}

impl Breakers {
    /// Breakers that stay open for `cooldown`.
    pub fn new(cooldown: Duration) -> Self {
        Self {
            cooldown,
            states: std::sync::Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Breaker>> {
        self.states
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Refuses a call to `url` while its circuit is open.
    pub fn check(&self, url: &str, plugin: &str) -> ApiResult<()> {
        let now = std::time::Instant::now();
        match self.lock().get(url).and_then(|b| b.open_until) {
            Some(until) if until > now => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "CIRCUIT_OPEN",
                format!("`{plugin}` failed {BREAKER_THRESHOLD} times in a row; not calling it for a moment"),
            )
            .retry_after((until - now).as_secs().max(1))),
            _ => Ok(()),
        }
    }

    /// Records the outcome of a call to `url`.
    pub fn record(&self, url: &str, succeeded: bool) {
        let mut states = self.lock();
        if succeeded {
            states.remove(url);
            return;
        }
        if states.len() > 10_000 {
            states.clear();
        }
        let breaker = states.entry(url.to_owned()).or_default();
        breaker.failures += 1;
        if breaker.failures >= BREAKER_THRESHOLD {
            breaker.open_until = Some(std::time::Instant::now() + self.cooldown);
            metrics::counter!("core_gateway_circuit_opened_total").increment(1);
        }
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

/// How to reach a target: the client, its circuit breakers, the wait.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    /// Connections to plugins are reused.
    pub http: &'a reqwest::Client,
    /// Per-target circuit breakers.
    pub breakers: &'a Breakers,
    /// Longest wait for the answer's headers.
    pub timeout: Duration,
    /// The target's base URL.
    pub base_url: &'a str,
}

/// Sends the call to `route` + `path_and_query` and streams the answer back. A target that
/// cannot be reached is a 503, one that does not answer in time a 504; both count against its
/// circuit breaker.
pub async fn forward(
    route: Route<'_>,
    method: Method,
    path_and_query: &str,
    incoming: &HeaderMap,
    context: &CallContext,
    body: bytes::Bytes,
    plugin: &str,
) -> ApiResult<Response> {
    route.breakers.check(route.base_url, plugin)?;
    let started = std::time::Instant::now();
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
    let sent = route
        .http
        .request(method, format!("{}/{path_and_query}", route.base_url))
        .headers(headers)
        .body(body)
        .timeout(route.timeout)
        .send()
        .await;
    route.breakers.record(route.base_url, sent.is_ok());
    metrics::histogram!("core_gateway_upstream_seconds").record(started.elapsed().as_secs_f64());
    let answer = sent.map_err(|e| {
        metrics::counter!("core_gateway_failures_total").increment(1);
        match e.is_timeout() {
            true => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "SERVICE_TIMEOUT",
                format!(
                    "`{plugin}` did not answer within {} ms",
                    route.timeout.as_millis()
                ),
            ),
            false => unavailable(plugin, "cannot be reached"),
        }
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
    fn a_circuit_opens_after_repeated_failures_and_closes_on_success() {
        let breakers = Breakers::new(Duration::from_millis(30));
        let url = "http://127.0.0.1:1";
        for _ in 0..BREAKER_THRESHOLD - 1 {
            breakers.record(url, false);
            assert!(breakers.check(url, "crm").is_ok());
        }
        breakers.record(url, false);
        let refused = breakers.check(url, "crm").expect_err("open");
        assert_eq!(refused.code, "CIRCUIT_OPEN");
        assert!(breakers.check("http://127.0.0.1:2", "other").is_ok());
        std::thread::sleep(Duration::from_millis(40));
        assert!(
            breakers.check(url, "crm").is_ok(),
            "half-open after the cool-down"
        );
        breakers.record(url, false);
        assert!(
            breakers.check(url, "crm").is_err(),
            "a failure opens it again"
        );
        std::thread::sleep(Duration::from_millis(40));
        breakers.record(url, true);
        assert!(breakers.check(url, "crm").is_ok());
    }

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
