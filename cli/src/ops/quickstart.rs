//! The whole journey on a platform of its own (`plexica quickstart`), on the embedded default
//! and a fresh data directory. Each step is the real thing, shown with a spinner: start the
//! platform, make a signing key, scaffold a `rust-backend` plugin, validate, build, package,
//! sign and publish it, create a tenant, install and activate the plugin, create a workspace
//! and see the plugin's handler answer with its own event, call the plugin's route through the
//! core API's gateway, then stop everything. It succeeds only if every step did. What it wrote
//! into the configuration (the `quickstart` profile, its logins, the `quickstart` key when this
//! run made it) is removed at the end, also after a failure or Ctrl-C, unless `keep`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use plexica_sdk::api::core::{
    CreateTenantRequest, CreateWorkspaceRequest, InstallPluginRequest, PluginState, TenantStatus,
};
use plexica_sdk::manifest::BuildProfile;
use serde::Serialize;

use crate::client::core::CoreClient;
use crate::config::ConfigDir;
use crate::credentials::Credentials;
use crate::error::{CliError, CliResult};
use crate::keystore::KeyStore;
use crate::ops::build::{Parts, build_dir};
use crate::ops::clients::core_client;
use crate::ops::keys;
use crate::ops::manifest::{check_manifest, print_diagnostics, verdict};
use crate::ops::package_pipeline::{
    PackageOptions, PublishOptions, SignOptions, package, publish, sign_file,
};
use crate::ops::scaffold::{NewOptions, scaffold};
use crate::ops::tenant::wait_provisioned;
use crate::output::Ui;
use crate::platform::{Platform, PlatformOptions, write_profile};
use crate::profile::{Config, Selection};
use crate::templates::Template;

/// The key quickstart signs with (created when missing).
const QUICKSTART_KEY: &str = "quickstart";
/// The plugin quickstart creates.
const PLUGIN: &str = "hello";
/// The tenant quickstart creates.
pub const TENANT: &str = "quickstart";
/// The workspace whose creation the plugin handles.
const WORKSPACE: &str = "welcome";
/// The profile quickstart writes (not selected: the current profile stays as it was).
const PROFILE: &str = "quickstart";
/// How long the plugin may take to handle the event.
const HANDLED_WITHIN: Duration = Duration::from_secs(60);

/// Where [`quickstart`] runs, and what it keeps.
#[derive(Debug, Clone)]
pub struct QuickstartOptions {
    /// Directory of the run: the platform's data (`platform/`, wiped first) and the plugin.
    pub data_dir: PathBuf,
    /// A Cargo target directory for the plugin's build, kept between runs.
    pub target_dir: Option<PathBuf>,
    /// Keep the `quickstart` profile, its logins and signing key in the configuration.
    pub keep: bool,
}

/// What a run did (the JSON result of `plexica quickstart`).
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The plugin's directory.
    pub plugin_dir: String,
    /// The package file.
    pub package: String,
    /// The key it was signed with.
    pub key: &'static str,
    /// The core API's URL (gone once stopped).
    pub api_url: String,
    /// The registry's URL (gone once stopped).
    pub registry_url: String,
    /// The tenant created.
    pub tenant: &'static str,
    /// The workspace created.
    pub workspace: &'static str,
    /// The plugin's id.
    pub plugin: &'static str,
    /// The plugin's state once installed.
    pub plugin_state: PluginState,
    /// The event the plugin published when it handled `core.workspace.created`.
    pub handled_event: String,
    /// What the plugin's route answered through the gateway.
    pub route_answer: serde_json::Value,
    /// Whether the platform was stopped.
    pub stopped: bool,
}

/// The steps of one run: each shown with a spinner, none started after Ctrl-C.
struct Steps<'a> {
    ui: &'a Ui,
    interrupted: Arc<AtomicBool>,
}

impl Steps<'_> {
    /// Runs `work` under a spinner; reports it done (or lets its error through). After
    /// Ctrl-C, fails instead of starting.
    fn run<T>(&self, doing: &str, done: &str, work: impl FnOnce() -> CliResult<T>) -> CliResult<T> {
        if self.interrupted.load(Ordering::Relaxed) {
            return Err(failed("interrupted (Ctrl-C)"));
        }
        let spinner = self.ui.spinner(doing.to_owned());
        let result = work();
        spinner.finish_and_clear();
        if result.is_ok() {
            self.ui.status("Done", done);
        }
        result
    }
}

fn failed(message: impl Into<String>) -> CliError {
    CliError::failed(message)
}

