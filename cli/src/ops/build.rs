//! Building a plugin: the manifest's build commands for a profile, output streamed to stderr
//! as progress; then, for a Rust backend written with `plexica-sdk`, the built binary started
//! in check-only mode so that its handlers and hooks are checked against the manifest before
//! anything is packaged.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use plexica_sdk::api::events::{BackendDescription, CHECK_ONLY_ENV};
use plexica_sdk::manifest::{BuildProfile, Manifest};
use serde::Serialize;

use crate::error::{CliError, CliResult};
use crate::ops::manifest::load_manifest;
use crate::output::Ui;

/// One build step that ran.
#[derive(Debug, Serialize)]
pub struct Step {
    /// `backend` or `frontend`.
    pub part: &'static str,
    /// The command run.
    pub command: String,
    /// How long it took.
    pub seconds: f64,
}

/// The JSON result of `plugin build`.
#[derive(Debug, Serialize)]
pub struct BuildResult {
    /// Plugin id.
    pub id: String,
    /// Plugin version.
    pub version: String,
    /// The profile built.
    pub profile: BuildProfile,
    /// The commands that ran.
    pub steps: Vec<Step>,
    /// What the backend registered, when it was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendDescription>,
}

/// How long the backend's check-only start may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// Which parts [`build`] builds.
#[derive(Debug, Clone, Copy)]
pub struct Parts {
    /// Run `backend.build`.
    pub backend: bool,
    /// Run `frontend.build`.
    pub frontend: bool,
    /// Start the built backend to check its handlers against the manifest.
    pub check: bool,
}

/// Builds `parts` of the plugin in `dir` (its manifest must be valid) for `profile`, then
/// reports it finished: what `plugin build` does.
pub fn build_dir(
    dir: &Path,
    profile: BuildProfile,
    parts: Parts,
    ui: &Ui,
) -> CliResult<BuildResult> {
    let manifest = load_manifest(dir, ui)?;
    let result = build(dir, &manifest, profile, parts, ui)?;
    ui.status(
        "Finished",
        format!("{} {} ({})", result.id, result.version, profile.name()),
    );
    Ok(result)
}

/// Builds `parts` of the plugin in `dir` for `profile`, the commands' output streamed to
/// stderr; then checks a Rust backend's handlers and hooks against the manifest.
pub fn build(
    dir: &Path,
    manifest: &Manifest,
    profile: BuildProfile,
    parts: Parts,
    ui: &Ui,
) -> CliResult<BuildResult> {
    let mut steps = Vec::new();
    let backend = manifest
        .backend
        .as_ref()
        .filter(|_| parts.backend)
        .and_then(|b| b.build.as_deref().map(|cmd| ("backend", cmd)));
    let frontend = manifest
        .frontend
        .as_ref()
        .filter(|_| parts.frontend)
        .and_then(|f| f.build.as_deref().map(|cmd| ("frontend", cmd)));
    for (part, command) in backend.into_iter().chain(frontend) {
        ui.status("Building", format!("{part}: {command}"));
        ui.verbose(format!("running `sh -c {command:?}` in {}", dir.display()));
        let spinner = ui.spinner(format!("{part}: {command}"));
        let started = Instant::now();
        let result = run_step(dir, command, profile, ui);
        spinner.finish_and_clear();
        result?;
        steps.push(Step {
            part,
            command: command.to_owned(),
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let artifact = artifact_path(dir, manifest, profile).filter(|_| parts.backend);
    if let Some(artifact) = &artifact
        && !artifact.is_file()
    {
        return Err(CliError::failed(format!(
            "the backend build did not produce {}",
            artifact.display()
        ))
        .with_help("check `backend.build` and `backend.artifact` in plexica.toml"));
    }
    let checked = artifact.filter(|_| parts.check && uses_the_sdk(dir));
    let backend = match checked {
        Some(binary) => {
            let described = check_backend(dir, &binary)?;
            ui.status(
                "Checked",
                format!(
                    "{} handler(s) and {} hook(s) against events.subscribes",
                    described.handlers.len(),
                    described.hooks.len()
                ),
            );
            Some(described)
        }
        None => None,
    };
    Ok(BuildResult {
        id: manifest.plugin.id.clone(),
        version: manifest.plugin.version.to_string(),
        profile,
        steps,
        backend,
    })
}

/// Where the backend's build leaves its artifact for `profile`: `backend.artifact` in the
/// plugin directory, except that for a Rust backend a leading `target/` is the target
/// directory cargo itself reports (`CARGO_TARGET_DIR`, `build.target-dir`, a workspace's).
pub fn artifact_path(dir: &Path, manifest: &Manifest, profile: BuildProfile) -> Option<PathBuf> {
    let artifact = manifest.backend.as_ref()?.artifact_for(profile)?;
    let relative = Path::new(&artifact);
    if let Ok(inside) = relative.strip_prefix("target")
        && dir.join("Cargo.toml").is_file()
        && let Some(target) = cargo_target_dir(dir)
    {
        return Some(target.join(inside));
    }
    Some(dir.join(relative))
}

/// The target directory of the cargo package in `dir`, as `cargo metadata` reports it.
fn cargo_target_dir(dir: &Path) -> Option<PathBuf> {
    #[derive(serde::Deserialize)]
    struct Metadata {
        target_directory: PathBuf,
    }
    let output = Command::new("cargo")
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    serde_json::from_slice::<Metadata>(&output.stdout)
        .ok()
        .map(|m| m.target_directory)
}

/// Refuses a Rust backend whose `Cargo.toml` version is not the manifest's.
pub fn check_versions(dir: &Path, manifest: &Manifest) -> CliResult {
    let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
        return Ok(());
    };
    let version = text.parse::<toml::Table>().ok().and_then(|table| {
        table
            .get("package")?
            .get("version")?
            .as_str()
            .map(str::to_owned)
    });
    let declared = manifest.plugin.version.to_string();
    if let Some(version) = version
        && version != declared
    {
        return Err(CliError::failed(format!(
            "Cargo.toml says version {version}, plexica.toml says {declared}"
        ))
        .with_help("give both the same version, then build again"));
    }
    Ok(())
}

/// Refuses a Rust backend artifact older than the code it is built from (`build.rs` and the
/// `.rs` files under `src/`: cargo rebuilds whenever one of them changed, so after a build
/// none is newer).
pub fn check_not_stale(dir: &Path, artifact: &Path) -> CliResult {
    if !dir.join("Cargo.toml").is_file() {
        return Ok(());
    }
    let Ok(built) = std::fs::metadata(artifact).and_then(|m| m.modified()) else {
        return Ok(());
    };
    let mut sources = vec![dir.join("build.rs")];
    let mut pending = vec![dir.join("src")];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push(path);
            }
        }
    }
    let newer = sources.iter().find(|source| {
        std::fs::metadata(source)
            .and_then(|m| m.modified())
            .is_ok_and(|changed| changed > built)
    });
    match newer {
        Some(source) => Err(CliError::failed(format!(
            "{} changed after {} was built",
            source.strip_prefix(dir).unwrap_or(source).display(),
            artifact.display()
        ))
        .with_help("run `plexica plugin build`, or publish without --no-build")),
        None => Ok(()),
    }
}

