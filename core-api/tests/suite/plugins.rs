//! Plugins in a tenant, against a real registry: install (version resolution, verification,
//! dependencies, configuration, migrations), activation, configuration, upgrade, uninstall and
//! workspace settings — on SQLite and on PostgreSQL.

use crate::common;
#[path = "plugins/dev.rs"]
mod dev;
#[path = "plugins/failures.rs"]
mod failures;
#[path = "plugins/sandbox.rs"]
mod sandbox;

use common::registry::on_both_backends_with_registry;
use common::registry::{TestRegistry, borrowed, frontend_plugin, manifest, signed, unsigned};
use common::{TestCore, assert_error};
use plexica_core_api::db::Backend;
use plexica_core_api::slug::TenantSlug;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The end of every Python test backend: answers its health route (and any POST, such as
/// hooks) on `PLEXICA_PLUGIN_LISTEN` until stopped. A script is its own lines, then these.
const HEALTH_SERVER: &str = r#"
import os as _os, socketserver as _socketserver
from http.server import BaseHTTPRequestHandler as _Handler

class Health(_Handler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")
    def do_POST(self):
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass

_listen = _os.environ["PLEXICA_PLUGIN_LISTEN"]
if _listen.startswith("unix:"):
    _socketserver.UnixStreamServer(_listen[len("unix:"):], Health).serve_forever()
else:
    _host, _port = _listen.rsplit(":", 1)
    _socketserver.TCPServer((_host, int(_port)), Health).serve_forever()
"#;

/// `crm` at `version`: a workspace-aware backend plugin with `migrations` (name, SQL).
fn crm(version: &str, migrations: &[(&str, &str)], currencies: &str) -> Vec<(String, String)> {
    let mut text = manifest("crm", version, "workspace-aware = true");
    text.push_str(&format!(
        "[backend]\nentry = \"bin/crm\"\nmigrations = \"migrations\"\n\
         [[permissions]]\nkey = \"contacts:read\"\ndescription = \"Read contacts\"\n\
         default-role = \"viewer\"\n\
         [[config]]\nkey = \"currency\"\ntype = \"select\"\noptions = [{currencies}]\n\
         default = \"USD\"\nworkspace-override = true\n\
         [[config]]\nkey = \"apiKey\"\ntype = \"secret\"\nrequired = true\n\
         [[config]]\nkey = \"refresh\"\ntype = \"integer\"\nmin = 60\nmax = 3600\ndefault = 60\n"
    ));
    let mut files = vec![
        ("plexica.toml".to_owned(), text),
        ("bin/crm".to_owned(), "#!/bin/sh\nexit 3\n".to_owned()),
    ];
    files.extend(
        migrations
            .iter()
            .map(|(name, sql)| (format!("migrations/{name}"), (*sql).to_owned())),
    );
    files
}

const CONTACTS: (&str, &str) = (
    "0001_contacts.sql",
    "CREATE TABLE crm_contacts (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, name TEXT NOT NULL);",
);
const DEALS: (&str, &str) = (
    "0002_deals.sql",
    "CREATE TABLE crm_deals (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL,\n\
     contact_id TEXT REFERENCES crm_contacts (id));",
);
const SEED: (&str, &str) = (
    "0003_seed.sql",
    "CREATE INDEX crm_contacts_name ON crm_contacts (name);\n\
     INSERT INTO crm_contacts (id, workspace_id, name) VALUES ('seed', 'none', 'Seed');",
);
const NOTES: (&str, &str) = (
    "0004_notes.sql",
    "CREATE TABLE crm_notes (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, body TEXT NOT NULL);",
);
const CURRENCIES: &str = "\"USD\", \"EUR\", \"GBP\"";

/// The tables of tenant `slug`'s data space, sorted (on PostgreSQL also those in the schema of
/// plugin `crm`).
async fn tables(core: &TestCore, slug: &str) -> Vec<String> {
    let state = core.api.state();
    let db = state
        .tenant_dbs
        .get(&TenantSlug::parse(slug).expect("slug"))
        .await
        .expect("tenant db");
    let query = match state.tenant_dbs.backend() {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        Backend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema IN (current_schema(), $1)"
        }
    };
    let mut query = sqlx::query_scalar::<_, String>(query);
    if let Some(schema) = db.plugin_space("crm").schema() {
        query = query.bind(schema.to_owned());
    }
    let mut names = query.fetch_all(db.pool()).await.expect("tables");
    names.sort();
    names
}

/// Types of tenant `slug`'s outbox events, oldest first.
async fn event_types(core: &TestCore, slug: &str) -> Vec<String> {
    let state = core.api.state();
    let db = state
        .tenant_dbs
        .get(&TenantSlug::parse(slug).expect("slug"))
        .await
        .expect("tenant db");
    common::outbox(db.pool())
        .await
        .into_iter()
        .map(|(_, e)| e.r#type)
        .collect()
}

fn plugin_tables(all: &[String]) -> Vec<&str> {
    all.iter()
        .map(String::as_str)
        .filter(|t| t.starts_with("crm_"))
        .collect()
}

on_both_backends_with_registry!(lifecycle, |core, registry| {
    let t = core.tenant("acme").await;
    let token = &t.admin_token;
    registry
        .publish_files(&borrowed(&crm(
            "1.0.0",
            &[CONTACTS, DEALS, SEED],
            CURRENCIES,
        )))
        .await;
    let base = "/api/v1/tenants/acme/plugins";
    let (status, catalog) = core.get("/api/v1/plugins?q=crm", token).await;
    assert_eq!(status, StatusCode::OK, "{catalog}");
    assert_eq!(catalog["plugins"][0]["id"], "crm", "{catalog}");

    // Configuration: every rule refused with its field, all at once; nothing installed.
    let (status, body) = core
        .post(
            base,
            token,
            json!({ "id": "crm", "config": { "currency": "JPY", "refresh": 10, "colour": 1 } }),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "CONFIG_INVALID",
    );
    let keys: Vec<&str> = body["error"]["details"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["key"].as_str())
        .collect();
    assert_eq!(keys, ["colour", "currency", "apiKey", "refresh"], "{body}");
    assert!(plugin_tables(&tables(&core, "acme").await).is_empty());

    // Install: defaults applied, the secret redacted, three migrations applied and tracked.
    let (status, body) = core
        .post(
            base,
            token,
            json!({ "id": "crm", "config": { "apiKey": "s3cr3t-value" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["version"], "1.0.0");
    assert_eq!(body["state"], "INSTALLED");
    assert_eq!(
        body["config"],
        json!({ "currency": "USD", "apiKey": "********", "refresh": 60 })
    );
    assert_eq!(
        body["migrations"],
        json!(["0001_contacts.sql", "0002_deals.sql", "0003_seed.sql"])
    );
    assert_eq!(body["permissions"], json!(["contacts:read"]));
    assert_eq!(
        plugin_tables(&tables(&core, "acme").await),
        ["crm_contacts", "crm_deals"]
    );
    assert!(
        event_types(&core, "acme")
            .await
            .contains(&"core.plugin.installed".to_owned())
    );
    let (status, body) = core.post(base, token, json!({ "id": "crm" })).await;
    assert_error(
        status,
        &body,
        StatusCode::CONFLICT,
        "PLUGIN_ALREADY_INSTALLED",
    );

    // Every read redacts the secret.
    let (status, list) = core.get(base, token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.to_string().contains("s3cr3t"), "{list}");
    let (_, one) = core.get(&format!("{base}/crm"), token).await;
    assert_eq!(one["config"]["apiKey"], "********");

    // Configuration updates are validated; a redacted secret sent back keeps its value.
    let (status, body) = core
        .patch(
            &format!("{base}/crm/config"),
            token,
            json!({ "config": { "refresh": 7200 } }),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "CONFIG_INVALID",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("refresh")
    );
    let (status, body) = core
        .patch(
            &format!("{base}/crm/config"),
            token,
            json!({ "config": { "currency": "EUR", "apiKey": "********" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["config"]["currency"], "EUR");
    let stored = core
        .api
        .state()
        .tenant_dbs
        .get(&TenantSlug::parse("acme").expect("slug"))
        .await
        .expect("db")
        .plugin_install("crm")
        .await
        .expect("read")
        .expect("installed");
    assert_eq!(stored.config["apiKey"], "s3cr3t-value");

    // Workspace settings: only `workspace-override` fields, validated; effective values merged.
    let settings = "/api/v1/tenants/acme/workspaces/default/plugins/crm/settings";
    let (status, body) = core
        .call(
            reqwest::Method::PUT,
            settings,
            Some(token),
            Some(json!({ "overrides": { "refresh": 100 } })),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "SETTINGS_INVALID",
    );
    let (status, body) = core
        .call(
            reqwest::Method::PUT,
            settings,
            Some(token),
            Some(json!({ "overrides": { "currency": "GBP" } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["effective"]["currency"], "GBP");
    assert_eq!(body["effective"]["apiKey"], "********");
    let (_, body) = core.get(settings, token).await;
    assert_eq!(body["overrides"], json!({ "currency": "GBP" }));

    // The plugin itself reads its configuration, secrets included, with a workspace's
    // overrides when it names one; another tenant's install token reads nothing here.
    let store = &core.api.state().core;
    let own = plexica_core_api::auth::issue_install_token(store, "acme", "crm", 0)
        .await
        .expect("token");
    let (status, body) = core.get("/api/v1/tenants/acme/plugin-config", &own).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["apiKey"], "s3cr3t-value");
    assert_eq!(body["currency"], "EUR");
    let (_, body) = core
        .get("/api/v1/tenants/acme/plugin-config?workspace=default", &own)
        .await;
    assert_eq!(body["currency"], "GBP");
    core.tenant("bravo").await;
    let stranger = plexica_core_api::auth::issue_install_token(store, "bravo", "crm", 0)
        .await
        .expect("token");
    let (status, _) = core
        .get("/api/v1/tenants/acme/plugin-config", &stranger)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Activation of a backend that cannot start fails and changes nothing.
    let (status, body) = core
        .post(&format!("{base}/crm/activate"), token, json!({}))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_GATEWAY,
        "PLUGIN_START_FAILED",
    );
    let (_, one) = core.get(&format!("{base}/crm"), token).await;
    assert_eq!(one["state"], "INSTALLED");

    // Upgrade: only the new migration runs; the configuration is carried.
    registry
        .publish_files(&borrowed(&crm(
            "1.1.0",
            &[CONTACTS, DEALS, SEED, NOTES],
            CURRENCIES,
        )))
        .await;
    let (status, body) = core
        .post(&format!("{base}/crm/upgrade"), token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], "1.1.0");
    assert_eq!(body["config"]["currency"], "EUR");
    assert_eq!(body["migrations"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        plugin_tables(&tables(&core, "acme").await),
        ["crm_contacts", "crm_deals", "crm_notes"]
    );

    // An upgrade whose rules refuse the stored configuration is refused, with the reason.
    registry
        .publish_files(&borrowed(&crm(
            "1.2.0",
            &[CONTACTS, DEALS, SEED, NOTES],
            "\"USD\"",
        )))
        .await;
    let (status, body) = core
        .post(&format!("{base}/crm/upgrade"), token, json!({}))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "CONFIG_INVALID_FOR_UPGRADE",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("currency"),
        "{body}"
    );
    let (_, one) = core.get(&format!("{base}/crm"), token).await;
    assert_eq!(one["version"], "1.1.0");

    // Uninstall keeps the data; reinstalling does not run the migrations again.
    let (status, _) = core.delete(&format!("{base}/crm"), token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(plugin_tables(&tables(&core, "acme").await).len(), 3);
    let (status, body) = core
        .post(
            base,
            token,
            json!({ "id": "crm", "version_req": "=1.1.0", "config": { "apiKey": "k" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // With `purge` the tables and the history go; a fresh install starts over.
    let (status, _) = core.delete(&format!("{base}/crm?purge=true"), token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(plugin_tables(&tables(&core, "acme").await).is_empty());
    let (status, body) = core
        .post(
            base,
            token,
            json!({ "id": "crm", "version_req": "~1.1", "config": { "apiKey": "k" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["migrations"].as_array().map(Vec::len), Some(4));
    let types = event_types(&core, "acme").await;
    for wanted in [
        "core.plugin.configured",
        "core.plugin.upgraded",
        "core.plugin.uninstalled",
    ] {
        assert!(types.iter().any(|t| t == wanted), "{wanted} in {types:?}");
    }
});

on_both_backends_with_registry!(failed_migration_leaves_nothing, |core, registry| {
    let t = core.tenant("acme").await;
    let mut files = frontend_plugin("broken", "1.0.0", "");
    files[0].1 = manifest("broken", "1.0.0", "")
        + "[backend]\nentry = \"bin/broken\"\nmigrations = \"migrations\"\n";
    files.push(("bin/broken".into(), "#!/bin/sh\n".into()));
    files.push((
        "migrations/0001_items.sql".into(),
        "CREATE TABLE broken_items (id TEXT PRIMARY KEY);".into(),
    ));
    files.push((
        "migrations/0002_fill.sql".into(),
        "INSERT INTO broken_items (id) VALUES ('a');\nINSERT INTO broken_items (nope) VALUES (1);"
            .into(),
    ));
    registry.publish_files(&borrowed(&files)).await;
    let before = tables(&core, "acme").await;
    let events_before = event_types(&core, "acme").await;
    let (status, body) = core
        .post(
            "/api/v1/tenants/acme/plugins",
            &t.admin_token,
            json!({ "id": "broken" }),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "MIGRATION_FAILED",
    );
    assert_eq!(
        body["error"]["details"]["migration"], "0002_fill.sql",
        "{body}"
    );
    assert_eq!(tables(&core, "acme").await, before);
    assert_eq!(event_types(&core, "acme").await, events_before);
    let (_, list) = core
        .get("/api/v1/tenants/acme/plugins", &t.admin_token)
        .await;
    assert_eq!(list, json!([]));
});

on_both_backends_with_registry!(dependencies, |core, registry| {
    let t = core.tenant("acme").await;
    let token = &t.admin_token;
    let base = "/api/v1/tenants/acme/plugins";
    for (id, version) in [
        ("crm", "1.4.0"),
        ("billing", "2.0.0"),
        ("mail", "0.9.0"),
        ("legacy", "1.0.0"),
    ] {
        registry
            .publish_files(&borrowed(&frontend_plugin(id, version, "")))
            .await;
        let activate = id != "billing";
        let (status, body) = core
            .post(base, token, json!({ "id": id, "activate": activate }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{id}: {body}");
    }
    registry
        .publish_files(&borrowed(&frontend_plugin(
            "analytics",
            "1.0.0",
            "[dependencies]\nrequired = { crm = \"^2\", billing = \"^2\", search = \"^1\" }\n\
             optional = { mail = \">=1\" }\nconflicts = [\"legacy\"]\n",
        )))
        .await;
    let (status, body) = core.post(base, token, json!({ "id": "analytics" })).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "DEPENDENCIES_UNSATISFIED",
    );
    let kinds: Vec<(String, String)> = body["error"]["details"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap_or("").to_owned(),
                p["plugin"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("inactive", "billing"),
        ("version", "crm"),
        ("missing", "search"),
        ("optional-version", "mail"),
        ("conflict", "legacy"),
    ];
    assert_eq!(
        kinds,
        expected.map(|(k, p)| (k.to_owned(), p.to_owned())),
        "{body}"
    );

    // Satisfied: installs; then its requirement cannot be uninstalled or deactivated.
    registry
        .publish_files(&borrowed(&frontend_plugin(
            "reports",
            "1.0.0",
            "[dependencies]\nrequired = { crm = \"^1.2\" }\n",
        )))
        .await;
    let (status, body) = core
        .post(base, token, json!({ "id": "reports", "activate": true }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["state"], "ACTIVE");
    let (status, body) = core.delete(&format!("{base}/crm"), token).await;
    assert_error(status, &body, StatusCode::CONFLICT, "PLUGIN_REQUIRED");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("reports")
    );
    let (status, body) = core
        .post(&format!("{base}/crm/deactivate"), token, json!({}))
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "PLUGIN_REQUIRED");
    let (status, _) = core.delete(&format!("{base}/reports"), token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = core
        .post(&format!("{base}/crm/deactivate"), token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "INACTIVE");
    // A plugin whose required dependency is inactive cannot be activated.
    let (status, body) = core
        .post(base, token, json!({ "id": "reports", "activate": true }))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "DEPENDENCIES_UNSATISFIED",
    );
});

/// Packages the platform must refuse, each with its precise reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_unsigned_yanked_and_tampered_packages_are_refused() {
    let registry = TestRegistry::start(|c| c.require_signatures = false).await;
    let stranger = plexica_sdk::package::signing::SecretKey::generate();
    let url = registry.url.clone();
    let trusted = registry.key.public_key().to_line();
    let core = TestCore::start_with(common::Backend::Sqlite, |c| {
        c.registry_url = Some(url);
        c.trusted_keys = vec![trusted];
    })
    .await
    .expect("sqlite");
    let t = core.tenant("acme").await;
    let install = |body: Value| core.post("/api/v1/tenants/acme/plugins", &t.admin_token, body);

    registry
        .publish(unsigned(&borrowed(&frontend_plugin("plain", "1.0.0", ""))))
        .await;
    let (status, body) = install(json!({ "id": "plain" })).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "PACKAGE_UNSIGNED",
    );

    // Signed by a key the registry accepts (the publisher's) but the platform does not trust.
    let registered = plexica_testkit::registry::register_key(
        &reqwest::Client::new(),
        &registry.url,
        &registry.token,
        &stranger,
    )
    .await
    .expect("register a key");
    assert_eq!(registered, StatusCode::CREATED);
    registry
        .publish(signed(
            &stranger,
            &borrowed(&frontend_plugin("other", "1.0.0", "")),
        ))
        .await;
    let (status, body) = install(json!({ "id": "other" })).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "PACKAGE_UNTRUSTED_KEY",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("not trusted"),
        "{body}"
    );

    // A plugin for another version of the platform.
    let mut future = frontend_plugin("future", "1.0.0", "");
    future[0].1 = manifest("future", "1.0.0", "plexica = \">=9\"")
        + "[frontend]\ndist = \"ui\"\nremote-entry = \"remoteEntry.js\"\n";
    registry.publish_files(&borrowed(&future)).await;
    let (status, body) = install(json!({ "id": "future" })).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "PLATFORM_INCOMPATIBLE",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains(">=9"),
        "{body}"
    );

    // Yanked: skipped unless pinned exactly.
    registry
        .publish_files(&borrowed(&frontend_plugin("tool", "1.0.0", "")))
        .await;
    registry.yank("tool", "1.0.0").await;
    let (status, body) = install(json!({ "id": "tool" })).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "VERSION_NOT_FOUND");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("yanked"),
        "{body}"
    );
    let (status, body) = install(json!({ "id": "tool", "version_req": "=1.0.0" })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The registry serves other bytes than it listed: refused before anything is read.
    registry
        .publish_files(&borrowed(&frontend_plugin("swap", "1.0.0", "")))
        .await;
    let blobs = registry.dir.path().join("blobs");
    let mut swapped = 0;
    for entry in walk(&blobs) {
        let bytes = std::fs::read(&entry).expect("blob");
        if plexica_sdk::package::read_package(&bytes, &Default::default())
            .is_ok_and(|p| p.manifest_text.contains("id = \"swap\""))
        {
            let mut other = frontend_plugin("swap", "1.0.0", "");
            other[1].1 = "export default 2;\n".into();
            let tampered = signed(&registry.key, &borrowed(&other));
            std::fs::write(&entry, tampered).expect("tamper");
            swapped += 1;
        }
    }
    assert_eq!(swapped, 1);
    let (status, body) = install(json!({ "id": "swap" })).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "PACKAGE_DIGEST_MISMATCH",
    );
    let (_, list) = core
        .get("/api/v1/tenants/acme/plugins", &t.admin_token)
        .await;
    let ids: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, ["tool"]);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Migrations that reach outside the plugin's own tables are refused when the package is
/// verified, before anything runs (the registry refuses them too; this is the platform's own
/// check, for packages from a registry it does not control).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_outside_the_plugins_tables_are_refused_before_running() {
    use plexica_core_api::plugins::package::PackageStore;
    use plexica_core_api::registry::RegistryClient;
    let key = plexica_sdk::package::signing::SecretKey::generate();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PackageStore::new(
        dir.path().to_owned(),
        dir.path().join("unpacked"),
        vec![key.public_key()],
        false,
    );
    let unused = RegistryClient::new("http://127.0.0.1:9");
    let cases = [
        (
            "core",
            "CREATE TABLE crm_x (id TEXT);\nDELETE FROM core.tenants;",
        ),
        (
            "other tenant",
            "CREATE TABLE tenant_bravo.crm_contacts (id TEXT);",
        ),
        (
            "other plugin",
            "CREATE TABLE crm_x (id TEXT);\nDROP TABLE billing_invoices;",
        ),
        ("unprefixed", "CREATE TABLE contacts (id TEXT);"),
        ("platform table", "UPDATE users SET name = 'x';"),
        ("not DDL/DML", "ATTACH DATABASE 'other.db' AS other;"),
    ];
    for (what, sql) in cases {
        let files = crm("1.0.0", &[("0001_bad.sql", sql)], CURRENCIES);
        let bytes = signed_without_checks(&key, &unsigned(&borrowed(&files)), "crm", "1.0.0");
        let refused = store
            .verify(&unused, "crm", "1.0.0", bytes)
            .await
            .expect_err(what);
        assert_eq!(
            refused.code, "MANIFEST_INVALID",
            "{what}: {}",
            refused.message
        );
        assert!(
            refused.message.contains("migration"),
            "{what}: {}",
            refused.message
        );
    }
    let good = crm("1.0.0", &[CONTACTS], CURRENCIES);
    let verified = store
        .verify(&unused, "crm", "1.0.0", signed(&key, &borrowed(&good)))
        .await
        .expect("a good package passes");
    assert_eq!(verified.manifest.plugin.id, "crm");
    // A package whose files do not match its CHECKSUMS is refused as tampered.
    let tampered = {
        let bytes = signed(&key, &borrowed(&good));
        let package =
            plexica_sdk::package::read_package(&bytes, &Default::default()).expect("read");
        let mut files: Vec<(String, String)> = good.clone();
        files[1].1.push_str("# changed\n");
        let changed = unsigned(&borrowed(&files));
        let signature = package.signature_text.expect("signed");
        let checksums = package.checksums_text.expect("checksums");
        rewrite_checksums(&changed, &checksums, &signature)
    };
    let refused = store
        .verify(&unused, "crm", "1.0.0", tampered)
        .await
        .expect_err("tampered");
    assert_eq!(refused.code, "PACKAGE_TAMPERED", "{}", refused.message);
}

/// `bytes` signed by `key` as `id@version` without the checks `sign_package` makes (what a
/// hostile publisher's own tool could do).
fn signed_without_checks(
    key: &plexica_sdk::package::signing::SecretKey,
    bytes: &[u8],
    id: &str,
    version: &str,
) -> Vec<u8> {
    use plexica_sdk::package::signing::TrustedComment;
    let package = plexica_sdk::package::read_package(bytes, &Default::default()).expect("read");
    let comment = TrustedComment {
        id: id.to_owned(),
        version: version.to_owned(),
        key_id: key.id,
        timestamp: 1,
    };
    let checksums = package.checksums_text.expect("checksums");
    let signature = key.sign(checksums.as_bytes(), &comment.render());
    plexica_sdk::package::rewrite_with_signature(bytes, &signature.to_text()).expect("rewrite")
}

/// `bytes` with its `CHECKSUMS` replaced by `checksums` and signed with `signature`.
fn rewrite_checksums(bytes: &[u8], checksums: &str, signature: &str) -> Vec<u8> {
    use std::io::{Cursor, Read, Write};
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("entry");
        let name = file.name().to_owned();
        let mut data = Vec::new();
        file.read_to_end(&mut data).expect("read");
        let data = match name.as_str() {
            "CHECKSUMS" => checksums.as_bytes().to_vec(),
            _ => data,
        };
        out.start_file(name, options).expect("start");
        out.write_all(&data).expect("write");
    }
    out.start_file("SIGNATURE", options).expect("start");
    out.write_all(signature.as_bytes()).expect("write");
    out.finish().expect("finish").into_inner()
}
