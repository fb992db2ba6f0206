//! The publishing commands through the real binary, without a registry: prompts that cannot
//! happen, missing configuration, unreachable registries, credentials file rules, profiles.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{Sandbox, json};
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
    // Account commands work with either service: they name both, and `plexica up`.
    for args in [
        &["whoami"][..],
        &["logout"],
        &["token", "list"],
        &["token", "create", "ci"],
    ] {
        sandbox
            .plexica()
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(
                "error: no core API or registry configured",
            ))
            .stderr(predicate::str::contains("plexica up"))
            .stderr(predicate::str::contains("--registry-url"));
    }
    let commands: [&[&str]; 8] = [
        &["whoami", "--registry"],
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
fn config_toml_typos_are_warned_with_their_place_and_syntax_errors_are_usage_errors() {
    let sandbox = Sandbox::new();
    let config = sandbox.config_dir().join("config.toml");
    write(
        &config,
        "current-profile = \"local\"\n[profiles.local]\nregisty-url = \"http://127.0.0.1:9\"\n\
         [registries.main]\nurl = \"http://127.0.0.1:9\"\nurll = \"x\"\n",
    );
    let output = sandbox
        .plexica()
        .args(["profile", "list"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "config.toml:3:1: unknown key `registy-url` in [profiles.local], ignored \
             (did you mean `registry-url`?)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("config.toml:6:1: unknown key `urll` in [registries.main]"),
        "{stderr}"
    );
    write(&config, "[profiles.local]\ndefault-tenant = acme\n");
    let output = sandbox
        .plexica()
        .args(["profile", "list"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("config.toml:2:18: "), "{stderr}");
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
            "[profiles.default.registries.\"{REFUSED}\"]\ntoken = \"plxr_firstsecret\"\nusername = \"alice\"\n\n\
             [profiles.default.registries.\"https://other.example.com\"]\ntoken = \"plxr_othersecret\"\n"
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

#[cfg(unix)]
#[test]
fn profiles_are_set_unset_and_deleted_with_their_logins_only() {
    let sandbox = Sandbox::new();
    let run = |args: &[&str]| {
        sandbox
            .plexica()
            .args(["-o", "json"])
            .args(args)
            .output()
            .expect("runs")
    };
    // `set` creates the profile named by --profile; URLs are checked and stored without `/`.
    let set = run(&[
        "--profile",
        "ci",
        "profile",
        "set",
        "api-url",
        "http://127.0.0.1:9/",
    ]);
    assert!(set.status.success(), "{set:?}");
    assert_eq!(json(&set)["api_url"], "http://127.0.0.1:9");
    let set = run(&[
        "--profile",
        "ci",
        "profile",
        "set",
        "default-tenant",
        "acme",
    ]);
    assert_eq!(json(&set)["default_tenant"], "acme");
    let bad = run(&[
        "--profile",
        "ci",
        "profile",
        "set",
        "registry-url",
        "ftp://x",
    ]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    let unknown = run(&["profile", "set", "registy-url", "http://x"]);
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("registry-url"),
        "a near miss is named: {unknown:?}"
    );
    let unset = run(&["--profile", "ci", "profile", "unset", "default-tenant"]);
    assert!(json(&unset)["default_tenant"].is_null());

    // Two profiles with logins; deleting one forgets its logins and keeps the other's. Logins
    // without a token id (and a server that does not answer) are forgotten, not revoked.
    let credentials = sandbox.config_dir().join("credentials.toml");
    write(
        &credentials,
        &format!(
            "[profiles.ci.registries.\"{REFUSED}\"]\ntoken = \"plxr_cisecret\"\n\n\
             [profiles.other.registries.\"{REFUSED}\"]\ntoken = \"plxr_othersecret\"\n"
        ),
    );
    set_mode(&credentials, 0o600);
    let refused = sandbox
        .plexica()
        .args(["profile", "delete", "ci"])
        .output()
        .expect("runs");
    assert_eq!(
        refused.status.code(),
        Some(2),
        "no terminal, no --yes: {refused:?}"
    );
    let deleted = run(&["--yes", "profile", "delete", "ci"]);
    assert!(deleted.status.success(), "{deleted:?}");
    assert_eq!(json(&deleted)["logins_removed"], 1);
    let text = std::fs::read_to_string(&credentials).expect("read");
    assert!(!text.contains("plxr_cisecret"), "{text}");
    assert!(text.contains("plxr_othersecret"), "{text}");
    let config = std::fs::read_to_string(sandbox.config_dir().join("config.toml")).expect("read");
    assert!(!config.contains("[profiles.ci]"), "{config}");
    assert!(!config.contains("current-profile = \"ci\""), "{config}");
    let gone = run(&["--yes", "profile", "delete", "ci"]);
    assert_eq!(gone.status.code(), Some(4), "{gone:?}");
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

/// A backend crate with no dependencies (builds in seconds) whose manifest ships its binary.
fn tiny_backend(sandbox: &Sandbox) -> std::path::PathBuf {
    let dir = sandbox.work().join("tiny");
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    write(
        &dir.join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    write(&dir.join("src/main.rs"), "fn main() {}\n");
    write(
        &dir.join("plexica.toml"),
        "[plugin]\nid = \"tiny\"\nname = \"Tiny\"\nversion = \"0.1.0\"\n\
         description = \"A backend that does nothing\"\nauthors = [\"Test\"]\nlicense = \"MIT\"\n\n\
         [backend]\nentry = \"bin/tiny\"\n\
         build = \"cargo build --quiet --profile ${PLEXICA_CARGO_PROFILE:-release}\"\n\
         artifact = \"target/{profile}/tiny\"\n",
    );
    dir
}

#[test]
fn builds_find_the_artifact_where_cargo_put_it_and_stale_or_mismatched_ones_never_ship() {
    let sandbox = Sandbox::new();
    let dir = tiny_backend(&sandbox);
    let elsewhere = sandbox.work().join("shared-target");
    let plexica = |args: &[&str]| {
        sandbox
            .plexica()
            .env("CARGO_TARGET_DIR", &elsewhere)
            .env("PLEXICA_REGISTRY_TOKEN", "plxr_unused")
            .args(args)
            .arg(&dir)
            .timeout(Duration::from_secs(300))
            .output()
            .expect("runs")
    };
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    // CARGO_TARGET_DIR is honoured: cargo's own metadata says where the binary is.
    let built = plexica(&["plugin", "build"]);
    assert!(built.status.success(), "{}", stderr(&built));
    let artifact = elsewhere.join("release/tiny");
    assert!(artifact.is_file());
    assert!(!dir.join("target").exists());
    let packaged = plexica(&["-o", "json", "plugin", "package"]);
    assert!(packaged.status.success(), "{}", stderr(&packaged));

    // A Cargo.toml whose version is not the manifest's is refused.
    let cargo = dir.join("Cargo.toml");
    let original = std::fs::read_to_string(&cargo).expect("read");
    write(&cargo, &original.replace("0.1.0", "0.2.0"));
    let mismatched = plexica(&["plugin", "package"]);
    assert_eq!(mismatched.status.code(), Some(1));
    assert!(
        stderr(&mismatched).contains("Cargo.toml says version 0.2.0"),
        "{}",
        stderr(&mismatched)
    );
    write(&cargo, &original);

    // Code newer than the binary: package and `publish --no-build` refuse, naming the file.
    sandbox
        .plexica()
        .args(["keys", "generate"])
        .assert()
        .success();
    write(
        &dir.join("src/main.rs"),
        "fn main() {\n    // edited after the build\n}\n",
    );
    let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&artifact)
        .and_then(|f| f.set_modified(an_hour_ago))
        .expect("age the artifact");
    for args in [
        &["plugin", "package"][..],
        &["plugin", "publish", "--no-build", "--registry", REFUSED][..],
    ] {
        let stale = plexica(args);
        assert_eq!(stale.status.code(), Some(1), "{args:?}: {}", stderr(&stale));
        assert!(
            stderr(&stale).contains("changed after"),
            "{args:?}: {}",
            stderr(&stale)
        );
    }
    // `publish` builds first (as `cargo publish` does): the binary is fresh again, then the
    // upload finds no registry.
    let published = plexica(&["plugin", "publish", "--registry", REFUSED]);
    assert_eq!(published.status.code(), Some(6), "{}", stderr(&published));
    let rebuilt = std::fs::metadata(&artifact)
        .and_then(|m| m.modified())
        .expect("mtime");
    assert!(
        rebuilt > an_hour_ago + Duration::from_secs(60),
        "publish built first"
    );
}
