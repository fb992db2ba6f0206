//! Every template, straight after `plugin new`, validates, builds, passes its own tests,
//! packages, signs and verifies, with no edits. The Rust templates compile against this
//! checkout's SDK (`--sdk-path`) in a target directory shared by all template tests.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Sandbox, json, workspace_root};

/// Target directory shared by the Rust templates, so dependencies compile once.
fn shared_plugin_target() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-target");
    std::fs::create_dir_all(&dir).expect("create shared target");
    dir
}

fn run_ok(command: &mut Command) {
    let output = command.output().expect("command runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn journey(template: &str, id: &str) {
    let sandbox = Sandbox::new();
    let sdk = workspace_root().join("sdk");
    sandbox.ok_with(
        &["plugin", "new", id, "--template", template, "--sdk-path"],
        &sdk,
    );
    let dir = sandbox.work().join(id);
    let rust = dir.join("Cargo.toml").exists();
    if rust {
        // Same dependency versions as this workspace, and one shared build directory.
        std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock"))
            .expect("copy lock");
        #[cfg(unix)]
        std::os::unix::fs::symlink(shared_plugin_target(), dir.join("target"))
            .expect("symlink target");
    }

    sandbox.ok_with(&["plugin", "validate"], &dir);
    sandbox.ok_with(&["plugin", "build"], &dir);

    if rust {
        run_ok(
            Command::new(env!("CARGO"))
                .arg("test")
                .arg("--quiet")
                .current_dir(&dir),
        );
    }
    if dir.join("ui/test").exists() {
        run_ok(
            Command::new("node")
                .args(["--test", "ui/test"])
                .current_dir(&dir),
        );
    }

    let out = sandbox.work().join(format!("{id}.pxp"));
    sandbox
        .plexica()
        .args(["plugin", "package", "--out"])
        .arg(&out)
        .arg(&dir)
        .assert()
        .success();
    sandbox
        .plexica()
        .args(["keys", "generate"])
        .assert()
        .success();
    sandbox.ok_with(&["plugin", "sign"], &out);
    let report = sandbox.json_with(&["plugin", "verify"], &out);
    assert_eq!(report["id"], id);
    assert_eq!(report["version"], "0.1.0");
    let listed = json(
        &sandbox
            .plexica()
            .args(["-o", "json", "plugin", "package", "--list"])
            .arg(&dir)
            .output()
            .expect("list runs"),
    );
    let paths: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    if rust {
        let entry = format!("bin/{}", id.replace('-', "_"));
        assert!(paths.contains(&entry.as_str()), "{paths:?}");
        assert!(paths.contains(&"migrations/0001_init.sql"), "{paths:?}");
    }
    if template != "rust-backend" {
        assert!(paths.contains(&"ui/dist/remoteEntry.js"), "{paths:?}");
    }
}

#[test]
fn frontend_template_goes_from_new_to_verified_package() {
    journey("frontend", "tpl-frontend");
}

#[test]
fn rust_backend_template_goes_from_new_to_verified_package() {
    journey("rust-backend", "tpl-rust");
}

#[test]
fn fullstack_template_goes_from_new_to_verified_package() {
    journey("fullstack", "tpl-fullstack");
}
