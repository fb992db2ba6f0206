//! `plexica doctor`: one line per check of this machine's setup — the configuration directory
//! and its files, keys, the selected profile's services (reachable, clock), logins and their
//! expiry, and the toolchains the templates need. Exit 1 when a check fails.

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::config::{ConfigDir, read_secret_file};
use crate::credentials::{Credentials, Validity, now_unix};
use crate::error::{CliError, CliResult, ExitKind};
use crate::global::GlobalArgs;
use crate::keystore::KeyStore;
use crate::output::{Ui, checklist};
use crate::profile::{Config, ServiceUrl};

/// How far a server's clock may be from this machine's before tokens misbehave.
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);
/// How long a service has to answer its readiness route.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);
/// The oldest Rust the SDK builds with (its `rust-version`).
const MIN_RUST: (u64, u64) = (1, 85);
/// The oldest Node the frontend template's build runs on.
const MIN_NODE: u64 = 18;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Warn,
    Fail,
}

/// One check.
#[derive(Debug, Serialize)]
struct Check {
    name: String,
    status: Status,
    detail: String,
}

impl Check {
    fn new(name: impl Into<String>, status: Status, detail: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status,
            detail: detail.into(),
        }
    }
}

/// The JSON result of `doctor`.
#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    checks: Vec<Check>,
}

/// Runs every check and prints them.
pub fn run(global: &GlobalArgs, ui: &Ui) -> CliResult {
    let mut checks = Vec::new();
    let dir = ConfigDir::locate()?;
    check_dir(&dir, &mut checks);
    let config = match Config::load(&dir) {
        Ok(config) => {
            let file = dir.config_file();
            let detail = if file.exists() {
                format!("{} ({} profile(s))", file.display(), config.profiles.len())
            } else {
                format!("{} not written yet: defaults apply", file.display())
            };
            checks.push(Check::new("config file", Status::Ok, detail));
            Some(config)
        }
        Err(e) => {
            checks.push(Check::new("config file", Status::Fail, e.message));
            None
        }
    };
    let credentials = check_credentials(&dir, &mut checks);
    check_keys(&dir, &mut checks);
    if let Some(config) = &config {
        check_profile(config, credentials.as_ref(), global, &mut checks);
    }
    checks.push(check_rust());
    checks.push(check_node());
    let report = Report {
        ok: checks.iter().all(|c| c.status != Status::Fail),
        checks,
    };
    ui.result(&report, || {
        let rows = report.checks.iter().map(|c| {
            let mark = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            (mark, c.name.as_str(), c.detail.as_str())
        });
        checklist(rows, 22)
    });
    if report.ok {
        Ok(())
    } else {
        let failed = report
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count();
        Err(CliError::new(
            ExitKind::Failed,
            format!("{failed} check(s) failed"),
        ))
    }
}

fn check_dir(dir: &ConfigDir, checks: &mut Vec<Check>) {
    let path = dir.path();
    let check = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_dir() => Check::new(
            "config directory",
            Status::Fail,
            format!("{} is not a directory", path.display()),
        ),
        Ok(meta) => {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o022 != 0 {
                Check::new(
                    "config directory",
                    Status::Fail,
                    format!(
                        "{} is writable by other users (mode {mode:o}): run `chmod 700 {}`",
                        path.display(),
                        path.display()
                    ),
                )
            } else {
                Check::new(
                    "config directory",
                    Status::Ok,
                    format!("{} (mode {mode:o})", path.display()),
                )
            }
        }
        Err(_) => Check::new(
            "config directory",
            Status::Warn,
            format!(
                "{} does not exist yet (`plexica login` or `plexica up` creates it)",
                path.display()
            ),
        ),
    };
    checks.push(check);
}