/// Does the plugin's `Cargo.toml` depend on `plexica-sdk` (so that its binary understands
/// check-only mode)?
fn uses_the_sdk(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|cargo| {
        cargo.parse::<toml::Table>().is_ok_and(|table| {
            table
                .get("dependencies")
                .and_then(toml::Value::as_table)
                .is_some_and(|deps| deps.contains_key("plexica-sdk"))
        })
    })
}

/// Starts the built backend with `PLEXICA_CHECK_ONLY=1` in the plugin directory: the SDK runs
/// its start-up checks (handlers against `events.subscribes`, hooks) and prints what it
/// registered instead of serving.
fn check_backend(dir: &Path, binary: &Path) -> Result<BackendDescription, CliError> {
    let mut child = Command::new(binary)
        .current_dir(dir)
        .env(CHECK_ONLY_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CliError::failed(format!("cannot start {}: {e}", binary.display())))?;
    let deadline = Instant::now() + CHECK_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(CliError::failed(format!(
                    "{} did not finish its start-up check within {} s",
                    binary.display(),
                    CHECK_TIMEOUT.as_secs()
                ))
                .with_help(format!(
                    "a backend written with plexica-sdk exits after its checks when {CHECK_ONLY_ENV}=1; does main() call Plugin::run()?"
                )));
            }
        }
    }
    let output = child
        .wait_with_output()
        .map_err(|e| CliError::failed(format!("cannot read {}: {e}", binary.display())))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(CliError::failed(format!(
            "the backend's start-up check failed:\n{}",
            stderr.trim_end()
        ))
        .with_help("make the #[event_handler]s and events.subscribes in plexica.toml agree, then build again"));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<BackendDescription>(line).ok())
        .ok_or_else(|| {
            CliError::failed(format!(
                "{} did not describe its handlers in check-only mode",
                binary.display()
            ))
            .with_help("is plexica-sdk up to date, and does main() call Plugin::run()?")
        })
}

fn run_step(dir: &Path, command: &str, profile: BuildProfile, ui: &Ui) -> CliResult {
    let mut child = Command::new("sh");
    child
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env(BuildProfile::ENV, profile.name())
        .env(BuildProfile::CARGO_ENV, profile.cargo_name());
    let status = run_as_progress(&mut child, command, ui)?;
    if status.success() {
        Ok(())
    } else {
        Err(CliError::failed(format!("`{command}` failed ({status})"))
            .with_help("fix the build error above, then run `plexica plugin build` again"))
    }
}

/// Runs a build or test tool whose output is progress, not a result: on stderr, stdout kept
/// clean. Under a spinner its lines are printed above it (one progress line at the bottom,
/// no frame left behind); `-q` is passed on (cargo's `term.quiet`, npm's log level).
pub fn run_as_progress(
    command: &mut Command,
    what: &str,
    ui: &Ui,
) -> CliResult<std::process::ExitStatus> {
    let cannot_run = |e: std::io::Error| CliError::failed(format!("cannot run `{what}`: {e}"));
    command.stdin(Stdio::null());
    if ui.quiet() {
        command
            .env("CARGO_TERM_QUIET", "true")
            .env("npm_config_loglevel", "warn");
    }
    if !ui.has_spinner() {
        return command
            .stdout(stderr_as_stdio())
            .status()
            .map_err(cannot_run);
    }
    if ui.color() {
        command.env("CARGO_TERM_COLOR", "always");
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(cannot_run)?;
    let streams: Vec<Box<dyn std::io::Read + Send>> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .collect();
    std::thread::scope(|scope| {
        for stream in streams {
            scope.spawn(move || {
                use std::io::BufRead as _;
                for line in std::io::BufReader::new(stream)
                    .lines()
                    .map_while(Result::ok)
                {
                    ui.line_above(&line);
                }
            });
        }
    });
    child.wait().map_err(cannot_run)
}

/// This process's stderr, for a child's stdout (its output is progress, not a result).
#[cfg(unix)]
pub fn stderr_as_stdio() -> Stdio {
    use std::os::fd::AsFd as _;
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::inherit())
}

/// This process's stderr, for a child's stdout.
#[cfg(not(unix))]
pub fn stderr_as_stdio() -> Stdio {
    Stdio::inherit()
}
