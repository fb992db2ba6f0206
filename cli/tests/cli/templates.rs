//! Every template, straight after `plugin new` in a temporary directory outside this checkout
//! (no SDK flag: a Rust plugin builds against the SDK the CLI writes into it), validates,
//! builds, passes its own tests, packages, signs, verifies and publishes to a real registry,
//! with no edits. The Rust templates share one target directory (a build cache only).

use std::path::Path;
use std::process::Command;

use crate::common::servers::{ADMIN_PASSWORD, LiveRegistry};
use crate::common::{Sandbox, json, workspace_root};

fn run_ok(command: &mut Command) -> std::process::Output {
    let output = command.output().expect("command runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn journey(template: &str, id: &str) {
    let registry = LiveRegistry::start();
    let sandbox = Sandbox::new();
    assert!(
        !sandbox.work().starts_with(workspace_root()),
        "the journey runs outside the checkout"
    );
    sandbox
        .plexica()
        .args(["plugin", "new", id, "--template", template])
        .assert()
        .success();
    let dir = sandbox.work().join(id);
    let rust = dir.join("Cargo.toml").exists();
    if rust {
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        assert!(
            !cargo.contains(&workspace_root().display().to_string()),
            "{cargo}"
        );
        assert!(dir.join("vendor/plexica-sdk/src/lib.rs").is_file());
        #[cfg(unix)]
        std::os::unix::fs::symlink(crate::common::plugin_target(), dir.join("target"))
            .expect("symlink target");
    }

    sandbox.ok_with(&["plugin", "validate"], &dir);
    let built = sandbox.json_with(&["plugin", "build"], &dir);
    if template == "rust-backend" {
        backend_is_checked_against_the_manifest(&sandbox, &dir, &built);
    }

    if rust {
        run_ok(
            Command::new(env!("CARGO"))
                .arg("test")
                .arg("--quiet")
                .current_dir(&dir),
        );
    }
    if template == "rust-backend" {
        tests_run_against_a_platform_of_their_own(&sandbox, &dir);
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
        assert!(
            !paths.iter().any(|p| p.starts_with("vendor/")),
            "the SDK's sources stay out of the package: {paths:?}"
        );
    }
    if template != "rust-backend" {
        assert!(paths.contains(&"ui/dist/remoteEntry.js"), "{paths:?}");
    }

    sandbox.login_registry(&registry.url, "admin", ADMIN_PASSWORD);
    sandbox
        .plexica()
        .args(["keys", "register", "default"])
        .assert()
        .success();
    let published = sandbox.json_with(&["plugin", "publish"], &dir);
    assert_eq!(published["id"], id);
    assert_eq!(published["version"], "0.1.0");
    let info = sandbox.json_ok(["-o", "json", "plugin", "info", id]);
    assert_eq!(info["latest"], "0.1.0", "{info}");

    if template == "rust-backend" {
        events_reach_the_built_plugin(&sandbox, &dir, id);
        a_clone_builds_offline(&sandbox, id);
    }
}

/// The project as `plugin new` wrote it, committed to its own git repository and cloned
/// elsewhere, builds with no network (the crates are in Cargo's cache by now) and passes its
/// tests: nothing in it points outside it.
fn a_clone_builds_offline(sandbox: &Sandbox, id: &str) {
    let fresh = sandbox.work().join("fresh");
    sandbox
        .plexica()
        .args(["plugin", "new", id, "--template", "rust-backend", "--dir"])
        .arg(&fresh)
        .assert()
        .success();
    let git = |dir: &Path, args: &[&str]| {
        run_ok(
            Command::new("git")
                .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
                .args(args)
                .current_dir(dir),
        )
    };
    git(&fresh, &["init", "--quiet"]);
    git(&fresh, &["add", "--all"]);
    git(&fresh, &["commit", "--quiet", "--message", "plugin new"]);
    let clone = sandbox.root.path().join("elsewhere").join(id);
    std::fs::create_dir_all(clone.parent().expect("parent")).expect("mkdir");
    git(
        sandbox.root.path(),
        &[
            "clone",
            "--quiet",
            &fresh.display().to_string(),
            &clone.display().to_string(),
        ],
    );
    std::fs::remove_dir_all(&fresh).expect("remove the original");
    run_ok(
        Command::new(env!("CARGO"))
            .args(["test", "--quiet", "--offline"])
            .env("CARGO_TARGET_DIR", crate::common::plugin_target())
            .current_dir(&clone),
    );
}

/// `plugin build` started the built backend in check-only mode: it reports the handlers, and
/// refuses a manifest that subscribes to an event no handler takes, naming it.
fn backend_is_checked_against_the_manifest(
    sandbox: &Sandbox,
    dir: &Path,
    built: &serde_json::Value,
) {
    assert_eq!(
        built["backend"]["handlers"][0]["event_type"], "core.workspace.created",
        "{built}"
    );
    assert_eq!(built["backend"]["hooks"], serde_json::json!(["on_install"]));
    let manifest = dir.join("plexica.toml");
    let original = std::fs::read_to_string(&manifest).expect("manifest");
    let widened = original.replace(
        r#"subscribes = ["core.workspace.created"]"#,
        r#"subscribes = ["core.workspace.created", "core.user.created"]"#,
    );
    assert_ne!(widened, original, "the template subscribes as expected");
    std::fs::write(&manifest, widened).expect("write");
    let output = sandbox
        .plexica()
        .args(["plugin", "build"])
        .arg(dir)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("events.subscribes lists `core.user.created`"),
        "{stderr}"
    );
    let unchecked = sandbox.json_with(&["plugin", "build", "--no-check"], dir);
    assert!(unchecked.get("backend").is_none(), "{unchecked}");
    std::fs::write(&manifest, original).expect("restore");
}

