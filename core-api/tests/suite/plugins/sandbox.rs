//! The database holds a plugin's SQL (security.md, "Plugin SQL"): SQL that a text checker
//! might miss — transaction control, `ATTACH`, platform tables, another plugin's or another
//! tenant's tables, role changes, functions that read other relations — runs through
//! `PluginSpace` on a real tenant data space and is refused by SQLite's authorizer or by
//! PostgreSQL's privileges, and nothing of the platform or of another tenant changes.

use std::os::unix::fs::PermissionsExt;

use plexica_core_api::db::DbError;
use plexica_core_api::db::tenant::TenantDb;

use super::*;

/// Everything an attack could have changed: per tenant, every platform table's row count, the
/// users with their password hashes and roles, the workspaces' descriptions; the core
/// database's signing keys and platform users.
async fn snapshot(core: &TestCore, slugs: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for slug in slugs {
        let db = core.tenant_db(slug).await;
        for table in plexica_sdk::manifest::PLATFORM_TABLES {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(db.pool())
                .await
                .expect(table);
            out.push(format!("{slug}.{table}: {n}"));
        }
        for query in [
            "SELECT u.email || ' ' || u.password_hash || ' ' || COALESCE(r.role, '-') \
             FROM users u LEFT JOIN user_roles r ON r.user_id = u.id ORDER BY 1",
            "SELECT slug || ' ' || COALESCE(description, '') FROM workspaces ORDER BY 1",
        ] {
            let rows: Vec<String> = sqlx::query_scalar(query)
                .fetch_all(db.pool())
                .await
                .expect(query);
            out.extend(rows.into_iter().map(|r| format!("{slug}: {r}")));
        }
    }
    let core_db = sqlx::AnyPool::connect(&core.database_url)
        .await
        .expect("core db");
    let postgres = core.api.state().tenant_dbs.backend() == Backend::Postgres;
    let schema = if postgres { "core." } else { "" };
    for table in ["signing_keys", "platform_users", "tenants", "sessions"] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {schema}{table}"))
            .fetch_one(&core_db)
            .await
            .expect(table);
        out.push(format!("core.{table}: {n}"));
    }
    core_db.close().await;
    out
}

/// Plugin `plugin`'s table `table` in `db`, as the data API sees it.
async fn own_table(
    db: &TenantDb,
    plugin: &str,
    table: &str,
) -> plexica_core_api::db::data::PluginTable {
    let backend = if db.plugin_space(plugin).schema().is_some() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    db.plugin_table(backend, plugin, table)
        .await
        .expect("catalog")
        .expect("own table")
}

/// Did the database keep the plugin's SQL from what it tried? Refused it (SQLite's authorizer,
/// PostgreSQL's privileges), or — on PostgreSQL — the name is not even in the plugin's world
/// (the tenant's schema is not on the plugin role's search path).
fn out_of_reach(error: &DbError) -> bool {
    match error {
        DbError::Refused(_) => true,
        DbError::Sql(sqlx::Error::Database(e)) => {
            matches!(e.code().as_deref(), Some("42P01" | "3F000"))
        }
        _ => false,
    }
}

/// Runs `sql` as a migration of `plugin` in tenant `slug`, committed when it succeeds;
/// answers the outcome and records the tables it created.
async fn migrate(core: &TestCore, slug: &str, plugin: &str, sql: &str) -> Result<(), DbError> {
    let db = core.tenant_db(slug).await;
    let mut tx = db.begin().await.expect("tx");
    let created = db.plugin_space(plugin).run_migration(&mut tx, sql).await?;
    TenantDb::record_migration(&mut tx, plugin, sql, "-", &created, 0)
        .await
        .expect("record");
    tx.commit([]).await.expect("commit");
    Ok(())
}

