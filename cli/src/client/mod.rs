//! Typed blocking HTTP clients of the Plexica services (one method per route), over one
//! [`Transport`] that retries 429, 503 and connection failures with bounded exponential
//! backoff, and maps failures to [`CliError`]s with the documented exit codes.

pub mod core;
pub mod registry;

use std::fmt;
use std::io::Read;
use std::time::Duration;

use indicatif::ProgressBar;
use plexica_sdk::api::core::ErrorEnvelope;
use plexica_sdk::api::registry::{ApiErrorItem, ApiErrors};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::credentials::Token;
use crate::error::{CliError, ExitKind};
use crate::profile::ServiceUrl;

/// How long an upload or a download may take.
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long a call without a transfer may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of an error body that are read.
const ERROR_BODY_MAX: u64 = 1024 * 1024;

/// Bounded exponential backoff.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub base: Duration,
    /// Longest computed wait.
    pub cap: Duration,
    /// Longest `Retry-After` honoured; a longer one ends the retries.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (from 0): the backoff, or the server's
    /// `Retry-After` when longer.
    fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self
            .base
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.cap);
        retry_after.map_or(backoff, |after| after.max(backoff))
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A route that needs a token was called without one.
    #[error("not logged in to {url}")]
    NotLoggedIn {
        /// The service URL.
        url: String,
        /// How to log in.
        help: String,
    },
    /// The server could not be reached, even after retries.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// What was called.
        url: String,
        /// The innermost transport error.
        reason: String,
    },
    /// The server answered with an error status.
    #[error("{}", describe(.errors))]
    Api {
        /// HTTP status.
        status: u16,
        /// The error envelope (synthesised when the body was not one).
        errors: ApiErrors,
        /// `Retry-After` seconds, on 429 and 503.
        retry_after: Option<u64>,
        /// The core API's structured `details` (e.g. `{"problems": [...]}`), when given.
        details: Option<serde_json::Value>,
    },
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    /// The answer could not be understood.
    #[error("unexpected answer from {url}: {reason}")]
    Protocol {
        /// What was called.
        url: String,
        /// What was wrong with it.
        reason: String,
    },
}

