//! Builds a [`Manifest`] from the spanned TOML tree, reporting type errors, missing fields,
//! unknown keys and unparsable values (versions, enums) as it goes. Values that could not be
//! read are left at a neutral default; the caller discards the manifest when any error was
//! reported, so those defaults are never seen.

use std::collections::BTreeMap;

use semver::{Version, VersionReq};
use toml::Spanned;
use toml::de::DeTable;

use super::model::*;
use super::reader::{Reader, Table, to_json};
use crate::diagnostic::closest;

/// Reads the whole document.
pub(crate) fn manifest(r: &mut Reader<'_>, doc: &Spanned<DeTable<'_>>) -> Manifest {
    let mut root = Table::root(doc);
    let plugin = match r.table(&mut root, "plugin") {
        Some(t) => plugin_info(r, t),
        None => {
            if r.spans.get("plugin").is_none() && !r.has_wrong_type("plugin") {
                r.missing(&root, "plugin");
            }
            placeholder_info()
        }
    };
    let backend = r.table(&mut root, "backend").map(|t| backend(r, t));
    let frontend = r.table(&mut root, "frontend").map(|t| frontend(r, t));
    let permissions = r
        .tables(&mut root, "permissions")
        .into_iter()
        .map(|t| permission(r, t))
        .collect();
    let config = r
        .tables(&mut root, "config")
        .into_iter()
        .map(|t| config_field(r, t))
        .collect();
    let dependencies = r
        .table(&mut root, "dependencies")
        .map(|t| dependencies(r, t))
        .unwrap_or_default();
    let events = r
        .table(&mut root, "events")
        .map(|t| events(r, t))
        .unwrap_or_default();
    let services = r
        .tables(&mut root, "services")
        .into_iter()
        .map(|t| service(r, t))
        .collect();
    let hooks = r.table(&mut root, "hooks").map(|t| hooks(r, t));
    let shared = r
        .tables(&mut root, "shared")
        .into_iter()
        .map(|t| shared(r, t))
        .collect();
    r.finish(root);
    Manifest {
        plugin,
        backend,
        frontend,
        permissions,
        config,
        dependencies,
        events,
        services,
        hooks,
        shared,
    }
}

fn shared(r: &mut Reader<'_>, mut t: Table<'_, '_>) -> SharedNamespace {
    let namespace = SharedNamespace {
        namespace: r.required_string(&mut t, "namespace").unwrap_or_default(),
        read: r.strings(&mut t, "read"),
    };
    r.finish(t);
    namespace
}