on_both_backends!(plugin_sql_is_held_by_the_database, |core| {
    core.tenant("acme").await;
    core.tenant("bravo").await;
    let backend = core.api.state().tenant_dbs.backend();
    let core_file = core.dir.path().join("core.db");
    for (plugin, sql) in [
        (
            "crm",
            "CREATE TABLE crm_contacts (id TEXT PRIMARY KEY, name TEXT)",
        ),
        (
            "billing",
            "CREATE TABLE billing_invoices (id TEXT PRIMARY KEY, total BIGINT)",
        ),
        (
            "crm-x",
            "CREATE TABLE crm_x_secrets (id TEXT PRIMARY KEY, secret TEXT)",
        ),
    ] {
        migrate(&core, "acme", plugin, sql).await.expect(sql);
        migrate(&core, "bravo", plugin, sql).await.expect(sql);
    }
    // What a plugin may do with its own tables still works.
    let serial = match backend {
        Backend::Sqlite => "INTEGER",
        Backend::Postgres => "BIGSERIAL",
    };
    let own = format!(
        "ALTER TABLE crm_contacts ADD COLUMN email TEXT;\n\
         CREATE INDEX crm_contacts_email ON crm_contacts (email);\n\
         CREATE TABLE crm_log (id {serial} PRIMARY KEY, line TEXT);\n\
         INSERT INTO crm_log (line) VALUES ('one');\n\
         INSERT INTO crm_contacts (id, name) SELECT 'c' || id, line FROM crm_log;\n\
         ALTER TABLE crm_log RENAME COLUMN line TO text;\n\
         DROP INDEX crm_contacts_email;\n\
         DROP TABLE crm_log;"
    );
    migrate(&core, "acme", "crm", &own)
        .await
        .expect("own tables");
    // The data API on tables linked by a foreign key: SQLite reads the other table of the
    // plugin for it, which the plugin's grant allows.
    migrate(
        &core,
        "acme",
        "crm",
        "CREATE TABLE crm_deals (id TEXT PRIMARY KEY, contact_id TEXT REFERENCES crm_contacts (id))",
    )
    .await
    .expect("linked table");
    {
        let db = core.tenant_db("acme").await;
        let contacts = own_table(&db, "crm", "crm_contacts").await;
        let deals = own_table(&db, "crm", "crm_deals").await;
        let (id, contact) = (json!("c-1"), json!("c-1"));
        let id_column = contacts.column("id").expect("id").clone();
        db.insert_row(&contacts, &[(&id_column, &id)])
            .await
            .expect("a contact");
        let deal_id = json!("d-1");
        let deal_column = deals.column("id").expect("id").clone();
        let contact_column = deals.column("contact_id").expect("contact_id").clone();
        db.insert_row(
            &deals,
            &[(&deal_column, &deal_id), (&contact_column, &contact)],
        )
        .await
        .expect("a deal of the contact");
        let removed = db.delete_rows(&deals, &[(&deal_column, &deal_id)]).await;
        assert_eq!(removed.expect("delete a deal"), 1);
        let removed = db.delete_rows(&contacts, &[(&id_column, &id)]).await;
        assert_eq!(removed.expect("delete a contact"), 1);
    }
    let mut before = snapshot(&core, &["acme", "bravo"]).await;

    let mut hostile: Vec<(&str, String)> = vec![
        (
            "platform table",
            "UPDATE user_roles SET role = 'admin'".into(),
        ),
        (
            "read a platform table",
            "INSERT INTO crm_contacts (id, name) SELECT id, password_hash FROM users".into(),
        ),
        ("drop a platform table", "DROP TABLE users".into()),
        (
            "hidden after a comment",
            "CREATE TABLE crm_y (id TEXT); /* ok */ DELETE FROM roles".into(),
        ),
        (
            "another plugin's table",
            "INSERT INTO crm_contacts (id, name) SELECT id, 'x' FROM billing_invoices".into(),
        ),
        (
            "a table under its prefix it does not own",
            "INSERT INTO crm_contacts (id, name) SELECT id, secret FROM crm_x_secrets".into(),
        ),
        (
            "index on a platform table",
            "CREATE INDEX crm_users_email ON users (email)".into(),
        ),
        (
            "rename a platform table",
            "ALTER TABLE users RENAME TO crm_users".into(),
        ),
    ];
    let other_plugin = core.tenant_db("acme").await.plugin_space("crm-x");
    let other_schema = other_plugin.schema().unwrap_or_default().to_owned();
    match backend {
        Backend::Sqlite => hostile.extend([
            ("commit, then write", "COMMIT; UPDATE user_roles SET role = 'admin'; BEGIN".into()),
            ("attach the core database", format!("ATTACH DATABASE '{}' AS c", core_file.display())),
            ("pragma", "PRAGMA writable_schema = ON".into()),
            ("savepoint", "SAVEPOINT s".into()),
            ("trigger", "CREATE TRIGGER crm_t AFTER INSERT ON crm_contacts BEGIN UPDATE users SET email = 'x'; END".into()),
            ("view", "CREATE VIEW crm_v AS SELECT * FROM users".into()),
            ("temporary table shadowing a platform one", "CREATE TEMP TABLE users (id TEXT)".into()),
            ("extension", "SELECT load_extension('/tmp/evil.so')".into()),
            ("the guard's own function", "SELECT plexica_connection_id()".into()),
            ("autoincrement counters", "UPDATE sqlite_sequence SET seq = 0".into()),
            ("unprefixed table", "CREATE TABLE contacts (id TEXT)".into()),
            ("squat another's table", "CREATE TABLE IF NOT EXISTS crm_x_secrets (id TEXT PRIMARY KEY, secret TEXT); DELETE FROM crm_x_secrets".into()),
        ]),
        Backend::Postgres => hostile.extend([
            ("commit, then write", "COMMIT; UPDATE user_roles SET role = 'admin'".into()),
            ("read the core schema through a function", "SELECT query_to_xml('SELECT * FROM core.signing_keys', true, true, '')".into()),
            ("the tenant's schema, qualified", "INSERT INTO crm_contacts (id, name) SELECT id, email FROM tenant_acme.users".into()),
            ("another tenant's schema", "INSERT INTO crm_contacts (id, name) SELECT id, email FROM tenant_bravo.users".into()),
            ("search_path to another tenant", "SET search_path = tenant_bravo; UPDATE users SET email = 'x'".into()),
            ("reset role", "RESET ROLE; UPDATE tenant_acme.users SET email = 'x'".into()),
            ("set role", "SET ROLE postgres".into()),
            ("session authorization", "SET SESSION AUTHORIZATION postgres".into()),
            ("role through set_config", "SELECT set_config('role', 'postgres', false)".into()),
            ("server files", "SELECT pg_read_file('/etc/hostname')".into()),
            ("programs", "COPY crm_contacts TO PROGRAM 'id'".into()),
            ("create in the tenant's schema", "CREATE TABLE tenant_acme.crm_z (id TEXT)".into()),
            ("alter the function that runs it", "ALTER FUNCTION plexica_sandbox.anything(text) SECURITY INVOKER".into()),
            ("extension", "CREATE EXTENSION IF NOT EXISTS dblink".into()),
            ("another plugin's schema", format!("DELETE FROM \"{other_schema}\".crm_x_secrets")),
            ("another plugin's schema, created in", format!("CREATE TABLE \"{other_schema}\".crm_w (id TEXT)")),
            ("a default that changes role", "CREATE FUNCTION crm_f() RETURNS text LANGUAGE sql AS $$ SELECT set_config('role', 'postgres', false) $$; \
              CREATE TABLE crm_d (id TEXT DEFAULT crm_f()); INSERT INTO crm_d DEFAULT VALUES".into()),
        ]),
    }
    for (what, sql) in &hostile {
        let refused = migrate(&core, "acme", "crm", sql).await;
        assert!(
            refused.as_ref().is_err_and(out_of_reach),
            "{what}: `{sql}` was not refused by the database: {refused:?}"
        );
        assert_eq!(snapshot(&core, &["acme", "bravo"]).await, before, "{what}");
    }

    // Session state a plugin sets does not outlive its SQL: the platform's next statement on
    // the same connection runs in the tenant's schema with default settings.
    if backend == Backend::Postgres {
        let db = core.tenant_db("acme").await;
        let mut tx = db.begin().await.expect("tx");
        db.plugin_space("crm")
            .run_migration(
                &mut tx,
                "SET search_path = public; SET statement_timeout = 1; \
                 SELECT pg_advisory_lock(42); CREATE TEMP TABLE users (id TEXT)",
            )
            .await
            .expect("session settings are the plugin's own business");
        let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(&mut *tx)
            .await
            .expect("schema");
        assert_eq!(schema, "tenant_acme");
        let timeout: String = sqlx::query_scalar("SELECT current_setting('statement_timeout')")
            .fetch_one(&mut *tx)
            .await
            .expect("timeout");
        assert_eq!(timeout, "0");
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *tx)
            .await
            .expect("the tenant's users, not a temporary table");
        assert!(users > 0);
        let locks: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 42 \
             AND pid = pg_backend_pid()",
        )
        .fetch_one(&mut *tx)
        .await
        .expect("locks");
        assert_eq!(
            locks, 0,
            "the plugin's advisory lock was left on the connection"
        );
        // What outlives a rollback — prepared statements (under a name the pool's driver would
        // use next), session advisory locks — is undone when the plugin's SQL fails too.
        let failed = db
            .plugin_space("crm")
            .run_migration(
                &mut tx,
                "PREPARE sqlx_s_1 AS SELECT 1; PREPARE crm_p AS SELECT 2; \
                 SELECT pg_advisory_lock(43); SELECT 1 / 0",
            )
            .await;
        assert!(failed.is_err(), "{failed:?}");
        let left: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM pg_prepared_statements WHERE from_sql), \
             (SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 43 \
             AND pid = pg_backend_pid())",
        )
        .fetch_one(&mut *tx)
        .await
        .expect("the connection is usable after the plugin's failure");
        assert_eq!(left, (0, 0), "prepared statements and advisory locks left");
    }

    // The data API runs as the plugin too: a column default that tries to act as the platform
    // fails when the platform inserts a row.
    if backend == Backend::Postgres {
        migrate(
            &core,
            "acme",
            "crm",
            "CREATE FUNCTION crm_steal() RETURNS text LANGUAGE plpgsql AS \
             $$ BEGIN RETURN (SELECT string_agg(email, ',') FROM tenant_acme.users); END $$; \
             CREATE TABLE crm_stolen (id TEXT PRIMARY KEY, loot TEXT DEFAULT crm_steal())",
        )
        .await
        .expect("a function and a default on its own table are the plugin's business");
        before = snapshot(&core, &["acme", "bravo"]).await;
        let db = core.tenant_db("acme").await;
        let table = own_table(&db, "crm", "crm_stolen").await;
        let id = json!("one");
        let column = table.column("id").expect("id").clone();
        let refused = db.insert_row(&table, &[(&column, &id)]).await;
        assert!(
            matches!(refused, Err(DbError::Refused(_))),
            "the default ran with the platform's rights: {refused:?}"
        );
    }
    assert_eq!(snapshot(&core, &["acme", "bravo"]).await, before);

    // Purge drops the plugin's own tables only, and on PostgreSQL its role and schema.
    let db = core.tenant_db("acme").await;
    let mut tx = db.begin().await.expect("tx");
    sqlx::query("INSERT INTO plugin_tables (plugin_id, table_name) VALUES ('crm', 'users')")
        .execute(&mut *tx)
        .await
        .expect("a forged record");
    TenantDb::delete_install(&mut tx, &db.plugin_space("crm"), true)
        .await
        .expect("purge");
    tx.commit([]).await.expect("commit");
    let left = tables(&core, "acme").await;
    assert!(left.contains(&"users".to_owned()), "{left:?}");
    let other: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM {}",
        other_plugin.qualified("crm_x_secrets")
    ))
    .fetch_one(db.pool())
    .await
    .expect("the other plugin's table is still there");
    assert_eq!(other, 0);
    assert!(!left.contains(&"crm_contacts".to_owned()), "{left:?}");
    if let Some(schema) = db.plugin_space("crm").schema() {
        let role: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_roles WHERE rolname = $1")
            .bind(schema.to_owned())
            .fetch_one(db.pool())
            .await
            .expect("roles");
        assert_eq!(role, 0, "the plugin's role outlived its purge");
    }
});

