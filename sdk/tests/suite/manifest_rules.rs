//! Every manifest rule, broken on purpose, yields its own located diagnostic.

use plexica_sdk::diagnostic::{Diagnostic, Severity};
use plexica_sdk::manifest::{self, DirFiles, Manifest, PluginFiles};

const FULL: &str = include_str!("fixtures/full.toml");

fn errors(text: &str, files: Option<&dyn PluginFiles>) -> Vec<Diagnostic> {
    manifest::check(text, "plexica.toml", files)
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect()
}

/// Replaces the one occurrence of `from` in the full example with `to`.
fn edit(from: &str, to: &str) -> String {
    assert_eq!(
        FULL.matches(from).count(),
        1,
        "`{from}` must occur once in the fixture"
    );
    FULL.replacen(from, to, 1)
}

#[test]
fn the_full_example_of_the_spec_is_valid() {
    let checked = manifest::check(FULL, "plexica.toml", None);
    assert_eq!(checked.diagnostics, vec![], "{:#?}", checked.diagnostics);
    let m = checked.manifest.expect("valid manifest");
    assert_eq!(m.plugin.id, "crm");
    assert_eq!(m.plugin.version, semver::Version::new(1, 2, 0));
    assert_eq!(m.config[0].default, Some(serde_json::json!("USD")));
    assert_eq!(
        m.services[0].endpoints[0].permission.as_deref(),
        Some("contacts:read")
    );
    assert_eq!(m.services[0].callers, ["analytics", "billing"]);
    // The typed form round-trips through serde (registry and core API store it as JSON).
    let json = serde_json::to_string(&m).expect("serializes");
    let back: Manifest = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, m);
}