fn describe(errors: &ApiErrors) -> String {
    errors
        .errors
        .iter()
        .map(|e| format!("{} ({})", e.detail, e.code))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ClientError {
    /// The error envelope of an HTTP error, if this is one.
    pub fn api_errors(&self) -> Option<&ApiErrors> {
        match self {
            Self::Api { errors, .. } => Some(errors),
            _ => None,
        }
    }

    /// The HTTP status the server answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the server answered with `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.api_errors()
            .is_some_and(|e| e.errors.iter().any(|item| item.code == code))
    }

    /// Each problem of the core API's `details.problems` (`CONFIG_INVALID`,
    /// `DEPENDENCIES_UNSATISFIED`, …), as a line for people.
    pub fn problems(&self) -> Vec<String> {
        let Self::Api {
            details: Some(details),
            ..
        } = self
        else {
            return Vec::new();
        };
        let text =
            |problem: &serde_json::Value, field: &str| problem[field].as_str().map(str::to_owned);
        details["problems"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|problem| {
                match (
                    text(problem, "key"),
                    text(problem, "kind"),
                    text(problem, "message"),
                ) {
                    (Some(key), _, Some(message)) => format!("`{key}` {message}"),
                    (None, Some(kind), Some(message)) => format!("{message} ({kind})"),
                    (None, None, Some(message)) => message,
                    _ => problem.to_string(),
                }
            })
            .collect()
    }

    /// What happened, in one line: like `Display`, but when the core API listed problems,
    /// without their repetition at the end of its message ([`Self::problems`] follow it).
    pub fn headline(&self) -> String {
        let Self::Api {
            errors,
            details: Some(details),
            ..
        } = self
        else {
            return self.to_string();
        };
        // The server's own rendering of its problems, joined as it joins them.
        let listed: Vec<String> = details["problems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let message = p["message"].as_str()?;
                Some(match p["key"].as_str() {
                    Some(key) => format!("`{key}` {message}"),
                    None => message.to_owned(),
                })
            })
            .collect();
        if listed.is_empty() {
            return self.to_string();
        }
        let joined = listed.join("; ");
        errors
            .errors
            .iter()
            .map(|e| {
                let detail = e
                    .detail
                    .strip_suffix(joined.as_str())
                    .map_or(e.detail.as_str(), |d| d.trim_end_matches([':', ' ']));
                match detail.is_empty() {
                    true => format!("{} problem(s) ({})", listed.len(), e.code),
                    false => format!("{detail} ({})", e.code),
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl From<ClientError> for CliError {
    fn from(error: ClientError) -> Self {
        let mut message = error.headline();
        for problem in error.problems() {
            message.push_str(&format!("\n  - {problem}"));
        }
        match &error {
            ClientError::NotLoggedIn { help, .. } => {
                CliError::new(ExitKind::Auth, message).with_help(help.clone())
            }
            ClientError::Unreachable { .. } => CliError::new(ExitKind::Unavailable, message)
                .with_help("check the URL and that the service is running, then try again"),
            ClientError::Setup(_) => CliError::failed(message),
            ClientError::Protocol { .. } => CliError::failed(message).with_help(
                "check that the URL points at a Plexica service of a compatible version",
            ),
            ClientError::Api {
                status,
                retry_after,
                ..
            } => {
                let kind = match *status {
                    401 | 403 => ExitKind::Auth,
                    404 => ExitKind::NotFound,
                    409 => ExitKind::Conflict,
                    429 | 500..=599 => ExitKind::Unavailable,
                    _ => ExitKind::Failed,
                };
                let help = if error.has_code("TOKEN_EXPIRED") {
                    Some("run `plexica login` to get a new token".to_owned())
                } else if error.has_code("TENANT_SUSPENDED") {
                    Some(
                        "a super admin can re-activate it: `plexica tenant activate SLUG`"
                            .to_owned(),
                    )
                } else if error.has_code("VERSION_EXISTS") {
                    Some("bump `plugin.version` in plexica.toml, then publish again".to_owned())
                } else if error.has_code("PLUGIN_NOT_INSTALLED") {
                    Some("`plexica tenant plugin list SLUG` shows what is installed".to_owned())
                } else if error.has_code("PLUGIN_ALREADY_INSTALLED") {
                    Some(
                        "change its version with `plexica tenant plugin upgrade SLUG ID`"
                            .to_owned(),
                    )
                } else if error.has_code("PLUGIN_REQUIRED") {
                    Some("uninstall (or deactivate) the plugins that require it first".to_owned())
                } else if error.has_code("REGISTRY_NOT_CONFIGURED") {
                    Some(
                        "start the core API with a registry (`--registry-url`) to install plugins"
                            .to_owned(),
                    )
                } else {
                    match *status {
                        401 => Some(
                            "run `plexica login`, or check PLEXICA_TOKEN / PLEXICA_REGISTRY_TOKEN"
                                .to_owned(),
                        ),
                        413 => Some("the package is larger than the registry accepts".to_owned()),
                        429 => Some(match retry_after {
                            Some(seconds) => format!("rate limited: try again in {seconds} s"),
                            None => "rate limited: try again later".to_owned(),
                        }),
                        500..=599 => Some("the server failed; try again later".to_owned()),
                        _ => None,
                    }
                };
                let error = CliError::new(kind, message);
                match help {
                    Some(help) => error.with_help(help),
                    None => error,
                }
            }
        }
    }
}

/// Is the call safe to repeat after a transport failure mid-request?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotent {
    /// Yes (GET): every transport failure is retried.
    Yes,
    /// No: only failures to connect (nothing was sent) are retried.
    No,
}

/// Called before each retry with what happened and how long the wait is.
type RetryNotice = Box<dyn Fn(&str) + Send + Sync>;

/// The HTTP client the typed clients share: timeouts, retries, error envelopes.
pub struct Transport {
    http: Client,
    policy: RetryPolicy,
    on_retry: Option<RetryNotice>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// A transport with the default retry policy.
    pub fn new() -> Result<Self, ClientError> {
        let http = Client::builder()
            .user_agent(concat!("plexica/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| ClientError::Setup(innermost(&e)))?;
        Ok(Self {
            http,
            policy: RetryPolicy::default(),
            on_retry: None,
        })
    }

    /// Reports each retry through `notice`.
    pub fn on_retry(&mut self, notice: impl Fn(&str) + Send + Sync + 'static) {
        self.on_retry = Some(Box::new(notice));
    }

    /// Sends the request `build` makes (once per attempt), retrying 429 and 503 answers and
    /// transport failures per the policy. Returns successful answers; error answers become
    /// [`ClientError::Api`].
    pub fn send(
        &self,
        idempotent: Idempotent,
        build: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<Response, ClientError> {
        let mut retry = 0;
        loop {
            let last = retry + 1 >= self.policy.attempts;
            let request = build(&self.http)
                .build()
                .map_err(|e| ClientError::Protocol {
                    url: e.url().map(ToString::to_string).unwrap_or_default(),
                    reason: innermost(&e),
                })?;
            let url = redacted_url(request.url());
            match self.http.execute(request) {
                Ok(response) => {
                    let status = response.status();
                    let retriable = matches!(
                        status,
                        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                    );
                    let after = retry_after(&response);
                    let too_long = after.is_some_and(|a| a > self.policy.max_retry_after);
                    if retriable && !last && !too_long {
                        let wait = self.policy.delay(retry, after);
                        self.notify(&format!("{url} answered {status}"), wait);
                        std::thread::sleep(wait);
                        retry += 1;
                        continue;
                    }
                    return check(response);
                }
                Err(e) => {
                    let retriable = e.is_connect() || idempotent == Idempotent::Yes;
                    if retriable && !last {
                        let wait = self.policy.delay(retry, None);
                        self.notify(&format!("cannot reach {url}: {}", innermost(&e)), wait);
                        std::thread::sleep(wait);
                        retry += 1;
                        continue;
                    }
                    return Err(ClientError::Unreachable {
                        url,
                        reason: innermost(&e),
                    });
                }
            }
        }
    }

    fn notify(&self, what: &str, wait: Duration) {
        if let Some(notice) = &self.on_retry {
            notice(&format!("in {:.1} s: {what}", wait.as_secs_f64()));
        }
    }
}

impl Transport {
    /// Sends a JSON request (`body` serialized, `token` as bearer) to `url`; GETs are retried
    /// after any transport failure, other methods only when the connection was refused.
    pub fn call<B: Serialize>(
        &self,
        method: Method,
        url: &Url,
        body: Option<&B>,
        token: Option<&Token>,
        correlation_id: Option<&str>,
    ) -> Result<Response, ClientError> {
        let idempotent = if method == Method::GET {
            Idempotent::Yes
        } else {
            Idempotent::No
        };
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| ClientError::Protocol {
                url: url.path().to_owned(),
                reason: format!("cannot encode the request: {e}"),
            })?;
        self.send(idempotent, |http| {
            let mut request = http
                .request(method.clone(), url.clone())
                .header(ACCEPT, "application/json");
            if let Some(token) = token {
                request = request.bearer_auth(token.expose());
            }
            if let Some(id) = correlation_id {
                request = request.header("x-correlation-id", id);
            }
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            request
        })
    }
}

/// `{base}/api/v1/{segments…}`, each segment percent-encoded.
pub fn endpoint(base: &ServiceUrl, segments: &[&str]) -> Url {
    let mut url = base.url().clone();
    // `ServiceUrl` only holds URLs that can be a base, so this always succeeds.
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(["api", "v1"]).extend(segments);
    }
    url
}

/// Reads a JSON answer.
pub fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
    let url = response.url().path().to_owned();
    response.json().map_err(|e| ClientError::Protocol {
        url,
        reason: format!("the body is not the expected JSON ({})", innermost(&e)),
    })
}

/// No request body.
pub const NO_BODY: Option<&()> = None;

/// The `Retry-After` of a response, in seconds (the HTTP-date form is not honoured).
fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Turns an error answer into [`ClientError::Api`]; never shows a raw body.
fn check(response: Response) -> Result<Response, ClientError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = retry_after(&response).map(|d| d.as_secs());
    let mut body = Vec::new();
    // An unreadable error body is described by its status instead.
    let _ = response.take(ERROR_BODY_MAX).read_to_end(&mut body);
    let envelope = serde_json::from_slice::<ErrorEnvelope>(&body).ok();
    let details = envelope.as_ref().and_then(|e| e.error.details.clone());
    let core_error = || {
        envelope.map(|e| ApiErrors {
            errors: vec![ApiErrorItem {
                code: e.error.code,
                detail: e.error.message,
            }],
            diagnostics: Vec::new(),
        })
    };
    let errors = serde_json::from_slice::<ApiErrors>(&body)
        .ok()
        .filter(|e| !e.errors.is_empty())
        .or_else(core_error)
        .unwrap_or_else(|| ApiErrors {
            errors: vec![ApiErrorItem {
                code: format!("HTTP_{}", status.as_u16()),
                detail: format!("the server answered {status}"),
            }],
            diagnostics: Vec::new(),
        });
    Err(ClientError::Api {
        status: status.as_u16(),
        errors,
        retry_after,
        details,
    })
}

/// A URL as shown in messages: without credentials, query or fragment.
fn redacted_url(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    // Setting these cannot fail on the http(s) URLs the clients build.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// The innermost cause of an error: the one that says what actually went wrong.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// A reader that advances a progress bar by the bytes it reads.
pub struct Progress<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R> Progress<R> {
    /// Wraps `inner`, reporting to `bar`.
    pub fn new(inner: R, bar: ProgressBar) -> Self {
        Self { inner, bar }
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_honours_retry_after() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(0, None), Duration::from_millis(200));
        assert_eq!(policy.delay(2, None), Duration::from_millis(800));
        assert_eq!(policy.delay(10, None), Duration::from_secs(5));
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn http_errors_map_to_the_documented_exit_codes() {
        let api = |status: u16, code: &str| ClientError::Api {
            status,
            errors: ApiErrors {
                errors: vec![ApiErrorItem {
                    code: code.to_owned(),
                    detail: "it failed".to_owned(),
                }],
                diagnostics: Vec::new(),
            },
            retry_after: None,
            details: None,
        };
        for (status, code) in [
            (401, 3),
            (403, 3),
            (404, 4),
            (409, 5),
            (422, 1),
            (400, 1),
            (413, 1),
            (500, 6),
            (503, 6),
        ] {
            assert_eq!(
                CliError::from(api(status, "X")).kind.code(),
                code,
                "{status}"
            );
        }
        let invalid = CliError::from(ClientError::Api {
            status: 422,
            errors: ApiErrors {
                errors: vec![ApiErrorItem {
                    code: "CONFIG_INVALID".to_owned(),
                    detail: "not valid: `a` is bad; `b` is worse".to_owned(),
                }],
                diagnostics: Vec::new(),
            },
            retry_after: None,
            details: Some(serde_json::json!({ "problems": [
                { "key": "a", "message": "is bad" },
                { "key": "b", "message": "is worse" },
            ] })),
        });
        assert_eq!(
            invalid.message,
            "not valid (CONFIG_INVALID)\n  - `a` is bad\n  - `b` is worse"
        );
        let unmet = CliError::from(ClientError::Api {
            status: 422,
            errors: ApiErrors {
                errors: vec![ApiErrorItem {
                    code: "DEPENDENCIES_UNSATISFIED".to_owned(),
                    detail: "requires `crm`".to_owned(),
                }],
                diagnostics: Vec::new(),
            },
            retry_after: None,
            details: Some(serde_json::json!({ "problems": [
                { "kind": "missing", "plugin": "crm", "message": "requires `crm`" },
            ] })),
        });
        assert_eq!(
            unmet.message,
            "1 problem(s) (DEPENDENCIES_UNSATISFIED)\n  - requires `crm` (missing)"
        );
        let expired = CliError::from(api(401, "TOKEN_EXPIRED"));
        assert_eq!(expired.message, "it failed (TOKEN_EXPIRED)");
        assert!(
            expired
                .help
                .as_deref()
                .is_some_and(|h| h.contains("plexica login"))
        );
    }
}
