//! The real `plexica-core-api` binary: killed with SIGKILL in the middle of concurrent
//! provisioning, it restarts with no half-made tenant and no orphan data space, and the
//! same requests then succeed; and its debug log never contains a secret.

use crate::common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Backend;
use common::binary::{BOOTSTRAP_PASSWORD, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A fresh PostgreSQL database URL, or `None` (skipped) without `PLEXICA_TEST_POSTGRES_URL`.
async fn database_for(backend: Backend) -> Option<Option<String>> {
    match backend {
        Backend::Sqlite => Some(None),
        Backend::Postgres => plexica_testkit::postgres_database("plexica_core")
            .await
            .map(Some),
    }
}

/// The data space names of `slug`: SQLite file stem or PostgreSQL schema.
fn space_of(slug: &str) -> String {
    format!("tenant_{}", slug.replace('-', "_"))
}

/// Data space names (SQLite: file names with `.db`, `-wal`, `-shm`, `-journal` cut off).
async fn spaces(backend: Backend, dir: &Path, url: &str) -> std::collections::BTreeSet<String> {
    common::data_spaces(backend, dir, url)
        .await
        .into_iter()
        .map(|name| match name.find(".db") {
            Some(i) => name[..i].to_owned(),
            None => name,
        })
        .collect()
}

const TENANTS: usize = 20;

fn crash_request(i: usize) -> Value {
    json!({ "slug": format!("crash-{i:02}"), "name": format!("Crash {i}") })
}

async fn killed_mid_provisioning(backend: Backend) {
    let Some(database_url) = database_for(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let url_for_spaces = database_url.clone().unwrap_or_default();
    let server = Server::start(dir.path(), database_url.as_deref()).await;
    let admin = server.login(None, "admin", BOOTSTRAP_PASSWORD).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    // 20 provisionings at once.
    let answers = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut requests = Vec::new();
    for i in 0..TENANTS {
        let http = server.http.clone();
        let url = format!("{}/api/v1/tenants", server.url);
        let token = admin.clone();
        let answers = answers.clone();
        requests.push(tokio::spawn(async move {
            let response = http
                .post(url)
                .bearer_auth(token)
                .json(&crash_request(i))
                .send()
                .await?;
            let status = response.status();
            let body: Value = response.json().await?;
            answers.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, reqwest::Error>((status, body))
        }));
    }
    // Every request first spends its Argon2 hash (hundreds of ms each in a debug build, all
    // sharing two cores), so a kill a few ms after sending would interrupt no provisioning
    // step. Kill instead once provisioning is well under way: a few tenants answered or
    // several data spaces made, so tenants are caught at every stage.
    let started = Instant::now();
    let mut first_space = None;
    loop {
        let made = spaces(backend, dir.path(), &url_for_spaces).await.len();
        if made > 0 && first_space.is_none() {
            first_space = Some(Instant::now());
        }
        if answers.load(std::sync::atomic::Ordering::SeqCst) >= 3 || made >= 6 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "provisioning did not get under way"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let first_space = first_space.unwrap_or_else(Instant::now);
    let log = server.kill().await;
    let killed_after = first_space.elapsed();
    let mut answered = Vec::new();
    let mut interrupted = 0;
    for (i, request) in requests.into_iter().enumerate() {
        match request.await.expect("request task") {
            Ok((status, body)) => answered.push((i, status, body)),
            Err(_) => interrupted += 1,
        }
    }
    let at_crash = spaces(backend, dir.path(), &url_for_spaces).await;
    println!(
        "{backend:?}: first data space {} ms after sending, killed {} ms later; {} answered, {interrupted} \
         interrupted, {} data spaces left",
        (first_space - started).as_millis(),
        killed_after.as_millis(),
        answered.len(),
        at_crash.len()
    );
    assert!(
        interrupted > 0,
        "the kill interrupted no request; the test proves nothing. Log:\n{log}"
    );
    let created_before: Vec<(usize, String)> = answered
        .iter()
        .filter(|(_, status, _)| *status == StatusCode::CREATED)
        .map(|(i, _, body)| (*i, body["id"].as_str().expect("id").to_owned()))
        .collect();

    // Restart on the same data.
    let server = Server::start(dir.path(), database_url.as_deref()).await;
    let admin = server.login(None, "admin", BOOTSTRAP_PASSWORD).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let (status, page) = server.get("/api/v1/tenants?per_page=100", &admin).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let listed = page["data"].as_array().expect("data").clone();
    for t in &listed {
        assert_eq!(t["status"], "ACTIVE", "after the restart: {t}");
    }
    let listed_spaces: std::collections::BTreeSet<String> = listed
        .iter()
        .map(|t| space_of(t["slug"].as_str().expect("slug")))
        .collect();
    let on_disk = spaces(backend, dir.path(), &url_for_spaces).await;
    assert_eq!(
        on_disk, listed_spaces,
        "data spaces after the restart must be exactly the listed tenants'"
    );
    for (i, _) in &created_before {
        assert!(
            listed.iter().any(|t| t["slug"] == format!("crash-{i:02}")),
            "crash-{i:02} was answered 201 before the kill, so it must survive"
        );
    }
    println!(
        "{backend:?}: {} tenants survived the restart, {} had been answered 201",
        listed.len(),
        created_before.len()
    );

    // Every request retried succeeds.
    let mut password = None;
    for i in 0..TENANTS {
        let (status, body) = server
            .post("/api/v1/tenants", Some(&admin), crash_request(i))
            .await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::OK,
            "retry of crash-{i:02}: {status} {body}"
        );
        assert_eq!(body["status"], "ACTIVE", "{body}");
        if let Some((_, id)) = created_before.iter().find(|(j, _)| *j == i) {
            assert_eq!(status, StatusCode::OK, "crash-{i:02} existed: {body}");
            assert_eq!(
                body["id"],
                id.as_str(),
                "the same tenant as before the crash"
            );
        }
        if status == StatusCode::CREATED && password.is_none() {
            password = Some((
                i,
                body["initial_admin"]["password"]
                    .as_str()
                    .expect("password")
                    .to_owned(),
            ));
        }
    }
    let (_, page) = server.get("/api/v1/tenants?per_page=100", &admin).await;
    assert_eq!(page["total"], TENANTS);
    assert!(
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|t| t["status"] == "ACTIVE"),
        "{page}"
    );
    let on_disk = spaces(backend, dir.path(), &url_for_spaces).await;
    assert_eq!(on_disk.len(), TENANTS, "{on_disk:?}");
    for i in 0..TENANTS {
        assert!(
            on_disk.contains(&space_of(&format!("crash-{i:02}"))),
            "{on_disk:?}"
        );
    }
    // A tenant provisioned on retry works: its admin logs in and sees its default workspace.
    if let Some((i, password)) = password {
        let slug = format!("crash-{i:02}");
        let pair = server
            .login(Some(&slug), &format!("admin@{slug}.local"), &password)
            .await;
        let token = pair["access_token"].as_str().expect("token");
        let (status, page) = server
            .get(&format!("/api/v1/tenants/{slug}/workspaces"), token)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["total"], 1);
    }
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_provisioning_sqlite() {
    killed_mid_provisioning(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_provisioning_postgres() {
    killed_mid_provisioning(Backend::Postgres).await;
}

async fn secrets_never_logged(backend: Backend) {
    let Some(database_url) = database_for(backend).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), database_url.as_deref()).await;
    let mut secrets: Vec<String> = vec![BOOTSTRAP_PASSWORD.to_owned()];

    // Logins (and a failed one), refresh.
    let (status, _) = server
        .post(
            "/api/v1/auth/login",
            None,
            json!({ "email": "admin", "password": "wrong-Secret-4Kp8" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    secrets.push("wrong-Secret-4Kp8".to_owned());
    let pair = server.login(None, "admin", BOOTSTRAP_PASSWORD).await;
    let refresh = pair["refresh_token"].as_str().expect("refresh").to_owned();
    let (status, renewed) = server
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": refresh }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    for p in [&pair, &renewed] {
        secrets.push(p["access_token"].as_str().expect("access").to_owned());
        secrets.push(p["refresh_token"].as_str().expect("refresh").to_owned());
    }
    let admin = renewed["access_token"].as_str().expect("access").to_owned();

    // An API token, used once.
    let (status, created) = server
        .post("/api/v1/auth/tokens", Some(&admin), json!({ "name": "ci" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let plx = created["token"].as_str().expect("token").to_owned();
    let (status, _) = server.get("/api/v1/tenants", &plx).await;
    assert_eq!(status, StatusCode::OK);
    secrets.push(plx);

    // A tenant (its first admin's generated password), its admin's login, a user with a
    // chosen password and their login.
    let (status, tenant) = server
        .post(
            "/api/v1/tenants",
            Some(&admin),
            json!({ "slug": "secretive", "name": "Secretive" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tenant}");
    let initial = tenant["initial_admin"]["password"]
        .as_str()
        .expect("password")
        .to_owned();
    secrets.push(initial.clone());
    let pair = server
        .login(Some("secretive"), "admin@secretive.local", &initial)
        .await;
    let tenant_admin = pair["access_token"].as_str().expect("access").to_owned();
    secrets.push(tenant_admin.clone());
    secrets.push(pair["refresh_token"].as_str().expect("refresh").to_owned());
    let user_password = "user-Secret-9Zt3mQ";
    let (status, body) = server
        .post(
            "/api/v1/tenants/secretive/users",
            Some(&tenant_admin),
            json!({ "email": "dora@secretive.test", "password": user_password, "roles": ["member"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    secrets.push(user_password.to_owned());
    let (status, body) = server
        .post(
            "/api/v1/tenants/secretive/users",
            Some(&tenant_admin),
            json!({ "email": "eve@secretive.test" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    secrets.push(
        body["initial_password"]
            .as_str()
            .expect("generated password")
            .to_owned(),
    );
    let pair = server
        .login(Some("secretive"), "dora@secretive.test", user_password)
        .await;
    secrets.push(pair["access_token"].as_str().expect("access").to_owned());
    secrets.push(pair["refresh_token"].as_str().expect("refresh").to_owned());
    let (status, _) = server
        .post("/api/v1/auth/logout", Some(&tenant_admin), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let log = server.kill().await;
    assert!(log.contains("listening on"), "the log was captured:\n{log}");
    assert!(
        log.lines().count() >= 10,
        "a debug log has more than a few lines:\n{log}"
    );
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "the log contains a secret ({}…):\n{log}",
            &secret[..6.min(secret.len())]
        );
        // Nor a large piece of one (e.g. a token without its prefix, or a JWT's signature).
        let tail = &secret[secret.len().saturating_sub(24)..];
        if secret.len() >= 40 {
            assert!(
                !log.contains(tail),
                "the log contains the end of a secret ({}…)",
                &secret[..6]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_logged_sqlite() {
    secrets_never_logged(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_logged_postgres() {
    secrets_never_logged(Backend::Postgres).await;
}

/// A committed change always gets its event delivered, even when the server is killed with
/// SIGKILL right after the commit and the plugin is down until after the restart — through the
/// embedded transport, or through NATS JetStream (`nats`).
async fn committed_events_survive_a_sigkill(nats: Option<&str>) {
    use common::plugin::{handled_of, start_plugin_at, subscription, wait_for};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut args = vec![
        "--retry-delays",
        "300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms",
        "--delivery-timeout-seconds",
        "1",
    ];
    if let Some(url) = nats {
        args.extend(["--nats-url", url]);
    }
    let slug = match nats {
        Some(_) => common::fresh_slug("survivor"),
        None => "survivor".to_owned(),
    };
    let slug = slug.as_str();
    let server = Server::start_with(dir.path(), None, &args).await;
    let admin = server.login(None, "admin", BOOTSTRAP_PASSWORD).await;
    let admin = admin["access_token"].as_str().expect("token").to_owned();
    let (status, tenant) = server
        .post(
            "/api/v1/tenants",
            Some(&admin),
            json!({ "slug": slug, "name": "Survivor" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tenant}");
    let email = tenant["initial_admin"]["email"]
        .as_str()
        .expect("email")
        .to_owned();
    let password = tenant["initial_admin"]["password"]
        .as_str()
        .expect("password")
        .to_owned();
    let user = server.login(Some(slug), &email, &password).await;
    let user = user["access_token"].as_str().expect("token").to_owned();
    // The plugin's address, not listening yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let at = format!("127.0.0.1:{port}");
    let core_db = format!("sqlite://{}?mode=rw", dir.path().join("core.db").display());
    let store = plexica_core_api::db::core::CoreStore::connect(&core_db, 1)
        .await
        .expect("core db");
    store
        .put_subscription(
            &subscription(slug, &format!("http://{at}")),
            plexica_sdk::api::time::now_ms(),
        )
        .await
        .expect("subscribe");
    store.close().await;

    let (status, body) = server
        .post(
            &format!("/api/v1/tenants/{slug}/workspaces"),
            Some(&user),
            json!({ "slug": "after-crash", "name": "After the crash" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    server.kill().await;

    let server = Server::start_with(dir.path(), None, &args).await;
    let plugin_dir = tempfile::tempdir().expect("tempdir");
    start_plugin_at(plugin_dir.path(), &at, None).await;
    wait_for("the event committed before the crash", || {
        handled_of(slug)
            .iter()
            .any(|h| h.2.as_deref() == Some("after-crash"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let delivered = handled_of(slug)
        .iter()
        .filter(|h| h.2.as_deref() == Some("after-crash"))
        .count();
    assert_eq!(delivered, 1, "delivered once");
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_events_survive_a_sigkill_embedded() {
    committed_events_survive_a_sigkill(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_events_survive_a_sigkill_nats() {
    match std::env::var("PLEXICA_TEST_NATS_URL") {
        Ok(url) => committed_events_survive_a_sigkill(Some(&url)).await,
        Err(_) => println!("skipped: PLEXICA_TEST_NATS_URL is not set"),
    }
}

/// `plexica-core-api backup` while the server runs, `restore` into a fresh data directory: a
/// server started there serves the same tenants, users, workspaces and plugins (its backend
/// running again from the restored package, the registry gone), and the same logins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_into_a_fresh_data_directory() {
    let (core, registry) = common::registry::platform(Backend::Sqlite, |_| {})
        .await
        .expect("starts");
    let tenant = core.tenant("kept").await;
    registry
        .publish_files(&common::registry::borrowed(
            &common::registry::recording_plugin("rec"),
        ))
        .await;
    let (status, body) = core
        .post(
            "/api/v1/tenants/kept/plugins",
            &tenant.admin_token,
            json!({ "id": "rec", "activate": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = core
        .post(
            "/api/v1/tenants/kept/workspaces",
            &tenant.admin_token,
            json!({ "slug": "sales", "name": "Sales" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let _ = core.user(&tenant, "grace@kept.test", &["member"]).await;
    // A subscription whose batch mode disagrees with the manifest (recorded by another version):
    // the restart brings it in line, in place.
    core.api
        .state()
        .core
        .set_subscription_batches("kept", "rec", true)
        .await
        .expect("batches");

    // `plexica-core-api --data-dir DATA COMMAND FLAG PATH`, as an operator runs it.
    let run = |data: &Path, command: &str, flag: &str, path: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_plexica-core-api"))
            .arg("--data-dir")
            .arg(data)
            .args([command, flag])
            .arg(path)
            .output()
            .expect("the binary runs")
    };
    let backups = tempfile::tempdir().expect("tempdir");
    let to = backups.path().join("nightly");
    let output = run(core.dir.path(), "backup", "--to", &to);
    assert!(output.status.success(), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("2 database(s)"),
        "{output:?}"
    );
    // A second backup into the same place is refused rather than mixed in.
    let again = run(core.dir.path(), "backup", "--to", &to);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("is not empty"),
        "{again:?}"
    );

    let fresh = tempfile::tempdir().expect("tempdir");
    let restored = run(fresh.path(), "restore", "--from", &to);
    assert!(restored.status.success(), "{restored:?}");
    let into_occupied = run(fresh.path(), "restore", "--from", &to);
    assert!(!into_occupied.status.success(), "never over existing data");

    // Nothing can be downloaded again: the plugin must come from the backup.
    drop(registry);
    let copy = common::TestCore::start_on(fresh, |_| {}).await;
    let token = copy
        .login(Some("kept"), &tenant.admin_email, &tenant.admin_password)
        .await;
    let (status, workspaces) = copy.get("/api/v1/tenants/kept/workspaces", &token).await;
    assert_eq!(status, StatusCode::OK, "{workspaces}");
    assert!(workspaces.to_string().contains("\"sales\""), "{workspaces}");
    let (status, users) = copy.get("/api/v1/tenants/kept/users", &token).await;
    assert_eq!(status, StatusCode::OK, "{users}");
    assert!(users.to_string().contains("grace@kept.test"), "{users}");
    let (status, plugins) = copy.get("/api/v1/tenants/kept/plugins", &token).await;
    assert_eq!(status, StatusCode::OK, "{plugins}");
    assert_eq!(plugins[0]["id"], "rec", "{plugins}");
    assert_eq!(plugins[0]["state"], "ACTIVE", "{plugins}");
    let subscriptions = copy
        .api
        .state()
        .core
        .subscriptions("kept")
        .await
        .expect("subscriptions");
    assert_eq!(subscriptions.len(), 1, "{subscriptions:?}");
    assert!(
        !subscriptions[0].batches,
        "the manifest asks for no batches: {subscriptions:?}"
    );
    let (status, body) = copy
        .get("/api/v1/tenants/kept/gateway/rec/rec.api/ping", &token)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the restored backend serves: {body}"
    );
    let member = copy
        .login(Some("kept"), "grace@kept.test", "password-123")
        .await;
    assert!(!member.is_empty());
}

/// Rows the slow migration inserts: enough for it to run a good second in a debug build.
const SLOW_ROWS: u32 = 2_000_000;

/// A plugin whose second migration is slow: a table, then many rows, then another table.
fn slow_plugin() -> Vec<(String, String)> {
    let mut files = common::registry::frontend_plugin("slow", "1.0.0", "");
    files[0].1 = common::registry::manifest("slow", "1.0.0", "")
        + "[backend]\nentry = \"bin/slow\"\nmigrations = \"migrations\"\n";
    files.push(("bin/slow".into(), "#!/bin/sh\nexit 3\n".into()));
    files.push((
        "migrations/0001_items.sql".into(),
        "CREATE TABLE slow_items (n INTEGER NOT NULL);".into(),
    ));
    files.push((
        "migrations/0002_fill.sql".into(),
        format!(
            "INSERT INTO slow_items (n) WITH RECURSIVE c(n) AS \
             (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {SLOW_ROWS}) SELECT n FROM c;"
        ),
    ));
    files.push((
        "migrations/0003_done.sql".into(),
        "CREATE TABLE slow_done (at TEXT);".into(),
    ));
    files
}

/// SIGKILL in the middle of a plugin install (downloaded and verified, a migration running):
/// after the restart the plugin is not installed, none of its migrations is recorded or left
/// half-applied (the retry's first migration would then find its table), and the retry
/// installs it whole.
async fn killed_mid_install(backend: Backend) {
    let Some(database_url) = database_for(backend).await else {
        return;
    };
    let registry = common::registry::TestRegistry::start(|_| {}).await;
    registry
        .publish_files(&common::registry::borrowed(&slow_plugin()))
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let args = [
        "--registry-url",
        registry.url.as_str(),
        "--trust-registry-keys",
    ];
    let server = Server::start_with(dir.path(), database_url.as_deref(), &args).await;
    let admin = server.login(None, "admin", BOOTSTRAP_PASSWORD).await;
    let admin = admin["access_token"].as_str().expect("token").to_owned();
    let (status, tenant) = server
        .post(
            "/api/v1/tenants",
            Some(&admin),
            json!({ "slug": "mid-install", "name": "Mid install" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tenant}");
    let email = tenant["initial_admin"]["email"].as_str().expect("email");
    let password = tenant["initial_admin"]["password"]
        .as_str()
        .expect("password");
    let token = server.login(Some("mid-install"), email, password).await;
    let token = token["access_token"].as_str().expect("token").to_owned();
    let plugins = "/api/v1/tenants/mid-install/plugins";

    let install = {
        let (http, url, token) = (
            server.http.clone(),
            format!("{}{plugins}", server.url),
            token.clone(),
        );
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&json!({ "id": "slow" }))
                .send()
                .await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = server
            .log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if log.contains("migration=0002_fill.sql") {
            break;
        }
        assert!(
            Instant::now() < deadline && !install.is_finished(),
            "{backend:?}: the slow migration never started. Log:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !install.is_finished(),
        "{backend:?}: the install ended before the kill; the test proves nothing"
    );
    let log = server.kill().await;
    assert!(
        install.await.expect("joined").is_err(),
        "{backend:?}: the install was answered although its server was killed"
    );

    let server = Server::start_with(dir.path(), database_url.as_deref(), &args).await;
    let token = server.login(Some("mid-install"), email, password).await;
    let token = token["access_token"].as_str().expect("token").to_owned();
    let (status, body) = server.get(&format!("{plugins}/slow"), &token).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "{backend:?}: a half-made install survived: {body}\nLog before the kill:\n{log}"
    );
    let (status, body) = server.get(plugins, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!([]), "{backend:?}: nothing is installed");

    let (status, body) = server
        .post(plugins, Some(&token), json!({ "id": "slow" }))
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{backend:?}: the retry: {body}"
    );
    assert_eq!(
        body["migrations"],
        json!(["0001_items.sql", "0002_fill.sql", "0003_done.sql"]),
        "{backend:?}"
    );
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_install_sqlite() {
    killed_mid_install(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_install_postgres() {
    killed_mid_install(Backend::Postgres).await;
}