/// (what is broken, replace this, with this, expected code, text the span must cover)
const CASES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "syntax",
        "name = \"CRM\"",
        "name = \"CRM",
        "manifest::syntax",
        "",
    ),
    (
        "wrong type",
        "name = \"CRM\"",
        "name = 42",
        "manifest::wrong-type",
        "42",
    ),
    (
        "missing field",
        "name = \"CRM\"\n",
        "",
        "manifest::missing-field",
        "",
    ),
    (
        "unknown key",
        "icon = \"users\"",
        "icon = \"users\"\nlicence = \"MIT\"",
        "manifest::unknown-key",
        "licence",
    ),
    (
        "id pattern",
        "id = \"crm\"",
        "id = \"CRM\"",
        "manifest::plugin-id",
        "\"CRM\"",
    ),
    (
        "id double dash",
        "id = \"crm\"",
        "id = \"c--rm\"",
        "manifest::plugin-id",
        "\"c--rm\"",
    ),
    (
        "id trailing dash",
        "id = \"crm\"",
        "id = \"crm-\"",
        "manifest::plugin-id",
        "\"crm-\"",
    ),
    (
        "name length",
        "name = \"CRM\"",
        "name = \"\"",
        "manifest::plugin-name",
        "\"\"",
    ),
    (
        "version",
        "version = \"1.2.0\"",
        "version = \"1.2\"",
        "manifest::version",
        "\"1.2\"",
    ),
    (
        "description length",
        "description = \"Contacts and deals\"",
        "description = \"short\"",
        "manifest::description",
        "\"short\"",
    ),
    (
        "no authors",
        "authors = [\"Ada <ada@example.com>\"]",
        "authors = []",
        "manifest::authors",
        "[]",
    ),
    (
        "license",
        "license = \"MIT\"",
        "license = \"MIT-ish\"",
        "manifest::license",
        "\"MIT-ish\"",
    ),
    (
        "homepage url",
        "homepage = \"https://example.com/crm\"",
        "homepage = \"ftp://example.com\"",
        "manifest::url",
        "\"ftp://example.com\"",
    ),
    (
        "icon",
        "icon = \"users\"",
        "icon = \"Users!\"",
        "manifest::icon",
        "\"Users!\"",
    ),
    (
        "category",
        "categories = [\"crm\"]",
        "categories = [\"crn\"]",
        "manifest::category",
        "\"crn\"",
    ),
    (
        "keyword",
        "keywords = [\"sales\"]",
        "keywords = [\"Sales Team\"]",
        "manifest::keyword",
        "\"Sales Team\"",
    ),
    (
        "too many keywords",
        "keywords = [\"sales\"]",
        "keywords = [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\"]",
        "manifest::keyword",
        "[\"a\"",
    ),
    (
        "platform requirement",
        "plexica = \">=0.1, <2\"",
        "plexica = \"soon\"",
        "manifest::version-req",
        "\"soon\"",
    ),
    (
        "entry path",
        "entry = \"bin/crm\"",
        "entry = \"../bin/crm\"",
        "manifest::path",
        "\"../bin/crm\"",
    ),
    (
        "artifact placeholder",
        "artifact = \"target/release/crm\"",
        "artifact = \"target/{mode}/crm\"",
        "manifest::placeholder",
        "\"target/{mode}/crm\"",
    ),
    (
        "absolute dist",
        "dist = \"ui/dist\"",
        "dist = \"/ui/dist\"",
        "manifest::path",
        "\"/ui/dist\"",
    ),
    (
        "health route",
        "health = \"/_plexica/health\"",
        "health = \"health\"",
        "manifest::route",
        "\"health\"",
    ),
    (
        "route prefix",
        "route-prefix = \"/crm\"",
        "route-prefix = \"/CRM\"",
        "manifest::route-prefix",
        "\"/CRM\"",
    ),
    (
        "module name",
        "name = \"ContactsPage\"",
        "name = \"contacts-page\"",
        "manifest::module-name",
        "\"contacts-page\"",
    ),
    (
        "module kind",
        "kind = \"page\"",
        "kind = \"pgae\"",
        "manifest::module-kind",
        "\"pgae\"",
    ),
    (
        "extension point",
        "extension-point = \"sidebar.menu\"",
        "extension-point = \"sidebar.menus\"",
        "manifest::extension-point",
        "\"sidebar.menus\"",
    ),
    (
        "page without route",
        "route = \"/crm/contacts\"\n",
        "",
        "manifest::page-route",
        "\"page\"",
    ),
    (
        "page outside prefix",
        "route = \"/crm/contacts\"",
        "route = \"/other/contacts\"",
        "manifest::page-route",
        "\"/other/contacts\"",
    ),
    (
        "permission key",
        "default-role = \"viewer\"",
        "default-role = \"viewer\"\n[[permissions]]\nkey = \"contacts.write\"\ndescription = \"Write\"",
        "manifest::permission-key",
        "\"contacts.write\"",
    ),
    (
        "duplicate permission",
        "default-role = \"viewer\"",
        "default-role = \"viewer\"\n[[permissions]]\nkey = \"contacts:read\"\ndescription = \"again\"",
        "manifest::duplicate-permission",
        "\"contacts:read\"",
    ),
    (
        "role",
        "default-role = \"viewer\"",
        "default-role = \"owner\"",
        "manifest::role",
        "\"owner\"",
    ),
    (
        "config key",
        "key = \"currency\"",
        "key = \"Currency\"",
        "manifest::config-key",
        "\"Currency\"",
    ),
    (
        "duplicate config",
        "key = \"code\"",
        "key = \"currency\"",
        "manifest::duplicate-config",
        "\"currency\"",
    ),
    (
        "config type",
        "type = \"select\"",
        "type = \"choice\"",
        "manifest::config-type",
        "\"choice\"",
    ),
    (
        "select without options",
        "options = [\"USD\", \"EUR\", \"GBP\"]\n",
        "",
        "manifest::config-options",
        "\"select\"",
    ),
    (
        "bounds on boolean",
        "workspace-override = false",
        "workspace-override = false\n[[config]]\nkey = \"flag\"\ntype = \"boolean\"\nmin = 1",
        "manifest::config-bounds",
        "1",
    ),
    (
        "min above max",
        "min = 1\n",
        "min = 500\n",
        "manifest::config-bounds",
        "500",
    ),
    (
        "bad pattern",
        "pattern = \"^[A-Z]{3}$\"",
        "pattern = \"^[A-Z\"",
        "manifest::config-pattern",
        "\"^[A-Z\"",
    ),
    (
        "default outside options",
        "default = \"USD\"",
        "default = \"JPY\"",
        "manifest::config-default",
        "\"JPY\"",
    ),
    (
        "default above max",
        "default = 24",
        "default = 500",
        "manifest::config-default",
        "500",
    ),
    (
        "default against pattern",
        "default = \"ABC\"",
        "default = \"abc\"",
        "manifest::config-default",
        "\"abc\"",
    ),
    (
        "dependency requirement",
        "analytics = \"^1.0\"",
        "analytics = \"one\"",
        "manifest::version-req",
        "\"one\"",
    ),
    (
        "self dependency",
        "analytics = \"^1.0\"",
        "crm = \"^1.0\"",
        "manifest::dependency",
        "crm",
    ),
    (
        "required and optional",
        "billing = \">=2.1\"",
        "analytics = \">=2.1\"",
        "manifest::dependency",
        "analytics",
    ),
    (
        "conflict with dependency",
        "conflicts = [\"legacy-crm\"]",
        "conflicts = [\"billing\"]",
        "manifest::dependency",
        "\"billing\"",
    ),
    (
        "publish outside own prefix",
        "publishes = [\"plugin.crm.contact.created\"]",
        "publishes = [\"plugin.other.contact.created\"]",
        "manifest::event-publish-prefix",
        "\"plugin.other.contact.created\"",
    ),
    (
        "unknown core domain",
        "\"core.workspace.created\"",
        "\"core.usr.created\"",
        "manifest::event-name",
        "\"core.usr.created\"",
    ),
    (
        "bad wildcard",
        "\"plugin.billing.invoice.*\"",
        "\"plugin.billing.*.paid\"",
        "manifest::event-name",
        "\"plugin.billing.*.paid\"",
    ),
    (
        "service name",
        "name = \"crm.contacts\"",
        "name = \"contacts\"",
        "manifest::service-name",
        "\"contacts\"",
    ),
    (
        "endpoint method",
        "method = \"GET\"",
        "method = \"FETCH\"",
        "manifest::endpoint-method",
        "\"FETCH\"",
    ),
    (
        "endpoint path",
        "path = \"/contacts/:id\"",
        "path = \"contacts\"",
        "manifest::endpoint-path",
        "\"contacts\"",
    ),
    (
        "duplicate endpoint",
        "permission = \"contacts:read\"",
        "permission = \"contacts:read\"\n[[services.endpoints]]\nmethod = \"GET\"\npath = \"/contacts/:id\"",
        "manifest::duplicate-endpoint",
        "\"/contacts/:id\"",
    ),
    (
        "shared namespace of another plugin",
        "namespace = \"crm.stats\"",
        "namespace = \"billing.stats\"",
        "manifest::shared-namespace",
        "\"billing.stats\"",
    ),
    (
        "shared reader is the plugin itself",
        "read = [\"analytics\"]",
        "read = [\"crm\"]",
        "manifest::shared-reader",
        "\"crm\"",
    ),
    (
        "service caller is the plugin itself",
        "callers = [\"analytics\", \"billing\"]",
        "callers = [\"analytics\", \"crm\"]",
        "manifest::service-caller",
        "\"crm\"",
    ),
    (
        "service caller is not a plugin id",
        "callers = [\"analytics\", \"billing\"]",
        "callers = [\"analytics\", \"Billing Co\"]",
        "manifest::service-caller",
        "\"Billing Co\"",
    ),
    (
        "service caller listed twice",
        "callers = [\"analytics\", \"billing\"]",
        "callers = [\"analytics\", \"analytics\"]",
        "manifest::service-caller",
        "\"analytics\"",
    ),
    (
        "remote entry a browser would decode",
        "remote-entry = \"remoteEntry.js\"",
        "remote-entry = \"%2e%2e/x.js\"",
        "manifest::path",
        "\"%2e%2e/x.js\"",
    ),
    (
        "route prefix is the console's",
        "route-prefix = \"/crm\"",
        "route-prefix = \"/\"",
        "manifest::reserved-route",
        "\"/\"",
    ),
    (
        "a module's permission is undeclared",
        "permission = 'contacts:read'",
        "permission = 'contacts:edit'",
        "manifest::unknown-permission",
        "'contacts:edit'",
    ),
    (
        "undeclared permission",
        "permission = \"contacts:read\"",
        "permission = \"contacts:write\"",
        "manifest::unknown-permission",
        "\"contacts:write\"",
    ),
    (
        "hook path",
        "on-install = \"/_plexica/hooks/install\"",
        "on-install = \"install\"",
        "manifest::hook-path",
        "\"install\"",
    ),
];

