//! `plexica plugin build [PATH] [--release] [--skip-frontend] [--skip-backend]`: runs the
//! manifest's build commands in the plugin directory, output streamed to stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use clap::Args;
use serde::Serialize;

use super::{load_manifest, plugin_dir};
use crate::error::{CliError, CliResult};
use crate::output::Ui;

/// Arguments of `plugin build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Plugin directory or its plexica.toml [default: .]
    pub path: Option<PathBuf>,
    /// Tell build commands to make an optimised build (`PLEXICA_BUILD_PROFILE=release`).
    #[arg(long)]
    pub release: bool,
    /// Do not run `frontend.build`.
    #[arg(long)]
    pub skip_frontend: bool,
    /// Do not run `backend.build`.
    #[arg(long)]
    pub skip_backend: bool,
}

/// One build step that ran.
#[derive(Debug, Serialize)]
struct Step {
    part: &'static str,
    command: String,
    seconds: f64,
}

/// The JSON result of `plugin build`.
#[derive(Debug, Serialize)]
struct BuildResult {
    id: String,
    version: String,
    steps: Vec<Step>,
}

/// Runs the build steps the manifest declares.
pub fn run(args: BuildArgs, ui: &Ui) -> CliResult {
    let dir = plugin_dir(args.path);
    let manifest = load_manifest(&dir, ui)?;
    let profile = if args.release { "release" } else { "debug" };
    let mut steps = Vec::new();
    let backend = manifest
        .backend
        .as_ref()
        .filter(|_| !args.skip_backend)
        .and_then(|b| b.build.as_deref().map(|cmd| ("backend", cmd)));
    let frontend = manifest
        .frontend
        .as_ref()
        .filter(|_| !args.skip_frontend)
        .and_then(|f| f.build.as_deref().map(|cmd| ("frontend", cmd)));
    for (part, command) in backend.into_iter().chain(frontend) {
        ui.status("Building", format!("{part}: {command}"));
        ui.verbose(format!("running `sh -c {command:?}` in {}", dir.display()));
        let spinner = ui.spinner(format!("{part}: {command}"));
        let started = Instant::now();
        let result = run_step(&dir, command, profile);
        spinner.finish_and_clear();
        result?;
        steps.push(Step {
            part,
            command: command.to_owned(),
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    if let Some(artifact) = manifest
        .backend
        .as_ref()
        .filter(|_| !args.skip_backend)
        .and_then(|b| b.artifact.as_ref())
        && !dir.join(artifact).is_file()
    {
        return Err(
            CliError::failed(format!("the backend build did not produce `{artifact}`"))
                .with_help("check `backend.build` and `backend.artifact` in plexica.toml"),
        );
    }
    let result = BuildResult {
        id: manifest.plugin.id.clone(),
        version: manifest.plugin.version.to_string(),
        steps,
    };
    ui.status("Finished", format!("{} {}", result.id, result.version));
    ui.result(&result, || {
        if result.steps.is_empty() {
            "nothing to build: the manifest declares no build commands".to_owned()
        } else {
            result
                .steps
                .iter()
                .map(|s| format!("{:<9} {:>6.1}s  {}", s.part, s.seconds, s.command))
                .collect::<Vec<_>>()
                .join("\n")
        }
    });
    Ok(())
}

fn run_step(dir: &Path, command: &str, profile: &str) -> CliResult {
    // Build output is progress, not a result: it goes to stderr, stdout stays clean.
    let stderr = stderr_as_stdio();
    let status = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("PLEXICA_BUILD_PROFILE", profile)
        .stdin(Stdio::null())
        .stdout(stderr)
        .status()
        .map_err(|e| CliError::failed(format!("cannot run `{command}`: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(CliError::failed(format!("`{command}` failed ({status})"))
            .with_help("fix the build error above, then run `plexica plugin build` again"))
    }
}

#[cfg(unix)]
fn stderr_as_stdio() -> Stdio {
    use std::os::fd::AsFd as _;
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::inherit())
}

#[cfg(not(unix))]
fn stderr_as_stdio() -> Stdio {
    Stdio::inherit()
}
