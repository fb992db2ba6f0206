//! `plexica plugin dev`, run as a user runs it: the installed binary in a plugin scaffolded in
//! a temporary directory outside this checkout. A handler edited in the working directory
//! answers through the gateway of the platform `plugin dev` started; a broken edit leaves the
//! last good version answering; the events and gateway calls show up in its stream; Ctrl-C
//! leaves no process behind. A platform not in development mode refuses it.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::dev::{Dev, curl_target, frontend_entry, get, npm_ci, page_chunk};
use crate::common::up::Platform;
use crate::common::{Sandbox, pids_of, workspace_root};

/// The first build of the scaffold compiles its dependencies.
const FIRST_BUILD: Duration = Duration::from_secs(900);
/// A reload after a one-line change.
const RELOAD: Duration = Duration::from_secs(120);

/// Calls `url` until its answer's `plugin` is `expected`.
fn answers(url: &str, token: &str, expected: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let answer = get(url, token);
        if answer["plugin"] == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still answering {answer} after {within:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("read");
    assert!(text.contains(from), "{from} in {}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).expect("write");
}

#[test]
fn an_edit_reloads_a_broken_build_keeps_the_last_good_one_and_ctrl_c_leaves_nothing() {
    let sandbox = Sandbox::new();
    assert!(!sandbox.work().starts_with(workspace_root()));
    sandbox
        .plexica()
        .args(["plugin", "new", "hello", "--template", "rust-backend"])
        .assert()
        .success();
    let dir = sandbox.work().join("hello");
    #[cfg(unix)]
    std::os::unix::fs::symlink(crate::common::plugin_target(), dir.join("target"))
        .expect("share the build cache");

    let mut dev = Dev::start(&sandbox, &dir, &[]);
    let first = dev.wait_for("reloaded", "hello 0.1.0 (debug)", FIRST_BUILD);
    assert!(first["seconds"]["build"].as_f64().is_some(), "{first}");
    let ready = dev.wait_for("ready", "watching", RELOAD);
    let (url, token) = curl_target(&ready);
    assert!(
        url.ends_with("/api/v1/tenants/dev/gateway/hello/hello.greetings/hello"),
        "{url}"
    );
    assert_eq!(get(&url, &token)["plugin"], "hello");
    dev.wait_for("gateway", "GET /hello → 200", RELOAD);
    assert!(
        dir.join(".plexica-dev").is_dir(),
        "the platform's data is in the project"
    );

    // A one-line change in the handler: the new code answers through the gateway.
    let main = dir.join("src/main.rs");
    edit(
        &main,
        r#"json!({ "plugin": "hello","#,
        r#"json!({ "plugin": "hello-edited","#,
    );
    dev.wait_for("build", "src/main.rs", RELOAD);
    let reloaded = dev.wait_for("reloaded", "hello 0.1.0", RELOAD);
    for part in ["build", "install", "restart", "total"] {
        assert!(
            reloaded["seconds"][part].as_f64().is_some(),
            "{part} in {reloaded}"
        );
    }
    answers(&url, &token, "hello-edited", RELOAD);

    // The handler of core.workspace.created: received and emitted events are lines.
    sandbox
        .plexica()
        .args([
            "--profile",
            "dev",
            "workspace",
            "create",
            "--tenant",
            "dev",
            "second",
            "--name",
            "Second",
        ])
        .assert()
        .success();
    dev.wait_for("event", "← core.workspace.created", RELOAD);
    dev.wait_for("event", "→ plugin.hello.workspace.greeted", RELOAD);
    assert!(
        dev.seen.iter().any(|l| l["kind"] == "log"),
        "the backend's log is in the stream: {:#?}",
        dev.seen
    );

    // A change that does not compile: an error line, and the last good version answers.
    edit(
        &main,
        "async fn hello(",
        "compile_error!(\"broken on purpose\");\nasync fn hello(",
    );
    let failed = dev.wait_for("error", "the build failed", RELOAD);
    assert!(
        failed["text"]
            .as_str()
            .is_some_and(|t| t.contains("last good version keeps running")),
        "{failed}"
    );
    assert_eq!(get(&url, &token)["plugin"], "hello-edited");

    let backend = dir.join(".plexica-dev");
    assert!(
        !pids_of(&backend).is_empty(),
        "the backend runs from the platform's data directory"
    );
    let status = dev.interrupt();
    assert!(
        status.success(),
        "plugin dev exits 0 after Ctrl-C: {status}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pids_of(&backend).is_empty() {
        assert!(
            Instant::now() < deadline,
            "left running after Ctrl-C: {:?}",
            pids_of(&backend)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_frontend_change_is_served_at_once_and_a_platform_not_in_dev_mode_refuses() {
    let sandbox = Sandbox::new();
    sandbox
        .plexica()
        .args(["plugin", "new", "pages", "--template", "frontend"])
        .assert()
        .success();
    let dir = sandbox.work().join("pages");
    // Editing the page's sources means building them: the bundler comes from npm.
    npm_ci(&dir);

    let mut dev = Dev::start(&sandbox, &dir, &[]);
    let ready = dev.wait_for("ready", "watching", RELOAD);
    let text = ready["text"].as_str().expect("text");
    let entry = frontend_entry(&ready);
    // The page in the console of the development platform, and how to sign in there.
    let console_line = text
        .lines()
        .find(|l| l.starts_with("console "))
        .unwrap_or_else(|| panic!("no console line in {text}"));
    assert!(console_line.contains("/pages/home?ws="), "{console_line}");
    let login = dir.join(".plexica-dev/console-login");
    assert!(
        console_line.contains(&login.display().to_string()),
        "{console_line}"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&login)
            .expect("console-login")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let written = std::fs::read_to_string(&login).expect("console-login");
    assert!(
        written.contains("password: "),
        "tenant and first admin: {written:?}"
    );
    let fetch = |url: &str| {
        let response = reqwest::blocking::get(url).expect("served");
        assert!(response.status().is_success(), "{url}");
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        response.text().expect("text")
    };
    // The page's chunk, as the remote entry names it now (its name changes with its content).
    let page = || fetch(&page_chunk(&entry, &fetch(&entry)).expect("the page's chunk"));
    assert!(!page().contains("edited-by-the-test"));
    let source = dir.join("ui/src/HomePage.jsx");
    let text = std::fs::read_to_string(&source).expect("read");
    assert!(text.contains("Asking the backend…"), "{text}");
    std::fs::write(
        &source,
        text.replace("Asking the backend…", "edited-by-the-test"),
    )
    .expect("write");
    let reloaded = dev.wait_for("reloaded", "frontend rebuilt", RELOAD);
    assert_eq!(reloaded["seconds"]["install"], 0.0, "{reloaded}");
    assert!(page().contains("edited-by-the-test"));
    assert!(dev.interrupt().success());

    // `plexica up` without --dev: plugin dev attached to it stops with the reason.
    let platform = Platform::start(&sandbox, None, None);
    let output = sandbox
        .plexica()
        .args(["--api-url", &platform.api_url, "plugin", "dev"])
        .current_dir(&dir)
        .timeout(Duration::from_secs(300))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("plexica up --dev"), "{stderr}");
    let installed = sandbox.json_ok(["-o", "json", "tenant", "plugin", "list", "dev"]);
    assert_eq!(installed, serde_json::json!([]), "nothing was installed");
    platform.stop();
}