#[test]
fn each_rule_broken_on_purpose_yields_its_own_located_diagnostic() {
    for (what, from, to, code, covers) in CASES {
        let text = edit(from, to);
        let errors = errors(&text, None);
        assert_eq!(
            errors.len(),
            1,
            "{what}: expected exactly one error, got {errors:#?}"
        );
        let d = &errors[0];
        assert_eq!(d.code, *code, "{what}: {d:#?}");
        assert_eq!(d.file, "plexica.toml");
        let spanned = &text[d.span.start..d.span.end];
        assert!(
            spanned.contains(covers),
            "{what}: span covers `{spanned}`, expected `{covers}`"
        );
        let line_text = text.lines().nth(d.line - 1).expect("line exists");
        let prefix: String = line_text.chars().take(d.column - 1).collect();
        assert_eq!(
            prefix.len()
                + text
                    .lines()
                    .take(d.line - 1)
                    .map(|l| l.len() + 1)
                    .sum::<usize>(),
            d.span.start,
            "{what}: line/column point at the span start"
        );
    }
}

#[test]
fn no_component_is_an_error() {
    let start = FULL.find("[backend]").expect("fixture has [backend]");
    let end = FULL
        .find("[[permissions]]")
        .expect("fixture has permissions");
    let text = format!("{}{}", &FULL[..start], &FULL[end..]);
    let codes: Vec<_> = errors(&text, None).into_iter().map(|d| d.code).collect();
    assert_eq!(codes, ["manifest::no-component"]);
}

