//! [`Error`] and [`Result`] of the plugin runtime.

use std::fmt;
use std::path::PathBuf;

use super::handler::Mismatch;
use crate::manifest::ManifestError;

/// The result type of handlers, routes and the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in a plugin: at start-up, while serving, or inside a handler.
///
/// Its message includes the direct cause; its `Debug` form adds the causes the message does not
/// already show, so that `main() -> Result<()>` prints something a person can act on.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `plexica.toml` could not be read or is invalid.
    #[error("cannot load the plugin manifest: {0}")]
    Manifest(#[from] ManifestError),
    /// The manifest has no `[backend]`, so there is nothing for this process to serve.
    #[error(
        "{manifest}: plugin `{plugin}` has no [backend] section, but this binary is its backend"
    )]
    NoBackend {
        /// The manifest's path.
        manifest: PathBuf,
        /// The plugin's id.
        plugin: String,
    },
    /// `backend.health` is not a plain absolute route.
    #[error(
        "{manifest}: backend.health = `{route}` is not a route; use a plain path such as `/_plexica/health`"
    )]
    HealthRoute {
        /// The manifest's path.
        manifest: PathBuf,
        /// The rejected route.
        route: String,
    },
    /// The registered `#[event_handler]`s and `events.subscribes` disagree.
    #[error("{}", mismatch_message(.manifest, .mismatches))]
    HandlerMismatch {
        /// The manifest's path.
        manifest: PathBuf,
        /// Every disagreement, handlers first.
        mismatches: Vec<Mismatch>,
    },
    /// Several functions implement the same `#[hook]`.
    #[error("{}", duplicate_hooks_message(.0))]
    DuplicateHooks(Vec<(super::Hook, Vec<&'static str>)>),
    /// The listen address could not be bound.
    #[error("cannot listen on `{address}` (from {origin}): {source}")]
    Listen {
        /// The address as given.
        address: String,
        /// Where the address came from: the environment variable or the default.
        origin: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The shutdown signal handlers could not be installed.
    #[error("cannot install the SIGTERM / Ctrl-C handlers: {0}")]
    Signal(#[source] std::io::Error),
    /// The HTTP server failed.
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// An envelope has no string `type`.
    #[error("the event envelope has no string `type` field")]
    EnvelopeType,
    /// An envelope or its `data` does not have the shape the handler expects.
    #[error("cannot decode event `{event_type}`: {source}")]
    Decode {
        /// The envelope's `type`.
        event_type: String,
        /// What serde found.
        source: serde_json::Error,
    },
    /// No registered handler matches an event's type.
    #[error("no #[event_handler] is registered for event type `{0}`")]
    NoHandler(String),

    /// A call to the core API was made without a connection (outside the platform, or
    /// `PLEXICA_CORE_URL` / `PLEXICA_INSTALL_TOKEN` unset).
    #[error(
        "not connected to the core API: PLEXICA_CORE_URL and PLEXICA_INSTALL_TOKEN are not set"
    )]
    NotConnected,

    /// The core API refused a call or could not be reached.
    #[error("the core API: {0}")]
    Core(String),
    /// The core API answered a call with an error.
    #[error("the core API answered {status} {code}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The platform's error code, e.g. `SHARED_FORBIDDEN`.
        code: String,
        /// For people.
        message: String,
    },
    /// Another plugin's service refused or failed a call (through the gateway).
    #[error("the service answered {status} {code}: {message}")]
    Service {
        /// HTTP status.
        status: u16,
        /// The error code (the gateway's, e.g. `FORBIDDEN`, `CIRCUIT_OPEN`, or the target's).
        code: String,
        /// For people.
        message: String,
    },
    /// A plugin route refuses its request (bad input, nothing there): answered with `status`
    /// and `code` in the platform's error envelope; see [`Error::invalid`] and
    /// [`Error::not_found`].
    #[error("{message}")]
    Rejected {
        /// HTTP status, 400–499.
        status: u16,
        /// A stable code, e.g. `VALIDATION_FAILED`.
        code: String,
        /// For people.
        message: String,
    },
    /// A failure of the plugin's own code; see [`Error::other`].
    #[error("{0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// Wraps an error of the plugin's own code, or a message: `.map_err(Error::other)?`,
    /// `Err(Error::other("no such contact"))`.
    pub fn other(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self::Other(error.into())
    }

    /// The request is invalid: `422 VALIDATION_FAILED` with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Rejected {
            status: 422,
            code: "VALIDATION_FAILED".to_owned(),
            message: message.into(),
        }
    }

    /// What the request names does not exist: `404 NOT_FOUND` with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::Rejected {
            status: 404,
            code: "NOT_FOUND".to_owned(),
            message: message.into(),
        }
    }
}

/// A plugin route may return `Result<T>`: an error answers with the platform's error envelope,
/// [`Error::Rejected`] with its own status and code, `502 CORE_ERROR` when the core API failed,
/// `500 PLUGIN_ERROR` otherwise (the message is the error's, so keep secrets out of it).
impl axum::response::IntoResponse for Error {
    fn into_response(self) -> axum::response::Response {
        if let Self::Rejected {
            status,
            code,
            message,
        } = &self
        {
            let status = axum::http::StatusCode::from_u16(*status)
                .ok()
                .filter(axum::http::StatusCode::is_client_error)
                .unwrap_or(axum::http::StatusCode::BAD_REQUEST);
            let body = serde_json::json!({ "error": { "code": code, "message": message } });
            return (status, axum::Json(body)).into_response();
        }
        let (status, code) = match &self {
            Self::Core(_) | Self::NotConnected | Self::Refused { .. } | Self::Service { .. } => {
                (axum::http::StatusCode::BAD_GATEWAY, "CORE_ERROR")
            }
            _ => (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "PLUGIN_ERROR",
            ),
        };
        let body = serde_json::json!({ "error": { "code": code, "message": self.to_string() } });
        (status, axum::Json(body)).into_response()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut message = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let cause_message = cause.to_string();
            if !message.contains(&cause_message) {
                message.push_str("\n  caused by: ");
                message.push_str(&cause_message);
            }
            source = cause.source();
        }
        f.write_str(&message)
    }
}

fn mismatch_message(manifest: &std::path::Path, mismatches: &[Mismatch]) -> String {
    let mut message = format!(
        "the #[event_handler]s do not match events.subscribes of {}:",
        manifest.display()
    );
    for mismatch in mismatches {
        message.push_str("\n  - ");
        message.push_str(&mismatch.to_string());
    }
    message
}

fn duplicate_hooks_message(duplicates: &[(super::Hook, Vec<&'static str>)]) -> String {
    let listed: Vec<String> = duplicates
        .iter()
        .map(|(hook, names)| format!("#[hook({hook})] is on {}", names.join(" and ")))
        .collect();
    format!(
        "a hook may be implemented once: {}; keep one function per hook",
        listed.join("; ")
    )
}