fn check_credentials(dir: &ConfigDir, checks: &mut Vec<Check>) -> Option<Credentials> {
    let path = dir.credentials_file();
    if !path.exists() {
        checks.push(Check::new(
            "credentials",
            Status::Ok,
            "none stored (not logged in anywhere)",
        ));
        return Some(Credentials::default());
    }
    match Credentials::load(dir) {
        Ok(credentials) => {
            checks.push(if credentials.has_unowned() {
                Check::new(
                    "credentials",
                    Status::Warn,
                    format!(
                        "{} holds logins from before each profile kept its own; they are not used: log in again under each profile (the next login drops them)",
                        path.display()
                    ),
                )
            } else {
                Check::new(
                    "credentials",
                    Status::Ok,
                    format!("{} (mode 600)", path.display()),
                )
            });
            Some(credentials)
        }
        Err(e) => {
            let detail = match e.help {
                Some(help) => format!("{}: {help}", e.message),
                None => e.message,
            };
            checks.push(Check::new("credentials", Status::Fail, detail));
            None
        }
    }
}

fn check_keys(dir: &ConfigDir, checks: &mut Vec<Check>) {
    let store = KeyStore::new(dir);
    let keys = match store.list() {
        Ok(keys) => keys,
        Err(e) => {
            checks.push(Check::new("keys", Status::Fail, e.message));
            return;
        }
    };
    if keys.is_empty() {
        checks.push(Check::new(
            "keys",
            Status::Warn,
            "no signing key (`plexica keys generate` makes one)",
        ));
    }
    for key in keys.iter().filter(|k| k.has_secret) {
        let secret = dir.keys_dir().join(format!("{}.key", key.name));
        let opened = read_secret_file(&secret).and_then(|text| {
            match plexica_sdk::package::signing::SecretKey::is_encrypted(&text) {
                true => Ok("mode 600, passphrase-protected"),
                false => store.secret(Some(&key.name), false).map(|_| "mode 600"),
            }
        });
        let check = match opened {
            Ok(state) => Check::new(
                format!("key {}", key.name),
                Status::Ok,
                format!("{} ({state})", secret.display()),
            ),
            Err(e) => Check::new(
                format!("key {}", key.name),
                Status::Fail,
                match e.help {
                    Some(help) => format!("{}: {help}", e.message),
                    None => e.message,
                },
            ),
        };
        checks.push(check);
    }
}

fn check_profile(
    config: &Config,
    credentials: Option<&Credentials>,
    global: &GlobalArgs,
    checks: &mut Vec<Check>,
) {
    let selected = match config.selected(&global.selection()) {
        Ok(selected) => selected,
        Err(e) => {
            checks.push(Check::new("profile", Status::Fail, e.message));
            return;
        }
    };
    let api = config.api_url(&global.selection()).ok();
    let registry = config.registry_url(&global.selection(), None).ok();
    checks.push(Check::new(
        "profile",
        Status::Ok,
        format!(
            "{}{}: api {}, registry {}",
            selected.name,
            if selected.exists {
                ""
            } else {
                " (not in config.toml)"
            },
            api.as_ref().map_or("-", ServiceUrl::as_str),
            registry.as_ref().map_or("-", ServiceUrl::as_str),
        ),
    ));
    let http = reqwest::blocking::Client::builder()
        .timeout(REACH_TIMEOUT)
        .build();
    let Ok(http) = http else {
        checks.push(Check::new(
            "network",
            Status::Fail,
            "cannot build an HTTP client",
        ));
        return;
    };
    if let Some(api) = &api {
        checks.extend(check_service("core API", &http, api));
        let session = credentials.and_then(|c| c.api(&selected.name, api));
        checks.push(match session {
            None => Check::new(
                "core API login",
                Status::Warn,
                format!("not logged in to {api} (`plexica login --api-url {api}`)"),
            ),
            Some(session) => login_check(
                "core API login",
                session.username.as_deref(),
                session.validity(now_unix()),
            ),
        });
    }
    if let Some(registry) = &registry {
        checks.extend(check_service("registry", &http, registry));
        let login = credentials.and_then(|c| c.registry(&selected.name, registry));
        checks.push(match login {
            None => Check::new(
                "registry login",
                Status::Warn,
                format!("not logged in to {registry} (`plexica login --registry-url {registry}`)"),
            ),
            Some(login) => login_check(
                "registry login",
                login.username.as_deref(),
                login.validity(now_unix()),
            ),
        });
    }
}