#[test]
fn suggestions_name_the_closest_valid_value() {
    let text = edit("\"core.workspace.created\"", "\"core.usr.created\"");
    let d = &errors(&text, None)[0];
    assert_eq!(d.help.as_deref(), Some("did you mean `core.user.created`?"));
    let text = edit(
        "icon = \"users\"",
        "icon = \"users\"\nhompage = \"https://x.io\"",
    );
    let d = &errors(&text, None)[0];
    assert_eq!(d.help.as_deref(), Some("did you mean `homepage`?"));
    let text = edit("categories = [\"crm\"]", "categories = [\"anlytics\"]");
    assert_eq!(
        errors(&text, None)[0].help.as_deref(),
        Some("did you mean `analytics`?")
    );
}

#[test]
fn a_manifest_with_many_mistakes_reports_all_of_them() {
    let text = FULL
        .replace("name = \"CRM\"", "name = \"\"")
        .replace("version = \"1.2.0\"", "version = \"one\"")
        .replace("license = \"MIT\"", "license = 7")
        .replace("\"core.workspace.created\"", "\"core.usr.created\"")
        .replace("kind = \"page\"", "kind = \"pgae\"\ncolour = \"red\"")
        .replace(
            "permission = \"contacts:read\"",
            "permission = \"contacts:write\"",
        );
    let codes: Vec<_> = errors(&text, None).into_iter().map(|d| d.code).collect();
    for expected in [
        "manifest::plugin-name",
        "manifest::version",
        "manifest::wrong-type",
        "manifest::event-name",
        "manifest::module-kind",
        "manifest::unknown-key",
        "manifest::unknown-permission",
    ] {
        assert!(
            codes.contains(&expected.to_owned()),
            "missing {expected} in {codes:?}"
        );
    }
    assert!(codes.len() >= 7);
}

#[test]
fn warnings_do_not_fail() {
    let text = FULL
        .replace("homepage = \"https://example.com/crm\"\n", "")
        .replace("repository = \"https://example.com/crm.git\"\n", "")
        .replace("icon = \"users\"\n", "");
    let checked = manifest::check(&text, "plexica.toml", None);
    assert!(checked.manifest.is_some());
    let mut codes: Vec<_> = checked
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.code.as_str()))
        .collect();
    codes.sort();
    assert_eq!(codes, [(Severity::Warning, "manifest::missing-icon")]);
}

