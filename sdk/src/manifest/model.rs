//! The typed form of `plexica.toml`. Field names follow the TOML keys (kebab-case).
//!
//! Values of these types have passed every rule of [`super::check`]; build them from text with
//! [`super::Manifest::parse`] or [`super::check`], not by hand, unless you validate afterwards.

use std::collections::BTreeMap;

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

/// A whole plugin manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Manifest {
    /// `[plugin]`: identity and catalogue metadata.
    pub plugin: PluginInfo,
    /// `[backend]`: the plugin's server process, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    /// `[frontend]`: the plugin's Module Federation remote, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontend: Option<Frontend>,
    /// `[[permissions]]` the plugin declares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<Permission>,
    /// `[[config]]`: tenant-level settings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<ConfigField>,
    /// `[dependencies]` on other plugins.
    #[serde(default)]
    pub dependencies: Dependencies,
    /// `[events]` published and subscribed.
    #[serde(default)]
    pub events: Events,
    /// `[[services]]` offered to other plugins through the gateway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    /// `[hooks]`: lifecycle hooks served by the backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Hooks>,
    /// `[[shared]]`: shared-data namespaces the plugin owns, and who may read them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<SharedNamespace>,
}

/// `[[shared]]`: a namespace of the tenant's shared data this plugin writes (`<id>` or
/// `<id>.<name>`), and the plugins it lets read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SharedNamespace {
    /// The namespace.
    pub namespace: String,
    /// Ids of the plugins that may read it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
}

/// `[plugin]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PluginInfo {
    /// Stable identifier, `^[a-z][a-z0-9-]{1,62}$`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// SemVer 2.0 version.
    pub version: Version,
    /// One-paragraph description.
    pub description: String,
    /// `Name <email>` strings.
    pub authors: Vec<String>,
    /// SPDX license expression.
    pub license: String,
    /// Project home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    /// Source repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Icon name or https URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Catalogue categories, from [`super::CATEGORIES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Search keywords.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Images inside the package (PNG, JPEG, WebP or GIF) that the registry's plugin page
    /// shows, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub screenshots: Vec<String>,
    /// Platform versions this plugin runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plexica: Option<VersionReq>,
    /// Whether the plugin's data is scoped per workspace.
    #[serde(default)]
    pub workspace_aware: bool,
}

/// Which build a plugin's build commands make: `plexica plugin build` and packages use
/// [`BuildProfile::Release`], `plexica plugin dev` [`BuildProfile::Debug`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildProfile {
    /// Fast to build: what `plugin dev` runs.
    Debug,
    /// Optimised: what a package ships.
    Release,
}

impl BuildProfile {
    /// The environment variable that tells build commands the profile (`debug`, `release`).
    pub const ENV: &'static str = "PLEXICA_BUILD_PROFILE";
    /// The environment variable that gives build commands Cargo's name for it (`dev`,
    /// `release`), for `cargo build --profile "$PLEXICA_CARGO_PROFILE"`.
    pub const CARGO_ENV: &'static str = "PLEXICA_CARGO_PROFILE";
    /// The placeholder of `backend.artifact` replaced by [`BuildProfile::name`].
    pub const PLACEHOLDER: &'static str = "{profile}";

    /// `debug` or `release`: also the directory Cargo builds it in under `target/`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Release => "release",
        }
    }

    /// Cargo's name of the profile: `dev` or `release`.
    pub fn cargo_name(self) -> &'static str {
        match self {
            Self::Debug => "dev",
            Self::Release => "release",
        }
    }
}

/// `[backend]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Backend {
    /// Path of the executable inside the package.
    pub entry: String,
    /// Shell command `plexica plugin build` runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// What the build produces; copied to `entry` when packaging. `{profile}` in it stands
    /// for the profile built (see [`Backend::artifact_for`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// Health route of the running backend.
    #[serde(default = "default_health")]
    pub health: String,
    /// Directory of `NNNN_name.sql` migrations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrations: Option<String>,
    /// TCP ports the backend may connect to besides the core API's (a payment provider's
    /// `443`): its sandbox allows these and no others. Shown to the tenant admin at install.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbound_ports: Vec<u16>,
    /// Resource limits lower than the platform's (`[backend.limits]`); the platform applies
    /// whichever is lower, field by field.
    #[serde(default, skip_serializing_if = "BackendLimits::is_empty")]
    pub limits: BackendLimits,
}

/// `[backend.limits]`: what the backend asks to be held to (each positive; absent: the
/// platform's default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BackendLimits {
    /// Address space, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    /// Open files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_files: Option<u64>,
    /// CPU time over the process's life, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<u64>,
    /// Processes and threads of the user it runs as (`RLIMIT_NPROC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<u64>,
}

