//! The plugin gateway (core-api.md, "Plugin-to-plugin"): `ANY
//! /api/v1/tenants/{t}/gateway/{plugin}/{service}/{*path}` forwards to an endpoint the target
//! plugin declares in its manifest, after checking that the target is installed and active in
//! the tenant, that the endpoint exists, and that the caller may call it. It forwards exactly
//! what it checked:
//!
//! - **Path** ([`CheckedPath`]): the path after the service is split on `/` as the caller
//!   wrote it, then each segment is percent-decoded once. A segment is refused (400
//!   `PATH_REFUSED`) when the encoding is malformed, the decoded bytes are not UTF-8, or the
//!   decoded segment is empty, `.` or `..`, or holds `/`, `\`, `?`, `#` or a control
//!   character (C0, DEL, C1) — and also when decoding it once more would give such a segment
//!   (`%252e%252e`), or normalising its compatibility characters (NFKC: fullwidth `．．`,
//!   `／`, `％２ｅ`, the dot leaders…). The endpoint pattern is matched against the decoded
//!   segments, and the target's URL is built from them alone, each percent-encoded again
//!   (everything outside `A-Z a-z 0-9 - . _ ~`), followed by the caller's query string, which
//!   never goes through the path.
//! - **Caller**: a user needs the endpoint's permission (tenant grant, or its role in the
//!   workspace it names ≥ the permission's `default-role`). A plugin needs the target's grant:
//!   the service's `callers` in the target's manifest lists it ([`check_caller`]; 403
//!   `CALLER_NOT_GRANTED`); what the caller depends on grants nothing. A plugin always reaches
//!   its own services. The workspace a plugin names must be one of the tenant's (404
//!   `WORKSPACE_NOT_FOUND`).
//! - **Request headers** ([`forwarded_headers`]): the platform's context headers are set;
//!   hop-by-hop headers (and those `Connection` lists), `Authorization`, `Cookie` and every
//!   caller-supplied `X-Plexica-*` and `X-Request-Id` are dropped; the body (≤
//!   [`MAX_BODY_BYTES`]) and the wait are capped. A redirect is never followed.
//! - **Answer headers** ([`answer_headers`]): an allow-list, so that a plugin cannot speak for
//!   the core API's origin. Kept: [`ANSWER_HEADERS`] — `Content-Type`, `Content-Encoding`,
//!   `Content-Language`, `Content-Disposition`, `Content-Range`, `Accept-Ranges`,
//!   `Cache-Control` (made `private`: `public`, `s-maxage`, `proxy-revalidate` removed),
//!   `Expires`, `ETag`, `Last-Modified`, `Age`, `Vary`, `Retry-After`, `Location` (only an
//!   absolute path of the target, rewritten under the caller's gateway prefix; anything else
//!   dropped), `X-Request-Id`, `X-Correlation-Id` (the core API sets its own) — and every
//!   other `x-*` header except `X-Plexica-*`, the reverse-proxy controls (`X-Accel-*`,
//!   `X-Sendfile*`, `X-Lighttpd-*`, `X-LiteSpeed-*`, `X-Envoy-*`) and `X-Content-Type-Options`,
//!   `X-Frame-Options`, `X-XSS-Protection`, `X-Permitted-Cross-Domain-Policies`,
//!   `X-DNS-Prefetch-Control`, `X-UA-Compatible`. Everything else is dropped: among others
//!   `Set-Cookie`, `Set-Cookie2`, hop-by-hop headers, `Strict-Transport-Security`,
//!   `Clear-Site-Data`, `Access-Control-*`, `Content-Security-Policy*`, `Permissions-Policy`,
//!   `Cross-Origin-*`, `Alt-Svc`, `Refresh`, `Link`, `Service-Worker-Allowed`, `Server-Timing`,
//!   `WWW-Authenticate`, `NEL`, `Report-To`, `Content-Length` (the answer is streamed and
//!   framed again). Added: `X-Content-Type-Options: nosniff` and `Content-Security-Policy:
//!   sandbox; default-src 'none'; frame-ancestors 'none'` ([`ANSWER_SECURITY_HEADERS`]).
//!
//! docs/security.md ("Gateway") says the same for operators and plugin authors.

