//! The plugin's own tests (`plexica plugin test`) with a real platform available to them:
//! started in this process on a fresh data directory, development mode, the plugin built
//! (debug), installed unsigned and active in tenant `test` with a workspace `test`; where and
//! with what to reach it is in the tests' environment (`plexica_sdk::api::core::test_platform`).

use std::path::{Path, PathBuf};
use std::process::Command;

use plexica_sdk::api::core::{NewApiTokenRequest, PluginState, test_platform};
use plexica_sdk::manifest::BuildProfile;
use serde::Serialize;

use crate::error::{CliError, CliResult, IoContext};
use crate::ops::build::{self, Parts};
use crate::ops::manifest::{load_manifest, plugin_dir};
use crate::ops::package_pipeline::dev_package;
use crate::ops::tenant::ensure_tenant_and_workspace;
use crate::output::Ui;
use crate::platform::{Platform, PlatformOptions};

/// The tenant the plugin is installed in for its tests.
const TENANT: &str = "test";
/// The workspace made in it.
const WORKSPACE: &str = "test";
/// How long the tests' user token lasts.
const TOKEN_SECONDS: u64 = 6 * 3600;

/// What [`test`] tests, and how.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// The plugin directory or its `plexica.toml` [default: `.`].
    pub path: Option<PathBuf>,
    /// Start the backend even where the kernel cannot sandbox it.
    pub allow_unsandboxed_plugins: bool,
    /// Passed to `cargo test`.
    pub cargo_args: Vec<String>,
}

/// One test command that ran.
#[derive(Debug, Serialize)]
pub struct Suite {
    /// The command.
    pub command: String,
    /// Whether it succeeded.
    pub passed: bool,
}

/// What [`test`] ran (the JSON result of `plugin test`).
#[derive(Debug, Serialize)]
pub struct Tested {
    /// Plugin id.
    pub id: String,
    /// Plugin version.
    pub version: String,
    /// The tenant it was installed in.
    pub tenant: &'static str,
    /// The test commands that ran.
    pub suites: Vec<Suite>,
}

/// Runs the plugin's tests against a platform of their own (stopped, its data removed,
/// afterwards); a failing suite is in the result, not an error.
pub fn test(args: &TestOptions, ui: &Ui) -> CliResult<Tested> {
    let dir = plugin_dir(args.path.clone());
    let dir = dir.canonicalize().context("open", &dir)?;
    let manifest = load_manifest(&dir, ui)?;
    let suites = suites(&dir, &args.cargo_args);
    if suites.is_empty() {
        return Err(
            CliError::failed("this plugin has no tests to run").with_help(
                "a Rust plugin's tests run with `cargo test`, a frontend's are `ui/test/*`",
            ),
        );
    }
    let data = tempfile::Builder::new()
        .prefix("plexica-test-")
        .tempdir()
        .map_err(|e| CliError::failed(format!("cannot make the platform's directory: {e}")))?;
    let spinner = ui.spinner("Starting a platform for the tests");
    let platform = Platform::start(&PlatformOptions {
        allow_unsandboxed_plugins: args.allow_unsandboxed_plugins,
        dev_mode: true,
        ..PlatformOptions::embedded(data.path().join("platform"))
    });
    spinner.finish_and_clear();
    let platform = platform?;
    let outcome = prepare(&platform, &dir, &manifest, ui).and_then(|environment| {
        let mut ran = Vec::new();
        for (program, arguments) in &suites {
            let command = format!("{program} {}", arguments.join(" "));
            ui.status("Running", &command);
            let mut child = Command::new(program);
            child
                .args(arguments)
                .current_dir(&dir)
                .envs(environment.iter().map(|(k, v)| (k, v)));
            // Test output is progress: stdout stays for the result.
            let status = build::run_as_progress(&mut child, &command, ui)?;
            ran.push(Suite {
                command,
                passed: status.success(),
            });
        }
        Ok(ran)
    });
    ui.status("Stopping", "the tests' platform");
    platform.stop();
    let ran = outcome?;
    Ok(Tested {
        id: manifest.plugin.id.clone(),
        version: manifest.plugin.version.to_string(),
        tenant: TENANT,
        suites: ran,
    })
}

/// The test commands of the plugin in `dir`: `cargo test ARGS` when it is a Rust crate,
/// `node --test ui/test` when it has frontend tests.
fn suites(dir: &Path, cargo_args: &[String]) -> Vec<(String, Vec<String>)> {
    let mut suites = Vec::new();
    if dir.join("Cargo.toml").is_file() {
        let mut arguments = vec!["test".to_owned()];
        arguments.extend(cargo_args.iter().cloned());
        suites.push(("cargo".to_owned(), arguments));
    }
    if dir.join("ui/test").is_dir() {
        suites.push((
            "node".to_owned(),
            vec!["--test".to_owned(), "ui/test".to_owned()],
        ));
    }
    suites
}

/// Makes the tenant and workspace, installs the plugin's debug build, and returns the
/// environment of the tests.
fn prepare(
    platform: &Platform,
    dir: &Path,
    manifest: &plexica_sdk::manifest::Manifest,
    ui: &Ui,
) -> CliResult<Vec<(&'static str, String)>> {
    let client = platform.admin_client()?;
    ensure_tenant_and_workspace(&client, TENANT, WORKSPACE)?;
    let parts = Parts {
        backend: true,
        frontend: true,
        check: true,
    };
    build::build(dir, manifest, BuildProfile::Debug, parts, ui)?;
    let package = dev_package(dir, manifest, BuildProfile::Debug, ui)?;
    let id = &manifest.plugin.id;
    let installed = client.dev_install(TENANT, id, package)?;
    if installed.state != PluginState::Active {
        return Err(CliError::failed(format!(
            "{id} is {} after installing: {}",
            installed.state.as_str(),
            installed.error.as_deref().unwrap_or("no error given")
        )));
    }
    ui.status(
        "Installed",
        format!("{id} in tenant `{TENANT}` (debug build)"),
    );
    let user = client.create_token(&NewApiTokenRequest {
        name: "plexica plugin test".to_owned(),
        scopes: None,
        expires_in_seconds: Some(TOKEN_SECONDS),
    })?;
    Ok(vec![
        (
            test_platform::URL,
            platform
                .api_url
                .to_string()
                .trim_end_matches('/')
                .to_owned(),
        ),
        (
            test_platform::INSTALL_TOKEN,
            platform.issue_install_token(TENANT, id)?,
        ),
        (test_platform::USER_TOKEN, user.token),
        (test_platform::TENANT, TENANT.to_owned()),
        (test_platform::WORKSPACE, WORKSPACE.to_owned()),
    ])
}
