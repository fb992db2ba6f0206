//! The one error type of the CLI: what happened, what to do, and the exit code (cli.md).

use std::fmt;

/// Exit codes documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// `1`: the operation failed (validation errors, the server said no).
    Failed,
    /// `2`: usage error.
    Usage,
    /// `3`: not authenticated or forbidden.
    Auth,
    /// `4`: not found.
    NotFound,
    /// `5`: conflict (already exists).
    Conflict,
    /// `6`: network or server unavailable after retries.
    Unavailable,
}

impl ExitKind {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::Failed => 1,
            Self::Usage => 2,
            Self::Auth => 3,
            Self::NotFound => 4,
            Self::Conflict => 5,
            Self::Unavailable => 6,
        }
    }
}

/// A failure to report as `error: …` / `help: …` with an exit code.
#[derive(Debug)]
pub struct CliError {
    /// Exit code class.
    pub kind: ExitKind,
    /// What happened.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl CliError {
    /// A failure of class `kind`.
    pub fn new(kind: ExitKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            help: None,
        }
    }

    /// Exit code 1.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ExitKind::Failed, message)
    }

    /// Exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ExitKind::Usage, message)
    }

    /// Adds the `help:` line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::failed(e.to_string())
    }
}

/// The result type of every command.
pub type CliResult<T = ()> = Result<T, CliError>;

/// Adds context to I/O errors: which path, doing what.
pub trait IoContext<T> {
    /// Wraps the error as `cannot <what> <path>: <error>`.
    fn context(self, what: &str, path: &std::path::Path) -> CliResult<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn context(self, what: &str, path: &std::path::Path) -> CliResult<T> {
        self.map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                ExitKind::NotFound
            } else {
                ExitKind::Failed
            };
            CliError::new(kind, format!("cannot {what} {}: {e}", path.display()))
        })
    }
}
