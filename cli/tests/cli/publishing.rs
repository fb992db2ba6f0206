//! The publishing half of the CLI against a real registry started in this process.

use crate::common::servers::{ADMIN_PASSWORD, LiveRegistry};
use crate::common::{Sandbox, json};
use predicates::prelude::*;

#[test]
fn the_publishing_journey_through_the_real_binary() {
    let registry = LiveRegistry::start();
    let sandbox = Sandbox::new();
    sandbox.login_registry(&registry.url, "admin", ADMIN_PASSWORD);
    let credentials = std::fs::read_to_string(sandbox.config_dir().join("credentials.toml"))
        .expect("credentials");
    assert!(credentials.contains("plxr_"), "the token is stored");
    let me = sandbox.json_ok(["-o", "json", "whoami"]);
    assert_eq!(me["username"], "admin");
    assert!(
        !me.to_string().contains("plxr_"),
        "whoami never prints the token"
    );

    sandbox
        .plexica()
        .args(["keys", "generate"])
        .assert()
        .success();
    sandbox
        .plexica()
        .args(["keys", "register", "default"])
        .assert()
        .success();

    let dir = sandbox.new_frontend_plugin("journey");
    sandbox.ok_with(&["plugin", "build"], &dir);
    let dry = json(
        &sandbox
            .plexica()
            .args(["-o", "json", "plugin", "publish", "--dry-run"])
            .arg(&dir)
            .output()
            .expect("dry run"),
    );
    assert_eq!(dry["dry_run"], true);
    sandbox
        .plexica()
        .args(["plugin", "info", "journey"])
        .assert()
        .code(4);

    let published = sandbox.json_with(&["plugin", "publish"], &dir);
    assert_eq!(published["id"], "journey");
    assert_eq!(published["version"], "0.1.0");
    assert!(published["digest"].as_str().is_some_and(|d| d.len() == 64));
    assert!(published["size"].as_u64().is_some_and(|s| s > 0));
    assert!(
        published["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&registry.url))
    );

    sandbox
        .plexica()
        .args(["plugin", "publish"])
        .arg(&dir)
        .assert()
        .code(5)
        .stderr(predicate::str::contains("VERSION_EXISTS"));

    let found = sandbox.json_ok(["-o", "json", "plugin", "search", "journ"]);
    assert_eq!(found["plugins"][0]["id"], "journey");
    let info = sandbox.json_ok(["-o", "json", "plugin", "info", "journey"]);
    assert_eq!(info["latest"], "0.1.0");

    let out = sandbox.work().join("downloaded.pxp");
    sandbox.ok_with(&["plugin", "download", "journey@0.1.0", "--out"], &out);
    assert_eq!(
        plexica_sdk::package::sha256_hex(&std::fs::read(&out).expect("downloaded")),
        published["digest"].as_str().expect("digest")
    );
    // The same package again is fine; another file is never overwritten without --force.
    sandbox.ok_with(&["plugin", "download", "journey@0.1.0", "--out"], &out);
    std::fs::write(&out, b"my own notes").expect("write");
    sandbox
        .plexica()
        .args(["plugin", "download", "journey@0.1.0", "--out"])
        .arg(&out)
        .assert()
        .code(5)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read(&out).expect("kept"), b"my own notes");
    sandbox.ok_with(
        &["plugin", "download", "journey@0.1.0", "--force", "--out"],
        &out,
    );
    assert_eq!(
        plexica_sdk::package::sha256_hex(&std::fs::read(&out).expect("downloaded")),
        published["digest"].as_str().expect("digest")
    );

    sandbox
        .plexica()
        .args([
            "plugin",
            "yank",
            "journey@0.1.0",
            "--reason",
            "testing yanks",
        ])
        .assert()
        .success();
    let version = sandbox.json_ok(["-o", "json", "plugin", "info", "journey@0.1.0"]);
    assert_eq!(version["yanked"], true);
    assert_eq!(version["yank_reason"], "testing yanks");
    sandbox
        .plexica()
        .args(["plugin", "yank", "journey@0.1.0", "--undo"])
        .assert()
        .success();
    sandbox
        .plexica()
        .args([
            "plugin",
            "deprecate",
            "journey",
            "--message",
            "use something else",
        ])
        .assert()
        .success();
    let owners = sandbox.json_ok(["-o", "json", "plugin", "owner", "list", "journey"]);
    assert_eq!(owners["users"], serde_json::json!(["admin"]));

    let created = sandbox
        .plexica()
        .args(["-o", "json", "token", "create", "ci", "--scopes", "publish"])
        .output()
        .expect("token");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let tokens = sandbox.json_ok(["-o", "json", "token", "list"]);
    assert!(tokens.as_array().is_some_and(|t| t.len() >= 2));
    assert!(!tokens.to_string().contains("plxr_"));

    sandbox.plexica().args(["logout"]).assert().success();
    sandbox.plexica().args(["whoami"]).assert().code(3);
}