/// The plugin binary just built, run as the platform runs it, receives the event of a
/// workspace created with the CLI: its `core.workspace.created` handler runs with the tenant,
/// workspace and the CLI's correlation id.
fn events_reach_the_built_plugin(sandbox: &Sandbox, dir: &Path, id: &str) {
    use plexica_core_api::db::delivery::Subscription;
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};

    const PASSWORD: &str = "correct horse battery staple";
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let data = tempfile::tempdir().expect("tempdir");
    let (api, url) = runtime.block_on(async {
        let mut config = plexica_core_api::Config::embedded(data.path());
        config.key_encryption =
            plexica_core_api::auth::sealing::KeySource::File(data.path().join("kek"));
        let (api, _) = plexica_core_api::CoreApi::open(config, Some(PASSWORD.to_owned()))
            .await
            .expect("core API");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(api.clone().serve(listener, std::future::pending()));
        (api, url)
    });
    sandbox
        .plexica()
        .args([
            "login",
            "--api-url",
            &url,
            "--username",
            "admin",
            "--password-stdin",
        ])
        .write_stdin(PASSWORD)
        .assert()
        .success();
    sandbox.json_ok(["-o", "json", "tenant", "create", "acme", "--name", "Acme"]);
    let token = runtime
        .block_on(plexica_core_api::auth::issue_install_token(
            &api.state().core,
            "acme",
            id,
            0,
        ))
        .expect("install token");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let binary = dir.join("target/release").join(id.replace('-', "_"));
    let log = dir.join("plugin.log");
    let mut plugin = Command::new(&binary)
        .current_dir(dir)
        .env("PLEXICA_PLUGIN_LISTEN", format!("127.0.0.1:{port}"))
        .env("PLEXICA_PLATFORM_SECRET", "e2e-secret")
        .env("PLEXICA_CORE_URL", &url)
        .env("PLEXICA_INSTALL_TOKEN", &token)
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("the plugin starts");
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::blocking::get(format!("{endpoint}/_plexica/health")).is_err() {
        assert!(
            Instant::now() < deadline,
            "the plugin never answered its health route"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    runtime
        .block_on(api.state().core.put_subscription(
            &Subscription {
                tenant: "acme".into(),
                plugin_id: id.into(),
                endpoint,
                secret: "e2e-secret".into(),
                patterns: vec!["core.workspace.created".into()],
                workspace_aware: false,
                active: true,
                batches: true,
            },
            0,
        ))
        .expect("subscribe");
    sandbox
        .plexica()
        .env("PLEXICA_CORRELATION_ID", "corr-e2e")
        .args([
            "workspace",
            "create",
            "--tenant",
            "acme",
            "sales",
            "--name",
            "Sales",
        ])
        .assert()
        .success();
    let expected = "tenant acme: workspace `Sales` (sales,";
    let deadline = Instant::now() + Duration::from_secs(20);
    let line = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = BufReader::new(text.as_bytes())
            .lines()
            .map_while(Result::ok)
            .find(|l| l.contains(expected))
        {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "the handler never ran; plugin log:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(line.ends_with("[correlation corr-e2e]"), "{line}");
    let _ = plugin.kill();
    let _ = plugin.wait();
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

/// `plexica plugin test`: the template's platform test really runs against the platform it
/// starts (a plain `cargo test` skips it), its output on stderr and one JSON result on stdout.
fn tests_run_against_a_platform_of_their_own(sandbox: &Sandbox, dir: &Path) {
    let output = run_ok(
        sandbox
            .plexica_process()
            .args(["-o", "json", "plugin", "test", "--", "--", "--nocapture"])
            .current_dir(dir),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("items_are_kept_in_the_tenants_data_space ... ok"),
        "{stderr}"
    );
    assert!(!stderr.contains("skipped:"), "{stderr}");
    let result = json(&output);
    assert_eq!(result["tenant"], "test", "{result}");
    assert_eq!(result["suites"][0]["passed"], true, "{result}");
}