impl BackendLimits {
    /// No limit asked for.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Most outbound ports one backend may declare.
pub const MAX_OUTBOUND_PORTS: usize = 16;

/// The health route used when `[backend]` names none.
pub const DEFAULT_HEALTH: &str = "/_plexica/health";

impl Backend {
    /// Where the build of `profile` leaves the backend: `artifact` with `{profile}` replaced.
    pub fn artifact_for(&self, profile: BuildProfile) -> Option<String> {
        self.artifact
            .as_ref()
            .map(|a| a.replace(BuildProfile::PLACEHOLDER, profile.name()))
    }
}

fn default_health() -> String {
    DEFAULT_HEALTH.to_owned()
}

/// `[frontend]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Frontend {
    /// Remote entry file, relative to `dist`.
    pub remote_entry: String,
    /// Directory of built assets.
    pub dist: String,
    /// Shell command `plexica plugin build` runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// URL prefix of the plugin's pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_prefix: Option<String>,
    /// Exposed modules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<FrontendModule>,
}

/// `[[frontend.modules]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FrontendModule {
    /// Exposed module name, `^[A-Za-z][A-Za-z0-9]*$`.
    pub name: String,
    /// What the module is.
    pub kind: ModuleKind,
    /// Where the shell mounts it, from [`super::EXTENSION_POINTS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_point: Option<String>,
    /// Route of a page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Menu entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menu: Option<Menu>,
    /// A permission of `[[permissions]]` the user needs in the workspace to be shown the
    /// module; without one, every member is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

/// Kinds of frontend module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModuleKind {
    /// A routed page.
    Page,
    /// A dashboard widget.
    Widget,
    /// A component mounted at an extension point.
    Component,
    /// A layout.
    Layout,
}

impl ModuleKind {
    /// The kind as the manifest writes it, e.g. `page`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Widget => "widget",
            Self::Component => "component",
            Self::Layout => "layout",
        }
    }
}

/// A menu entry of a frontend module.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Menu {
    /// Visible label.
    pub label: String,
    /// Icon name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Sort order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
}

/// `[[permissions]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Permission {
    /// `resource:action`.
    pub key: String,
    /// What the permission allows.
    pub description: String,
    /// The workspace role granted it by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<WorkspaceRole>,
}

/// Workspace roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkspaceRole {
    /// Full control of the workspace.
    Admin,
    /// Reads and writes.
    Member,
    /// Reads only.
    Viewer,
}

/// `[[config]]`: one tenant-level setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ConfigField {
    /// Setting name, `^[a-z][a-zA-Z0-9_]*$`.
    pub key: String,
    /// Value type.
    #[serde(rename = "type")]
    pub kind: ConfigType,
    /// Label shown in forms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Whether a value must be given.
    #[serde(default)]
    pub required: bool,
    /// Default value; satisfies the field's own rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// Allowed values of `select` / `multiselect`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Lower bound: of the value for numbers, of the length for strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Upper bound: of the value for numbers, of the length for strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Regular expression a `string` must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Whether a workspace admin may override it per workspace.
    #[serde(default)]
    pub workspace_override: bool,
}

/// Types of configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigType {
    /// One line of text.
    String,
    /// Multi-line text.
    Text,
    /// A secret; never shown back.
    Secret,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// True or false.
    Boolean,
    /// One of `options`.
    Select,
    /// Several of `options`.
    Multiselect,
    /// Any JSON value.
    Json,
}

/// `[dependencies]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Dependencies {
    /// Plugins that must be installed, with version requirements.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub required: BTreeMap<String, VersionReq>,
    /// Plugins used when installed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub optional: BTreeMap<String, VersionReq>,
    /// Plugins that may not be installed alongside.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
}

/// `[events]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Events {
    /// Event types the plugin emits, all `plugin.<id>.…`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publishes: Vec<String>,
    /// Event types or `prefix.*` patterns the plugin handles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscribes: Vec<String>,
    /// The backend takes several events in one push (CloudEvents' batched mode,
    /// [`crate::api::events::BATCH_CONTENT_TYPE`]); without it, each event is pushed alone.
    /// Backends built with the SDK take batches.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub batches: bool,
}

/// `[[services]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Service {
    /// `<id>.<resource>`.
    pub name: String,
    /// SemVer version of the service contract.
    pub version: Version,
    /// Routes of the service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<Endpoint>,
    /// Ids of the other plugins that may call this service through the gateway (`callers`).
    /// A plugin not listed is refused, whatever it depends on; users are held to the
    /// endpoints' permissions instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callers: Vec<String>,
}

/// `[[services.endpoints]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Endpoint {
    /// HTTP method.
    pub method: HttpMethod,
    /// Route pattern, `:param` and `*` allowed.
    pub path: String,
    /// Declared permission the caller needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

/// HTTP methods a service endpoint may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl HttpMethod {
    /// The method as written in HTTP, e.g. `GET`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// `[hooks]`: routes on the backend called at lifecycle transitions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Hooks {
    /// Called after install.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_install: Option<String>,
    /// Called before uninstall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_uninstall: Option<String>,
    /// Called on activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_activate: Option<String>,
    /// Called on deactivation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_deactivate: Option<String>,
}
