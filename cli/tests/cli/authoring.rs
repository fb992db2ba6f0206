//! The authoring commands through the real binary: output contract, exit codes, refusals.

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use crate::common::{Sandbox, json};
use predicates::prelude::*;

#[test]
fn version_and_help_answer() {
    let sandbox = Sandbox::new();
    sandbox
        .plexica()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("plexica "));
    sandbox
        .plexica()
        .args(["plugin", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("validate"));
}

#[test]
fn usage_errors_exit_2() {
    Sandbox::new()
        .plexica()
        .args(["plugin", "frobnicate"])
        .assert()
        .code(2);
}

#[test]
fn without_a_terminal_new_never_prompts_and_names_the_flag() {
    Sandbox::new()
        .plexica()
        .args(["plugin", "new"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error: missing the plugin id"))
        .stderr(predicate::str::contains("--set id="));
}

#[test]
fn a_plugin_named_like_a_console_path_gets_pages_of_its_own() {
    let sandbox = Sandbox::new();
    for (id, prefix) in [
        ("admin", "/admin-plugin"),
        ("metrics", "/metrics-plugin"),
        ("crm", "/crm"),
    ] {
        let dir = sandbox.new_frontend_plugin(id);
        let manifest = std::fs::read_to_string(dir.join("plexica.toml")).expect("manifest");
        assert!(
            manifest.contains(&format!("route-prefix = \"{prefix}\"")),
            "{manifest}"
        );
        assert!(
            manifest.contains(&format!("route = \"{prefix}/home\"")),
            "{manifest}"
        );
        sandbox.ok_with(&["plugin", "validate"], &dir);
    }
}

#[test]
fn new_takes_answers_from_set_and_reports_json() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .plexica()
        .args([
            "-o",
            "json",
            "plugin",
            "new",
            "--set",
            "id=crm-tools",
            "--set",
            "template=frontend",
        ])
        .args([
            "--set",
            "name=CRM \"Tools\"",
            "--set",
            "description=Tools for the CRM team",
        ])
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created = json(&output);
    assert_eq!(created["id"], "crm-tools");
    assert_eq!(created["template"], "frontend");
    let manifest =
        std::fs::read_to_string(sandbox.work().join("crm-tools/plexica.toml")).expect("manifest");
    assert!(manifest.contains(r#"name = "CRM \"Tools\"""#), "{manifest}");
    sandbox
        .plexica()
        .args(["plugin", "validate", "crm-tools"])
        .assert()
        .success();
}

#[test]
fn new_rejects_bad_ids_unknown_answers_and_non_empty_directories() {
    let sandbox = Sandbox::new();
    sandbox
        .plexica()
        .args(["plugin", "new", "Bad_Id"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a valid plugin id"));
    sandbox
        .plexica()
        .args(["plugin", "new", "ok-id", "--set", "colour=red"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown answer `colour`"));
    sandbox.new_frontend_plugin("taken");
    sandbox
        .plexica()
        .args(["plugin", "new", "taken", "--template", "frontend"])
        .assert()
        .code(5)
        .stderr(predicate::str::contains("--force"));
    sandbox
        .plexica()
        .args([
            "plugin",
            "new",
            "taken",
            "--template",
            "frontend",
            "--force",
        ])
        .assert()
        .success();
}

const BROKEN: &str = r#"[plugin]
id = "crm"
name = "CRM"
version = "1.2"
description = "Contacts and deals"
authors = ["Ada <ada@example.com>"]
license = "MIT"
colour = "blue"

[frontend]
dist = "ui/dist"
remote-entry = "remoteEntry.js"

[events]
subscribes = ["core.usr.created"]
"#;

#[test]
fn validate_reports_every_problem_rendered_with_carets() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.work().join("plexica.toml"), BROKEN).expect("write");
    sandbox
        .plexica()
        .args(["plugin", "validate"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[manifest::version]"))
        .stderr(predicate::str::contains(
            "error[manifest::unknown-key]: unknown key `plugin.colour`",
        ))
        .stderr(predicate::str::contains(
            "error[manifest::event-name]: `core.usr.created`: not a known core event domain",
        ))
        .stderr(predicate::str::contains("--> plexica.toml:15:15"))
        .stderr(predicate::str::contains(
            "did you mean `core.user.created`?",
        ))
        .stderr(predicate::str::contains("^^^^"));
}

#[test]
fn validate_json_is_an_array_of_diagnostics() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.work().join("plexica.toml"), BROKEN).expect("write");
    let output = sandbox
        .plexica()
        .args(["plugin", "validate", "-o", "json"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let diagnostics = json(&output);
    let list = diagnostics.as_array().expect("an array");
    let codes: Vec<&str> = list.iter().filter_map(|d| d["code"].as_str()).collect();
    assert!(codes.contains(&"manifest::version"), "{codes:?}");
    assert!(codes.contains(&"manifest::unknown-key"), "{codes:?}");
    assert!(codes.contains(&"manifest::event-name"), "{codes:?}");
    let event = list
        .iter()
        .find(|d| d["code"] == "manifest::event-name")
        .expect("event diagnostic");
    assert_eq!(event["line"], 15);
    assert_eq!(event["column"], 15);
    assert_eq!(event["file"], "plexica.toml");
    assert_eq!(event["severity"], "error");
    assert!(event["span"]["start"].is_u64());
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains('\u{1b}'),
        "no ANSI codes in JSON"
    );
}

#[test]
fn warnings_pass_unless_denied_and_fresh_templates_have_none() {
    let sandbox = Sandbox::new();
    for template in ["rust-backend", "frontend", "fullstack"] {
        let id = format!("fresh-{template}");
        sandbox
            .plexica()
            .args(["plugin", "new", &id, "--template", template])
            .assert()
            .success();
        sandbox
            .plexica()
            .args(["plugin", "validate", "--deny-warnings"])
            .arg(sandbox.work().join(&id))
            .assert()
            .success();
    }
    let dir = sandbox.new_frontend_plugin("warned");
    let manifest = dir.join("plexica.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, text.replace("icon = \"puzzle\"\n", "")).expect("write");
    sandbox.ok_with(&["plugin", "validate"], &dir);
    sandbox
        .plexica()
        .args(["plugin", "validate", "--deny-warnings"])
        .arg(&dir)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("warning[manifest::missing-icon]"));
}

#[test]
fn missing_manifest_is_not_found() {
    Sandbox::new()
        .plexica()
        .args(["plugin", "validate"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("no plexica.toml"));
}

fn build_and_package(sandbox: &Sandbox, dir: &std::path::Path) -> std::path::PathBuf {
    sandbox.ok_with(&["plugin", "build"], dir);
    let output = sandbox
        .plexica()
        .args(["-o", "json", "plugin", "package"])
        .arg(dir)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::path::PathBuf::from(json(&output)["file"].as_str().expect("file"))
}

#[test]
fn packaging_twice_with_changed_mtimes_is_byte_identical() {
    let sandbox = Sandbox::new();
    let dir = sandbox.new_frontend_plugin("repro");
    let first = std::fs::read(build_and_package(&sandbox, &dir)).expect("package");
    let past = SystemTime::now() - Duration::from_secs(86_400 * 400);
    for entry in ["plexica.toml", "README.md", "ui/src/HomePage.jsx"] {
        let file = std::fs::File::options()
            .write(true)
            .open(dir.join(entry))
            .expect("open");
        file.set_modified(past).expect("set mtime");
    }
    let second = std::fs::read(build_and_package(&sandbox, &dir)).expect("package");
    assert_eq!(first, second);
}

#[test]
fn package_list_prints_contents_with_sizes_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let dir = sandbox.new_frontend_plugin("listed");
    sandbox.ok_with(&["plugin", "build"], &dir);
    std::fs::write(dir.join(".plexicaignore"), "README.md\n").expect("write ignore");
    let output = sandbox
        .plexica()
        .args(["-o", "json", "plugin", "package", "--list"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert!(output.status.success());
    let listed = json(&output);
    let paths: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(paths.contains(&"plexica.toml"));
    assert!(paths.contains(&"ui/dist/remoteEntry.js"));
    assert!(!paths.contains(&"README.md"), ".plexicaignore applies");
    assert!(
        !paths.iter().any(|p| p.starts_with('.')),
        "dotfiles are excluded"
    );
    assert!(listed[0]["size"].is_u64());
    assert!(
        !dir.join("target/plexica").exists(),
        "--list writes nothing"
    );
}

#[test]
fn secret_files_are_refused_unless_allowed() {
    let sandbox = Sandbox::new();
    let dir = sandbox.new_frontend_plugin("leaky");
    sandbox.ok_with(&["plugin", "build"], &dir);
    for secret in [".env", "server.pem", "id_rsa"] {
        std::fs::write(dir.join(secret), "secret").expect("write secret");
        sandbox
            .plexica()
            .args(["plugin", "package"])
            .arg(&dir)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("refusing to package secret files"))
            .stderr(predicate::str::contains(secret))
            .stderr(predicate::str::contains("--allow-secrets"));
        std::fs::remove_file(dir.join(secret)).expect("remove");
    }
    std::fs::write(dir.join("server.pem"), "secret").expect("write secret");
    sandbox.ok_with(&["plugin", "package", "--allow-secrets"], &dir);
}

#[test]
fn keys_are_private_and_refused_when_readable_by_others() {
    let sandbox = Sandbox::new();
    let output = sandbox
        .plexica()
        .args(["-o", "json", "keys", "generate", "release"])
        .output()
        .expect("runs");
    assert!(output.status.success());
    let key = json(&output);
    let secret_path = std::path::PathBuf::from(key["secret_key_path"].as_str().expect("path"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_path)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    sandbox
        .plexica()
        .args(["keys", "generate", "release"])
        .assert()
        .code(5);
    let listed = sandbox.json_ok(["-o", "json", "keys", "list"]);
    assert_eq!(listed[0]["name"], "release");
    assert_eq!(listed[0]["key_id"], key["key_id"]);
    sandbox
        .plexica()
        .args(["keys", "export", "release"])
        .assert()
        .success()
        .stdout(format!(
            "{}\n",
            key["public_key"].as_str().expect("public key")
        ));

    let dir = sandbox.new_frontend_plugin("perm");
    let pxp = build_and_package(&sandbox, &dir);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret_path, std::fs::Permissions::from_mode(0o644))
            .expect("chmod");
        sandbox
            .plexica()
            .args(["plugin", "sign", "--key", "release"])
            .arg(&pxp)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("readable by other users"))
            .stderr(predicate::str::contains(format!(
                "help: run `chmod 600 {}`",
                secret_path.display()
            )));
        std::fs::set_permissions(&secret_path, std::fs::Permissions::from_mode(0o600))
            .expect("chmod");
    }
    sandbox.ok_with(&["plugin", "sign"], &pxp);
}

#[test]
fn verify_reports_each_check_and_fails_on_tampering() {
    let sandbox = Sandbox::new();
    let dir = sandbox.new_frontend_plugin("tamper");
    let pxp = build_and_package(&sandbox, &dir);
    sandbox
        .plexica()
        .args(["keys", "generate"])
        .assert()
        .success();
    sandbox.ok_with(&["plugin", "sign"], &pxp);
    let report = sandbox.json_with(&["plugin", "verify"], &pxp);
    let checks: Vec<(&str, &str)> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap_or(""),
                c["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    for name in [
        "archive",
        "manifest",
        "checksums",
        "key",
        "signature",
        "trusted-comment",
    ] {
        assert!(checks.contains(&(name, "pass")), "{name} in {checks:?}");
    }

    // An untrusted key: verify against another key only.
    sandbox
        .plexica()
        .args(["keys", "generate", "other"])
        .assert()
        .success();
    let other = sandbox.config_dir().join("keys/other.pub");
    sandbox
        .plexica()
        .args(["plugin", "verify", "--key"])
        .arg(&other)
        .arg(&pxp)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not trusted"));
    // A key file that is not there is "not found", not a bad key name.
    sandbox
        .plexica()
        .args(["plugin", "verify", "--key", "./nope.pub"])
        .arg(&pxp)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("no public key file at ./nope.pub"));

    // Corrupt bytes.
    let mut bytes = std::fs::read(&pxp).expect("read");
    let len = bytes.len();
    bytes.truncate(len / 2);
    let broken = sandbox.work().join("broken.pxp");
    std::fs::File::create(&broken)
        .expect("create")
        .write_all(&bytes)
        .expect("write");
    sandbox
        .plexica()
        .args(["plugin", "verify"])
        .arg(&broken)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAIL archive"));
}

#[test]
fn signing_an_unsigned_package_requires_a_key() {
    let sandbox = Sandbox::new();
    let dir = sandbox.new_frontend_plugin("nokey");
    let pxp = build_and_package(&sandbox, &dir);
    sandbox
        .plexica()
        .args(["plugin", "sign"])
        .arg(&pxp)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("plexica keys generate"));
    sandbox
        .plexica()
        .args(["plugin", "verify"])
        .arg(&pxp)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not signed"));
}

#[test]
fn completions_are_generated_for_each_shell() {
    let sandbox = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        sandbox
            .plexica()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("plexica"));
    }
    // `plexica completions zsh | head -1`: the reader goes away before the script is written.
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("plexica"))
        .args(["completions", "zsh"])
        .env("PLEXICA_CONFIG_DIR", sandbox.config_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("waits");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// What the shell would offer for the last of `words`, flags left out (bash's protocol, as
/// the registered script calls `plexica` back).
fn complete(sandbox: &Sandbox, words: &[&str]) -> Vec<String> {
    let output = sandbox
        .plexica()
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .env("_CLAP_IFS", "\n")
        .arg("--")
        .args(words)
        .output()
        .expect("runs");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.starts_with('-'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn completion_offers_this_machines_profiles_and_keys() {
    let sandbox = Sandbox::new();
    for (profile, url) in [
        ("staging", "http://127.0.0.1:9"),
        ("ci", "http://127.0.0.1:8"),
    ] {
        sandbox
            .plexica()
            .args(["--profile", profile, "profile", "set", "registry-url", url])
            .assert()
            .success();
    }
    sandbox
        .plexica()
        .args(["keys", "generate", "release"])
        .assert()
        .success();
    assert_eq!(
        complete(&sandbox, &["plexica", "profile", "use", ""]),
        ["ci", "staging"]
    );
    assert_eq!(
        complete(&sandbox, &["plexica", "--profile", "st"]),
        ["staging"]
    );
    assert_eq!(
        complete(&sandbox, &["plexica", "keys", "revoke", ""]),
        ["release"]
    );
    assert_eq!(
        complete(&sandbox, &["plexica", "plugin", "sign", "--key", "re"]),
        ["release"]
    );
    assert!(complete(&sandbox, &["plexica", "ten"]).contains(&"tenant".to_owned()));
}

#[test]
fn on_a_terminal_new_prompts_for_each_answer_and_asks_again_for_a_bad_id() {
    let sandbox = Sandbox::new();
    let mut session = sandbox.on_a_terminal(&["plugin", "new"]);
    session.exp_string("Plugin id").expect("asks for the id");
    session.send_line("Bad_Id").expect("types");
    session
        .exp_string("lowercase letters")
        .expect("says why and asks again");
    session.send_line("crm").expect("types");
    session
        .exp_string("Template")
        .expect("asks for the template");
    session.send_line("").expect("Enter keeps rust-backend");
    session
        .exp_string("Display name")
        .expect("asks for the name");
    session.send_line("My CRM").expect("types");
    session
        .exp_string("Description")
        .expect("asks for the description");
    session.send_line("").expect("default");
    session.exp_string("Author").expect("asks for the author");
    session.send_line("").expect("default");
    session
        .exp_string("plexica plugin dev")
        .expect("next steps");
    session.exp_eof().expect("exits");
    let manifest =
        std::fs::read_to_string(sandbox.work().join("crm/plexica.toml")).expect("created");
    assert!(manifest.contains("name = \"My CRM\""), "{manifest}");
    assert!(
        sandbox.work().join("crm/Cargo.toml").exists(),
        "rust-backend was the default"
    );
    assert!(!sandbox.work().join("Bad_Id").exists());
}

#[test]
fn sdk_update_restores_the_clis_sdk_and_pins_its_version() {
    let sandbox = Sandbox::new();
    sandbox
        .plexica()
        .args(["plugin", "new", "hello", "--template", "rust-backend"])
        .assert()
        .success();
    let dir = sandbox.work().join("hello");
    let cargo = dir.join("Cargo.toml");
    let version = env!("CARGO_PKG_VERSION");
    let written = std::fs::read_to_string(&cargo).expect("Cargo.toml");
    assert!(
        written.contains(&format!("plexica-sdk = \"={version}\"")),
        "{written}"
    );
    // An older project: another version, no patch, a stale and a missing SDK file, no ignore.
    let old = written
        .replace(&format!("\"={version}\""), "\"0.0.9\"")
        .replace(
            "[patch.crates-io]\nplexica-sdk = { path = \"vendor/plexica-sdk\" }\n",
            "",
        );
    assert!(!old.contains("patch.crates-io"), "{old}");
    std::fs::write(&cargo, &old).expect("write");
    std::fs::remove_file(dir.join("vendor/plexica-sdk/src/lib.rs")).expect("remove");
    std::fs::write(dir.join("vendor/plexica-sdk/src/stale.rs"), "old").expect("write");
    std::fs::remove_file(dir.join(".plexicaignore")).expect("remove");

    let updated = json(
        &sandbox
            .plexica()
            .args(["-o", "json", "plugin", "sdk", "update", "hello"])
            .output()
            .expect("runs"),
    );
    assert_eq!(updated["from"], "0.0.9");
    assert_eq!(updated["to"], format!("={version}"));
    let now: toml::Table = std::fs::read_to_string(&cargo)
        .expect("Cargo.toml")
        .parse()
        .expect("valid TOML");
    assert_eq!(
        now["dependencies"]["plexica-sdk"].as_str(),
        Some(format!("={version}").as_str())
    );
    assert_eq!(
        now["patch"]["crates-io"]["plexica-sdk"]["path"].as_str(),
        Some("vendor/plexica-sdk")
    );
    assert!(dir.join("vendor/plexica-sdk/src/lib.rs").is_file());
    assert!(!dir.join("vendor/plexica-sdk/src/stale.rs").exists());
    let ignore = std::fs::read_to_string(dir.join(".plexicaignore")).expect("ignore file");
    assert_eq!(ignore, "vendor/\n");

    // A frontend plugin has no Rust crate to update.
    sandbox
        .plexica()
        .args(["plugin", "new", "web", "--template", "frontend"])
        .assert()
        .success();
    sandbox
        .plexica()
        .args(["plugin", "sdk", "update", "web"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("works on a Rust plugin"));
}

/// A frontend plugin whose build prints three lines slowly, each saying whether cargo's quiet
/// mode was passed on.
fn slow_build_plugin(sandbox: &Sandbox) -> std::path::PathBuf {
    sandbox
        .plexica()
        .args(["plugin", "new", "slow", "--template", "frontend"])
        .assert()
        .success();
    let dir = sandbox.work().join("slow");
    let manifest = dir.join("plexica.toml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let slow = text.replace(
        "build = \"node ui/build.mjs\"",
        "build = \"for i in 1 2 3; do echo step-$i quiet=${CARGO_TERM_QUIET:-no}; sleep 0.4; done; node ui/build.mjs\"",
    );
    assert_ne!(slow, text, "the template's build command changed");
    std::fs::write(&manifest, slow).expect("write");
    dir
}

fn spinner_frames(text: &str) -> usize {
    text.chars()
        .filter(|c| ('\u{2800}'..='\u{28ff}').contains(c))
        .count()
}

#[test]
fn on_a_terminal_a_build_keeps_one_progress_line_and_leaves_no_frame_behind() {
    let sandbox = Sandbox::new();
    let dir = slow_build_plugin(&sandbox);
    let mut session = sandbox.on_a_terminal(&[
        std::ffi::OsStr::new("plugin"),
        std::ffi::OsStr::new("build"),
        dir.as_os_str(),
    ]);
    // rexpect hands the bytes back one char each; the terminal is its default 80 × 24.
    let bytes: Vec<u8> = session
        .exp_eof()
        .expect("exits")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a byte"))
        .collect();
    let raw = String::from_utf8_lossy(&bytes).into_owned();
    let size = |n: u16| std::num::NonZeroU16::new(n).expect("non-zero");
    let mut terminal = vt100::Parser::new(size(24), size(80), 0);
    terminal.process(&bytes);
    let screen = terminal.screen().contents();
    for step in ["step-1 quiet=no", "step-2 quiet=no", "step-3 quiet=no"] {
        assert_eq!(screen.matches(step).count(), 1, "{step}:\n{screen}");
    }
    assert!(screen.contains("Finished slow 0.1.0"), "{screen}");
    assert!(spinner_frames(&raw) > 0, "a spinner ran on the terminal");
    assert_eq!(spinner_frames(&screen), 0, "frames left behind:\n{screen}");
}

#[test]
fn off_a_terminal_a_build_shows_no_spinner_and_quiet_reaches_the_build_tools() {
    let sandbox = Sandbox::new();
    let dir = slow_build_plugin(&sandbox);
    let plain = sandbox
        .plexica()
        .args(["plugin", "build"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert!(plain.status.success());
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert!(stderr.contains("step-3 quiet=no"), "{stderr}");
    assert_eq!(spinner_frames(&stderr), 0, "{stderr}");
    let quiet = sandbox
        .plexica()
        .args(["-q", "plugin", "build"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert!(quiet.status.success());
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(stderr.contains("step-1 quiet=true"), "{stderr}");
    assert!(!stderr.contains("Building"), "{stderr}");
}

#[test]
fn man_writes_a_page_per_command() {
    let sandbox = Sandbox::new();
    let out = sandbox.work().join("man");
    let written = json(
        &sandbox
            .plexica()
            .args(["-o", "json", "man", "--out"])
            .arg(&out)
            .output()
            .expect("runs"),
    );
    let pages: Vec<&str> = written["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    for page in [
        "plexica.1",
        "plexica-keys-revoke.1",
        "plexica-tenant-plugin-install.1",
    ] {
        assert!(pages.contains(&page), "{page} in {pages:?}");
    }
    let install =
        std::fs::read_to_string(out.join("plexica-tenant-plugin-install.1")).expect("page");
    assert!(install.contains("config\\-stdin"), "{install}");
}

/// Without the default `platform` feature the CLI links neither server (nor the databases,
/// NATS or S3 clients they bring): authoring and administering a remote platform stays slim.
#[test]
fn a_build_without_the_platform_feature_links_no_server() {
    let tree = |features: &[&str]| {
        let output = std::process::Command::new(env!("CARGO"))
            .args(["tree", "--offline", "-p", "plexica-cli", "-e", "normal"])
            .args(["--prefix", "none", "--format", "{p}"])
            .args(features)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo tree");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let full = tree(&[]);
    assert!(full.contains("plexica-core-api"), "{full}");
    let slim = tree(&["--no-default-features"]);
    for heavy in [
        "plexica-core-api",
        "plexica-registry",
        "sqlx",
        "async-nats",
        "object_store",
    ] {
        assert!(
            !slim
                .lines()
                .any(|line| line.starts_with(&format!("{heavy} "))),
            "the slim build links {heavy}:\n{slim}"
        );
    }
}
