//! The single-field and cross-field rules of manifest.md, run on the typed manifest. Each rule
//! reports at the span of the value it checks, under its own stable code.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use super::model::*;
use super::reader::Reader;
use super::{CATEGORIES, EXTENSION_POINTS, PluginFiles};
use crate::diagnostic::{Severity, closest};
use crate::event_name::{self, CORE_DOMAINS, CoreEvent, EventNameError};

fn regex(pattern: &str) -> Regex {
    // The patterns are literals of this file, covered by its tests.
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("built-in pattern compiles")
}

static PLUGIN_ID: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-z][a-z0-9-]{1,62}$"));
static KEYWORD: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-z0-9-]{1,32}$"));
static ICON_NAME: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-z][a-z0-9-]{0,63}$"));
static ROUTE_PREFIX: LazyLock<Regex> = LazyLock::new(|| regex(r"^/[a-z0-9\-/]*$"));
static MODULE_NAME: LazyLock<Regex> = LazyLock::new(|| regex(r"^[A-Za-z][A-Za-z0-9]*$"));
static PERMISSION_KEY: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$"));
static CONFIG_KEY: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-z][a-zA-Z0-9_]*$"));
static ENDPOINT_PATH: LazyLock<Regex> = LazyLock::new(|| regex(r"^/[A-Za-z0-9_\-/:*]*$"));
static ROUTE: LazyLock<Regex> = LazyLock::new(|| regex(r"^/[A-Za-z0-9_\-/:.]*$"));

/// Longest `pattern` a config field may carry.
const MAX_PATTERN_LEN: usize = 256;

/// Runs every rule, appending diagnostics to the reader.
pub(crate) fn check(r: &mut Reader<'_>, m: &Manifest) {
    plugin_info(r, &m.plugin);
    if m.backend.is_none() && m.frontend.is_none() && r.spans.get("plugin").is_some() {
        let span = r.spans.get("plugin").unwrap_or(0..0);
        r.error(
            "manifest::no-component",
            span,
            "a plugin needs a `[backend]`, a `[frontend]`, or both",
            Some("add a `[backend]` table with `entry = …` or a `[frontend]` table".into()),
        );
    }
    if let Some(backend) = &m.backend {
        backend_rules(r, backend);
    }
    let declared = permissions(r, &m.permissions);
    if let Some(frontend) = &m.frontend {
        frontend_rules(r, frontend, &declared);
    }
    config(r, &m.config);
    // Every rule runs on whatever parsed; only the comparisons against the plugin's own id
    // are left out while that id is itself wrong (they would only echo it).
    let own_id = Some(m.plugin.id.as_str()).filter(|id| is_valid_plugin_id(id));
    dependencies(r, own_id, &m.dependencies);
    events(r, own_id, &m.events);
    services(r, own_id, &m.services, &declared);
    shared(r, own_id, &m.shared);
    if let Some(hooks) = &m.hooks {
        for (key, value) in [
            ("on-install", &hooks.on_install),
            ("on-uninstall", &hooks.on_uninstall),
            ("on-activate", &hooks.on_activate),
            ("on-deactivate", &hooks.on_deactivate),
        ] {
            if let Some(route) = value {
                route_rule(r, &format!("hooks.{key}"), "manifest::hook-path", route);
            }
        }
    }
}

impl Reader<'_> {
    /// Reports an error at the value written at `path`, if it was written.
    fn at(&mut self, path: &str, code: &str, message: impl Into<String>, help: Option<String>) {
        if let Some(span) = self.spans.get(path) {
            self.error(code, span, message, help);
        }
    }

    /// Was an error already reported at the value written at `path`?
    fn reported_at(&self, path: &str) -> bool {
        self.spans.get(path).is_some_and(|span| {
            self.diagnostics
                .iter()
                .any(|d| d.is_error() && d.span.start == span.start)
        })
    }

    fn warn(&mut self, code: &str, message: impl Into<String>, help: String) {
        let span = self.spans.get("plugin").unwrap_or(0..0);
        let diagnostic = self
            .file
            .diagnostic(Severity::Warning, code, span, message, Some(help));
        self.diagnostics.push(diagnostic);
    }
}

