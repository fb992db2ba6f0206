//! The publishing commands through the real binary, without a registry: prompts that cannot
//! happen, missing configuration, unreachable registries, credentials file rules, profiles.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Sandbox, json};
use predicates::prelude::*;

/// Nothing listens on the discard port: connections are refused at once.
const REFUSED: &str = "http://127.0.0.1:9";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn login_without_a_terminal_names_the_missing_flag() {
    let sandbox = Sandbox::new();
    sandbox
        .plexica()
        .args(["login", "--registry-url", REFUSED])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error: missing the username"))
        .stderr(predicate::str::contains("--username"))
        .stderr(predicate::str::contains("--password-stdin"));
    sandbox
        .plexica()
        .args(["login", "--registry-url", REFUSED, "--username", "alice"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error: missing the password"))
        .stderr(predicate::str::contains("--password-stdin"));
    assert!(!sandbox.config_dir().join("credentials.toml").exists());
}

#[test]
fn token_stdin_must_hold_a_registry_token() {
    Sandbox::new()
        .plexica()
        .args(["login", "--registry-url", REFUSED, "--token-stdin"])
        .write_stdin("not-a-token\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("plxr_"));
}

#[test]
fn commands_that_need_a_registry_name_the_flag_when_none_is_configured() {
    let sandbox = Sandbox::new();
    let commands: [&[&str]; 11] = [
        &["whoami"],
        &["logout"],
        &["token", "list"],
        &["token", "create", "ci"],
        &["plugin", "search", "crm"],
        &["plugin", "info", "crm"],
        &["plugin", "download", "crm@1.0.0"],
        &["plugin", "yank", "crm@1.0.0", "--reason", "broken"],
        &["plugin", "deprecate", "crm", "--message", "gone"],
        &["plugin", "owner", "list", "crm"],
        &["plugin", "publish", "."],
    ];
    for args in commands {
        sandbox
            .plexica()
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("error: no registry configured"))
            .stderr(predicate::str::contains("--registry-url"));
    }
}

#[test]
fn an_unknown_named_registry_is_a_usage_error() {
    Sandbox::new()
        .plexica()
        .args(["plugin", "publish", ".", "--registry", "staging"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no registry called `staging`"));
}

#[test]
fn a_malformed_registry_url_is_a_usage_error() {
    Sandbox::new()
        .plexica()
        .args([
            "plugin",
            "search",
            "crm",
            "--registry-url",
            "ftp://example.com",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a service URL"));
}

#[test]
fn an_unreachable_registry_exits_6_after_retries() {
    let sandbox = Sandbox::new();
    let started = Instant::now();
    let output = sandbox
        .plexica()
        .args(["plugin", "search", "crm", "--registry-url", REFUSED])
        .timeout(Duration::from_secs(30))
        .output()
        .expect("runs");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(stderr.contains("error: cannot reach"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.matches("Retrying").count(), 3, "{stderr}");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");

    // A POST is retried too when nothing could be sent; JSON mode keeps stdout empty.
    sandbox
        .plexica()
        .args(["-o", "json", "login", "--registry-url", REFUSED])
        .args(["--username", "alice", "--password-stdin"])
        .write_stdin("secret-password\n")
        .timeout(Duration::from_secs(30))
        .assert()
        .code(6)
        .stdout("")
        .stderr(predicate::str::contains("error:"))
        .stderr(predicate::str::contains("secret-password").not());
}

#[test]
fn a_command_needing_a_token_without_one_exits_3() {
    Sandbox::new()
        .plexica()
        .args(["whoami", "--registry-url", REFUSED])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("not logged in"))
        .stderr(predicate::str::contains("plexica login"));
}

#[cfg(unix)]
#[test]
fn credentials_are_rewritten_0600_and_refused_when_others_can_read_them() {
    let sandbox = Sandbox::new();
    let file = sandbox.config_dir().join("credentials.toml");
    write(
        &file,
        &format!(
            "[registries.\"{REFUSED}\"]\ntoken = \"plxr_firstsecret\"\nusername = \"alice\"\n\n\
             [registries.\"https://other.example.com\"]\ntoken = \"plxr_othersecret\"\n"
        ),
    );
    set_mode(&file, 0o400);

    // Forgetting a login without a token id needs no registry; the file is replaced, 0600.
    let output = sandbox
        .plexica()
        .args(["-o", "json", "logout", "--registry-url", REFUSED])
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let result = json(&output);
    assert_eq!(result["registry"]["url"], REFUSED);
    assert_eq!(result["registry"]["removed"], true);
    assert_eq!(result["registry"]["revoked"], false);
    let everything = format!("{output:?}");
    assert!(!everything.contains("plxr_firstsecret"));
    assert_eq!(mode(&file), 0o600);
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(!text.contains("plxr_firstsecret"), "{text}");
    assert!(text.contains("plxr_othersecret"), "{text}");

    set_mode(&file, 0o644);
    sandbox
        .plexica()
        .args(["whoami", "--registry-url", "https://other.example.com"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("readable by other users"))
        .stderr(predicate::str::contains(format!(
            "chmod 600 {}",
            file.display()
        )))
        .stderr(predicate::str::contains("plxr_othersecret").not());

    // A token from the environment wins: the file is not even read.
    sandbox
        .plexica()
        .env("PLEXICA_REGISTRY_TOKEN", "plxr_fromenv")
        .args(["-q", "whoami", "--registry-url", REFUSED])
        .timeout(Duration::from_secs(30))
        .assert()
        .code(6)
        .stderr(predicate::str::contains("plxr_fromenv").not());
}

#[test]
fn profiles_round_trip_through_use_show_and_list() {
    let sandbox = Sandbox::new();
    let config = sandbox.config_dir().join("config.toml");
    write(
        &config,
        &format!(
            "[profiles.default]\nregistry-url = \"{REFUSED}\"\n\n\
             [profiles.staging]\nregistry-url = \"https://registry.staging.example.com/\"\n\
             default-tenant = \"acme\"\ndefault-key = \"release\"\n\n\
             [registries.local]\nurl = \"http://127.0.0.1:9\"\n"
        ),
    );
    let run_json = |args: &[&str]| {
        let output = sandbox
            .plexica()
            .args(["-o", "json"])
            .args(args)
            .output()
            .expect("runs");
        assert!(output.status.success(), "{args:?}: {output:?}");
        json(&output)
    };

    let listed = run_json(&["profile", "list"]);
    let names: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["default", "staging"]);
    assert_eq!(listed[0]["selected"], true);
    assert_eq!(listed[1]["selected"], false);

    let used = run_json(&["profile", "use", "staging"]);
    assert_eq!(used["name"], "staging");
    let text = std::fs::read_to_string(&config).expect("read");
    assert!(text.contains("current-profile = \"staging\""), "{text}");
    assert!(text.contains("[registries.local]"), "{text}");

    let shown = run_json(&["profile", "show"]);
    assert_eq!(shown["name"], "staging");
    assert_eq!(shown["selected"], true);
    assert_eq!(shown["default_tenant"], "acme");
    assert_eq!(shown["default_key"], "release");
    assert_eq!(
        shown["registry_url"],
        "https://registry.staging.example.com/"
    );
    let listed = run_json(&["profile", "list"]);
    assert_eq!(listed[0]["selected"], false);
    assert_eq!(listed[1]["selected"], true);

    // `--profile` and `PLEXICA_PROFILE` select another one for one command.
    assert_eq!(
        run_json(&["--profile", "default", "profile", "show"])["name"],
        "default"
    );
    let output = sandbox
        .plexica()
        .env("PLEXICA_PROFILE", "default")
        .args(["-o", "json", "profile", "show"])
        .output()
        .expect("runs");
    assert_eq!(json(&output)["registry_url"], REFUSED);

    sandbox
        .plexica()
        .args(["profile", "use", "ghost"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("no profile called `ghost`"))
        .stderr(predicate::str::contains("default, staging"));
    sandbox
        .plexica()
        .args(["--profile", "ghost", "whoami"])
        .assert()
        .code(4);

    // The selected profile's registry is used when no flag is given: here, the one that is
    // not logged in.
    sandbox
        .plexica()
        .args(["whoami"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "not logged in to https://registry.staging.example.com",
        ));
}

#[test]
fn profile_show_without_a_configuration_shows_an_empty_default() {
    let output = Sandbox::new()
        .plexica()
        .args(["-o", "json", "profile", "show"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let shown = json(&output);
    assert_eq!(shown["name"], "default");
    assert_eq!(shown["exists"], false);
    assert!(shown["registry_url"].is_null());
}

#[test]
fn plugin_specs_are_checked_before_any_request() {
    let sandbox = Sandbox::new();
    sandbox
        .plexica()
        .args(["plugin", "info", "Not_An_Id", "--registry-url", REFUSED])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a valid plugin id"));
    sandbox
        .plexica()
        .args([
            "plugin",
            "yank",
            "crm",
            "--reason",
            "x",
            "--registry-url",
            REFUSED,
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("names no version"));
    sandbox
        .plexica()
        .args(["token", "create", "ci", "--expires", "forever"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--expires"));
}