/// Points the plugin's `target/` at `target_dir`, when one is given.
fn share_target(dir: &Path, target_dir: Option<&Path>) -> CliResult {
    if let Some(target) = target_dir {
        std::fs::create_dir_all(target)?;
        let target = target.canonicalize()?;
        let link = dir.join("target");
        if link.exists() || link.is_symlink() {
            let _ = std::fs::remove_file(&link).or_else(|_| std::fs::remove_dir_all(&link));
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(target, link)?;
    }
    Ok(())
}

/// Runs every step; stops at the first failure (the platform is stopped either way), then
/// removes from the configuration what the run added, unless `keep`. The steps print their
/// status lines on `outer`, the caller the summary.
pub fn quickstart(args: &QuickstartOptions, outer: &Ui) -> CliResult<Summary> {
    let ui = &outer.for_steps();
    let steps = Steps {
        ui,
        interrupted: crate::signal::stop_flag()?,
    };
    std::fs::create_dir_all(&args.data_dir)?;
    let data_dir = args.data_dir.canonicalize()?;
    let config_dir = ConfigDir::locate()?;
    let key_existed = KeyStore::new(&config_dir).public(QUICKSTART_KEY).is_ok();
    let outcome = on_platform(args, &data_dir, &steps);
    if !args.keep {
        if let Err(e) = remove_traces(&config_dir, key_existed) {
            outer.warn(format!(
                "could not remove the `{PROFILE}` profile and key from the configuration: {}",
                e.message
            ));
        }
    }
    outcome
}

/// Starts the platform in `data_dir/platform` (wiped first), runs the journey on it and stops it.
fn on_platform(args: &QuickstartOptions, data_dir: &Path, steps: &Steps<'_>) -> CliResult<Summary> {
    let platform_dir = data_dir.join("platform");
    if platform_dir.exists() {
        std::fs::remove_dir_all(&platform_dir)?;
    }
    let platform = steps.run(
        "Starting the platform",
        "platform started (core API and registry)",
        || Platform::start(&PlatformOptions::embedded(platform_dir.clone())),
    )?;
    let on_platform = Selection {
        profile: Some(PROFILE.to_owned()),
        api_url: Some(platform.api_url.to_string()),
        registry_url: Some(platform.registry_url.to_string()),
    };
    let journey = write_profile(
        PROFILE,
        &platform.api_url,
        &platform.registry_url,
        &platform.passwords,
        false,
        steps.ui,
    )
    .and_then(|()| journey(args, data_dir, &platform, &on_platform, steps));
    let spinner = steps.ui.spinner("Stopping the platform");
    platform.stop();
    spinner.finish_and_clear();
    steps.ui.status("Done", "platform stopped");
    let mut summary = journey?;
    summary.stopped = true;
    Ok(summary)
}

/// Removes the `quickstart` profile and its logins, and the `quickstart` key unless it was
/// there before this run.
fn remove_traces(config_dir: &ConfigDir, key_existed: bool) -> CliResult {
    let mut config = Config::load(config_dir)?;
    if config.profiles.remove(PROFILE).is_some() {
        if config.current_profile.as_deref() == Some(PROFILE) {
            config.current_profile = None;
        }
        config.save(config_dir)?;
    }
    let mut credentials = Credentials::load(config_dir)?;
    if credentials.remove_profile(PROFILE).is_some() {
        credentials.save(config_dir)?;
    }
    if !key_existed {
        KeyStore::new(config_dir).remove(QUICKSTART_KEY)?;
    }
    Ok(())
}

fn journey(
    args: &QuickstartOptions,
    data_dir: &Path,
    platform: &Platform,
    selection: &Selection,
    steps: &Steps<'_>,
) -> CliResult<Summary> {
    let ui = steps.ui;
    let dir = data_dir.join(PLUGIN);
    let pxp = data_dir.join(format!("{PLUGIN}-0.1.0.pxp"));

    steps.run(
        "Preparing the signing key",
        "signing key registered",
        || {
            let store = KeyStore::new(&ConfigDir::locate()?);
            if store.public(QUICKSTART_KEY).is_err() {
                keys::generate(&store, QUICKSTART_KEY, false, ui)?;
            }
            keys::register(&store, QUICKSTART_KEY, selection, ui).map(drop)
        },
    )?;
    steps.run(
        "Scaffolding the plugin",
        "plugin `hello` scaffolded (rust-backend)",
        || {
            scaffold(
                &NewOptions {
                    name: Some(PLUGIN.to_owned()),
                    template: Some(Template::RustBackend),
                    set: Vec::new(),
                    dir: Some(dir.clone()),
                    sdk_path: None,
                    force: true,
                },
                ui,
            )?;
            share_target(&dir, args.target_dir.as_deref())
        },
    )?;
    steps.run("Validating the manifest", "manifest valid", || {
        let (text, checked) = check_manifest(&dir)?;
        if !ui.json() {
            print_diagnostics(&checked, text, &dir, ui);
        }
        verdict(&checked, false)
    })?;
    steps.run(
        "Building the plugin (cargo build --release)",
        "plugin built and checked",
        || {
            let parts = Parts {
                backend: true,
                frontend: true,
                check: true,
            };
            build_dir(&dir, BuildProfile::Release, parts, ui).map(drop)
        },
    )?;
    steps.run("Packaging", "package written", || {
        let options = PackageOptions {
            dir: dir.clone(),
            out: Some(pxp.clone()),
            allow_secrets: false,
        };
        package(&options, ui).map(drop)
    })?;
    steps.run("Signing", "package signed", || {
        let options = SignOptions {
            file: pxp.clone(),
            key: Some(QUICKSTART_KEY.to_owned()),
        };
        sign_file(&options, selection, ui).map(drop)
    })?;
    steps.run(
        "Publishing to the registry",
        "hello@0.1.0 published",
        || {
            let options = PublishOptions {
                path: pxp.clone(),
                registry: None,
                dry_run: false,
                key: None,
                allow_secrets: false,
                no_build: false,
            };
            publish(&options, selection, ui).map(drop)
        },
    )?;
    let client = core_client(selection, ui)?;
    steps.run(
        "Creating tenant `quickstart`",
        "tenant `quickstart` active",
        || create_tenant(&client),
    )?;
    let installed = steps.run(
        "Installing and activating the plugin",
        "plugin installed and running",
        || {
            Ok(client.install_plugin(
                TENANT,
                &InstallPluginRequest {
                    id: PLUGIN.to_owned(),
                    activate: true,
                    ..InstallPluginRequest::default()
                },
            )?)
        },
    )?;
    if installed.state != PluginState::Active {
        return Err(failed(format!(
            "the plugin is {} after installing, not ACTIVE",
            installed.state.as_str()
        )));
    }
    let handled_event = steps.run(
        "Creating workspace `welcome` and waiting for the plugin's handler",
        "the plugin handled core.workspace.created",
        || handled_workspace(&client),
    )?;
    let route_answer = steps.run(
        "Calling the plugin's route through the core API",
        "GET /hello answered through the gateway",
        || {
            let answer = client.gateway_get(TENANT, PLUGIN, "hello.greetings", "hello")?;
            match (answer["message"].as_str(), answer["tenant"].as_str()) {
                (Some("Hello"), Some(TENANT)) => Ok(answer),
                _ => Err(failed(format!("the plugin's route answered {answer}"))),
            }
        },
    )?;
    Ok(Summary {
        plugin_dir: dir.display().to_string(),
        package: pxp.display().to_string(),
        key: QUICKSTART_KEY,
        api_url: platform.api_url.to_string(),
        registry_url: platform.registry_url.to_string(),
        tenant: TENANT,
        workspace: WORKSPACE,
        plugin: PLUGIN,
        plugin_state: installed.state,
        handled_event,
        route_answer,
        stopped: false,
    })
}

fn create_tenant(client: &CoreClient) -> CliResult {
    let (_, tenant) = client.create_tenant(&CreateTenantRequest {
        slug: TENANT.to_owned(),
        name: "Quickstart".to_owned(),
        ..CreateTenantRequest::default()
    })?;
    let tenant = wait_provisioned(client, tenant, Duration::from_secs(60))?;
    if tenant.status != TenantStatus::Active {
        return Err(failed(format!(
            "tenant `{TENANT}` is {}, not active",
            tenant.status.as_str()
        )));
    }
    Ok(())
}

/// Creates the workspace, then follows the tenant's events until the plugin's answer to it.
fn handled_workspace(client: &CoreClient) -> CliResult<String> {
    client.create_workspace(
        TENANT,
        &CreateWorkspaceRequest {
            slug: WORKSPACE.to_owned(),
            name: "Welcome".to_owned(),
            ..CreateWorkspaceRequest::default()
        },
    )?;
    let wanted = format!("plugin.{PLUGIN}.workspace.greeted");
    let deadline = Instant::now() + HANDLED_WITHIN;
    let mut cursor = 0;
    while Instant::now() < deadline {
        let query = [
            ("after", cursor.to_string()),
            ("type", wanted.clone()),
            ("wait", "10".to_owned()),
        ];
        let log = client.event_log(TENANT, &query)?;
        cursor = log.cursor;
        if let Some(event) = log
            .events
            .iter()
            .find(|e| e.workspace.as_deref() == Some(WORKSPACE))
        {
            return Ok(event.r#type.clone());
        }
    }
    Err(failed(format!(
        "the plugin did not handle core.workspace.created within {} s (no `{wanted}` event); \
         see its log under the platform's plugins/logs directory",
        HANDLED_WITHIN.as_secs()
    )))
}