use std::collections::HashMap;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use plexica_sdk::api::core::PluginState;
use plexica_sdk::api::signing::{
    CALLER_PLUGIN_HEADER, CORRELATION_HEADER, REQUEST_ID_HEADER, TENANT_HEADER, USER_HEADER,
    WORKSPACE_HEADER,
};
use plexica_sdk::manifest::{Endpoint as DeclaredEndpoint, HttpMethod, Manifest, Service};

use crate::discovery::Endpoint;
use crate::error::{ApiError, ApiResult};
use crate::plugins::client::{PluginClient, PluginRequest};

/// Largest request body forwarded.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Consecutive failures (unreachable or timed out) that open a target's circuit.
pub const BREAKER_THRESHOLD: u32 = 5;

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
            metrics::counter!(crate::metrics::GATEWAY_CIRCUITS_OPENED).increment(1);
        }
    }
}

/// A gateway path after its checks: the segments the caller wrote, each percent-decoded once,
/// none of which the target (or anything between) could read as more or less than one
/// segment. What is forwarded is built from these segments only ([`CheckedPath::encoded`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPath {
    segments: Vec<String>,
}

/// How many times a segment is decoded again to look for what a target that decodes twice
/// would read; a segment that still changes after that is refused.
const REDECODE_ROUNDS: usize = 4;

impl CheckedPath {
    /// Checks `raw`, the path after the service as the caller wrote it (percent-encoded, no
    /// leading `/`, no query). Refused (400 `PATH_REFUSED`): malformed percent-encoding, a
    /// segment that is not UTF-8 once decoded, and a decoded segment that is empty, `.` or
    /// `..`, or holds `/`, `\`, `?`, `#` or a control character — also when decoding it
    /// again would give one of those (`%252e%252e`), or normalising its compatibility
    /// characters (NFKC: `．．`, `ａ／ｂ`, `％２ｅ`).
    pub fn parse(raw: &str) -> ApiResult<Self> {
        let segments = raw
            .split('/')
            .enumerate()
            .map(|(i, segment)| {
                check_segment(segment).map_err(|why| {
                    path_refused(&format!("segment {} of the endpoint path", i + 1), why)
                })
            })
            .collect::<ApiResult<Vec<String>>>()?;
        Ok(Self { segments })
    }

    /// The decoded segments.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The path the target is sent: `/` before each segment, every byte outside RFC 3986's
    /// unreserved characters (`A-Z a-z 0-9 - . _ ~`) percent-encoded.
    pub fn encoded(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            percent_encode_into(segment, &mut out);
        }
        out
    }
}

fn path_refused(what: &str, why: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "PATH_REFUSED",
        format!("the gateway path is refused: {what} {why}"),
    )
    .with_details(serde_json::json!({ "reason": why }))
}

/// What is wrong with a decoded segment, if anything.
fn segment_problem(segment: &str) -> Option<&'static str> {
    if segment.is_empty() {
        Some("is empty")
    } else if segment == "." || segment == ".." {
        Some("is `.` or `..`")
    } else if segment.contains(['/', '\\']) {
        Some("holds a `/` or `\\`")
    } else if segment.contains(['?', '#']) {
        Some("holds a `?` or `#`")
    } else if segment.chars().any(char::is_control) {
        Some("holds a control character")
    } else {
        None
    }
}