#[test]
fn json_form_has_the_documented_fields() {
    let text = edit("id = \"crm\"", "id = \"CRM\"");
    let json = serde_json::to_value(errors(&text, None)).expect("serializes");
    let d = &json[0];
    for field in [
        "code", "severity", "message", "file", "line", "column", "span", "help",
    ] {
        assert!(d.get(field).is_some(), "missing {field} in {d}");
    }
    assert_eq!(d["severity"], "error");
    assert_eq!(d["line"], 2);
    assert_eq!(d["column"], 6);
}

fn plugin_dir(migrations: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("migrations")).expect("mkdir");
    for (name, sql) in migrations {
        std::fs::write(dir.path().join("migrations").join(name), sql).expect("write");
    }
    dir
}

/// (migration files, expected code or "" for none, file the diagnostic names)
type MigrationCase = (
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
);

#[test]
fn migration_rules_look_at_the_files() {
    const GOOD: &str =
        "CREATE TABLE crm_contacts (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL);";
    let cases: &[MigrationCase] = &[
        (&[("0001_init.sql", GOOD)], "", ""),
        (
            &[("init.sql", GOOD)],
            "manifest::migration-name",
            "plexica.toml",
        ),
        (
            &[
                ("0002_a.sql", GOOD),
                ("0002_b.sql", "ALTER TABLE crm_contacts ADD x INT;"),
            ],
            "manifest::migration-order",
            "plexica.toml",
        ),
        (
            &[(
                "0001_init.sql",
                "CREATE TABLE users (id TEXT, workspace_id TEXT);",
            )],
            "manifest::migration-table",
            "migrations/0001_init.sql",
        ),
        (
            &[("0001_init.sql", "CREATE TABLE crm_contacts (id TEXT);")],
            "manifest::migration-workspace-id",
            "migrations/0001_init.sql",
        ),
        (
            &[(
                "0001_init.sql",
                "CREATE TABLE core.crm_contacts (id TEXT, workspace_id TEXT);",
            )],
            "manifest::migration-schema",
            "migrations/0001_init.sql",
        ),
    ];
    for (files, code, file) in cases {
        let dir = plugin_dir(files);
        let errors = errors(FULL, Some(&DirFiles(dir.path().to_path_buf())));
        if code.is_empty() {
            assert!(errors.is_empty(), "{errors:#?}");
            continue;
        }
        assert_eq!(errors.len(), 1, "{code}: {errors:#?}");
        assert_eq!(errors[0].code, *code);
        assert_eq!(errors[0].file, *file);
    }
    let missing = tempfile::tempdir().expect("tempdir");
    let errors = errors(FULL, Some(&DirFiles(missing.path().to_path_buf())));
    assert_eq!(errors[0].code, "manifest::migrations");
}

#[test]
fn strict_parse_lists_every_error() {
    let text =
        edit("id = \"crm\"", "id = \"CRM\"").replace("license = \"MIT\"", "license = \"??\"");
    let err = Manifest::parse(&text).expect_err("invalid");
    let message = err.to_string();
    assert!(message.starts_with("2 error(s)"), "{message}");
    assert!(message.contains("manifest::plugin-id") && message.contains("manifest::license"));
}

#[test]
fn ids_whose_tables_would_be_named_like_the_databases_own_are_reserved() {
    for id in ["pg", "pg-tools", "sqlite", "sqlite-sync"] {
        assert!(!manifest::is_valid_plugin_id(id), "{id}");
        let errors = errors(&edit("id = \"crm\"", &format!("id = \"{id}\"")), None);
        let reserved = errors
            .iter()
            .find(|d| d.code == "manifest::plugin-id")
            .unwrap_or_else(|| panic!("{id}: no plugin-id error in {errors:#?}"));
        assert!(reserved.message.contains("reserved"), "{reserved:#?}");
    }
    for id in ["pgadmin", "pgx", "sqlitebrowser", "crm-pg"] {
        assert!(manifest::is_valid_plugin_id(id), "{id}");
    }
}