fn plugin_info(r: &mut Reader<'_>, p: &PluginInfo) {
    if r.spans.get("plugin.id").is_some() {
        check_plugin_id(r, "plugin.id", &p.id);
    }
    let name_len = p.name.chars().count();
    if !(1..=100).contains(&name_len) {
        r.at(
            "plugin.name",
            "manifest::plugin-name",
            format!("`plugin.name` must be 1 to 100 characters, found {name_len}"),
            None,
        );
    }
    let description_len = p.description.chars().count();
    if !(10..=1000).contains(&description_len) {
        r.at(
            "plugin.description",
            "manifest::description",
            format!("`plugin.description` must be 10 to 1000 characters, found {description_len}"),
            Some("say in a sentence what the plugin does".into()),
        );
    }
    if r.spans.get("plugin.authors").is_some() && p.authors.is_empty() {
        r.at(
            "plugin.authors",
            "manifest::authors",
            "`plugin.authors` needs at least one author",
            Some("e.g. `authors = [\"Ada <ada@example.com>\"]`".into()),
        );
    }
    for (i, author) in p.authors.iter().enumerate() {
        if author.trim().is_empty() {
            r.at(
                &format!("plugin.authors[{i}]"),
                "manifest::authors",
                "an author may not be blank",
                None,
            );
        }
    }
    if r.spans.get("plugin.license").is_some()
        && let Err(e) = spdx::Expression::parse(&p.license)
    {
        let help = spdx::imprecise_license_id(&p.license)
            .map(|(lic, _)| format!("did you mean `{}`?", lic.name))
            .unwrap_or_else(|| {
                "use an SPDX expression such as `MIT` or `Apache-2.0 OR MIT`".into()
            });
        r.at(
            "plugin.license",
            "manifest::license",
            format!(
                "`{}` is not a valid SPDX license expression: {}",
                p.license, e.reason
            ),
            Some(help),
        );
    }
    // Their absence is said at publish (as cargo does), not here: a fresh plugin has neither
    // and is not defective for it.
    for (key, value) in [("homepage", &p.homepage), ("repository", &p.repository)] {
        if let Some(url) = value {
            url_rule(r, &format!("plugin.{key}"), url, false);
        }
    }
    match &p.icon {
        Some(icon) if icon.starts_with("https://") => url_rule(r, "plugin.icon", icon, true),
        Some(icon) if !ICON_NAME.is_match(icon) => r.at(
            "plugin.icon",
            "manifest::icon",
            format!("`{icon}` is neither an icon name (`^[a-z][a-z0-9-]*$`) nor an https URL"),
            None,
        ),
        Some(_) => {}
        None if r.spans.get("plugin").is_some() => r.warn(
            "manifest::missing-icon",
            "no `plugin.icon`",
            "add `icon = \"puzzle\"` (an icon name) or an https URL".into(),
        ),
        None => {}
    }
    for (i, category) in p.categories.iter().enumerate() {
        if !CATEGORIES.contains(&category.as_str()) {
            let help = closest(category, CATEGORIES.iter().copied())
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| format!("categories: {}", CATEGORIES.join(", ")));
            r.at(
                &format!("plugin.categories[{i}]"),
                "manifest::category",
                format!("`{category}` is not a known category"),
                Some(help),
            );
        }
    }
    if p.keywords.len() > 10 {
        r.at(
            "plugin.keywords",
            "manifest::keyword",
            format!(
                "at most 10 keywords are allowed, found {}",
                p.keywords.len()
            ),
            None,
        );
    }
    screenshot_rules(r, &p.screenshots);
    for (i, keyword) in p.keywords.iter().enumerate() {
        if !KEYWORD.is_match(keyword) {
            r.at(
                &format!("plugin.keywords[{i}]"),
                "manifest::keyword",
                format!("keyword `{keyword}` must match `^[a-z0-9-]{{1,32}}$`"),
                Some(format!("try `{}`", slugify(keyword))),
            );
        }
    }
}

/// Most screenshots a manifest may declare.
pub const MAX_SCREENSHOTS: usize = 8;

/// File extensions a screenshot may have; the registry also checks the bytes.
pub const SCREENSHOT_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif"];

fn screenshot_rules(r: &mut Reader<'_>, shots: &[String]) {
    if shots.len() > MAX_SCREENSHOTS {
        r.at(
            "plugin.screenshots",
            "manifest::screenshot",
            format!(
                "at most {MAX_SCREENSHOTS} screenshots are allowed, found {}",
                shots.len()
            ),
            None,
        );
    }
    for (i, shot) in shots.iter().enumerate() {
        let path = format!("plugin.screenshots[{i}]");
        package_path_rule(r, &path, shot);
        let extension = shot.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        if !extension.is_some_and(|e| SCREENSHOT_EXTENSIONS.contains(&e.as_str())) {
            r.at(
                &path,
                "manifest::screenshot",
                format!("screenshot `{shot}` is not a PNG, JPEG, WebP or GIF file"),
                Some(format!(
                    "use a file ending in .{}",
                    SCREENSHOT_EXTENSIONS.join(", .")
                )),
            );
        }
    }
}

