//! How the platform calls plugins' backends. [`PluginClient`] signs every request for the
//! backend it goes to (`plexica_sdk::api::signing`: method, target, body digest, timestamp and
//! the context headers, with that backend's secret), sends it over loopback TCP or the
//! backend's Unix socket, and never follows a redirect, so nothing signed goes anywhere but the
//! backend it was signed for.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use plexica_sdk::api::signing::{SIGNATURE_HEADER, SignedRequest};
use reqwest::header::{HeaderMap, HeaderValue};

/// The prefix of a backend address that is a Unix socket: `unix:/abs/path/backend.sock`.
pub const UNIX_ADDRESS_PREFIX: &str = "unix:";

/// The authority of requests sent over a Unix socket (the socket, not the name, picks the peer).
const SOCKET_BASE_URL: &str = "http://plugin";

/// The address of a backend listening on the Unix socket at `path`.
pub fn unix_address(path: &Path) -> String {
    format!("{UNIX_ADDRESS_PREFIX}{}", path.display())
}

/// What to send to a backend.
#[derive(Debug)]
pub struct PluginRequest<'a> {
    /// The method.
    pub method: reqwest::Method,
    /// Path and query, e.g. `/_plexica/events` or `/contacts?limit=5`.
    pub target: &'a str,
    /// Headers, including the context the platform asserts (`X-Plexica-*`).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// Longest wait for the answer's headers (none: the client's default, no limit).
    pub timeout: Option<Duration>,
}

/// The platform's HTTP client towards plugin backends: one connection pool for TCP backends and
/// one per Unix socket.
#[derive(Debug, Clone)]
pub struct PluginClient {
    tcp: reqwest::Client,
    sockets: Arc<Mutex<HashMap<PathBuf, reqwest::Client>>>,
}

impl Default for PluginClient {
    fn default() -> Self {
        Self::new()
    }
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(2))
        .pool_idle_timeout(Duration::from_secs(60))
}

impl PluginClient {
    /// A client with no connection yet.
    pub fn new() -> Self {
        Self {
            tcp: builder().build().unwrap_or_default(),
            sockets: Arc::default(),
        }
    }

    /// The client and base URL that reach the backend at `address`.
    fn route(&self, address: &str) -> (reqwest::Client, String) {
        let Some(path) = address.strip_prefix(UNIX_ADDRESS_PREFIX) else {
            return (self.tcp.clone(), address.trim_end_matches('/').to_owned());
        };
        let path = PathBuf::from(path);
        let mut sockets = self
            .sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let client = sockets
            .entry(path)
            .or_insert_with_key(|path| {
                builder()
                    .unix_socket(path.as_path())
                    .build()
                    .unwrap_or_default()
            })
            .clone();
        (client, SOCKET_BASE_URL.to_owned())
    }

    /// Sends `request` to the backend at `address`, signed with `secret`.
    pub async fn send(
        &self,
        address: &str,
        secret: &[u8],
        request: PluginRequest<'_>,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let (client, base) = self.route(address);
        // Parsed once, here: the target is signed as it goes on the wire (the parser may
        // re-encode the query), and the same URL is sent. One that does not parse is handed
        // over as text, for the client to report.
        let url = format!("{base}{}", request.target);
        let parsed = reqwest::Url::parse(&url).ok();
        let sent_target = parsed.as_ref().map(|u| match u.query() {
            Some(query) => format!("{}?{query}", u.path()),
            None => u.path().to_owned(),
        });
        let mut headers = request.headers;
        let headers_ref = &headers;
        let signature = SignedRequest {
            method: request.method.as_str(),
            target: sent_target.as_deref().unwrap_or(request.target),
            body: &request.body,
        }
        .sign(secret, plexica_sdk::api::time::now_ms() / 1000, |name| {
            headers_ref.get(name).and_then(|v| v.to_str().ok())
        });
        if let Ok(value) = HeaderValue::from_str(&signature) {
            headers.insert(SIGNATURE_HEADER, value);
        }
        let builder = match parsed {
            Some(parsed) => client.request(request.method, parsed),
            None => client.request(request.method, url),
        };
        let mut builder = builder.headers(headers).body(request.body);
        if let Some(timeout) = request.timeout {
            builder = builder.timeout(timeout);
        }
        builder.send().await
    }
}
