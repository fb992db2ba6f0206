//! The loop of `plexica plugin dev`: the platform started in this process in development
//! mode (or the one at the selection's API URL), the `dev` tenant and workspace, the plugin
//! built, installed unsigned from the working directory and activated; then, on each change
//! of its files, rebuilt and reinstalled, every line of its life in one stream.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use plexica_sdk::api::core::{NewApiTokenRequest, PluginState};
use plexica_sdk::manifest::{BuildProfile, Manifest};

use crate::client::core::CoreClient;
use crate::dev::assets::{self, AssetServer};
use crate::dev::follow::{self, Followed};
use crate::dev::lines::{Kind, Lines, Split};
use crate::dev::trace::{self, LastStart};
use crate::dev::watch::{self, Rebuild, Relevance};
use crate::error::{CliError, CliResult, IoContext};
use crate::ops::build::{self, Parts};
use crate::ops::clients::core_client;
use crate::ops::manifest::{check_manifest, load_manifest, plugin_dir, print_diagnostics};
use crate::ops::package_pipeline::dev_package;
use crate::ops::tenant::ensure_tenant_and_workspace;
use crate::output::Ui;
use crate::platform::{Platform, PlatformOptions, write_profile};
use crate::profile::Selection;

/// The profile `plugin dev` writes for its platform (not selected).
pub const DEV_PROFILE: &str = "dev";
/// The platform's data directory, inside the plugin directory.
pub const DATA_DIR: &str = ".plexica-dev";
/// How long the curl lines' token lasts.
const TOKEN_SECONDS: u64 = 12 * 3600;
/// The file in the data directory that keeps the development tenant's first admin, to sign
/// in to the console with (0600, written when `plugin dev` creates the tenant).
const CONSOLE_LOGIN: &str = "console-login";
/// How often the loop looks whether Ctrl-C was pressed while no file changes.
const STOP_POLL: Duration = Duration::from_millis(200);

/// What [`run`] develops, and where.
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// The plugin directory or its `plexica.toml` [default: `.`].
    pub path: Option<PathBuf>,
    /// Build the release profile instead of debug.
    pub release: bool,
    /// The tenant the plugin is installed in (created when missing).
    pub tenant: String,
    /// The workspace made in that tenant (created when missing).
    pub workspace: String,
    /// Where the platform keeps its data [default: `PATH/.plexica-dev`].
    pub data_dir: Option<PathBuf>,
    /// Port of the core API (0: any free port).
    pub port_api: u16,
    /// Port the built frontend is served on (0: any free port).
    pub port_ui: u16,
    /// Start the backend even where the kernel cannot sandbox it.
    pub allow_unsandboxed_plugins: bool,
}

/// Runs the loop until Ctrl-C.
pub fn run(args: &DevOptions, selection: &Selection, ui: &Ui) -> CliResult {
    let stop = crate::signal::stop_flag()?;
    let dir = plugin_dir(args.path.clone());
    let dir = dir.canonicalize().context("open", &dir)?;
    let manifest = load_manifest(&dir, ui)?;
    let lines = Lines::new(ui.json());
    let data_dir = args.data_dir.clone().unwrap_or_else(|| dir.join(DATA_DIR));
    let platform = match &selection.api_url {
        Some(_) => None,
        None => Some(start_platform(args, &data_dir, &manifest, &lines, ui)?),
    };
    let outcome = match &platform {
        Some((platform, last_start)) => write_profile(
            DEV_PROFILE,
            &platform.api_url,
            &platform.registry_url,
            &platform.passwords,
            false,
            ui,
        )
        .and_then(|()| {
            core_client(
                &Selection {
                    profile: Some(DEV_PROFILE.to_owned()),
                    api_url: Some(platform.api_url.to_string()),
                    registry_url: Some(platform.registry_url.to_string()),
                },
                ui,
            )
        })
        .map(|client| (client, last_start.clone())),
        None => core_client(selection, ui).map(|client| (client, LastStart::default())),
    }
    .and_then(|(client, last_start)| {
        let session = Session {
            dir,
            data_dir,
            client: Arc::new(client),
            tenant: args.tenant.clone(),
            workspace: args.workspace.clone(),
            profile: if args.release {
                BuildProfile::Release
            } else {
                BuildProfile::Debug
            },
            lines,
            last_start,
            stop: stop.clone(),
        };
        session.run(&manifest, args.port_ui, ui)
    });
    stop.store(true, Ordering::Relaxed);
    if let Some((platform, _)) = platform {
        ui.status("Stopping", "the platform and the plugin's backend");
        platform.stop();
        ui.status("Stopped", "the platform");
    }
    outcome
}