/// Each screenshot the manifest declares must be a file of the plugin.
pub(super) fn missing_screenshots(
    reader: &mut Reader<'_>,
    files: &dyn PluginFiles,
    shots: &[String],
) {
    for (i, shot) in shots.iter().enumerate() {
        if check_package_path(shot).is_err() {
            continue;
        }
        let (dir, name) = shot.rsplit_once('/').unwrap_or((".", shot.as_str()));
        let listed = files.list(dir);
        if !listed.is_some_and(|names| names.iter().any(|n| n == name)) {
            reader.at(
                &format!("plugin.screenshots[{i}]"),
                "manifest::screenshot",
                format!("screenshot `{shot}` is not a file of the plugin"),
                Some("add the image, or remove it from `plugin.screenshots`".into()),
            );
        }
    }
}

fn slugify(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(32)
        .collect()
}

/// Does `id` satisfy the plugin id rules?
pub fn is_valid_plugin_id(id: &str) -> bool {
    plugin_id_problem(id).is_none()
}

/// Tables the platform keeps in every tenant's data space. A plugin's tables are named
/// `<id with - as _>_…`, so no plugin id may be a prefix of one of these at a `_` boundary
/// (`plugin` would own `plugin_installs`): such ids are reserved, derived from this list.
/// A new platform table is named `plexica_…` (the id `plexica` is reserved), so that no
/// plugin installed today can ever own it; the core API's tests check that this list names
/// every table a tenant's data space has.
pub const PLATFORM_TABLES: &[&str] = &[
    "users",
    "roles",
    "user_roles",
    "workspaces",
    "workspace_members",
    "teams",
    "team_members",
    "outbox",
    "plugin_installs",
    "plugin_migrations",
    "plugin_tables",
    "plugin_permissions",
    "workspace_plugin_settings",
    "shared_namespaces",
    "shared_values",
];

/// Ids whose table prefix names something of the platform or of the database itself.
fn reserved_id(id: &str) -> Option<&'static str> {
    let prefix = format!("{}_", id.replace('-', "_"));
    // `pg_…` names resolve to PostgreSQL's system catalogs when unqualified, and SQLite
    // reserves `sqlite_…`.
    let database = ["pg", "sqlite"].iter().any(|r| {
        id.strip_prefix(r)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
    });
    if database {
        Some("is reserved: its tables would be named like the database's own (`pg_…`, `sqlite_…`)")
    } else if id == "plexica"
        || id.starts_with("plexica-")
        || PLATFORM_TABLES.iter().any(|t| t.starts_with(&prefix))
    {
        Some("is reserved: its tables would be named like the platform's own")
    } else {
        None
    }
}

/// The first plugin id rule `id` breaks, said as the end of "plugin id `…` …".
fn plugin_id_problem(id: &str) -> Option<&'static str> {
    if !PLUGIN_ID.is_match(id) {
        Some("must match `^[a-z][a-z0-9-]{1,62}$`")
    } else if id.contains("--") {
        Some("may not contain `--`")
    } else if id.ends_with('-') {
        Some("may not end with `-`")
    } else {
        reserved_id(id)
    }
}

fn check_plugin_id(r: &mut Reader<'_>, path: &str, id: &str) {
    let problem = plugin_id_problem(id);
    if let Some(problem) = problem {
        let suggestion = slugify(id)
            .split('-')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let help = (suggestion != id && PLUGIN_ID.is_match(&suggestion))
            .then(|| format!("did you mean `{suggestion}`?"));
        r.at(
            path,
            "manifest::plugin-id",
            format!("plugin id `{id}` {problem}"),
            help,
        );
    }
}

fn url_rule(r: &mut Reader<'_>, path: &str, text: &str, https_only: bool) {
    let ok = url::Url::parse(text).is_ok_and(|u| {
        (u.scheme() == "https" || (!https_only && u.scheme() == "http")) && u.host().is_some()
    });
    if !ok {
        let schemes = if https_only { "https" } else { "http or https" };
        r.at(
            path,
            "manifest::url",
            format!("`{text}` is not an {schemes} URL"),
            None,
        );
    }
}