impl Reader<'_> {
    fn has_wrong_type(&self, path: &str) -> bool {
        let needle = format!("`{path}` must be");
        self.diagnostics
            .iter()
            .any(|d| d.message.starts_with(&needle))
    }

    /// Parses the string at `path` as a SemVer version, reporting `manifest::version`.
    fn version(&mut self, path: &str, text: Option<String>) -> Version {
        let Some(text) = text else {
            return Version::new(0, 0, 0);
        };
        match Version::parse(&text) {
            Ok(v) => v,
            Err(e) => {
                let span = self.spans.get(path).unwrap_or(0..0);
                self.error(
                    "manifest::version",
                    span,
                    format!("`{text}` is not a SemVer 2.0 version: {e}"),
                    Some("write MAJOR.MINOR.PATCH, e.g. `1.2.0` or `1.2.0-beta.1`".into()),
                );
                Version::new(0, 0, 0)
            }
        }
    }

    /// Parses the string at `path` as a SemVer requirement, reporting `manifest::version-req`.
    fn version_req(&mut self, path: &str, text: &str) -> VersionReq {
        match VersionReq::parse(text) {
            Ok(req) => req,
            Err(e) => {
                let span = self.spans.get(path).unwrap_or(0..0);
                self.error(
                    "manifest::version-req",
                    span,
                    format!("`{text}` is not a SemVer requirement: {e}"),
                    Some("e.g. `^1.0`, `>=0.1, <2`".into()),
                );
                VersionReq::STAR
            }
        }
    }

    /// Maps the string at `path` onto one of `choices`, reporting `code` with a suggestion.
    fn choice<T: Copy>(
        &mut self,
        path: &str,
        code: &str,
        what: &str,
        text: &str,
        choices: &[(&'static str, T)],
    ) -> Option<T> {
        if let Some((_, v)) = choices.iter().find(|(name, _)| *name == text) {
            return Some(*v);
        }
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        let help = match closest(text, names.iter().copied()) {
            Some(c) => format!("did you mean `{c}`?"),
            None => format!("expected one of: {}", names.join(", ")),
        };
        let span = self.spans.get(path).unwrap_or(0..0);
        self.error(
            code,
            span,
            format!("`{text}` is not a valid {what}"),
            Some(help),
        );
        None
    }
}

fn placeholder_info() -> PluginInfo {
    PluginInfo {
        id: String::new(),
        name: String::new(),
        version: Version::new(0, 0, 0),
        description: String::new(),
        authors: Vec::new(),
        license: String::new(),
        homepage: None,
        repository: None,
        icon: None,
        categories: Vec::new(),
        keywords: Vec::new(),
        screenshots: Vec::new(),
        plexica: None,
        workspace_aware: false,
    }
}

fn plugin_info(r: &mut Reader<'_>, mut t: Table<'_, '_>) -> PluginInfo {
    let id = r.required_string(&mut t, "id").unwrap_or_default();
    let name = r.required_string(&mut t, "name").unwrap_or_default();
    let version_text = r.required_string(&mut t, "version");
    let version = r.version("plugin.version", version_text);
    let description = r.required_string(&mut t, "description").unwrap_or_default();
    let has_authors = r.value(&mut t, "authors").is_some();
    let authors = r.strings(&mut t, "authors");
    if !has_authors {
        r.missing(&t, "authors");
    }
    let license = r.required_string(&mut t, "license").unwrap_or_default();
    let homepage = r.string(&mut t, "homepage");
    let repository = r.string(&mut t, "repository");
    let icon = r.string(&mut t, "icon");
    let categories = r.strings(&mut t, "categories");
    let keywords = r.strings(&mut t, "keywords");
    let screenshots = r.strings(&mut t, "screenshots");
    let plexica = r
        .string(&mut t, "plexica")
        .map(|req| r.version_req("plugin.plexica", &req));
    let workspace_aware = r.boolean(&mut t, "workspace-aware").unwrap_or(false);
    r.finish(t);
    PluginInfo {
        id,
        name,
        version,
        description,
        authors,
        license,
        homepage,
        repository,
        icon,
        categories,
        keywords,
        screenshots,
        plexica,
        workspace_aware,
    }
}

/// `backend.outbound-ports`: each a TCP port, once, at most [`MAX_OUTBOUND_PORTS`].
fn outbound_ports(r: &mut Reader<'_>, t: &mut Table<'_, '_>) -> Vec<u16> {
    let ports = r.integers(t, "outbound-ports");
    let mut out: Vec<u16> = Vec::with_capacity(ports.len());
    for (i, port) in ports.into_iter().enumerate() {
        let span = r
            .spans
            .get(&format!("backend.outbound-ports[{i}]"))
            .unwrap_or(0..0);
        match u16::try_from(port) {
            Ok(port) if port > 0 && !out.contains(&port) => out.push(port),
            Ok(port) if port > 0 => r.error(
                "manifest::outbound-port",
                span,
                format!("outbound port {port} is listed twice"),
                Some("list each port once".into()),
            ),
            _ => r.error(
                "manifest::outbound-port",
                span,
                format!("outbound port {port} is not a TCP port (1 to 65535)"),
                Some("name the port the backend connects to, e.g. `443`".into()),
            ),
        }
    }
    if out.len() > MAX_OUTBOUND_PORTS {
        let span = r.spans.get("backend.outbound-ports").unwrap_or(0..0);
        r.error(
            "manifest::outbound-port",
            span,
            format!(
                "{} outbound ports are declared, more than the {MAX_OUTBOUND_PORTS} allowed",
                out.len()
            ),
            Some("list only the ports the backend connects to".into()),
        );
    }
    out
}

/// `[backend.limits]`: each a positive integer.
fn limits(r: &mut Reader<'_>, mut t: Table<'_, '_>) -> BackendLimits {
    let positive = |r: &mut Reader<'_>, t: &mut Table<'_, '_>, key: &'static str| {
        let value = r.integer(t, key)?;
        match u64::try_from(value) {
            Ok(n) if n > 0 => Some(n),
            _ => {
                let span = r
                    .spans
                    .get(&format!("backend.limits.{key}"))
                    .unwrap_or(0..0);
                r.error(
                    "manifest::backend-limit",
                    span,
                    format!("`backend.limits.{key}` must be a positive integer, found {value}"),
                    Some("leave it out to take the platform's default".into()),
                );
                None
            }
        }
    };
    let limits = BackendLimits {
        memory_mb: positive(r, &mut t, "memory-mb"),
        open_files: positive(r, &mut t, "open-files"),
        cpu_seconds: positive(r, &mut t, "cpu-seconds"),
        processes: positive(r, &mut t, "processes"),
    };
    r.finish(t);
    limits
}

fn backend(r: &mut Reader<'_>, mut t: Table<'_, '_>) -> Backend {
    let outbound_ports = outbound_ports(r, &mut t);
    let limits = r
        .table(&mut t, "limits")
        .map(|l| limits(r, l))
        .unwrap_or_default();
    let backend = Backend {
        entry: r.required_string(&mut t, "entry").unwrap_or_default(),
        build: r.string(&mut t, "build"),
        artifact: r.string(&mut t, "artifact"),
        health: r
            .string(&mut t, "health")
            .unwrap_or_else(|| DEFAULT_HEALTH.to_owned()),
        migrations: r.string(&mut t, "migrations"),
        outbound_ports,
        limits,
    };
    r.finish(t);
    backend
}

const MODULE_KINDS: &[(&str, ModuleKind)] = &[
    ("page", ModuleKind::Page),
    ("widget", ModuleKind::Widget),
    ("component", ModuleKind::Component),
    ("layout", ModuleKind::Layout),
];

fn frontend(r: &mut Reader<'_>, mut t: Table<'_, '_>) -> Frontend {
    let remote_entry = r
        .required_string(&mut t, "remote-entry")
        .unwrap_or_default();
    let dist = r.required_string(&mut t, "dist").unwrap_or_default();
    let build = r.string(&mut t, "build");
    let route_prefix = r.string(&mut t, "route-prefix");
    let modules = r
        .tables(&mut t, "modules")
        .into_iter()
        .map(|m| module(r, m))
        .collect();
    r.finish(t);
    Frontend {
        remote_entry,
        dist,
        build,
        route_prefix,
        modules,
    }
}

fn module(r: &mut Reader<'_>, mut t: Table<'_, '_>) -> FrontendModule {
    let name = r.required_string(&mut t, "name").unwrap_or_default();
    let kind_path = t.path_of("kind");
    let kind = r
        .required_string(&mut t, "kind")
        .and_then(|k| {
            r.choice(
                &kind_path,
                "manifest::module-kind",
                "module kind",
                &k,
                MODULE_KINDS,
            )
        })
        .unwrap_or(ModuleKind::Component);
    let extension_point = r.string(&mut t, "extension-point");
    let route = r.string(&mut t, "route");
    let permission = r.string(&mut t, "permission");
    let menu = r.table(&mut t, "menu").map(|mut m| {
        let menu = Menu {
            label: r.required_string(&mut m, "label").unwrap_or_default(),
            icon: r.string(&mut m, "icon"),
            order: r.integer(&mut m, "order"),
        };
        r.finish(m);
        menu
    });
    r.finish(t);
    FrontendModule {
        name,
        kind,
        extension_point,
        route,
        menu,
        permission,
    }
}

const ROLES: &[(&str, WorkspaceRole)] = &[
    ("admin", WorkspaceRole::Admin),
    ("member", WorkspaceRole::Member),
    ("viewer", WorkspaceRole::Viewer),
];

fn permission(r: &mut Reader<'_>, mut t: Table<'_, '_>) -> Permission {
    let key = r.required_string(&mut t, "key").unwrap_or_default();
    let description = r.required_string(&mut t, "description").unwrap_or_default();
    let role_path = t.path_of("default-role");
    let default_role = r
        .string(&mut t, "default-role")
        .and_then(|role| r.choice(&role_path, "manifest::role", "workspace role", &role, ROLES));
    r.finish(t);
    Permission {
        key,
        description,
        default_role,
    }
}

const CONFIG_TYPES: &[(&str, ConfigType)] = &[
    ("string", ConfigType::String),
    ("text", ConfigType::Text),
    ("secret", ConfigType::Secret),
    ("integer", ConfigType::Integer),
    ("number", ConfigType::Number),
    ("boolean", ConfigType::Boolean),
    ("select", ConfigType::Select),
    ("multiselect", ConfigType::Multiselect),
    ("json", ConfigType::Json),
];

fn config_field(r: &mut Reader<'_>, mut t: Table<'_, '_>) -> ConfigField {
    let key = r.required_string(&mut t, "key").unwrap_or_default();
    let type_path = t.path_of("type");
    let kind = r
        .required_string(&mut t, "type")
        .and_then(|k| {
            r.choice(
                &type_path,
                "manifest::config-type",
                "config type",
                &k,
                CONFIG_TYPES,
            )
        })
        .unwrap_or(ConfigType::Json);
    let label = r.string(&mut t, "label");
    let required = r.boolean(&mut t, "required").unwrap_or(false);
    let default = r.value(&mut t, "default").map(|v| to_json(v.get_ref()));
    let options = r.strings(&mut t, "options");
    let min = r.number(&mut t, "min");
    let max = r.number(&mut t, "max");
    let pattern = r.string(&mut t, "pattern");
    let workspace_override = r.boolean(&mut t, "workspace-override").unwrap_or(false);
    r.finish(t);
    ConfigField {
        key,
        kind,
        label,
        required,
        default,
        options,
        min,
        max,
        pattern,
        workspace_override,
    }
}

fn dependencies(r: &mut Reader<'_>, mut t: Table<'_, '_>) -> Dependencies {
    let read_map = |r: &mut Reader<'_>, t: &mut Table<'_, '_>, key: &'static str| {
        let base = t.path_of(key);
        r.string_map(t, key)
            .into_iter()
            .map(|(id, req)| {
                let req = r.version_req(&format!("{base}.{id}"), &req);
                (id, req)
            })
            .collect::<BTreeMap<_, _>>()
    };
    let required = read_map(r, &mut t, "required");
    let optional = read_map(r, &mut t, "optional");
    let conflicts = r.strings(&mut t, "conflicts");
    r.finish(t);
    Dependencies {
        required,
        optional,
        conflicts,
    }
}

fn events(r: &mut Reader<'_>, mut t: Table<'_, '_>) -> Events {
    let events = Events {
        publishes: r.strings(&mut t, "publishes"),
        subscribes: r.strings(&mut t, "subscribes"),
        batches: r.boolean(&mut t, "batches").unwrap_or(false),
    };
    r.finish(t);
    events
}

const METHODS: &[(&str, HttpMethod)] = &[
    ("GET", HttpMethod::Get),
    ("POST", HttpMethod::Post),
    ("PUT", HttpMethod::Put),
    ("PATCH", HttpMethod::Patch),
    ("DELETE", HttpMethod::Delete),
];

fn service(r: &mut Reader<'_>, mut t: Table<'_, '_>) -> Service {
    let name = r.required_string(&mut t, "name").unwrap_or_default();
    let version_path = t.path_of("version");
    let version_text = r.required_string(&mut t, "version");
    let version = r.version(&version_path, version_text);
    let endpoints = r
        .tables(&mut t, "endpoints")
        .into_iter()
        .map(|mut e| {
            let method_path = e.path_of("method");
            let method = r
                .required_string(&mut e, "method")
                .and_then(|m| {
                    r.choice(
                        &method_path,
                        "manifest::endpoint-method",
                        "HTTP method",
                        &m,
                        METHODS,
                    )
                })
                .unwrap_or(HttpMethod::Get);
            let endpoint = Endpoint {
                method,
                path: r.required_string(&mut e, "path").unwrap_or_default(),
                permission: r.string(&mut e, "permission"),
            };
            r.finish(e);
            endpoint
        })
        .collect();
    let callers = r.strings(&mut t, "callers");
    r.finish(t);
    Service {
        name,
        version,
        endpoints,
        callers,
    }
}

fn hooks(r: &mut Reader<'_>, mut t: Table<'_, '_>) -> Hooks {
    let hooks = Hooks {
        on_install: r.string(&mut t, "on-install"),
        on_uninstall: r.string(&mut t, "on-uninstall"),
        on_activate: r.string(&mut t, "on-activate"),
        on_deactivate: r.string(&mut t, "on-deactivate"),
    };
    r.finish(t);
    hooks
}