fn start_platform(
    args: &DevOptions,
    data_dir: &Path,
    manifest: &Manifest,
    lines: &Lines,
    ui: &Ui,
) -> CliResult<(Platform, LastStart)> {
    let last_start = trace::install(&manifest.plugin.id, lines.clone());
    let spinner = ui.spinner("Starting the platform (development mode)");
    let platform = Platform::start(&PlatformOptions {
        port_api: args.port_api,
        allow_unsandboxed_plugins: args.allow_unsandboxed_plugins,
        dev_mode: true,
        ..PlatformOptions::embedded(data_dir.to_path_buf())
    });
    spinner.finish_and_clear();
    Ok((platform?, last_start))
}

/// Why a reload did not happen.
enum Failure {
    /// The loop cannot go on (the platform refuses development installs).
    Fatal(CliError),
    /// This change could not be loaded; the next one may.
    Recoverable(CliError),
}

impl From<CliError> for Failure {
    fn from(e: CliError) -> Self {
        Failure::Recoverable(e)
    }
}

/// One run of the loop.
struct Session {
    dir: PathBuf,
    data_dir: PathBuf,
    client: Arc<CoreClient>,
    tenant: String,
    workspace: String,
    profile: BuildProfile,
    lines: Lines,
    last_start: LastStart,
    stop: Arc<AtomicBool>,
}

impl Session {
    fn run(&self, manifest: &Manifest, port_ui: u16, ui: &Ui) -> CliResult {
        if let Some(admin) =
            ensure_tenant_and_workspace(&self.client, &self.tenant, &self.workspace)?
        {
            crate::config::replace_file(
                &self.data_dir.join(CONSOLE_LOGIN),
                &format!(
                    "tenant: {}\nemail: {}\npassword: {}\n",
                    self.tenant, admin.email, admin.password
                ),
                true,
            )?;
        }
        let relevance = Relevance::new(&self.dir, manifest, &self.data_dir);
        let (changed, changes) = std::sync::mpsc::channel();
        let _watcher = watch::start(&self.dir, relevance.clone(), changed)
            .map_err(|e| CliError::failed(format!("cannot watch {}: {e}", self.dir.display())))?;
        let followed = Followed {
            tenant: self.tenant.clone(),
            plugin: manifest.plugin.id.clone(),
            subscribes: manifest.events.subscribes.clone(),
        };
        let followers = [
            follow::logs(
                self.client.clone(),
                followed.clone(),
                self.lines.clone(),
                self.stop.clone(),
            ),
            follow::events(
                self.client.clone(),
                followed,
                self.lines.clone(),
                self.stop.clone(),
            ),
        ];
        let assets = match &manifest.frontend {
            Some(frontend) => Some(
                assets::serve(self.dir.join(&frontend.dist), port_ui)
                    .map_err(|e| CliError::failed(format!("cannot serve the frontend: {e}")))?,
            ),
            None => None,
        };
        self.reload(Rebuild::Everything, Instant::now(), ui)?;
        self.print_ready(manifest, assets.as_ref());
        while let Some((paths, seen)) =
            watch::next_batch(&changes, STOP_POLL, || self.stop.load(Ordering::Relaxed))
        {
            let names: Vec<String> = paths
                .iter()
                .map(|p| p.strip_prefix(&self.dir).unwrap_or(p).display().to_string())
                .collect();
            self.lines
                .print(Kind::Build, &format!("changed: {}", names.join(", ")));
            self.reload(relevance.rebuild(&paths), seen, ui)?;
        }
        self.stop.store(true, Ordering::Relaxed);
        for follower in followers {
            let _ = follower.join();
        }
        Ok(())
    }

    /// Rebuilds what `what` asks for and, unless only the frontend changed, installs the new
    /// build in place of the running one. What fails here is a line and the last good version
    /// keeps running, unless the platform refuses development installs: that ends the loop.
    fn reload(&self, what: Rebuild, seen: Instant, ui: &Ui) -> CliResult {
        match self.try_reload(what, seen, ui) {
            Ok(()) => Ok(()),
            Err(Failure::Fatal(e)) => Err(e),
            Err(Failure::Recoverable(e)) => {
                let mut text = format!("{}; the last good version keeps running", e.message);
                if let Some(help) = e.help {
                    text.push_str(&format!("\n{help}"));
                }
                self.lines.print(Kind::Error, &text);
                Ok(())
            }
        }
    }