// The tables a tenant's data space has are exactly the platform's, as the SDK lists them to
// reserve plugin ids (so that no plugin id can name one).
on_both_backends!(
    platform_tables_are_the_ones_plugin_ids_cannot_reach,
    |core| {
        core.tenant("acme").await;
        let mut found: Vec<String> = tables(&core, "acme")
            .await
            .into_iter()
            .filter(|t| !t.starts_with("_sqlx") && !t.starts_with("sqlite_"))
            .collect();
        found.sort();
        let mut listed: Vec<String> = plexica_sdk::manifest::PLATFORM_TABLES
            .iter()
            .map(|t| (*t).to_owned())
            .collect();
        listed.sort();
        assert_eq!(found, listed);
    }
);

/// The backend of plugin `prober`: at start it tries, as a hostile plugin would, everything its
/// sandbox forbids and a few things it allows, prints what the kernel answered as one
/// `PROBE {json}` line, then serves its health route on the Unix socket it is given.
const PROBER: &str = r#"#!/usr/bin/python3
import errno, json, os, resource, socket, socketserver, sys

def outcome(action):
    try:
        action()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

def read(path):
    return lambda: open(path, "rb").read(1)

def write(path):
    def go():
        with open(path, "w") as f:
            f.write("x")
    return go

def connect(port):
    def go():
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
        finally:
            s.close()
    return go

