//! `plexica events dlq …` against a real core API (in-process) whose only subscriber cannot be
//! reached, so that its events end in the dead letter store.

use std::time::{Duration, Instant};

use crate::common::servers::serve_core;
use crate::common::{Sandbox, json};
use plexica_core_api::Config;
use plexica_core_api::db::delivery::Subscription;

const PASSWORD: &str = "correct horse battery staple";

#[test]
fn dead_letters_through_the_cli() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (api, url) = runtime.block_on(async {
        let mut config = Config::embedded(dir.path());
        config.key_encryption =
            plexica_core_api::auth::sealing::KeySource::File(dir.path().join("kek"));
        config.retry_delays = vec![Duration::from_millis(20)];
        serve_core(config, PASSWORD).await
    });
    let sandbox = Sandbox::new();
    sandbox.login_admin(&url, PASSWORD);
    sandbox.json_ok(["-o", "json", "tenant", "create", "acme", "--name", "Acme"]);
    runtime
        .block_on(api.state().core.put_subscription(
            &Subscription {
                tenant: "acme".into(),
                plugin_id: "crm".into(),
                endpoint: "http://127.0.0.1:9".into(),
                secret: "s".into(),
                patterns: vec!["core.workspace.*".into()],
                workspace_aware: true,
                active: true,
                batches: false,
            },
            0,
        ))
        .expect("subscribe");
    sandbox.json_ok([
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

    let tail_two = [
        "events",
        "tail",
        "--tenant",
        "acme",
        "--type",
        "core.workspace.*",
        "--from-start",
        "--count",
        "2",
    ];
    let tail = sandbox
        .plexica()
        .args(["-o", "json"])
        .args(tail_two)
        .timeout(Duration::from_secs(30))
        .output()
        .expect("runs");
    assert!(tail.status.success(), "{tail:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&tail.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    let workspaces: Vec<&str> = lines
        .iter()
        .map(|e| e["workspace"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(workspaces, ["default", "sales"]);
    assert!(lines.iter().all(|e| e["type"] == "core.workspace.created"));
    // For people: one aligned line per event, the time to the millisecond.
    let text = sandbox
        .plexica()
        .args(tail_two)
        .timeout(Duration::from_secs(30))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 2, "{text}");
    for row in &rows {
        let time = row.split_whitespace().next().unwrap_or_default();
        assert_eq!(time.len(), "2026-12-06T15:04:06.100Z".len(), "{row}");
        assert!(row.contains("core.workspace.created"), "{row}");
    }
    assert_eq!(
        rows[0].find("default"),
        rows[1].find("sales"),
        "columns align: {text}"
    );
    let bad = sandbox
        .plexica()
        .args(["events", "tail", "--tenant", "acme", "--type", "Core.*"])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(2), "a bad pattern is a usage error");

    // The tenant's default workspace may have been announced after the subscription existed,
    // so look for the letter of the `sales` workspace among all the dead letters.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (first, shown) = 'found: loop {
        let letters =
            sandbox.json_ok(["-o", "json", "events", "dlq", "list", "--state", "pending"]);
        for letter in letters["data"].as_array().into_iter().flatten() {
            if letter["event_type"] != "core.workspace.created" {
                continue;
            }
            let id = letter["id"].as_str().expect("id");
            let shown = sandbox.json_ok(["-o", "json", "events", "dlq", "show", id]);
            if shown["event"]["workspace"] == "sales" {
                break 'found (letter.clone(), shown);
            }
        }
        assert!(
            Instant::now() < deadline,
            "no dead letter for sales: {letters}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let id = first["id"].as_str().expect("id").to_owned();
    assert_eq!(first["plugin_id"], "crm");
    assert_eq!(shown["id"], first["id"]);
    assert!(
        first["error"]
            .as_str()
            .is_some_and(|e| e.contains("127.0.0.1:9")),
        "{first}"
    );

    let table = sandbox
        .plexica()
        .args(["events", "dlq", "list"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.starts_with("ID") && text.contains(&id), "{text}");

    let retried = sandbox.json_ok(["-o", "json", "events", "dlq", "retry", &id]);
    assert_eq!(retried["state"], "RETRYING");
    // Still unreachable: back to pending after its attempts; then discarded.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let shown = sandbox.json_ok(["-o", "json", "events", "dlq", "show", &id]);
        if shown["state"] == "PENDING" {
            assert!(
                shown["attempts"].as_u64().is_some_and(|n| n >= 4),
                "{shown}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "not pending again: {shown}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = sandbox
        .plexica()
        .args(["-o", "json", "events", "dlq", "delete", &id])
        .output()
        .expect("runs");
    assert!(output.status.success());
    assert_eq!(json(&output)["discarded"], true);
    let shown = sandbox.json_ok(["-o", "json", "events", "dlq", "show", &id]);
    assert_eq!(shown["state"], "DISCARDED");
    let again = sandbox
        .plexica()
        .args(["events", "dlq", "delete", &id])
        .output()
        .expect("runs");
    assert_eq!(
        again.status.code(),
        Some(5),
        "a discarded letter cannot be discarded again"
    );
    let missing = sandbox
        .plexica()
        .args(["events", "dlq", "show", "dl_nope"])
        .output()
        .expect("runs");
    assert_eq!(missing.status.code(), Some(4));
    let all = sandbox.json_ok([
        "-o",
        "json",
        "events",
        "dlq",
        "retry",
        "--all",
        "--type",
        "core.workspace.*",
    ]);
    assert!(all["retried"].is_u64());
}