#[test]
fn registry_refusals_exit_1_with_their_code_and_bad_tokens_exit_3() {
    let registry = LiveRegistry::start();
    let sandbox = Sandbox::new();
    sandbox.login_registry(&registry.url, "admin", ADMIN_PASSWORD);
    sandbox
        .plexica()
        .args(["keys", "generate"])
        .assert()
        .success();
    // An unsigned package: the registry refuses it with its own code and exit 1.
    let dir = sandbox.new_frontend_plugin("unsigned");
    sandbox.ok_with(&["plugin", "build"], &dir);
    let pxp = sandbox.work().join("unsigned.pxp");
    sandbox
        .plexica()
        .args(["plugin", "package", "--out"])
        .arg(&pxp)
        .arg(&dir)
        .assert()
        .success();
    sandbox
        .plexica()
        .args(["plugin", "publish"])
        .arg(&pxp)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("SIGNATURE_MISSING"));
    // Signed by a key the registry does not know.
    sandbox.ok_with(&["plugin", "sign"], &pxp);
    sandbox
        .plexica()
        .args(["plugin", "publish"])
        .arg(&pxp)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("SIGNATURE_FOREIGN"));
    // A token from the environment wins over the credentials file.
    sandbox
        .plexica()
        .args(["whoami"])
        .env("PLEXICA_REGISTRY_TOKEN", "plxr_forged")
        .assert()
        .code(3);
    let mut stdin_token = sandbox.plexica();
    stdin_token
        .args(["login", "--registry-url", &registry.url, "--token-stdin"])
        .write_stdin("plxr_forged");
    stdin_token.assert().code(3);
}

#[test]
fn a_second_publisher_joins_by_invite_through_the_real_binary() {
    let registry = LiveRegistry::start();
    let admin = Sandbox::new();
    admin.login_registry(&registry.url, "admin", ADMIN_PASSWORD);
    let invited = admin.json_ok(["-o", "json", "registry", "user", "add", "ada"]);
    assert_eq!(invited["username"], "ada");
    assert_eq!(
        invited["registry"]
            .as_str()
            .map(|u| u.trim_end_matches('/')),
        Some(registry.url.as_str())
    );
    let invite = invited["invite"].as_str().expect("invite").to_owned();
    assert!(invite.starts_with("plxi_"));

    // On ada's machine: without the invite the registry refuses (sign-up is closed), with it
    // the account is made, once.
    let ada = Sandbox::new();
    let signup = |invite: Option<&str>| {
        let mut command = ada.plexica();
        command.args([
            "-o",
            "json",
            "registry",
            "signup",
            "ada",
            "--password-stdin",
            "--registry-url",
            &registry.url,
        ]);
        if let Some(invite) = invite {
            command.env("PLEXICA_REGISTRY_INVITE", invite);
        }
        command
            .write_stdin("ada's long password")
            .output()
            .expect("signup")
    };
    let closed = signup(None);
    assert!(!closed.status.success());
    assert!(String::from_utf8_lossy(&closed.stderr).contains("SIGNUP_CLOSED"));
    let joined = signup(Some(&invite));
    assert!(
        joined.status.success(),
        "{}",
        String::from_utf8_lossy(&joined.stderr)
    );
    let joined = json(&joined);
    assert_eq!(joined["username"], "ada");
    assert_eq!(joined["invited"], true);
    assert!(
        !joined.to_string().contains("plxi_"),
        "the invite is not echoed"
    );
    let again = signup(Some(&invite));
    assert!(String::from_utf8_lossy(&again.stderr).contains("INVITE_INVALID"));

    // Ada logs in and registers her key: the CLI proves she holds it.
    ada.login_registry(&registry.url, "ada", "ada's long password");
    ada.plexica().args(["keys", "generate"]).assert().success();
    let registered = ada.json_ok(["-o", "json", "keys", "register", "default"]);
    assert_eq!(
        registered["registry"]
            .as_str()
            .map(|u| u.trim_end_matches('/')),
        Some(registry.url.as_str())
    );
    assert!(registered["key_id"].as_str().is_some_and(|k| k.len() == 16));
}