def bind(port):
    def go():
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        finally:
            s.close()
    return go

listen = os.environ["PLEXICA_PLUGIN_LISTEN"]
core_port = int(os.environ["PLEXICA_CORE_URL"].rsplit(":", 1)[1])
report = {
    "read core.db": outcome(read("@DATA@/core.db")),
    "read a file of the data directory": outcome(read("@DATA@/secret-of-the-core")),
    "read another tenant's database": outcome(read("@DATA@/tenants/tenant_bravo.db")),
    "read another plugin's state": outcome(read("@STATE@/other-1.0.0/secret")),
    "write in the data directory": outcome(write("@DATA@/planted")),
    "write in /tmp": outcome(write("/tmp/plexica-prober-planted")),
    "connect to PostgreSQL": outcome(connect(5432)),
    "connect to NATS": outcome(connect(4222)),
    "connect to the registry": outcome(connect(@REGISTRY@)),
    "bind a TCP port": outcome(bind(@FREE@)),
    "signal the core": outcome(lambda: os.kill(os.getppid(), 0)),
    "read its own package": outcome(read(os.path.abspath(sys.argv[0]))),
    "write its state": outcome(write("own-file")),
    "connect to the core API": outcome(connect(core_port)),
    "connect to its declared outbound port": outcome(connect(@DECLARED@)),
    "connect to an undeclared port": outcome(connect(@UNDECLARED@)),
    "open files limit": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
    "address space limit": resource.getrlimit(resource.RLIMIT_AS)[1],
    "processes limit": resource.getrlimit(resource.RLIMIT_NPROC)[1],
    "uid": os.getuid(),
    "gid": os.getgid(),
    "groups": os.getgroups(),
}
print("PROBE " + json.dumps(report), flush=True)
"#;

