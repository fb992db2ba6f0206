//! `plexica quickstart`, the README's first command, for real: it starts the platform,
//! scaffolds, builds (against the SDK the CLI carries, in the target directory the template
//! tests share), signs and publishes a plugin, installs and activates it in a new tenant, sees its
//! handler answer a workspace's creation, calls its route through the gateway and stops
//! everything — twice (for people, then for scripts), to show that a second run starts fresh.
//! The first run leaves nothing in the configuration; the second keeps its profile and key
//! (`--keep`).

use std::path::Path;

use crate::common::{Sandbox, json};

#[test]
fn quickstart_runs_the_whole_journey_and_can_run_again() {
    let sandbox = Sandbox::new();
    let target = crate::common::plugin_target();
    for format in ["table", "json"] {
        let output = sandbox
            .plexica()
            .args([
                "-o",
                format,
                "quickstart",
                "--data-dir",
                "qs",
                "--target-dir",
            ])
            .arg(&target)
            .args((format == "json").then_some("--keep"))
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{format}: {stderr}");
        if format == "table" {
            // Every step is shown on stderr; the result on stdout.
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(stdout.contains("quickstart complete"), "{stdout}");
            for step in [
                "platform started",
                "plugin built and checked",
                "hello@0.1.0 published",
                "plugin installed and running",
                "the plugin handled core.workspace.created",
                "answered through the gateway",
                "platform stopped",
            ] {
                assert!(stderr.contains(step), "no `{step}` in\n{stderr}");
            }
        } else {
            let summary = json(&output);
            assert_eq!(summary["plugin"], "hello");
            assert_eq!(summary["plugin_state"], "ACTIVE");
            assert_eq!(summary["handled_event"], "plugin.hello.workspace.greeted");
            assert_eq!(summary["route_answer"]["tenant"], "quickstart");
            assert_eq!(summary["route_answer"]["message"], "Hello");
            assert_eq!(summary["stopped"], true);
            let package = Path::new(summary["package"].as_str().expect("package"));
            assert!(package.is_file());
        }
        let config =
            std::fs::read_to_string(sandbox.config_dir().join("config.toml")).unwrap_or_default();
        let credentials = std::fs::read_to_string(sandbox.config_dir().join("credentials.toml"))
            .unwrap_or_default();
        let key = sandbox.config_dir().join("keys/quickstart.key");
        let kept = format == "json";
        assert_eq!(
            config.contains("[profiles.quickstart]"),
            kept,
            "{format}: {config}"
        );
        assert_eq!(
            credentials.contains("[profiles.quickstart."),
            kept,
            "{format}"
        );
        assert_eq!(key.exists(), kept, "{format}");
        // Nothing of the platform keeps running.
        let unpacked = sandbox
            .work()
            .join("qs/platform/core.plugin-state/packages");
        let still_running = std::process::Command::new("pgrep")
            .arg("-f")
            .arg(unpacked.as_os_str())
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(
            !still_running,
            "{format}: a plugin process outlived the platform"
        );
    }
}
