//! The admin half of the CLI against a real platform started by `plexica up` (the real binary,
//! a fresh configuration directory): tenants, users, workspaces, members, teams, tokens, login
//! and logout, table and JSON output, exit codes.

use std::os::unix::fs::PermissionsExt as _;

use crate::common::up::{Platform, local_api_url};
use crate::common::{Sandbox, json};
use serde_json::Value;

fn run(sandbox: &Sandbox, args: &[&str]) -> std::process::Output {
    sandbox.plexica().args(args).output().expect("plexica runs")
}

fn code(output: &std::process::Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn journey(sandbox: &Sandbox) {
    // The tenant, from a fresh configuration directory: `up` logged the local profile in.
    let created = sandbox.json_ok([
        "-o",
        "json",
        "tenant",
        "create",
        "acme",
        "--name",
        "Acme Corp",
    ]);
    assert_eq!(created["slug"], "acme");
    assert_eq!(created["status"], "ACTIVE");
    let admin_email = created["initial_admin"]["email"]
        .as_str()
        .expect("email")
        .to_owned();
    let admin_password = created["initial_admin"]["password"]
        .as_str()
        .expect("password")
        .to_owned();

    // Conflict and bad input map to their exit codes, with the server's code in the message.
    let again = run(sandbox, &["tenant", "create", "acme", "--name", "Another"]);
    assert_eq!(code(&again), 5, "{}", stderr(&again));
    assert!(
        stderr(&again).contains("TENANT_EXISTS"),
        "{}",
        stderr(&again)
    );
    let bad = run(sandbox, &["tenant", "create", "Bad;Slug", "--name", "x"]);
    assert_eq!(code(&bad), 1, "{}", stderr(&bad));
    assert!(stderr(&bad).starts_with("error: "), "{}", stderr(&bad));
    let missing = run(sandbox, &["tenant", "get", "nope"]);
    assert_eq!(code(&missing), 4);

    // Tables for people.
    let list = run(sandbox, &["tenant", "list"]);
    assert!(list.status.success());
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.starts_with("SLUG") && text.contains("acme") && text.contains("ACTIVE"),
        "{text}"
    );

    // Users, workspaces, members, teams.
    let user = sandbox.json_ok([
        "-o",
        "json",
        "tenant",
        "user",
        "add",
        "acme",
        "bob@acme.test",
        "--roles",
        "member",
    ]);
    let bob = user["id"].as_str().expect("id").to_owned();
    assert!(user["initial_password"].is_string());
    let ws = sandbox.json_ok([
        "-o",
        "json",
        "workspace",
        "create",
        "--tenant",
        "acme",
        "sales",
        "--name",
        "Sales",
    ]);
    assert_eq!(ws["slug"], "sales");
    let member = sandbox.json_ok([
        "-o",
        "json",
        "workspace",
        "member",
        "add",
        "--tenant",
        "acme",
        "default",
        "bob@acme.test",
        "--role",
        "viewer",
    ]);
    assert_eq!(member["role"], "viewer");
    let dup = run(
        sandbox,
        &[
            "workspace",
            "member",
            "add",
            "--tenant",
            "acme",
            "default",
            &bob,
        ],
    );
    assert_eq!(code(&dup), 5, "{}", stderr(&dup));
    let members = sandbox.json_ok([
        "-o",
        "json",
        "workspace",
        "member",
        "list",
        "--tenant",
        "acme",
        "default",
    ]);
    assert_eq!(members.as_array().map(Vec::len), Some(2));
    let team = sandbox.json_ok([
        "-o",
        "json",
        "workspace",
        "team",
        "create",
        "--tenant",
        "acme",
        "default",
        "core",
        "--members",
        &bob,
    ]);
    assert_eq!(team["members"][0], bob.as_str());
    let teams = sandbox.json_ok([
        "-o",
        "json",
        "workspace",
        "team",
        "list",
        "--tenant",
        "acme",
        "default",
    ]);
    assert_eq!(teams[0]["name"], "core");
    let workspaces = sandbox.json_ok(["-o", "json", "workspace", "list", "--tenant", "acme"]);
    assert_eq!(workspaces["total"], 2);
    // The last admin of `default` cannot be demoted.
    let admin_id = members
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "admin"))
        .and_then(|m| m["user_id"].as_str())
        .expect("an admin")
        .to_owned();
    let demote = run(
        sandbox,
        &[
            "workspace",
            "member",
            "set-role",
            "--tenant",
            "acme",
            "default",
            &admin_id,
            "--role",
            "member",
        ],
    );
    assert_eq!(code(&demote), 5);
    assert!(
        stderr(&demote).contains("LAST_WORKSPACE_ADMIN"),
        "{}",
        stderr(&demote)
    );
    // Deleting without --yes and without a terminal is a usage error naming --yes.
    let refused = run(
        sandbox,
        &["workspace", "delete", "--tenant", "acme", "sales"],
    );
    assert_eq!(code(&refused), 2);
    assert!(stderr(&refused).contains("--yes"));
    sandbox
        .plexica()
        .args(["workspace", "delete", "--tenant", "acme", "sales", "--yes"])
        .assert()
        .success();

    // A CI token with a narrow scope, used through PLEXICA_TOKEN.
    let token = sandbox.json_ok([
        "-o",
        "json",
        "token",
        "create",
        "ci",
        "--scopes",
        "platform:admin",
        "--expires",
        "1d",
    ]);
    let secret = token["token"].as_str().expect("token").to_owned();
    assert!(secret.starts_with("plx_"));
    let listed = sandbox
        .plexica()
        .env("PLEXICA_TOKEN", &secret)
        .args(["-o", "json", "tenant", "list"])
        .output()
        .expect("runs");
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert_eq!(json(&listed)["total"], 1);

    // Suspension is visible to the tenant's users, with the right exit code.
    sandbox
        .plexica()
        .args(["tenant", "suspend", "acme"])
        .assert()
        .success();
    // The tenant admin logs in under profile `bob`, on the same core API as the super admin's
    // profile `local`: each profile keeps its own login.
    let bob = |args: &[&str]| run(sandbox, &[&["--profile", "bob"], args].concat());
    let login = |extra: &[&str]| {
        let mut cmd = sandbox.plexica();
        cmd.args([
            "--profile",
            "bob",
            "-o",
            "json",
            "login",
            "--api-url",
            &platform_api(sandbox),
            "--tenant",
            "acme",
            "--username",
            &admin_email,
            "--password-stdin",
        ])
        .args(extra)
        .write_stdin(admin_password.clone());
        cmd.output().expect("runs")
    };
    let refused = login(&[]);
    assert_eq!(code(&refused), 3, "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("TENANT_SUSPENDED"),
        "{}",
        stderr(&refused)
    );
    sandbox
        .plexica()
        .args(["tenant", "activate", "acme"])
        .assert()
        .success();
    let logged_in = login(&[]);
    assert!(logged_in.status.success(), "{}", stderr(&logged_in));
    assert_eq!(json(&logged_in)["tenant"], "acme");
    let everything = format!("{logged_in:?}");
    assert!(!everything.contains(&admin_password), "no secret in output");
    // The tenant admin's profile remembers the tenant, and names the API that answered.
    let me = json(&bob(&["-o", "json", "whoami"]));
    assert_eq!(me["tenant"], "acme");
    assert_eq!(me["roles"][0], "admin");
    assert_eq!(me["api"], platform_api(sandbox).trim_end_matches('/'));
    let mine = json(&bob(&["-o", "json", "workspace", "list"]));
    assert_eq!(mine["total"], 1);
    // A tenant admin is not a super admin, and `local` is still the super admin.
    let forbidden = bob(&["tenant", "list"]);
    assert_eq!(code(&forbidden), 3);
    let local = sandbox.json_ok(["-o", "json", "whoami"]);
    assert_eq!(local["super_admin"], true, "{local}");
    // `auth status` shows both identities, each under its own profile.
    let status = sandbox.json_ok(["-o", "json", "auth", "status"]);
    let who = |profile: &str| {
        status
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["profile"] == profile && r["service"] == "core")
            .map(|r| (r["username"].clone(), r["validity"]["state"].clone()))
    };
    assert_eq!(
        who("local"),
        Some((serde_json::json!("admin"), serde_json::json!("valid"))),
        "{status}"
    );
    assert_eq!(
        who("bob"),
        Some((serde_json::json!(admin_email), serde_json::json!("valid"))),
        "{status}"
    );
    // `auth switch` changes who the commands act as; switching back restores the admin.
    sandbox.json_ok(["-o", "json", "auth", "switch", "bob"]);
    assert_eq!(sandbox.json_ok(["-o", "json", "whoami"])["tenant"], "acme");
    sandbox.json_ok(["-o", "json", "auth", "switch", "local"]);
    // Logging out of `bob` leaves `local` logged in.
    assert!(bob(&["-o", "json", "logout"]).status.success());
    let after = bob(&["workspace", "list"]);
    assert_eq!(code(&after), 3, "{}", stderr(&after));
    assert!(
        stderr(&after).contains("plexica --profile bob login"),
        "{}",
        stderr(&after)
    );
    let still = sandbox.json_ok(["-o", "json", "whoami", "--core", "--registry"]);
    assert_eq!(still["api"]["super_admin"], true, "{still}");
    assert_eq!(still["registry"]["username"], "admin", "{still}");
    // A registry scope asked of the core API is caught before anything is created.
    let misdirected = run(
        sandbox,
        &["token", "create", "ci", "--core", "--scopes", "publish"],
    );
    assert_eq!(code(&misdirected), 2, "{}", stderr(&misdirected));
    assert!(
        stderr(&misdirected).contains("--registry"),
        "{}",
        stderr(&misdirected)
    );
    let registry_token = sandbox.json_ok([
        "-o",
        "json",
        "token",
        "create",
        "ci",
        "--registry",
        "--scopes",
        "publish",
    ]);
    assert!(
        registry_token["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("plxr_")),
        "{registry_token}"
    );

    // Hard delete asks for confirmation, then removes everything.
    sandbox
        .plexica()
        .args(["tenant", "delete", "acme", "--hard", "--yes"])
        .assert()
        .success();
    assert_eq!(code(&run(sandbox, &["tenant", "get", "acme"])), 4);
}

