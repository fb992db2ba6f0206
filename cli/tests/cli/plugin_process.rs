//! A plugin's backend as a process of the platform, through the real binaries: `plexica up`
//! runs the platform; a `rust-backend` plugin is scaffolded, built against the SDK the CLI carries,
//! published and installed with `--activate`, so the core API starts its backend. Killed with
//! SIGKILL, the backend is restarted and still receives the event sent while it was down;
//! stopping the platform stops it — with the embedded transport and with NATS JetStream.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::up::Platform;
use crate::common::{Sandbox, pids_of};
use serde_json::json;

const PLUGIN: &str = "greeter";

/// `plexica workspace create --tenant acme SLUG --name NAME`, with correlation id
/// `corr-SLUG`.
fn create_workspace(sandbox: &Sandbox, slug: &str, name: &str) {
    sandbox
        .plexica()
        .env("PLEXICA_CORRELATION_ID", format!("corr-{slug}"))
        .args([
            "workspace",
            "create",
            "--tenant",
            "acme",
            slug,
            "--name",
            name,
        ])
        .assert()
        .success();
}

/// Waits until the plugin's answer to workspace `slug`'s creation is in the event log;
/// returns that event (one JSON line).
fn wait_greeted(sandbox: &Sandbox, slug: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let output = sandbox
            .plexica()
            .args([
                "-o",
                "json",
                "events",
                "tail",
                "--tenant",
                "acme",
                "--from-start",
            ])
            .args(["--type", &format!("plugin.{PLUGIN}.workspace.greeted")])
            .args(["--count", "10"])
            .timeout(Duration::from_secs(5))
            .output()
            .expect("events tail");
        let text = String::from_utf8_lossy(&output.stdout);
        let wanted = format!("\"workspace\":\"{slug}\"");
        if let Some(line) = text.lines().find(|l| l.contains(&wanted)) {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "the plugin never answered `{slug}`: {text}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_killed_backend_is_restarted_and_receives_what_was_sent_meanwhile() {
    journey(None);
}

#[test]
fn the_same_through_nats_jetstream() {
    match std::env::var("PLEXICA_TEST_NATS_URL") {
        Ok(url) => journey(Some(&url)),
        Err(_) => println!("skipped: PLEXICA_TEST_NATS_URL is not set"),
    }
}

/// The whole journey on `plexica up`, its events through NATS JetStream when `nats` is given.
fn journey(nats: Option<&str>) {
    let sandbox = Sandbox::new();
    let platform = Platform::start(&sandbox, None, nats);
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
    sandbox
        .plexica()
        .args(["plugin", "new", PLUGIN, "--template", "rust-backend"])
        .assert()
        .success();
    sandbox.build_and_publish(&sandbox.work().join(PLUGIN));
    sandbox
        .plexica()
        .args(["tenant", "create", "acme", "--name", "Acme"])
        .assert()
        .success();
    let installed = sandbox.json_ok([
        "-o",
        "json",
        "tenant",
        "plugin",
        "install",
        "acme",
        PLUGIN,
        "--activate",
    ]);
    assert_eq!(installed["state"], "ACTIVE", "{installed}");

    // Running: a workspace's creation reaches the handler, which answers with its event.
    let unpacked = sandbox
        .work()
        .join(".plexica/core.plugin-state/packages")
        .join(PLUGIN);
    let first = pids_of(&unpacked);
    assert_eq!(first.len(), 1, "one process serves the plugin: {first:?}");
    create_workspace(&sandbox, "one", "One");
    let one: serde_json::Value =
        serde_json::from_str(&wait_greeted(&sandbox, "one", Duration::from_secs(30)))
            .expect("an event");
    // The handler ran for the right tenant and workspace, in the CLI command's correlation.
    assert_eq!(
        (&one["tenant"], &one["workspace"], &one["correlationid"]),
        (&json!("acme"), &json!("one"), &json!("corr-one")),
        "{one}"
    );

    // SIGKILL; the event sent right after waits in the retries until the restart.
    let killed = Command::new("kill")
        .args(["-KILL", &first[0]])
        .status()
        .expect("kill");
    assert!(killed.success());
    create_workspace(&sandbox, "two", "Two");
    let two = wait_greeted(&sandbox, "two", Duration::from_secs(40));
    assert!(two.contains("Hello, Two"), "{two}");
    let second = pids_of(&unpacked);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(first, second, "a new process serves the plugin");
    // Its log, through the CLI: both starts, the install hook, and no platform secret.
    let output = sandbox
        .plexica()
        .args([
            "tenant", "plugin", "logs", "acme", PLUGIN, "--lines", "1000",
        ])
        .output()
        .expect("logs");
    assert!(output.status.success(), "{output:?}");
    let log = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(log.matches("listening on").count(), 2, "{log}");
    assert!(
        log.contains("installed in tenant acme"),
        "the install hook ran: {log}"
    );
    let last = sandbox.json_ok([
        "-o", "json", "tenant", "plugin", "logs", "acme", PLUGIN, "-n", "1",
    ]);
    assert_eq!(last["lines"].as_array().map(Vec::len), Some(1), "{last}");
    assert!(
        last["next_offset"].as_u64().is_some_and(|o| o > 0),
        "{last}"
    );
    // `--follow` prints what the backend writes next: the handler's line for a new workspace.
    let mut follow = std::process::Command::new(assert_cmd::cargo::cargo_bin("plexica"))
        .env("PLEXICA_CONFIG_DIR", sandbox.config_dir())
        .current_dir(sandbox.work())
        .args([
            "tenant", "plugin", "logs", "acme", PLUGIN, "-n", "1", "--follow",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("logs --follow");
    create_workspace(&sandbox, "followed", "Followed");
    let stdout = follow.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("logs --follow printed the handler's line");
        if line.contains("workspace `Followed`") {
            break;
        }
    }
    let _ = follow.kill();
    let _ = follow.wait();

    // The tenant's configuration reaches the running plugin (`ctx.core().config()`).
    sandbox
        .plexica()
        .args(["tenant", "plugin", "configure", "acme", PLUGIN])
        .args(["--set", "greeting=Howdy"])
        .assert()
        .success();
    create_workspace(&sandbox, "three", "Three");
    let three = wait_greeted(&sandbox, "three", Duration::from_secs(30));
    assert!(three.contains("Howdy, Three"), "{three}");

    // Deactivating stops the process; activating starts a new one.
    sandbox
        .plexica()
        .args(["tenant", "plugin", "deactivate", "acme", PLUGIN])
        .assert()
        .success();
    assert!(pids_of(&unpacked).is_empty(), "deactivated, yet running");
    sandbox
        .plexica()
        .args(["tenant", "plugin", "activate", "acme", PLUGIN])
        .assert()
        .success();
    assert_eq!(pids_of(&unpacked).len(), 1);

    // Stopping the platform stops its plugins.
    platform.stop();
    assert!(
        pids_of(&unpacked).is_empty(),
        "the backend outlived the platform"
    );
}
