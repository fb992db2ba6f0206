//! Development installs (`PUT …/plugins/{id}/dev`): an unsigned package from the developer's
//! working directory, refused by every platform not started in development mode; in
//! development mode, installed and activated in place, its data kept unless a migration that
//! ran changed.

use super::*;

/// Answers its health route until stopped.
fn healthy() -> String {
    format!("#!/usr/bin/python3\n{HEALTH_SERVER}")
}

const ITEMS: &str = "CREATE TABLE devy_items (id TEXT PRIMARY KEY);";

/// An unsigned package of `devy` whose migrations are `migrations`.
fn devy(migrations: &[(&str, &str)]) -> Vec<u8> {
    let text = manifest("devy", "0.1.0", "")
        + "[backend]\nentry = \"bin/devy\"\nmigrations = \"migrations\"\n\
           [[config]]\nkey = \"greeting\"\ntype = \"string\"\ndefault = \"Hello\"\n";
    let mut files = vec![
        ("plexica.toml".to_owned(), text),
        ("bin/devy".to_owned(), healthy()),
    ];
    files.extend(
        migrations
            .iter()
            .map(|(name, sql)| (format!("migrations/{name}"), (*sql).to_owned())),
    );
    unsigned(&borrowed(&files))
}

async fn put(core: &TestCore, token: &str, id: &str, package: Vec<u8>) -> (StatusCode, Value) {
    let response = core
        .http
        .put(format!("{}/api/v1/tenants/acme/plugins/{id}/dev", core.url))
        .bearer_auth(token)
        .body(package)
        .send()
        .await
        .expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `devy`'s table `name`, qualified by the plugin's schema where it has one (PostgreSQL).
async fn table(core: &TestCore, name: &str) -> String {
    let db = core.tenant_db("acme").await;
    match db.plugin_space("devy").schema() {
        Some(schema) => format!("\"{schema}\".{name}"),
        None => name.to_owned(),
    }
}

/// The rows of `devy`'s table `name` (an error when it does not exist).
async fn rows(core: &TestCore, name: &str) -> Result<i64, sqlx::Error> {
    let table = table(core, name).await;
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(core.tenant_db("acme").await.pool())
        .await
}

on_both_backends!(development_installs, |core| {
    let t = core.tenant("acme").await;
    let package = devy(&[("0001_items.sql", ITEMS)]);
    // A platform not in development mode refuses, whatever the package, and nothing changes.
    let before = tables(&core, "acme").await;
    let (status, body) = put(&core, &t.admin_token, "devy", package.clone()).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "DEV_MODE_REQUIRED");
    assert_eq!(tables(&core, "acme").await, before);
    let (status, _) = core
        .get("/api/v1/tenants/acme/plugins/devy", &t.admin_token)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let core = core.restart_with(|c| c.dev_mode = true).await;
    let token = core
        .login(Some("acme"), &t.admin_email, &t.admin_password)
        .await;
    let (status, body) = put(&core, &token, "devy", package).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "ACTIVE", "{body}");
    let items = table(&core, "devy_items").await;
    sqlx::query(&format!("INSERT INTO {items} (id) VALUES ('kept')"))
        .execute(core.tenant_db("acme").await.pool())
        .await
        .expect("insert");
    let (status, body) = core
        .patch(
            "/api/v1/tenants/acme/plugins/devy/config",
            &token,
            json!({ "config": { "greeting": "Howdy" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The same version again, with a new migration: data and configuration are kept.
    let more = devy(&[
        ("0001_items.sql", ITEMS),
        (
            "0002_more.sql",
            "CREATE TABLE devy_more (id TEXT PRIMARY KEY);",
        ),
    ]);
    let (status, body) = put(&core, &token, "devy", more).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "ACTIVE", "{body}");
    assert_eq!(body["config"]["greeting"], "Howdy", "{body}");
    assert_eq!(rows(&core, "devy_items").await.expect("items"), 1);
    assert_eq!(rows(&core, "devy_more").await.expect("the new table"), 0);

    // A migration that ran changed: a fresh data space.
    let changed = devy(&[(
        "0001_items.sql",
        "CREATE TABLE devy_items (id TEXT PRIMARY KEY, name TEXT);",
    )]);
    let (status, body) = put(&core, &token, "devy", changed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(rows(&core, "devy_items").await.expect("items"), 0);
    assert!(
        rows(&core, "devy_more").await.is_err(),
        "the old table is gone"
    );

    // Still checked: the package names the plugin, and its checksums hold.
    let (status, body) = put(&core, &token, "other", devy(&[("0001_items.sql", ITEMS)])).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "PACKAGE_MISMATCH",
    );
    let mut tampered = devy(&[("0001_items.sql", ITEMS)]);
    let at = tampered
        .windows(ITEMS.len())
        .position(|w| w == ITEMS.as_bytes());
    if let Some(at) = at {
        tampered[at] = b'X';
        let (status, body) = put(&core, &token, "devy", tampered).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    // A tenant member who may not manage plugins is refused.
    core.add_user(&t, "member@acme.test", &[]).await;
    let member = core
        .login(Some("acme"), "member@acme.test", "password-123")
        .await;
    let (status, _) = put(&core, &member, "devy", devy(&[("0001_items.sql", ITEMS)])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
});