/// `raw` decoded and checked, or why it is refused.
fn check_segment(raw: &str) -> Result<String, &'static str> {
    let bytes = percent_decode(raw, true).ok_or("has a `%` not followed by two hex digits")?;
    let decoded = String::from_utf8(bytes).map_err(|_| "is not UTF-8 once decoded")?;
    if let Some(why) = segment_problem(&decoded) {
        return Err(why);
    }
    redecoded_problem(&decoded)?;
    // Nor one that normalises compatibility characters (NFKC: `．．`, `ａ／ｂ`, `％２ｅ`).
    if let Some(form) = compatibility_form(&decoded)
        && (segment_problem(&form).is_some() || redecoded_problem(&form).is_err())
    {
        return Err("would be refused once normalised (NFKC), e.g. a fullwidth `．` or `／`");
    }
    Ok(decoded)
}

/// A target (or a proxy in front of it) that decodes `segment` once more must not find a
/// separator or a dot segment either.
fn redecoded_problem(segment: &str) -> Result<(), &'static str> {
    let mut current = segment.to_owned();
    for _ in 0..REDECODE_ROUNDS {
        if !current.contains('%') {
            return Ok(());
        }
        let again = percent_decode(&current, false).unwrap_or_default();
        let again = String::from_utf8_lossy(&again).into_owned();
        if again == current {
            return Ok(());
        }
        if segment_problem(&again).is_some() {
            return Err("would be refused once decoded again (it is percent-encoded twice)");
        }
        current = again;
    }
    Err("is percent-encoded too many times")
}

/// The characters outside U+FF01–U+FF5E (the fullwidth forms of ASCII, mapped by offset)
/// whose compatibility form (NFKC, Unicode 14) holds `.`, `/`, `\`, `?`, `#` or `%`.
const COMPATIBILITY_FORMS: &[(char, &str)] = &[
    ('\u{2024}', "."),
    ('\u{2025}', ".."),
    ('\u{2026}', "..."),
    ('\u{2047}', "??"),
    ('\u{2048}', "?!"),
    ('\u{2049}', "!?"),
    ('\u{2100}', "a/c"),
    ('\u{2101}', "a/s"),
    ('\u{2105}', "c/o"),
    ('\u{2106}', "c/u"),
    ('\u{2488}', "1."),
    ('\u{2489}', "2."),
    ('\u{248A}', "3."),
    ('\u{248B}', "4."),
    ('\u{248C}', "5."),
    ('\u{248D}', "6."),
    ('\u{248E}', "7."),
    ('\u{248F}', "8."),
    ('\u{2490}', "9."),
    ('\u{2491}', "10."),
    ('\u{2492}', "11."),
    ('\u{2493}', "12."),
    ('\u{2494}', "13."),
    ('\u{2495}', "14."),
    ('\u{2496}', "15."),
    ('\u{2497}', "16."),
    ('\u{2498}', "17."),
    ('\u{2499}', "18."),
    ('\u{249A}', "19."),
    ('\u{249B}', "20."),
    ('\u{33C2}', "a.m."),
    ('\u{33C7}', "Co."),
    ('\u{33D8}', "p.m."),
    ('\u{FE16}', "?"),
    ('\u{FE19}', "..."),
    ('\u{FE30}', ".."),
    ('\u{FE52}', "."),
    ('\u{FE56}', "?"),
    ('\u{FE5F}', "#"),
    ('\u{FE68}', "\\"),
    ('\u{FE6A}', "%"),
    ('\u{1F100}', "0."),
];