#[test]
fn ids_whose_tables_would_be_named_like_the_platforms_own_are_reserved() {
    for id in [
        "plugin",
        "user",
        "workspace",
        "workspace-plugin",
        "team",
        "shared",
        "plexica",
        "plexica-tools",
    ] {
        assert!(!manifest::is_valid_plugin_id(id), "{id}");
        let errors = errors(&edit("id = \"crm\"", &format!("id = \"{id}\"")), None);
        let reserved = errors
            .iter()
            .find(|d| d.code == "manifest::plugin-id")
            .unwrap_or_else(|| panic!("{id}: no plugin-id error in {errors:#?}"));
        assert!(reserved.message.contains("platform"), "{reserved:#?}");
    }
    // Every id whose prefix would name a platform table is refused, whatever the table.
    for table in manifest::PLATFORM_TABLES {
        for (i, _) in table.match_indices('_') {
            let id = table[..i].replace('_', "-");
            assert!(!manifest::is_valid_plugin_id(&id), "{id} reaches {table}");
        }
    }
    for id in [
        "users-directory",
        "team-chat",
        "plugins-hub",
        "workspaces-x",
        "roles",
    ] {
        assert!(manifest::is_valid_plugin_id(id), "{id}");
    }
}

/// The `[backend]` of `text`, which must have no error.
fn valid_backend(text: &str) -> manifest::Backend {
    let checked = manifest::check(text, "plexica.toml", None);
    assert_eq!(checked.error_count(), 0, "{:#?}", checked.diagnostics);
    checked
        .manifest
        .and_then(|m| m.backend)
        .expect("a manifest with a backend")
}

#[test]
fn outbound_ports_are_tcp_ports_listed_once() {
    let ok = edit(
        "health = \"/_plexica/health\"",
        "health = \"/_plexica/health\"\noutbound-ports = [443, 8443]",
    );
    assert_eq!(valid_backend(&ok).outbound_ports, [443, 8443]);
    let bad = edit(
        "health = \"/_plexica/health\"",
        "health = \"/_plexica/health\"\noutbound-ports = [443, 0, 443, 70000, \"x\"]",
    );
    let found = errors(&bad, None);
    let ports: Vec<&str> = found
        .iter()
        .filter(|d| d.code == "manifest::outbound-port")
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(ports.len(), 3, "{found:#?}");
    assert!(
        ports.iter().any(|m| m.contains("listed twice")),
        "{ports:?}"
    );
    assert!(ports.iter().any(|m| m.contains("70000")), "{ports:?}");
    assert!(
        found.iter().any(|d| d.message.contains("an integer")),
        "{found:#?}"
    );
}

#[test]
fn backend_limits_are_positive_integers() {
    let ok = edit(
        "migrations = \"migrations\"\n",
        "migrations = \"migrations\"\n[backend.limits]\nmemory-mb = 256\nopen-files = 128\nprocesses = 64\n",
    );
    let limits = valid_backend(&ok).limits;
    assert_eq!(
        (
            limits.memory_mb,
            limits.open_files,
            limits.cpu_seconds,
            limits.processes
        ),
        (Some(256), Some(128), None, Some(64))
    );
    let bad = edit(
        "migrations = \"migrations\"\n",
        "migrations = \"migrations\"\n[backend.limits]\nmemory-mb = 0\ncpu-seconds = -5\nprocesses = 0\nthreads = 4\n",
    );
    let found = errors(&bad, None);
    let limits = found
        .iter()
        .filter(|d| d.code == "manifest::backend-limit")
        .count();
    assert_eq!(limits, 3, "{found:#?}");
    assert!(
        found.iter().any(|d| d.message.contains("threads")),
        "an unknown key is reported: {found:#?}"
    );
}

#[test]
fn the_artifact_names_the_profile_built() {
    use plexica_sdk::manifest::BuildProfile;
    let text = edit(
        "artifact = \"target/release/crm\"",
        "artifact = \"target/{profile}/crm\"",
    );
    let checked = manifest::check(&text, "plexica.toml", None);
    assert_eq!(checked.diagnostics, vec![], "{:#?}", checked.diagnostics);
    let backend = checked.manifest.and_then(|m| m.backend).expect("backend");
    assert_eq!(
        backend.artifact_for(BuildProfile::Debug).as_deref(),
        Some("target/debug/crm")
    );
    assert_eq!(
        backend.artifact_for(BuildProfile::Release).as_deref(),
        Some("target/release/crm")
    );
}