/// A path inside the package: relative, normalized, staying inside the plugin directory.
fn package_path_rule(r: &mut Reader<'_>, path: &str, value: &str) {
    if let Err(problem) = check_package_path(value) {
        r.at(
            path,
            "manifest::path",
            format!("`{value}` {problem}"),
            Some("write a relative path with `/` separators, such as `bin/crm`".into()),
        );
    }
}

/// Checks that `value` is a relative, normalized path that stays inside its root.
pub fn check_package_path(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("is empty");
    }
    if value.starts_with('/') || value.starts_with('\\') || value.get(1..2) == Some(":") {
        return Err("must be relative, not absolute");
    }
    if value.contains('\\') || value.contains('\0') {
        return Err("may only use `/` as separator");
    }
    for segment in value.split('/') {
        match segment {
            ".." => return Err("may not leave the plugin directory (`..`)"),
            "" | "." => return Err("is not normalized (empty or `.` segment)"),
            _ => {}
        }
    }
    Ok(())
}

fn route_rule(r: &mut Reader<'_>, path: &str, code: &str, route: &str) {
    if !ROUTE.is_match(route) {
        r.at(
            path,
            code,
            format!("`{route}` is not a route: it must start with `/` and use URL-safe characters"),
            None,
        );
    }
}

fn backend_rules(r: &mut Reader<'_>, b: &Backend) {
    package_path_rule(r, "backend.entry", &b.entry);
    if let Some(artifact) = &b.artifact {
        package_path_rule(r, "backend.artifact", artifact);
        let rest = artifact.replace(BuildProfile::PLACEHOLDER, "");
        if rest.contains('{') || rest.contains('}') {
            r.at(
                "backend.artifact",
                "manifest::placeholder",
                format!("`{artifact}` has a placeholder other than `{{profile}}`"),
                Some("`{profile}` (`debug` or `release`) is the only placeholder, e.g. `target/{profile}/crm`".into()),
            );
        }
    }
    if let Some(migrations) = &b.migrations {
        package_path_rule(r, "backend.migrations", migrations);
    }
    route_rule(r, "backend.health", "manifest::route", &b.health);
}

/// Paths of the console itself (its pages, the API, the files it serves): no plugin route
/// may be one of them or lie below one.
pub const CONSOLE_PATHS: &[&str] = &[
    "/admin",
    "/platform",
    "/api",
    "/plugins",
    "/_console",
    "/health",
    "/metrics",
    "/.well-known",
];

/// Is `route` one of the console's own paths, or below one ([`CONSOLE_PATHS`], and `/`)?
pub fn is_console_path(route: &str) -> bool {
    console_path(route).is_some()
}