/// Two services listening outside the range local ports are given (the prober declares the
/// first): the listeners, and their ports.
fn two_services() -> (Vec<std::net::TcpListener>, [String; 2]) {
    let listeners: Vec<std::net::TcpListener> = (20_000..32_000)
        .filter_map(|port| std::net::TcpListener::bind(("127.0.0.1", port)).ok())
        .take(2)
        .collect();
    let ports = [0, 1].map(|i| {
        listeners[i]
            .local_addr()
            .expect("listening")
            .port()
            .to_string()
    });
    (listeners, ports)
}

/// Publishes the prober (declaring outbound port `declared`), installs and activates it in
/// tenant `acme` as its admin (`token`), and returns what it reported.
async fn run_prober(
    core: &TestCore,
    registry: &TestRegistry,
    token: &str,
    [declared, undeclared]: &[String; 2],
) -> Value {
    let data = core.dir.path();
    let state = data.join("plugin-state");
    let registry_port = registry.url.rsplit(':').next().expect("port").to_owned();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let script = format!("{PROBER}{HEALTH_SERVER}")
        .replace("@DATA@", &data.display().to_string())
        .replace("@STATE@", &state.display().to_string())
        .replace("@REGISTRY@", &registry_port)
        .replace("@FREE@", &free.to_string())
        .replace("@DECLARED@", declared)
        .replace("@UNDECLARED@", undeclared);
    let text = manifest("prober", "1.0.0", "")
        + "[backend]\nentry = \"bin/prober\"\nhealth = \"/health\"\n"
        + &format!("outbound-ports = [{declared}]\n")
        + "[backend.limits]\nopen-files = 64\nprocesses = 256\n";
    registry
        .publish_files(&[
            ("plexica.toml", text.as_str()),
            ("bin/prober", script.as_str()),
        ])
        .await;
    let (status, body) = core
        .post(
            "/api/v1/tenants/acme/plugins",
            token,
            json!({ "id": "prober", "activate": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let log = data.join("plugins/logs/prober-1.0.0.log");
    let text = std::fs::read_to_string(&log).expect("the prober's log");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("PROBE "))
        .unwrap_or_else(|| panic!("no report in {text}"));
    serde_json::from_str(line).expect("report")
}

on_both_backends_with_registry!(plugin_processes_are_held_by_the_kernel, |core, registry| {
    let t = core.tenant("acme").await;
    core.tenant("bravo").await;
    let data = core.dir.path();
    let state = data.join("plugin-state");
    std::fs::create_dir_all(state.join("other-1.0.0")).expect("other state");
    std::fs::write(state.join("other-1.0.0/secret"), "other's").expect("secret");
    std::fs::write(data.join("secret-of-the-core"), "core's").expect("secret");
    let sqlite = core.api.state().tenant_dbs.backend() == Backend::Sqlite;
    let registry_port = registry.url.rsplit(':').next().expect("port").to_owned();
    let (listeners, ports) = two_services();
    let declared = ports[0].clone();
    let report = run_prober(&core, &registry, &t.admin_token, &ports).await;
    // Refused by the kernel (Landlock): EACCES for files and connections, EPERM for signals.
    // SQLite's files exist only on SQLite.
    let sqlite_file = if sqlite { "EACCES" } else { "ENOENT" };
    for (what, expected) in [
        ("read core.db", sqlite_file),
        ("read another tenant's database", sqlite_file),
        ("read a file of the data directory", "EACCES"),
        ("read another plugin's state", "EACCES"),
        ("write in the data directory", "EACCES"),
        ("write in /tmp", "EACCES"),
        ("connect to PostgreSQL", "EACCES"),
        ("connect to NATS", "EACCES"),
        ("connect to the registry", "EACCES"),
        ("bind a TCP port", "EACCES"),
        ("signal the core", "EPERM"),
        ("read its own package", "ok"),
        ("write its state", "ok"),
        ("connect to the core API", "ok"),
        ("connect to its declared outbound port", "ok"),
        ("connect to an undeclared port", "EACCES"),
    ] {
        assert_eq!(report[what], expected, "{what}: {report}");
    }
    // Limits: the manifest lowered one; the platform's default holds the other.
    assert_eq!(report["open files limit"], 64, "{report}");
    assert_eq!(report["address space limit"], 4u64 << 30, "{report}");

    assert!(!data.join("planted").exists());
    assert!(!std::path::Path::new("/tmp/plexica-prober-planted").exists());
    assert!(state.join("prober-1.0.0/own-file").exists());
    // It serves on a Unix socket in its own directory, which only the core's user may enter.
    let own = state.join("prober-1.0.0");
    assert!(own.join("backend.sock").exists());
    let mode = std::fs::metadata(&own).expect("state").permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let (status, installed) = core
        .get("/api/v1/tenants/acme/plugins/prober", &t.admin_token)
        .await;
    assert_eq!(status, StatusCode::OK, "{installed}");
    assert_eq!(
        installed["outbound_ports"],
        json!([declared.parse::<u16>().expect("port")])
    );

    // Ports of the platform's own services, and those other plugins are given, are refused.
    for (version, port, reason) in [
        ("1.0.1", registry_port.as_str(), "registry"),
        ("1.0.2", "45000", "other plugins"),
    ] {
        let text = manifest("greedy", version, "")
            + &format!("[backend]\nentry = \"bin/greedy\"\noutbound-ports = [443, {port}]\n");
        registry
            .publish_files(&[
                ("plexica.toml", text.as_str()),
                ("bin/greedy", "#!/bin/sh\n"),
            ])
            .await;
        let (status, body) = core
            .post(
                "/api/v1/tenants/acme/plugins",
                &t.admin_token,
                json!({ "id": "greedy", "version_req": format!("={version}") }),
            )
            .await;
        assert_error(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "OUTBOUND_PORT_REFUSED",
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(reason),
            "{body}"
        );
    }
    drop(listeners);
});

/// With `--plugin-user`, a core running as root starts backends as that user: its ids, no
/// supplementary group, its state directory its own, and the sandbox as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_run_as_the_plugin_user_when_the_core_is_root() {
    use plexica_core_api::plugins::sandbox::PluginUser;
    if !rustix::process::geteuid().is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the tests as root, where this is tested"
        );
        println!("skipped: switching users needs root");
        return;
    }
    let nobody = PluginUser {
        uid: 65534,
        gid: 65534,
    };
    // The state root outside the (0700) data directory, as by default; the plugin user passes
    // through the directory above it, as it would through /var/lib.
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(outside.path(), std::fs::Permissions::from_mode(0o711))
        .expect("chmod");
    let state_root = outside.path().join("plugin-state");
    let (core, registry) = common::registry::platform(common::Backend::Sqlite, |config| {
        config.plugin_sandbox.plugin_user = Some(nobody);
        config.plugin_state_dir = state_root.clone();
    })
    .await
    .expect("sqlite");
    let t = core.tenant("acme").await;
    let (_listeners, ports) = two_services();
    let report = run_prober(&core, &registry, &t.admin_token, &ports).await;
    assert_eq!(report["uid"], 65534, "{report}");
    assert_eq!(report["gid"], 65534, "{report}");
    assert_eq!(report["groups"], json!([]), "{report}");
    // The process limit holds a plugin user (the manifest lowered it).
    assert_eq!(report["processes limit"], 256, "{report}");
    for (what, expected) in [
        ("read core.db", "EACCES"),
        ("read its own package", "ok"),
        ("write its state", "ok"),
        ("signal the core", "EPERM"),
        ("connect to the core API", "ok"),
    ] {
        assert_eq!(report[what], expected, "{what}: {report}");
    }
    let own = state_root.join("prober-1.0.0");
    let meta = std::fs::metadata(&own).expect("state");
    assert_eq!(
        (
            std::os::unix::fs::MetadataExt::uid(&meta),
            meta.permissions().mode() & 0o777
        ),
        (65534, 0o700)
    );
    let root = std::fs::metadata(&state_root).expect("state root");
    assert_eq!(root.permissions().mode() & 0o777, 0o711);
}