#[test]
fn a_bad_id_and_an_unknown_key_hide_no_other_problem() {
    let text = edit("id = \"crm\"", "id = \"Bad_Id\"\ncolour = \"red\"").replace(
        "subscribes = [",
        "subscribes = [\"core.workspace.craeted\", \"core.usr.created\", \"core.user.*\", ",
    );
    let found = errors(&text, None);
    let codes: Vec<&str> = found.iter().map(|d| d.code.as_str()).collect();
    for code in [
        "manifest::plugin-id",
        "manifest::unknown-key",
        "manifest::unknown-core-event",
        "manifest::event-name",
    ] {
        assert!(codes.contains(&code), "no {code} in {found:#?}");
    }
    let typo = found
        .iter()
        .find(|d| d.code == "manifest::unknown-core-event")
        .expect("the typo is reported");
    assert!(typo.message.contains("core.workspace.craeted"), "{typo:?}");
    assert_eq!(
        typo.help.as_deref(),
        Some("did you mean `core.workspace.created`?")
    );
    let domain = found
        .iter()
        .find(|d| d.code == "manifest::event-name")
        .expect("the unknown domain is reported");
    assert_eq!(
        domain.help.as_deref(),
        Some("did you mean `core.user.created`?")
    );
    // A wildcard over a known domain is fine; so is every event the platform emits.
    assert!(!found.iter().any(|d| d.message.contains("core.user.*")));
}

#[test]
fn every_core_event_may_be_subscribed_to() {
    use plexica_sdk::event_name::CoreEvent;
    let all: Vec<String> = CoreEvent::ALL
        .iter()
        .map(|e| format!("\"{}\"", e.name()))
        .collect();
    let text = FULL.replacen(
        "subscribes = [",
        &format!("subscribes = [{}, ", all.join(", ")),
        1,
    );
    assert_eq!(errors(&text, None), vec![]);
    for event in CoreEvent::ALL {
        assert_eq!(CoreEvent::from_name(event.name()), Some(event));
    }
}

#[test]
fn screenshots_are_images_of_the_plugin_and_few() {
    let with = |list: &str| edit("keywords = ", &format!("screenshots = {list}\nkeywords = "));
    let codes = |text: &str, files: Option<&dyn PluginFiles>| {
        errors(text, files)
            .into_iter()
            .map(|d| (d.code, d.message))
            .collect::<Vec<_>>()
    };
    assert_eq!(codes(&with("[\"docs/a.png\", \"b.JPG\"]"), None), vec![]);
    let found = codes(&with("[\"docs/a.svg\", \"../a.png\"]"), None);
    assert!(
        found
            .iter()
            .any(|(c, m)| c == "manifest::screenshot" && m.contains("docs/a.svg")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|(c, _)| c == "manifest::path"),
        "{found:?}"
    );
    let nine = format!(
        "[{}]",
        (0..9)
            .map(|i| format!("\"s{i}.png\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(
        codes(&with(&nine), None)
            .iter()
            .any(|(_, m)| m.contains("at most 8 screenshots")),
    );

    // With the plugin's files at hand, a listed screenshot must be one of them.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("docs")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("migrations")).expect("mkdir");
    std::fs::write(dir.path().join("docs/a.png"), b"png").expect("write");
    let files = DirFiles(dir.path().to_path_buf());
    assert_eq!(codes(&with("[\"docs/a.png\"]"), Some(&files)), vec![]);
    let missing = codes(&with("[\"docs/a.png\", \"docs/b.png\"]"), Some(&files));
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(
        missing[0]
            .1
            .contains("`docs/b.png` is not a file of the plugin")
    );
}

#[test]
fn a_value_outside_a_selects_options_is_told_which_ones_there_are() {
    let text = edit("default = \"USD\"", "default = \"JPY\"");
    let found = errors(&text, None);
    assert_eq!(
        found[0].message,
        "default of `currency` `JPY` is not one of `USD`, `EUR` or `GBP`"
    );
}