/// The console path `route` is or lies below, if any (`/` is the console's dashboard).
fn console_path(route: &str) -> Option<&'static str> {
    let trimmed = route.trim_end_matches('/');
    if trimmed.is_empty() {
        return Some("/");
    }
    CONSOLE_PATHS.iter().copied().find(|owned| {
        trimmed == *owned
            || trimmed
                .strip_prefix(owned)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// A plugin route at `path` must not be the console's own.
fn not_console_path(r: &mut Reader<'_>, path: &str, route: &str) {
    if let Some(owned) = console_path(route) {
        r.at(
            path,
            "manifest::reserved-route",
            format!("`{route}` is the console's own (`{owned}`): plugins' pages live elsewhere"),
            Some("use a path of your own, such as `/<plugin id>`".into()),
        );
    }
}

fn frontend_rules(r: &mut Reader<'_>, f: &Frontend, declared: &HashSet<&str>) {
    package_path_rule(r, "frontend.dist", &f.dist);
    package_path_rule(r, "frontend.remote-entry", &f.remote_entry);
    // The console puts it in a URL as written: nothing a browser would decode or resolve.
    if !f
        .remote_entry
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
    {
        r.at(
            "frontend.remote-entry",
            "manifest::path",
            format!(
                "`{}` may only use letters, digits, `.`, `_`, `-` and `/` (it is part of a URL)",
                f.remote_entry
            ),
            Some("name the built entry plainly, such as `remoteEntry.js`".into()),
        );
    }
    if let Some(prefix) = &f.route_prefix {
        if !ROUTE_PREFIX.is_match(prefix) {
            r.at(
                "frontend.route-prefix",
                "manifest::route-prefix",
                format!("route prefix `{prefix}` must match `^/[a-z0-9-/]*$`"),
                Some(format!(
                    "try `/{}`",
                    slugify(prefix.trim_start_matches('/'))
                )),
            );
        } else {
            not_console_path(r, "frontend.route-prefix", prefix);
        }
    }
    let mut names = HashSet::new();
    for (i, module) in f.modules.iter().enumerate() {
        let base = format!("frontend.modules[{i}]");
        if !MODULE_NAME.is_match(&module.name) {
            r.at(
                &format!("{base}.name"),
                "manifest::module-name",
                format!(
                    "module name `{}` must match `^[A-Za-z][A-Za-z0-9]*$`",
                    module.name
                ),
                None,
            );
        } else if !names.insert(module.name.as_str()) {
            r.at(
                &format!("{base}.name"),
                "manifest::duplicate-module",
                format!("module `{}` is declared twice", module.name),
                None,
            );
        }
        if let Some(point) = &module.extension_point
            && !EXTENSION_POINTS.contains(&point.as_str())
        {
            let help = closest(point, EXTENSION_POINTS.iter().copied())
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| format!("extension points: {}", EXTENSION_POINTS.join(", ")));
            r.at(
                &format!("{base}.extension-point"),
                "manifest::extension-point",
                format!("`{point}` is not a known extension point"),
                Some(help),
            );
        }
        if let Some(permission) = &module.permission {
            declared_permission(r, &format!("{base}.permission"), permission, declared);
        }
        match (&module.route, module.kind) {
            (None, ModuleKind::Page) if r.spans.get(&format!("{base}.kind")).is_some() => r.at(
                &format!("{base}.kind"),
                "manifest::page-route",
                format!("page `{}` needs a `route`", module.name),
                Some("add `route = \"/…\"` to the module".into()),
            ),
            (Some(route), _) => {
                route_rule(r, &format!("{base}.route"), "manifest::page-route", route);
                not_console_path(r, &format!("{base}.route"), route);
                if let Some(prefix) = &f.route_prefix
                    && ROUTE_PREFIX.is_match(prefix)
                    && !route.starts_with(prefix.as_str())
                {
                    r.at(
                        &format!("{base}.route"),
                        "manifest::page-route",
                        format!("route `{route}` is outside the plugin's route prefix `{prefix}`"),
                        None,
                    );
                }
            }
            _ => {}
        }
    }
}

/// `permission` (at `path`) names one of the plugin's `[[permissions]]`.
fn declared_permission(r: &mut Reader<'_>, path: &str, permission: &str, declared: &HashSet<&str>) {
    if declared.contains(permission) {
        return;
    }
    let help = closest(permission, declared.iter().copied())
        .map(|c| format!("did you mean `{c}`?"))
        .or_else(|| Some("declare it in a `[[permissions]]` table".into()));
    r.at(
        path,
        "manifest::unknown-permission",
        format!("permission `{permission}` is not declared in `[[permissions]]`"),
        help,
    );
}

fn permissions<'m>(r: &mut Reader<'_>, permissions: &'m [Permission]) -> HashSet<&'m str> {
    let mut declared = HashSet::new();
    for (i, p) in permissions.iter().enumerate() {
        let path = format!("permissions[{i}].key");
        let first = declared.insert(p.key.as_str());
        if !PERMISSION_KEY.is_match(&p.key) {
            r.at(
                &path,
                "manifest::permission-key",
                format!("permission `{}` must look like `resource:action` (`^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$`)", p.key),
                None,
            );
        } else if !first {
            r.at(
                &path,
                "manifest::duplicate-permission",
                format!("permission `{}` is declared twice", p.key),
                None,
            );
        }
    }
    declared
}

fn config(r: &mut Reader<'_>, fields: &[ConfigField]) {
    let mut keys = HashSet::new();
    for (i, field) in fields.iter().enumerate() {
        let base = format!("config[{i}]");
        if !CONFIG_KEY.is_match(&field.key) {
            r.at(
                &format!("{base}.key"),
                "manifest::config-key",
                format!(
                    "config key `{}` must match `^[a-z][a-zA-Z0-9_]*$`",
                    field.key
                ),
                None,
            );
        } else if !keys.insert(field.key.as_str()) {
            r.at(
                &format!("{base}.key"),
                "manifest::duplicate-config",
                format!("config key `{}` is declared twice", field.key),
                None,
            );
        }
        // An unknown `type` was already reported; its other rules depend on the type.
        if !r.reported_at(&format!("{base}.type")) {
            config_field(r, &base, field);
        }
    }
}

fn config_field(r: &mut Reader<'_>, base: &str, field: &ConfigField) {
    use ConfigType::*;
    let choice = matches!(field.kind, Select | Multiselect);
    if choice && field.options.is_empty() {
        let path = format!("{base}.type");
        r.at(
            &path,
            "manifest::config-options",
            format!("`{}` fields need `options`", type_name(field.kind)),
            Some("add `options = [\"…\", \"…\"]`".into()),
        );
        return;
    }
    if !choice && !field.options.is_empty() {
        r.at(
            &format!("{base}.options"),
            "manifest::config-options",
            "`options` only applies to `select` and `multiselect` fields",
            None,
        );
    }
    let bounded = matches!(field.kind, Integer | Number | String | Text);
    for (key, value) in [("min", field.min), ("max", field.max)] {
        if value.is_some() && !bounded {
            r.at(
                &format!("{base}.{key}"),
                "manifest::config-bounds",
                format!("`{key}` only applies to integer, number, string and text fields"),
                None,
            );
        }
    }
    if let (Some(min), Some(max)) = (field.min, field.max)
        && min > max
    {
        r.at(
            &format!("{base}.min"),
            "manifest::config-bounds",
            format!("`min` ({min}) is greater than `max` ({max})"),
            None,
        );
        return;
    }
    let pattern = field.pattern.as_deref().and_then(|pattern| {
        let path = format!("{base}.pattern");
        if field.kind != String {
            r.at(
                &path,
                "manifest::config-pattern",
                "`pattern` only applies to string fields",
                None,
            );
            return None;
        }
        if pattern.len() > MAX_PATTERN_LEN {
            r.at(
                &path,
                "manifest::config-pattern",
                format!(
                    "`pattern` is {} bytes long; at most {MAX_PATTERN_LEN} are allowed",
                    pattern.len()
                ),
                None,
            );
            return None;
        }
        match regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
        {
            Ok(re) => Some(re),
            Err(e) => {
                let reason = e.to_string().lines().last().unwrap_or_default().to_owned();
                r.at(
                    &path,
                    "manifest::config-pattern",
                    format!("`pattern` is not a valid regular expression: {reason}"),
                    None,
                );
                None
            }
        }
    });
    if let Some(default) = &field.default
        && let Err(problem) = check_config_value(field, pattern.as_ref(), default)
    {
        r.at(
            &format!("{base}.default"),
            "manifest::config-default",
            format!("default of `{}` {problem}", field.key),
            None,
        );
    }
}

fn type_name(kind: ConfigType) -> &'static str {
    match kind {
        ConfigType::String => "string",
        ConfigType::Text => "text",
        ConfigType::Secret => "secret",
        ConfigType::Integer => "integer",
        ConfigType::Number => "number",
        ConfigType::Boolean => "boolean",
        ConfigType::Select => "select",
        ConfigType::Multiselect => "multiselect",
        ConfigType::Json => "json",
    }
}