    fn try_reload(&self, what: Rebuild, seen: Instant, ui: &Ui) -> Result<(), Failure> {
        let (text, checked) = check_manifest(&self.dir)?;
        let Some(manifest) = checked.manifest.clone() else {
            print_diagnostics(&checked, text, &self.dir, ui);
            return Err(Failure::Recoverable(CliError::failed(format!(
                "plexica.toml has {} error(s)",
                checked.error_count()
            ))));
        };
        let parts = match what {
            Rebuild::Frontend => Parts {
                backend: false,
                frontend: true,
                check: false,
            },
            Rebuild::Everything => Parts {
                backend: true,
                frontend: true,
                check: true,
            },
        };
        let building = Instant::now();
        build::build(&self.dir, &manifest, self.profile, parts, ui)
            .map_err(|e| CliError::failed(format!("the build failed: {}", e.message)))?;
        let build_seconds = building.elapsed().as_secs_f64();
        let id = &manifest.plugin.id;
        if what == Rebuild::Frontend {
            self.lines.reloaded(
                &format!(
                    "{id}: frontend rebuilt in {:.2} s (served from {})",
                    seen.elapsed().as_secs_f64(),
                    manifest.frontend.as_ref().map_or("", |f| f.dist.as_str())
                ),
                Split {
                    build: build_seconds,
                    install: 0.0,
                    restart: None,
                    total: seen.elapsed().as_secs_f64(),
                },
            );
            return Ok(());
        }
        let installing = Instant::now();
        let bytes = dev_package(&self.dir, &manifest, self.profile, ui)?;
        let _ = self.last_start.take();
        let installed = self
            .client
            .dev_install(&self.tenant, id, bytes)
            .map_err(|e| {
                if e.has_code("DEV_MODE_REQUIRED") {
                    Failure::Fatal(CliError::from(e).with_help(
                        "plugin dev installs unsigned builds: run it without --api-url (it starts its own platform), or attach to a `plexica up --dev`",
                    ))
                } else {
                    Failure::Recoverable(e.into())
                }
            })?;
        let restart = self.last_start.take().map(|ms| ms as f64 / 1000.0);
        let install = installing.elapsed().as_secs_f64() - restart.unwrap_or(0.0);
        if installed.state != PluginState::Active {
            return Err(Failure::Recoverable(CliError::failed(format!(
                "{id} is {} after installing: {}",
                installed.state.as_str(),
                installed.error.as_deref().unwrap_or("no error given")
            ))));
        }
        let split = Split {
            build: build_seconds,
            install,
            restart,
            total: seen.elapsed().as_secs_f64(),
        };
        let restart_text = restart
            .map(|r| format!(", restart {r:.2} s"))
            .unwrap_or_default();
        self.lines.reloaded(
            &format!(
                "{id} {} ({}) in {:.1} s (build {:.1} s, install {:.1} s{restart_text})",
                manifest.plugin.version,
                self.profile.name(),
                split.total,
                split.build,
                split.install,
            ),
            split,
        );
        Ok(())
    }

    /// Where things are, and how to call the plugin.
    fn print_ready(&self, manifest: &Manifest, assets: Option<&AssetServer>) {
        let api = self.client.base().to_string();
        let api = api.trim_end_matches('/');
        let mut text = format!(
            "core API {api} (in another terminal: plexica --profile {DEV_PROFILE} …)\n\
             tenant `{}`, workspace `{}`",
            self.tenant, self.workspace
        );
        let token = self
            .client
            .create_token(&NewApiTokenRequest {
                name: "plexica plugin dev".to_owned(),
                scopes: None,
                expires_in_seconds: Some(TOKEN_SECONDS),
            })
            .ok();
        for service in &manifest.services {
            for endpoint in &service.endpoints {
                let url = format!(
                    "{api}/api/v1/tenants/{}/gateway/{}/{}/{}",
                    self.tenant,
                    manifest.plugin.id,
                    service.name,
                    endpoint.path.trim_start_matches('/')
                );
                text.push_str(&format!("\n{} {url}", endpoint.method.as_str()));
                if let Some(token) = &token {
                    text.push_str(&format!(
                        "\n  curl -X {} -H 'Authorization: Bearer {}' -H 'X-Plexica-Workspace: {}' '{url}'",
                        endpoint.method.as_str(),
                        token.token,
                        self.workspace
                    ));
                }
            }
        }
        if let (Some(assets), Some(frontend)) = (assets, &manifest.frontend) {
            text.push_str(&format!(
                "\nfrontend http://{}/{}",
                assets.address, frontend.remote_entry
            ));
            // The plugin's first page in the console (a browser reload shows a rebuilt
            // frontend: a development platform has its files revalidated).
            let page = frontend
                .modules
                .iter()
                .find_map(|m| m.route.as_deref())
                .unwrap_or("/");
            let login = self.data_dir.join(CONSOLE_LOGIN);
            let how = if login.exists() {
                format!("sign in with {}", login.display())
            } else {
                format!("sign in as a user of tenant `{}`", self.tenant)
            };
            text.push_str(&format!(
                "\nconsole {api}{page}?ws={} ({how})",
                self.workspace
            ));
        }
        text.push_str(&format!("\nwatching {} (Ctrl-C stops)", self.dir.display()));
        self.lines.print(Kind::Ready, &text);
    }
}