/// Whether `url`'s readiness route answers, and how far its clock is from ours.
fn check_service(name: &str, http: &reqwest::blocking::Client, url: &ServiceUrl) -> Vec<Check> {
    let sent = SystemTime::now();
    let response = match http.get(format!("{url}/health/ready")).send() {
        Ok(response) => response,
        Err(e) => {
            return vec![Check::new(
                name,
                Status::Fail,
                format!("{url} cannot be reached: {}", root_cause(&e)),
            )];
        }
    };
    let elapsed = sent.elapsed().unwrap_or_default();
    let mut checks = vec![if response.status().is_success() {
        Check::new(
            name,
            Status::Ok,
            format!("{url} ready ({} ms)", elapsed.as_millis()),
        )
    } else {
        Check::new(
            name,
            Status::Fail,
            format!("{url} answered {} to /health/ready", response.status()),
        )
    }];
    let server_time = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(http_date_unix);
    if let Some(server) = server_time {
        let ours = now_unix();
        let skew = (server - ours).abs();
        let tolerance = i64::try_from(MAX_CLOCK_SKEW.as_secs()).unwrap_or(i64::MAX);
        checks.push(if skew > tolerance {
            Check::new(
                format!("{name} clock"),
                Status::Fail,
                format!("{skew} s apart from this machine's: tokens will be refused or expire early; fix the clock (NTP)"),
            )
        } else {
            Check::new(
                format!("{name} clock"),
                Status::Ok,
                format!("within {} s of this machine's", skew.max(1)),
            )
        });
    }
    checks
}

fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn check_rust() -> Check {
    match version_of("rustc", &["--version"]) {
        None => Check::new(
            "rust",
            Status::Warn,
            "rustc not found: needed for the rust-backend and fullstack templates (https://rustup.rs)",
        ),
        Some(text) => match numbers(&text) {
            Some((major, minor, _)) if (major, minor) < MIN_RUST => Check::new(
                "rust",
                Status::Fail,
                format!(
                    "{text}: plexica-sdk needs {}.{} or newer (`rustup update`)",
                    MIN_RUST.0, MIN_RUST.1
                ),
            ),
            _ => Check::new("rust", Status::Ok, text),
        },
    }
}

fn check_node() -> Check {
    match version_of("node", &["--version"]) {
        None => Check::new(
            "node",
            Status::Warn,
            "node not found: needed to build the frontend and fullstack templates",
        ),
        Some(text) => match numbers(&text) {
            Some((major, _, _)) if major < MIN_NODE => Check::new(
                "node",
                Status::Fail,
                format!("{text}: the frontend template needs Node {MIN_NODE} or newer"),
            ),
            _ => Check::new("node", Status::Ok, text),
        },
    }
}

/// The first line `program args…` prints, if it runs.
fn version_of(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().next().map(|l| l.trim().to_owned())
}

/// The first `X.Y.Z` in `text` (`rustc 1.95.0 (…)`, `v20.20.2`).
fn numbers(text: &str) -> Option<(u64, u64, u64)> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find_map(|word| {
            let mut parts = word.split('.').map(|p| p.parse::<u64>().ok());
            match (parts.next(), parts.next(), parts.next()) {
                (Some(Some(a)), Some(Some(b)), Some(Some(c))) => Some((a, b, c)),
                _ => None,
            }
        })
}

/// The check of one stored login: failed once it expired.
fn login_check(name: &str, who: Option<&str>, validity: Validity) -> Check {
    let who = who.unwrap_or("someone");
    let status = if validity == Validity::Expired {
        Status::Fail
    } else {
        Status::Ok
    };
    Check::new(name, status, format!("{who}: {validity}"))
}

fn http_date_unix(text: &str) -> Option<i64> {
    httpdate::parse_http_date(text)
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_dates_are_read() {
        assert_eq!(
            numbers("rustc 1.95.0 (59807616e 2026-04-14)"),
            Some((1, 95, 0))
        );
        assert_eq!(numbers("v20.20.2"), Some((20, 20, 2)));
        assert_eq!(numbers("no version"), None);
        assert_eq!(
            http_date_unix("Sat, 05 Dec 2026 10:00:00 GMT"),
            Some(1_796_464_800)
        );
    }
}