/// Checks a configuration value against its field's type, bounds, options and pattern; the
/// same check runs on defaults here and on tenants' values at install and update.
pub fn check_config_value(
    field: &ConfigField,
    pattern: Option<&Regex>,
    value: &serde_json::Value,
) -> Result<(), String> {
    use serde_json::Value;
    let in_bounds = |n: f64, what: &str| -> Result<(), String> {
        if let Some(min) = field.min
            && n < min
        {
            return Err(format!("has {what} {n}, below `min` {min}"));
        }
        if let Some(max) = field.max
            && n > max
        {
            return Err(format!("has {what} {n}, above `max` {max}"));
        }
        Ok(())
    };
    match (field.kind, value) {
        (ConfigType::String | ConfigType::Text | ConfigType::Secret, Value::String(s)) => {
            if field.kind != ConfigType::Secret {
                in_bounds(s.chars().count() as f64, "length")?;
            }
            match pattern {
                Some(re) if !re.is_match(s) => {
                    Err(format!("`{s}` does not match the field's `pattern`"))
                }
                _ => Ok(()),
            }
        }
        (ConfigType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {
            in_bounds(n.as_f64().unwrap_or_default(), "value")
        }
        (ConfigType::Number, Value::Number(n)) => {
            in_bounds(n.as_f64().unwrap_or_default(), "value")
        }
        (ConfigType::Boolean, Value::Bool(_)) | (ConfigType::Json, _) => Ok(()),
        (ConfigType::Select, Value::String(s)) => match field.options.contains(s) {
            true => Ok(()),
            false => Err(format!("`{s}` is not one of {}", choices(&field.options))),
        },
        (ConfigType::Multiselect, Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) if field.options.contains(s) => {}
                    other => {
                        return Err(format!("{other} is not one of {}", choices(&field.options)));
                    }
                }
            }
            Ok(())
        }
        (kind, _) => Err(format!("is not a valid `{}` value", type_name(kind))),
    }
}