/// `segment` with the characters a target normalising it (NFKC) would turn into `.`, `/`,
/// `\`, `?`, `#`, `%` or the fullwidth forms of ASCII replaced; `None` when it has none.
fn compatibility_form(segment: &str) -> Option<String> {
    if segment.is_ascii() {
        return None;
    }
    let mut changed = false;
    let mut out = String::with_capacity(segment.len());
    for c in segment.chars() {
        let fullwidth = ('\u{FF01}'..='\u{FF5E}')
            .contains(&c)
            .then(|| char::from_u32(u32::from(c) - 0xFEE0))
            .flatten();
        if let Some(ascii) = fullwidth {
            out.push(ascii);
            changed = true;
        } else if let Some((_, form)) = COMPATIBILITY_FORMS.iter().find(|(k, _)| *k == c) {
            out.push_str(form);
            changed = true;
        } else {
            out.push(c);
        }
    }
    changed.then_some(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `text` with its `%XX` sequences decoded; a `%` without two hex digits after it is `None`
/// when `strict`, kept as it is otherwise.
fn percent_decode(text: &str, strict: bool) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let pair = (b == b'%')
            .then(|| Some((hex(*bytes.get(i + 1)?)?, hex(*bytes.get(i + 2)?)?)))
            .flatten();
        match pair {
            Some((high, low)) => {
                out.push(high << 4 | low);
                i += 3;
            }
            None if b == b'%' && strict => return None,
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

fn percent_encode_into(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

/// Does the checked path match the endpoint pattern (`/contacts/:id`, `*` for the rest)?
/// Literal segments are compared with the decoded segments.
pub fn path_matches(pattern: &str, segments: &[String]) -> bool {
    let mut wanted = pattern.trim_start_matches('/').split('/');
    let mut given = segments.iter();
    loop {
        match (wanted.next(), given.next()) {
            (Some("*"), Some(_)) => return true,
            (Some(w), Some(_)) if w.starts_with(':') => {}
            (Some(w), Some(g)) if w == g => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// A gateway request's path as the caller wrote it: the part up to and including the service
/// (what a same-plugin `Location` is rewritten under), the plugin and service (decoded), and
/// the checked rest.
#[derive(Debug, Clone)]
pub struct GatewayPath {
    /// `/api/v1/tenants/acme/gateway/crm/crm.contacts`, as written.
    pub prefix: String,
    /// Target plugin id.
    pub plugin: String,
    /// Service name.
    pub service: String,
    /// The endpoint path.
    pub path: CheckedPath,
}

impl GatewayPath {
    /// Splits the raw request path `raw` of a route whose pattern has `depth` segments before
    /// the rest (the last two of them the plugin and the service), checking every part.
    pub fn parse(raw: &str, depth: usize) -> ApiResult<Self> {
        let parts: Vec<&str> = raw.trim_start_matches('/').splitn(depth + 1, '/').collect();
        let missing = || path_refused("the endpoint path", "is missing");
        let [.., plugin, service, rest] = parts.as_slice() else {
            return Err(missing());
        };
        if parts.len() != depth + 1 {
            return Err(missing());
        }
        let decoded =
            |what: &str, raw: &str| check_segment(raw).map_err(|why| path_refused(what, why));
        Ok(Self {
            prefix: raw[..raw.len() - rest.len() - 1].to_owned(),
            plugin: decoded("the plugin segment", plugin)?,
            service: decoded("the service segment", service)?,
            path: CheckedPath::parse(rest)?,
        })
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

/// Service `service` of `manifest`.
pub fn find_service<'a>(manifest: &'a Manifest, service: &str) -> ApiResult<&'a Service> {
    manifest
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
        })
}

/// May plugin `caller` call `service` of plugin `target`? Only when the target grants it —
/// its manifest lists `caller` in the service's `callers` — or when it is the target itself.
/// What the caller depends on grants nothing. Refused: 403 `CALLER_NOT_GRANTED`.
pub fn check_caller(service: &Service, target: &str, caller: &str) -> ApiResult<()> {
    if caller == target || service.callers.iter().any(|c| c == caller) {
        return Ok(());
    }
    Err(ApiError::forbidden(
        "CALLER_NOT_GRANTED",
        format!(
            "`{caller}` may not call `{}`: `{target}` does not list it in the service's `callers`",
            service.name
        ),
    )
    .with_details(serde_json::json!({
        "caller": caller,
        "plugin": target,
        "service": service.name,
    })))
}

/// The endpoint of `service` that `method` + `path` call.
pub fn find_endpoint<'a>(
    service: &'a Service,
    method: &Method,
    path: &CheckedPath,
) -> ApiResult<&'a DeclaredEndpoint> {
    let method = http_method(method);
    service
        .endpoints
        .iter()
        .find(|e| Some(e.method) == method && path_matches(&e.path, path.segments()))
        .ok_or_else(|| {
            ApiError::not_found(
                "ENDPOINT_NOT_FOUND",
                format!("service `{}` declares no such endpoint", service.name),
            )
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

/// The header names a message's `Connection` header lists (hop-by-hop for that message).
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .collect()
}

/// The caller's headers minus hop-by-hop, credentials and platform headers it must not set.
pub fn forwarded_headers(incoming: &HeaderMap) -> HeaderMap {
    let connection_listed = connection_listed(incoming);
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
    /// Workspace slug, when the caller named one: for a user, one it belongs to; for a
    /// plugin, one of the tenant's.
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

/// Response headers a target's answer keeps (besides the `x-*` ones of [`kept_x_header`]);
/// every other header is dropped. `Content-Length` is not among them: the answer is streamed
/// again and framed by the core API.
pub const ANSWER_HEADERS: &[&str] = &[
    "content-type",
    "content-encoding",
    "content-language",
    "content-disposition",
    "content-range",
    "accept-ranges",
    "cache-control",
    "expires",
    "etag",
    "last-modified",
    "age",
    "vary",
    "retry-after",
    "location",
    "x-request-id",
    "x-correlation-id",
];

/// `x-*` headers that are dropped nonetheless: the platform's own, the ones that tell a
/// reverse proxy in front of the core API what to do (serve an internal file, mark a host
/// down), and the ones that change how a browser treats the origin.
const DROPPED_X_PREFIXES: &[&str] = &[
    "x-plexica-",
    "x-accel-",
    "x-sendfile",
    "x-lighttpd-",
    "x-litespeed-",
    "x-envoy-",
];
const DROPPED_X: &[&str] = &[
    "x-content-type-options",
    "x-frame-options",
    "x-xss-protection",
    "x-permitted-cross-domain-policies",
    "x-dns-prefetch-control",
    "x-ua-compatible",
];

/// Is `name` (lowercase) an `x-*` header an answer keeps?
pub fn kept_x_header(name: &str) -> bool {
    name.starts_with("x-")
        && !DROPPED_X_PREFIXES.iter().any(|p| name.starts_with(p))
        && !DROPPED_X.contains(&name)
}

/// Added to every forwarded answer: no content sniffing, and a document a target answers is
/// rendered sandboxed (an opaque origin, nothing loaded, not framed), so that a plugin's answer
/// never runs as the core API's origin.
pub const ANSWER_SECURITY_HEADERS: [(&str, &str); 2] = [
    ("x-content-type-options", "nosniff"),
    (
        "content-security-policy",
        "sandbox; default-src 'none'; frame-ancestors 'none'",
    ),
];

/// `Cache-Control` as forwarded: never storable by a shared cache (the answer was made for
/// one authenticated caller): `public`, `s-maxage` and `proxy-revalidate` are removed and
/// `private` is added unless `private` or `no-store` is there.
fn private_cache_control(value: &str) -> String {
    let directives: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|d| {
            let name = d
                .split('=')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            !d.is_empty() && !["public", "s-maxage", "proxy-revalidate"].contains(&name.as_str())
        })
        .collect();
    let private = directives.iter().any(|d| {
        let name = d
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        name == "private" || name == "no-store"
    });
    match private {
        true => directives.join(", "),
        false => std::iter::once("private")
            .chain(directives)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `Location` as the caller must follow it. An absolute path of the target (`/contacts/42`,
/// `?query` kept, `#fragment` dropped), checked like a request path, becomes the same path
/// under the caller's gateway prefix (`…/gateway/crm/crm.contacts/contacts/42`): a target
/// redirects only within itself. Anything else — another origin, `//host`, a relative
/// reference, a path the gateway would refuse — is `None` (dropped).
pub fn rewrite_location(value: &str, prefix: &str) -> Option<String> {
    let value = value.split('#').next().unwrap_or("");
    let (path, query) = match value.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (value, None),
    };
    let checked = CheckedPath::parse(path.strip_prefix('/')?).ok()?;
    let mut out = format!("{prefix}{}", checked.encoded());
    if let Some(query) = query {
        if !query.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        out.push('?');
        out.push_str(query);
    }
    Some(out)
}

/// The target's answer headers as the caller gets them: only [`ANSWER_HEADERS`] and the
/// `x-*` headers [`kept_x_header`] keeps, minus any its `Connection` header names; `Location`
/// rewritten by [`rewrite_location`] under `prefix`; `Cache-Control` made private; then
/// [`ANSWER_SECURITY_HEADERS`].
pub fn answer_headers(upstream: &HeaderMap, prefix: &str) -> HeaderMap {
    let connection_listed = connection_listed(upstream);
    let mut out = HeaderMap::new();
    for (name, value) in upstream {
        let n = name.as_str();
        let kept = (ANSWER_HEADERS.contains(&n) || kept_x_header(n))
            && !connection_listed.iter().any(|c| c == n);
        if !kept {
            continue;
        }
        let value = if name == header::LOCATION {
            let rewritten = value
                .to_str()
                .ok()
                .and_then(|v| rewrite_location(v, prefix))
                .and_then(|v| HeaderValue::from_str(&v).ok());
            match rewritten {
                Some(v) => v,
                None => continue,
            }
        } else if name == header::CACHE_CONTROL {
            match value
                .to_str()
                .ok()
                .and_then(|v| HeaderValue::from_str(&private_cache_control(v)).ok())
            {
                Some(v) => v,
                None => continue,
            }
        } else {
            value.clone()
        };
        out.append(name.clone(), value);
    }
    for (name, value) in ANSWER_SECURITY_HEADERS {
        out.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    out
}

/// How to reach a target: the client, its circuit breakers, the wait, where it is.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    /// The client that signs and sends calls to backends.
    pub client: &'a PluginClient,
    /// Per-target circuit breakers.
    pub breakers: &'a Breakers,
    /// Longest wait for the answer's headers.
    pub timeout: Duration,
    /// The target: its address and the secret calls to it are signed with.
    pub target: &'a Endpoint,
}

/// What is sent: the checked request.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The method.
    pub method: &'a Method,
    /// The checked path and the caller's gateway prefix.
    pub path: &'a GatewayPath,
    /// The caller's query string, passed as it came (never through the path).
    pub query: Option<&'a str>,
    /// The caller's headers (filtered by [`forwarded_headers`]).
    pub headers: &'a HeaderMap,
    /// Who calls, as the target sees it.
    pub context: &'a CallContext,
}

/// The `tracing` target of the line each forwarded call logs (at debug level: tenant,
/// plugin, method, path, status, ms); `plexica plugin dev` shows them.
pub const GATEWAY_CALL_TARGET: &str = "plexica::gateway";

/// Sends `call` to `route` — its URL made of the checked segments, re-encoded, and the query,
/// signed with the target's secret over that and the context — and returns its answer, to be
/// streamed back with the headers of [`answer_headers`]. A target that cannot be reached is a
/// 503, one that does not answer in time a 504; both count against its circuit breaker.
pub async fn forward(route: Route<'_>, call: Call<'_>, body: bytes::Bytes) -> ApiResult<Answer> {
    let plugin = call.path.plugin.as_str();
    let address = route.target.address.as_str();
    route.breakers.check(address, plugin)?;
    let started = std::time::Instant::now();
    let context = call.context;
    let mut headers = forwarded_headers(call.headers);
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
    let mut target = call.path.path.encoded();
    if let Some(query) = call.query {
        target.push('?');
        target.push_str(query);
    }
    let request = PluginRequest {
        method: call.method.clone(),
        target: &target,
        headers,
        body,
        timeout: Some(route.timeout),
    };
    let sent = route
        .client
        .send(address, route.target.secret.as_bytes(), request)
        .await;
    route.breakers.record(address, sent.is_ok());
    metrics::histogram!(crate::metrics::GATEWAY_UPSTREAM_SECONDS)
        .record(started.elapsed().as_secs_f64());
    let status = match &sent {
        Ok(answer) => answer.status().as_u16(),
        Err(e) if e.is_timeout() => StatusCode::GATEWAY_TIMEOUT.as_u16(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.as_u16(),
    };
    tracing::debug!(
        target: GATEWAY_CALL_TARGET,
        tenant = %context.tenant,
        plugin,
        method = %call.method,
        path = %target,
        status,
        ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "gateway call"
    );
    let answer = sent.map_err(|e| {
        metrics::counter!(crate::metrics::GATEWAY_FAILURES).increment(1);
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
    Ok(Answer {
        status: answer.status(),
        headers: answer_headers(answer.headers(), &call.path.prefix),
        body: answer,
    })
}

/// A target's answer to a gateway call: what the caller gets back.
#[derive(Debug)]
pub struct Answer {
    /// The target's status.
    pub status: StatusCode,
    /// The headers the caller sees ([`answer_headers`]).
    pub headers: HeaderMap,
    /// The target's response, whose body is streamed to the caller.
    pub body: reqwest::Response,
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
    fn endpoint_patterns() -> ApiResult<()> {
        let matches = |pattern: &str, raw: &str| -> ApiResult<bool> {
            Ok(path_matches(pattern, CheckedPath::parse(raw)?.segments()))
        };
        assert!(matches("/contacts", "contacts")?);
        assert!(matches("/contacts/:id", "contacts/42")?);
        assert!(!matches("/contacts/:id", "contacts")?);
        assert!(!matches("/contacts/:id", "contacts/42/notes")?);
        assert!(matches("/files/*", "files/a/b/c")?);
        assert!(!matches("/files/*", "files")?);
        assert!(!matches("/contacts", "deals")?);
        // Literal segments are compared decoded.
        assert!(matches("/contacts/:id", "cont%61cts/42")?);
        Ok(())
    }

    #[test]
    fn traversal_and_smuggling_are_refused() {
        for bad in [
            "../admin",
            "a/../b",
            "a//b",
            "a/./b",
            "a/",
            "",
            "%2e%2e/x",
            "%2E",
            ".%2e/x",
            "a%2Fb",
            "a%5Cb",
            "a\\b",
            "a%00b",
            "a%0Ab",
            "a%7Fb",
            "a%C2%85b",
            "open/..%3Fadmin=1",
            "a%3Fb",
            "a%23b",
            "a%zzb",
            "a%2",
            "%FF",
            "%252e%252e",
            "a%252Fb",
            "%25252e",
            "%2525252525252e",
            "%EF%BC%8E%EF%BC%8E",
            "%E2%80%A5",
            "a%EF%BC%8Fb",
            "a%EF%BC%BCb",
            "a%EF%BC%9Fb",
            "%EF%BC%85%EF%BC%92%EF%BD%85",
        ] {
            let refused = CheckedPath::parse(bad).expect_err(bad);
            assert_eq!(refused.code, "PATH_REFUSED", "{bad:?}");
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }

    #[test]
    fn what_is_forwarded_is_the_checked_segments_re_encoded() -> ApiResult<()> {
        for (raw, sent) in [
            ("contacts/42", "/contacts/42"),
            ("a%20b", "/a%20b"),
            ("a+b", "/a%2Bb"),
            ("caf%C3%A9", "/caf%C3%A9"),
            ("%61bc/~x_y-z.1", "/abc/~x_y-z.1"),
            ("...", "/..."),
            ("100%25", "/100%25"),
            ("%2541", "/%2541"),
            ("Hello%E2%80%A6", "/Hello%E2%80%A6"),
            ("%EF%BD%81", "/%EF%BD%81"),
        ] {
            assert_eq!(CheckedPath::parse(raw)?.encoded(), sent, "{raw}");
        }
        Ok(())
    }

    #[test]
    fn the_gateway_path_is_split_as_written() -> ApiResult<()> {
        let raw = "/api/v1/tenants/acme/gateway/crm/crm.contacts/contacts/4%202";
        let path = GatewayPath::parse(raw, 7)?;
        assert_eq!(path.prefix, "/api/v1/tenants/acme/gateway/crm/crm.contacts");
        assert_eq!(path.plugin, "crm");
        assert_eq!(path.service, "crm.contacts");
        assert_eq!(path.path.segments(), ["contacts", "4 2"]);
        for bad in [
            "/api/v1/tenants/acme/gateway/crm/crm.contacts",
            "/api/v1/tenants/acme/gateway/crm/crm.contacts/",
            "/api/v1/tenants/acme/gateway/c%2Frm/crm.contacts/x",
            "/api/v1/tenants/acme/gateway/crm/%2e%2e/x",
        ] {
            assert!(GatewayPath::parse(bad, 7).is_err(), "{bad}");
        }
        Ok(())
    }

    /// A header map of static `(name, value)` pairs, repeats appended.
    fn header_map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn answers_keep_only_safe_headers() {
        let h = header_map(&[
            ("content-type", "application/json"),
            ("etag", "\"1\""),
            ("x-custom", "yes"),
            ("x-listed", "hop"),
            ("connection", "x-listed"),
            ("set-cookie", "session=stolen"),
            ("set-cookie2", "a=b"),
            ("clear-site-data", "\"*\""),
            ("access-control-allow-origin", "*"),
            ("strict-transport-security", "max-age=0"),
            ("content-security-policy", "default-src *"),
            ("x-content-type-options", "sniff"),
            ("x-plexica-user", "root"),
            ("x-accel-redirect", "/internal/secret"),
            ("keep-alive", "timeout=5"),
            ("cache-control", "public, max-age=60, s-maxage=600"),
            ("location", "https://evil.example/"),
        ]);
        let out = answer_headers(&h, "/gw");
        let mut names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "cache-control",
                "content-security-policy",
                "content-type",
                "etag",
                "x-content-type-options",
                "x-custom",
            ]
        );
        assert_eq!(out["x-content-type-options"], "nosniff");
        assert_eq!(out["cache-control"], "private, max-age=60");
    }

    #[test]
    fn a_location_stays_within_the_target() {
        let prefix = "/api/v1/tenants/acme/gateway/crm/crm.contacts";
        assert_eq!(
            rewrite_location("/contacts/4%202?x=1#top", prefix).as_deref(),
            Some("/api/v1/tenants/acme/gateway/crm/crm.contacts/contacts/4%202?x=1")
        );
        for away in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "contacts/42",
            "/../../admin",
            "/a/%2e%2e/b",
            "",
            "/",
        ] {
            assert_eq!(rewrite_location(away, prefix), None, "{away}");
        }
        assert_eq!(private_cache_control("no-store"), "no-store");
        assert_eq!(
            private_cache_control("private, max-age=5"),
            "private, max-age=5"
        );
        assert_eq!(private_cache_control("max-age=5"), "private, max-age=5");
        assert_eq!(private_cache_control("Public"), "private");
    }

    #[test]
    fn credentials_and_platform_headers_are_not_forwarded() {
        let h = header_map(&[
            ("authorization", "Bearer x"),
            ("cookie", "a=b"),
            ("connection", "close, x-secret"),
            ("x-secret", "1"),
            ("x-plexica-tenant", "other"),
            ("x-plexica-user", "root"),
            ("accept", "application/json"),
        ]);
        let out = forwarded_headers(&h);
        let names: Vec<&str> = out.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept"]);
    }
}
