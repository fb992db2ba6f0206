//! One line per thing that happened, prefixed with its kind, from any thread: human text, or
//! one JSON object per line with `-o json`.

use std::io::Write as _;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// What a line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The platform, the tenant and the URLs to call: everything is ready.
    Ready,
    /// A build started, failed or was skipped.
    Build,
    /// A new version is installed and answering.
    Reloaded,
    /// A line of the backend's log.
    Log,
    /// An event the plugin received (`←`) or emitted (`→`).
    Event,
    /// A call to the plugin through the gateway.
    Gateway,
    /// The backend started, exited or was given up on.
    Backend,
    /// Something went wrong; the last good version keeps running.
    Error,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Ready => "ready",
            Kind::Build => "build",
            Kind::Reloaded => "reloaded",
            Kind::Log => "log",
            Kind::Event => "event",
            Kind::Gateway => "gateway",
            Kind::Backend => "backend",
            Kind::Error => "error",
        }
    }
}

/// How long each part of a reload took, seconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Split {
    /// Running the build commands.
    pub build: f64,
    /// Packaging and the install call, the backend's start excluded.
    pub install: f64,
    /// The backend's start, from launch to healthy (when the platform runs in this process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<f64>,
    /// From the change seen to the new version answering.
    pub total: f64,
}

#[derive(Serialize)]
struct JsonLine<'a> {
    kind: Kind,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<Split>,
}

/// Where the lines go: stdout, whole lines, never interleaved.
#[derive(Debug, Clone)]
pub struct Lines {
    json: bool,
    lock: Arc<Mutex<()>>,
}

impl Lines {
    /// Human lines, or JSON lines with `json`.
    pub fn new(json: bool) -> Self {
        Self {
            json,
            lock: Arc::new(Mutex::new(())),
        }
    }

    /// Prints `text` as a line of `kind` (a multi-line text: one line each).
    pub fn print(&self, kind: Kind, text: &str) {
        self.write(kind, text, None);
    }

    /// Prints that a reload finished, with its split.
    pub fn reloaded(&self, text: &str, split: Split) {
        self.write(Kind::Reloaded, text, Some(split));
    }

    fn write(&self, kind: Kind, text: &str, seconds: Option<Split>) {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = std::io::stdout().lock();
        if self.json {
            let line = JsonLine {
                kind,
                text,
                seconds,
            };
            if let Ok(json) = serde_json::to_string(&line) {
                let _ = writeln!(out, "{json}");
            }
        } else {
            for line in text.lines() {
                let _ = writeln!(out, "{:>8} │ {line}", kind.label());
            }
        }
        let _ = out.flush();
    }
}