/// A field's `options` for a message: `` `USD`, `EUR` or `GBP` ``.
fn choices(options: &[String]) -> String {
    match options {
        [] => "the field's `options` (it has none)".to_owned(),
        [one] => format!("`{one}`"),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(|o| format!("`{o}`")).collect();
            format!("{} or `{last}`", rest.join(", "))
        }
    }
}

fn dependencies(r: &mut Reader<'_>, own_id: Option<&str>, deps: &Dependencies) {
    for (section, map) in [("required", &deps.required), ("optional", &deps.optional)] {
        for id in map.keys() {
            let path = format!("dependencies.{section}.{id}#key");
            check_plugin_id(r, &path, id);
            if Some(id.as_str()) == own_id {
                r.at(
                    &path,
                    "manifest::dependency",
                    format!("`{id}` depends on itself"),
                    None,
                );
            }
        }
    }
    for id in deps.required.keys() {
        if deps.optional.contains_key(id) {
            r.at(
                &format!("dependencies.optional.{id}#key"),
                "manifest::dependency",
                format!("`{id}` is both a required and an optional dependency"),
                Some("keep it in one of the two tables".into()),
            );
        }
    }
    for (i, id) in deps.conflicts.iter().enumerate() {
        let path = format!("dependencies.conflicts[{i}]");
        check_plugin_id(r, &path, id);
        if deps.required.contains_key(id) || deps.optional.contains_key(id) {
            r.at(
                &path,
                "manifest::dependency",
                format!("`{id}` is both a dependency and a conflict"),
                None,
            );
        } else if Some(id.as_str()) == own_id {
            r.at(
                &path,
                "manifest::dependency",
                format!("`{id}` conflicts with itself"),
                None,
            );
        }
    }
}

fn event_name_help(name: &str, error: EventNameError) -> Option<String> {
    if error != EventNameError::UnknownCoreDomain {
        return None;
    }
    let mut segments: Vec<&str> = name.split('.').collect();
    let domain = closest(segments.get(1)?, CORE_DOMAINS.iter().copied())?;
    segments[1] = domain;
    Some(format!("did you mean `{}`?", segments.join(".")))
}

fn events(r: &mut Reader<'_>, own_id: Option<&str>, events: &Events) {
    let own_prefix = own_id.map(|id| format!("plugin.{id}."));
    for (i, name) in events.publishes.iter().enumerate() {
        let path = format!("events.publishes[{i}]");
        if let Err(e) = event_name::check_event_name(name) {
            r.at(
                &path,
                "manifest::event-name",
                format!("`{name}`: {}", e.message()),
                event_name_help(name, e),
            );
        } else if let Some(own_prefix) = &own_prefix
            && !name.starts_with(own_prefix.as_str())
        {
            let rest = name.splitn(3, '.').nth(2).unwrap_or("entity.action");
            r.at(
                &path,
                "manifest::event-publish-prefix",
                format!("a plugin may only publish its own events (`{own_prefix}…`), not `{name}`"),
                Some(format!("did you mean `{own_prefix}{rest}`?")),
            );
        }
    }
    for (i, pattern) in events.subscribes.iter().enumerate() {
        let path = format!("events.subscribes[{i}]");
        if let Err(e) = event_name::check_event_pattern(pattern) {
            r.at(
                &path,
                "manifest::event-name",
                format!("`{pattern}`: {}", e.message()),
                event_name_help(pattern, e),
            );
        } else if pattern.starts_with("core.")
            && !pattern.ends_with(".*")
            && CoreEvent::from_name(pattern).is_none()
        {
            let help = closest(pattern, CoreEvent::ALL.iter().map(|e| e.name()))
                .map(|c| format!("did you mean `{c}`?"))
                .or_else(|| Some("see the core events in the events-sdk documentation".into()));
            r.at(
                &path,
                "manifest::unknown-core-event",
                format!("the platform never emits `{pattern}`"),
                help,
            );
        }
    }
}