/// The `local` profile's API URL, once `plexica up` has written it.
fn platform_api(sandbox: &Sandbox) -> String {
    local_api_url(sandbox).expect("the local profile")
}

#[test]
fn up_then_admin_commands_on_sqlite() {
    let sandbox = Sandbox::new();
    // A data directory made earlier by someone else's umask is made private too.
    let data_dir = sandbox.work().join(".plexica");
    std::fs::create_dir_all(&data_dir).expect("data dir");
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // A start that cannot bind its ports leaves no password behind, so the next start is the
    // first run and prints them.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port().to_string();
    let failed = sandbox
        .plexica()
        .args(["up", "--port-api", "0", "--port-registry", &port])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs");
    assert_eq!(code(&failed), 1, "{}", stderr(&failed));
    assert!(stderr(&failed).contains(&port), "{}", stderr(&failed));
    assert!(!data_dir.join("admin-password").exists());
    drop(busy);
    let platform = Platform::start(&sandbox, None, None);
    assert!(platform.api_url.starts_with("http://127.0.0.1:"));
    journey(&sandbox);
    let registry_url = crate::common::up::local_registry_url(&sandbox).expect("registry URL");
    let registry_token_status = |password: &str| {
        reqwest::blocking::Client::new()
            .post(format!("{registry_url}/api/v1/tokens"))
            .json(&serde_json::json!({ "username": "admin", "password": password }))
            .send()
            .expect("registry")
            .status()
            .as_u16()
    };
    let kept_core_password =
        std::fs::read_to_string(sandbox.work().join(".plexica").join("admin-password"))
            .expect("kept");
    // The core's password opens nothing on the registry.
    assert_eq!(registry_token_status(kept_core_password.trim()), 401);
    let result = platform.stop();
    assert_eq!(result["profile"], "local");
    assert_eq!(result["username"], "admin");
    let (Some(core_password), Some(registry_password)) = (
        result["password"].as_str(),
        result["registry_password"].as_str(),
    ) else {
        panic!("the first run prints both admin passwords: {result}");
    };
    assert_ne!(core_password, registry_password, "one secret per service");
    assert_eq!(core_password, kept_core_password.trim());
    // The data directory keeps the passwords (0600) for the next run, which prints none.
    for file in ["admin-password", "registry-admin-password"] {
        let kept = sandbox.work().join(".plexica").join(file);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&kept).expect("kept").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    // Nothing the platform wrote (databases, keys, secrets, packages) is open to other users.
    let mode = std::fs::metadata(&data_dir)
        .expect("data dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    let mut pending = vec![data_dir.clone()];
    let mut files = 0;
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let entry = entry.expect("entry");
            let meta = entry.metadata().expect("metadata");
            assert_eq!(
                meta.permissions().mode() & 0o077,
                0,
                "{} is open to other users",
                entry.path().display()
            );
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                files += 1;
            }
        }
    }
    assert!(files >= 3, "the databases and the password file are there");
    // Again, on other ports, logging as text to a file: it says it moves the selected
    // profile, and its log has no colour codes.
    let before = crate::common::up::local_api_url(&sandbox).expect("local profile");
    let again = Platform::start_with(&sandbox, None, None, &["--log-format", "text"]);
    sandbox.json_ok(["-o", "json", "tenant", "list"]);
    let (result, stderr) = again.stop_with_stderr();
    assert!(
        stderr.contains(&format!("warning: profile `local` pointed at {before}")),
        "{stderr}"
    );
    assert!(stderr.contains("INFO"), "a text log: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no ANSI codes off a terminal: {stderr}"
    );
    assert!(result.get("password").is_none(), "{result}");
    // Every start says where the passwords are.
    let kept = data_dir
        .canonicalize()
        .expect("data dir")
        .join("admin-password");
    assert_eq!(
        result["password_file"],
        kept.display().to_string(),
        "{result}"
    );
}

