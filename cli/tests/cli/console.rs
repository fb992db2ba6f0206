//! The tenant console in Chromium, after `plexica up`, as a tenant's people use it: a tenant
//! admin installs CRM (the real example, built and published) with its configuration form,
//! opens its page from the sidebar, adds a contact and sees the dashboard widget count it,
//! switches workspace and sees that workspace's data only; a viewer, who lacks
//! `contacts:read`, sees no CRM page, and a plugin page that cannot load is an error card.
//! Along the way: no script reads the session, the page's cookie mints no API token and opens
//! no gateway call, a hostile publisher's HTML is text, another tenant's data and plugin files
//! do not load, every page passes axe-core, and the budgets are measured. Screenshots go to
//! `target/screenshots/console/`.

use std::path::Path;

use crate::common::Sandbox;
use crate::common::up::Platform;
use serde_json::Value;

/// A frontend-only plugin whose publisher writes HTML and script everywhere a console shows
/// text: the name, the description, a configuration label and default.
const HOSTILE: &str = r#"[plugin]
id = "notes"
name = "Notes <img src=x onerror=alert('name')>"
version = "1.0.0"
description = "<script>alert('description')</script> Take notes"
authors = ["Mallory <mallory@example.com>"]
license = "MIT"
categories = ["productivity"]

[frontend]
dist = "ui"
remote-entry = "remoteEntry.js"

[[config]]
key = "title"
type = "string"
label = "<b onmouseover=alert('label')>Title</b>"
default = "<svg onload=alert('default')>"
"#;

/// A plugin whose page never loads (its remote entry throws), with HTML in its menu label.
const BROKEN: &str = r#"[plugin]
id = "broken"
name = "Broken"
version = "1.0.0"
description = "A page that cannot load"
authors = ["Mallory <mallory@example.com>"]
license = "MIT"

[frontend]
dist = "ui"
remote-entry = "remoteEntry.js"

[[frontend.modules]]
name = "Page"
kind = "page"
extension-point = "sidebar.menu"
route = "/broken"
menu = { label = "<img src=x onerror=alert('menu')>Broken", order = 90 }
"#;

/// Writes a frontend-only plugin with `manifest` and `entry` as its remote entry.
fn frontend_only(sandbox: &Sandbox, id: &str, manifest: &str, entry: &str) -> std::path::PathBuf {
    let dir = sandbox.work().join(id);
    std::fs::create_dir_all(dir.join("ui")).expect("mkdir");
    std::fs::write(dir.join("plexica.toml"), manifest).expect("manifest");
    std::fs::write(dir.join("ui/remoteEntry.js"), entry).expect("entry");
    dir
}

fn hostile_plugin(sandbox: &Sandbox) -> std::path::PathBuf {
    let dir = frontend_only(
        sandbox,
        "notes",
        HOSTILE,
        "export function init() {}\nexport function get() { return Promise.reject(new Error('no modules')); }\n",
    );
    std::fs::write(
        dir.join("README.md"),
        "# Notes\n\n<script>alert('readme')</script>\n",
    )
    .expect("readme");
    dir
}

/// Runs `plexica ARGS` in `sandbox` (logged in as the platform's admin), expecting success;
/// returns stdout as JSON (`-o json` is added).
fn json(sandbox: &Sandbox, args: &[&str]) -> Value {
    sandbox.json_ok(
        std::iter::once("-o")
            .chain(std::iter::once("json"))
            .chain(args.iter().copied()),
    )
}

/// Adds user `email` with `password` to `tenant`.
fn add_user(sandbox: &Sandbox, tenant: &str, email: &str, password: &str) {
    sandbox
        .plexica()
        .args(["tenant", "user", "add", tenant, email, "--password-stdin"])
        .write_stdin(password)
        .assert()
        .success();
}