/// Is `name` a shared-data namespace of plugin `own_id`: `<id>` or `<id>.<name>`, lowercase
/// letters, digits, `-`, `_` and `.`, at most 128 characters?
pub fn is_own_namespace(own_id: &str, name: &str) -> bool {
    let rest = match name.strip_prefix(own_id) {
        Some("") => return true,
        Some(rest) => rest.strip_prefix('.'),
        None => None,
    };
    name.len() <= 128
        && rest.is_some_and(|r| {
            !r.is_empty()
                && r.split('.').all(|segment| {
                    !segment.is_empty()
                        && segment.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(&b)
                        })
                })
        })
}

fn shared(r: &mut Reader<'_>, own_id: Option<&str>, namespaces: &[SharedNamespace]) {
    let mut seen: HashSet<&str> = HashSet::new();
    for (i, ns) in namespaces.iter().enumerate() {
        let path = format!("shared[{i}].namespace");
        if let Some(own_id) = own_id
            && !is_own_namespace(own_id, &ns.namespace)
        {
            r.at(
                &path,
                "manifest::shared-namespace",
                format!(
                    "shared namespace `{}` must be `{own_id}` or `{own_id}.<name>`",
                    ns.namespace
                ),
                Some(format!("e.g. `{own_id}.stats`")),
            );
        } else if !seen.insert(&ns.namespace) {
            r.at(
                &path,
                "manifest::shared-namespace",
                format!("shared namespace `{}` is declared twice", ns.namespace),
                None,
            );
        }
        for (j, reader) in ns.read.iter().enumerate() {
            let path = format!("shared[{i}].read[{j}]");
            if !is_valid_plugin_id(reader) || Some(reader.as_str()) == own_id {
                r.at(
                    &path,
                    "manifest::shared-reader",
                    format!("`{reader}` is not another plugin's id"),
                    None,
                );
            }
        }
    }
}

fn services(
    r: &mut Reader<'_>,
    own_id: Option<&str>,
    services: &[Service],
    declared: &HashSet<&str>,
) {
    for (i, service) in services.iter().enumerate() {
        let base = format!("services[{i}]");
        if let Some(own_prefix) = own_id.map(|id| format!("{id}."))
            && !service
                .name
                .strip_prefix(&own_prefix)
                .is_some_and(|rest| KEYWORD.is_match(rest))
        {
            r.at(
                &format!("{base}.name"),
                "manifest::service-name",
                format!(
                    "service name `{}` must be `{own_prefix}<resource>`",
                    service.name
                ),
                Some(format!("e.g. `{own_prefix}contacts`")),
            );
        }
        let mut routes: HashMap<(HttpMethod, &str), usize> = HashMap::new();
        for (j, endpoint) in service.endpoints.iter().enumerate() {
            let ep = format!("{base}.endpoints[{j}]");
            if !ENDPOINT_PATH.is_match(&endpoint.path) {
                r.at(
                    &format!("{ep}.path"),
                    "manifest::endpoint-path",
                    format!(
                        "endpoint path `{}` must match `^/[A-Za-z0-9_\\-/:*]*$`",
                        endpoint.path
                    ),
                    None,
                );
            }
            if let Some(first) = routes.insert((endpoint.method, endpoint.path.as_str()), j) {
                r.at(
                    &format!("{ep}.path"),
                    "manifest::duplicate-endpoint",
                    format!(
                        "{} {} is already declared by endpoint {first} of this service",
                        endpoint.method.as_str(),
                        endpoint.path
                    ),
                    None,
                );
            }
            if let Some(permission) = &endpoint.permission {
                declared_permission(r, &format!("{ep}.permission"), permission, declared);
            }
        }
        service_callers(r, own_id, &base, &service.callers);
    }
}

/// `callers`: each another plugin's id, once. A plugin always reaches its own services, so
/// its own id is refused as a mistake.
fn service_callers(r: &mut Reader<'_>, own_id: Option<&str>, base: &str, callers: &[String]) {
    let mut seen: HashSet<&str> = HashSet::new();
    for (k, caller) in callers.iter().enumerate() {
        let path = format!("{base}.callers[{k}]");
        let problem = if Some(caller.as_str()) == own_id {
            Some(format!(
                "`{caller}` is this plugin: it always reaches its own services"
            ))
        } else if let Some(why) = plugin_id_problem(caller) {
            Some(format!("caller `{caller}` {why}"))
        } else if !seen.insert(caller) {
            Some(format!("caller `{caller}` is listed twice"))
        } else {
            None
        };
        if let Some(message) = problem {
            r.at(
                &path,
                "manifest::service-caller",
                message,
                Some("list the ids of the other plugins that may call this service".into()),
            );
        }
    }
}