/// `plexica doctor -o json`: its exit code and its checks by name.
fn doctor(
    sandbox: &Sandbox,
) -> (
    Option<i32>,
    std::collections::BTreeMap<String, (String, String)>,
) {
    let output = sandbox
        .plexica()
        .args(["-o", "json", "doctor"])
        .output()
        .expect("doctor runs");
    let report = json(&output);
    let checks = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                (
                    c["status"].as_str().unwrap_or_default().to_owned(),
                    c["detail"].as_str().unwrap_or_default().to_owned(),
                ),
            )
        })
        .collect();
    assert_eq!(report["ok"], output.status.success(), "{report}");
    (output.status.code(), checks)
}

#[test]
fn doctor_names_what_is_broken_and_what_works() {
    use std::os::unix::fs::PermissionsExt;
    let registry = LiveRegistry::start();
    let sandbox = Sandbox::new();
    sandbox.login_registry(&registry.url, "admin", ADMIN_PASSWORD);
    sandbox
        .plexica()
        .args(["keys", "generate"])
        .assert()
        .success();
    // The selected profile's core API is down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = sandbox.config_dir().join("config.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replacen(
            "registry-url",
            &format!("api-url = \"http://127.0.0.1:{closed}\"\nregistry-url"),
            1,
        ),
    )
    .expect("write config");
    let (code, checks) = doctor(&sandbox);
    assert_eq!(code, Some(1), "{checks:?}");
    assert_eq!(checks["registry"].0, "ok", "{checks:?}");
    assert_eq!(checks["registry clock"].0, "ok", "{checks:?}");
    assert_eq!(checks["registry login"].0, "ok", "{checks:?}");
    assert!(
        checks["registry login"].1.starts_with("admin"),
        "{checks:?}"
    );
    assert_eq!(checks["key default"].0, "ok", "{checks:?}");
    assert_eq!(checks["core API"].0, "fail", "{checks:?}");
    assert!(
        checks["core API"].1.contains("cannot be reached"),
        "{checks:?}"
    );
    assert_eq!(checks["core API login"].0, "warn", "{checks:?}");
    assert!(
        !format!("{checks:?}").contains("plxr_"),
        "doctor never prints a token"
    );

    // A key others can read, and a config file that no longer parses.
    let key = sandbox.config_dir().join("keys/default.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::write(&config, "current-profile = [").expect("break config");
    let (code, checks) = doctor(&sandbox);
    assert_eq!(code, Some(1));
    assert_eq!(checks["config file"].0, "fail", "{checks:?}");
    assert_eq!(checks["key default"].0, "fail", "{checks:?}");
    assert!(checks["key default"].1.contains("chmod 600"), "{checks:?}");
    assert!(!checks.contains_key("registry"), "{checks:?}");
}

#[test]
fn an_encrypted_key_signs_with_its_passphrase_and_a_revoked_key_is_refused() {
    let registry = LiveRegistry::start();
    let sandbox = Sandbox::new();
    sandbox.login_registry(&registry.url, "admin", ADMIN_PASSWORD);
    let with_passphrase = |passphrase: Option<&str>, args: &[&str]| {
        let mut command = sandbox.plexica();
        command.args(args);
        if let Some(passphrase) = passphrase {
            command.env("PLEXICA_KEY_PASSPHRASE", passphrase);
        }
        command.output().expect("plexica runs")
    };
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();

    // Encrypted on disk; without the passphrase (and no terminal) the error names the variable.
    let refused = with_passphrase(None, &["keys", "generate", "--encrypt"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("PLEXICA_KEY_PASSPHRASE"));
    let made = with_passphrase(
        Some("a long passphrase"),
        &["keys", "generate", "--encrypt"],
    );
    assert!(made.status.success(), "{}", stderr(&made));
    let key_file = sandbox.config_dir().join("keys/default.key");
    let text = std::fs::read_to_string(&key_file).expect("key file");
    assert!(
        plexica_sdk::package::signing::SecretKey::is_encrypted(&text),
        "{text}"
    );
    let locked = with_passphrase(None, &["keys", "register", "default"]);
    assert_eq!(locked.status.code(), Some(2), "{}", stderr(&locked));
    assert!(
        stderr(&locked).contains("protected by a passphrase")
            && stderr(&locked).contains("PLEXICA_KEY_PASSPHRASE"),
        "{}",
        stderr(&locked)
    );
    let wrong = with_passphrase(Some("not the passphrase"), &["keys", "register", "default"]);
    assert_eq!(wrong.status.code(), Some(3), "{}", stderr(&wrong));
    assert!(
        stderr(&wrong).contains("wrong passphrase"),
        "{}",
        stderr(&wrong)
    );
    let registered = with_passphrase(
        Some("a long passphrase"),
        &["-o", "json", "keys", "register", "default"],
    );
    assert!(registered.status.success(), "{}", stderr(&registered));
    let key_id = json(&registered)["key_id"]
        .as_str()
        .expect("key id")
        .to_owned();

    let dir = sandbox.new_frontend_plugin("locked");
    sandbox.ok_with(&["plugin", "build"], &dir);
    let mut publish = sandbox.plexica();
    publish
        .args(["-o", "json", "plugin", "publish", "--no-build"])
        .arg(&dir)
        .env("PLEXICA_KEY_PASSPHRASE", "a long passphrase");
    let published = publish.output().expect("publish");
    assert!(published.status.success(), "{}", stderr(&published));

    // Revoke: asks first (refused without a terminal or --yes), then the registry refuses the
    // key and its files move to keys/revoked/.
    let unconfirmed = with_passphrase(None, &["keys", "revoke", "default"]);
    assert_eq!(
        unconfirmed.status.code(),
        Some(2),
        "{}",
        stderr(&unconfirmed)
    );
    assert!(sandbox.config_dir().join("keys/default.pub").exists());
    let revoked = with_passphrase(None, &["-o", "json", "keys", "revoke", "default", "--yes"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    let revoked = json(&revoked);
    assert_eq!(revoked["key_id"], key_id.as_str());
    assert_eq!(revoked["revoked_at_registry"], true);
    let archive = sandbox.config_dir().join("keys/revoked");
    assert!(archive.join(format!("default-{key_id}.key")).exists());
    assert!(archive.join(format!("default-{key_id}.pub")).exists());
    assert!(!key_file.exists());
    let listed = sandbox.json_ok(["-o", "json", "keys", "list"]);
    assert_eq!(listed, serde_json::json!([]));

    // A package signed with the revoked key (its archived files) is refused.
    std::fs::copy(
        archive.join(format!("default-{key_id}.key")),
        sandbox.config_dir().join("keys/old.key"),
    )
    .expect("copy");
    std::fs::copy(
        archive.join(format!("default-{key_id}.pub")),
        sandbox.config_dir().join("keys/old.pub"),
    )
    .expect("copy");
    let manifest = dir.join("plexica.toml");
    let bumped = std::fs::read_to_string(&manifest)
        .expect("manifest")
        .replace("version = \"0.1.0\"", "version = \"0.2.0\"");
    std::fs::write(&manifest, bumped).expect("write");
    sandbox.ok_with(&["plugin", "build"], &dir);
    let mut again = sandbox.plexica();
    again
        .args(["plugin", "publish", "--no-build", "--key", "old"])
        .arg(&dir)
        .env("PLEXICA_KEY_PASSPHRASE", "a long passphrase");
    let again = again.output().expect("publish");
    assert!(!again.status.success());
    assert!(stderr(&again).contains("KEY_REVOKED"), "{}", stderr(&again));
}