#[test]
fn the_console_journey_in_chromium() {
    let sandbox = Sandbox::new();
    let platform = Platform::start(&sandbox, None, None);
    for step in [
        &["keys", "generate"][..],
        &["keys", "register", "default"][..],
    ] {
        sandbox.plexica().args(step).assert().success();
    }
    let crm = sandbox.copy_example("crm");
    sandbox.build_and_publish(&crm);
    let notes = hostile_plugin(&sandbox);
    let broken = frontend_only(
        &sandbox,
        "broken",
        BROKEN,
        "throw new Error('this remote is broken');\n",
    );
    for dir in [&notes, &broken] {
        for step in [&["plugin", "package"][..], &["plugin", "publish"][..]] {
            sandbox.plexica().args(step).arg(dir).assert().success();
        }
    }

    let acme = json(
        &sandbox,
        &["tenant", "create", "acme", "--name", "Acme Corp"],
    );
    let admin_email = acme["initial_admin"]["email"].as_str().expect("email");
    let admin_password = acme["initial_admin"]["password"]
        .as_str()
        .expect("password");
    for ws in ["sales", "support"] {
        sandbox
            .plexica()
            .args(["workspace", "create", "--tenant", "acme", ws, "--name"])
            .arg(format!("{}{}", ws[..1].to_uppercase(), &ws[1..]))
            .assert()
            .success();
    }
    json(
        &sandbox,
        &[
            "tenant",
            "plugin",
            "install",
            "acme",
            "broken",
            "--activate",
        ],
    );
    let viewer_password = "viewer-password-123";
    add_user(&sandbox, "acme", "viewer@acme.test", viewer_password);
    sandbox
        .plexica()
        .args(["workspace", "member", "add", "--tenant", "acme", "sales"])
        .args(["viewer@acme.test", "--role", "viewer"])
        .assert()
        .success();
    // Another tenant installs the hostile plugin: acme's people must not load its files.
    json(
        &sandbox,
        &["tenant", "create", "globex", "--name", "Globex"],
    );
    json(
        &sandbox,
        &[
            "tenant",
            "plugin",
            "install",
            "globex",
            "notes",
            "--activate",
        ],
    );

    // What `plexica up` keeps for the platform's admin (it printed it on the first run).
    let super_admin_password =
        std::fs::read_to_string(sandbox.work().join(".plexica/admin-password"))
            .expect("the admin password up keeps");
    let shots = plexica_testkit::browser::screenshots_dir("console");
    let shots_text = shots.display().to_string();
    let Some(output) = plexica_testkit::browser::run(
        "console.mjs",
        &[
            ("BASE_URL", platform.api_url.as_str()),
            ("SHOTS", shots_text.as_str()),
            ("TENANT", "acme"),
            ("ADMIN_EMAIL", admin_email),
            ("ADMIN_PASSWORD", admin_password),
            ("VIEWER_EMAIL", "viewer@acme.test"),
            ("VIEWER_PASSWORD", viewer_password),
            ("OTHER_TENANT", "globex"),
            ("OTHER_PLUGIN", "notes"),
            ("SUPER_ADMIN_PASSWORD", super_admin_password.trim()),
        ],
    ) else {
        return;
    };
    let report: Value = serde_json::from_str(output.trim()).expect("the script's report");
    assert_eq!(report["failures"], serde_json::json!([]), "{report:#}");
    let steps = report["steps"].as_array().expect("steps");
    assert!(steps.len() >= 16, "{report:#}");
    for step in steps {
        let name = step["name"].as_str().expect("name");
        assert!(
            Path::new(&shots).join(format!("{name}.png")).exists(),
            "screenshot {name}"
        );
        assert_eq!(step["axe"], serde_json::json!([]), "axe on {name}");
    }
    // The budgets of issue 19, measured by the script (reported in docs/benchmarks.md).
    let budgets = &report["budgets"];
    eprintln!("console budgets: {budgets}");
    let js = budgets["first_load_js_gzip_bytes"]
        .as_u64()
        .expect("js bytes");
    assert!(
        js < 100 * 1024,
        "console first load: {js} gzipped bytes of JS"
    );
    assert_eq!(budgets["react_copies"], 1, "{budgets}");
    // The crm contact the admin added through the page reached CRM's backend.
    let contacts = json(
        &sandbox,
        &[
            "api",
            "tenants/acme/gateway/crm/crm.contacts/contacts",
            "--workspace",
            "sales",
        ],
    );
    assert!(contacts.to_string().contains("Ada Lovelace"), "{contacts}");
    drop(platform);
}