#[test]
fn up_on_postgres_and_nats() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let Some(url) = runtime.block_on(plexica_testkit::postgres_database("plexica_up")) else {
        return;
    };
    let sandbox = Sandbox::new();
    let nats = std::env::var("PLEXICA_TEST_NATS_URL").ok();
    if nats.is_none() {
        println!("NATS part skipped: PLEXICA_TEST_NATS_URL is not set");
    }
    let platform = Platform::start(&sandbox, Some(&url), nats.as_deref());
    let ready: Value = reqwest::blocking::get(format!("{}/health/ready", platform.api_url))
        .and_then(reqwest::blocking::Response::json)
        .expect("ready JSON");
    assert_eq!(ready["status"], "ok", "{ready}");
    if nats.is_some() {
        assert_eq!(ready["events"], "nats", "{ready}");
    }
    let created = sandbox.json_ok([
        "-o", "json", "tenant", "create", "globex", "--name", "Globex",
    ]);
    assert_eq!(created["status"], "ACTIVE");
    let ws = sandbox.json_ok(["-o", "json", "workspace", "list", "--tenant", "globex"]);
    assert_eq!(ws["data"][0]["slug"], "default");
    platform.stop();
}

#[test]
fn admin_commands_need_a_core_api() {
    let sandbox = Sandbox::new();
    let output = run(&sandbox, &["tenant", "list"]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("--api-url"), "{}", stderr(&output));
    let output = run(
        &sandbox,
        &["workspace", "list", "--api-url", "http://127.0.0.1:9"],
    );
    assert_eq!(code(&output), 2, "no tenant given: {}", stderr(&output));
    assert!(stderr(&output).contains("--tenant"));
}
