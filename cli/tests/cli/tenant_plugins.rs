//! `plexica tenant plugin …`, `plexica workspace plugin-settings …` and `plexica plugin info
//! --tenant` through the real binary, against a real registry and a real core API (both
//! in-process) that installs signed, frontend-only packages from that registry.

use std::io::Cursor;
use std::process::Output;

use crate::common::servers::{serve_core, serve_registry};
use crate::common::{Sandbox, type_secret};
use plexica_core_api::Config;
use plexica_sdk::api::registry::{CreatedToken, KeyChallenge, RegisterKeyRequest};
use plexica_sdk::package::signing::SecretKey;
use plexica_sdk::package::{PackageFile, Source, sign_package, write_package};
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";
const REGISTRY_ADMIN_PASSWORD: &str = "registry admin password";
const PUBLISHER_PASSWORD: &str = "a long enough password";

/// A registry with one publisher (`ada`) whose signing key it knows.
struct Publisher {
    url: String,
    token: String,
    key: SecretKey,
    http: reqwest::blocking::Client,
}

impl Publisher {
    fn token(http: &reqwest::blocking::Client, url: &str, user: &str, password: &str) -> String {
        let response = http
            .post(format!("{url}/api/v1/tokens"))
            .json(&json!({ "username": user, "password": password }))
            .send()
            .expect("login");
        assert_eq!(response.status().as_u16(), 201, "login {user}");
        response.json::<CreatedToken>().expect("token").token
    }

    fn new(url: String) -> Self {
        let http = reqwest::blocking::Client::new();
        let admin = Self::token(&http, &url, "admin", REGISTRY_ADMIN_PASSWORD);
        let created = http
            .post(format!("{url}/api/v1/users"))
            .bearer_auth(&admin)
            .json(&json!({ "username": "ada", "password": PUBLISHER_PASSWORD }))
            .send()
            .expect("create user");
        assert_eq!(created.status().as_u16(), 201);
        let token = Self::token(&http, &url, "ada", PUBLISHER_PASSWORD);
        let key = SecretKey::generate();
        let challenge: KeyChallenge = http
            .post(format!("{url}/api/v1/keys/challenges"))
            .bearer_auth(&token)
            .send()
            .and_then(reqwest::blocking::Response::json)
            .expect("key challenge");
        let registered = http
            .put(format!("{url}/api/v1/keys"))
            .bearer_auth(&token)
            .json(&RegisterKeyRequest::proven(&key, &challenge))
            .send()
            .expect("register key");
        assert_eq!(registered.status().as_u16(), 201);
        Self {
            url,
            token,
            key,
            http,
        }
    }

    /// Signs a frontend-only plugin `id@version` (`extra` TOML after its `[frontend]` table)
    /// and publishes it.
    fn publish(&self, id: &str, version: &str, extra: &str) {
        let manifest = format!(
            "[plugin]\nid = \"{id}\"\nname = \"{id} plugin\"\nversion = \"{version}\"\n\
             description = \"The {id} plugin, for tests\"\nauthors = [\"T <t@example.com>\"]\n\
             license = \"MIT\"\n\
             [frontend]\ndist = \"ui\"\nremote-entry = \"remoteEntry.js\"\n{extra}"
        );
        let files: Vec<PackageFile> = [
            ("plexica.toml", manifest.as_str()),
            ("ui/remoteEntry.js", "export default 1;\n"),
        ]
        .into_iter()
        .map(|(path, text)| PackageFile {
            path: path.to_owned(),
            size: text.len() as u64,
            source: Source::Bytes(text.as_bytes().to_vec()),
            executable: false,
        })
        .collect();
        let unsigned = write_package(&files, None, Cursor::new(Vec::new()))
            .expect("package")
            .into_inner();
        let signed = sign_package(&unsigned, &self.key, 1_700_000_000).expect("sign");
        let response = self
            .http
            .post(format!("{}/api/v1/packages", self.url))
            .bearer_auth(&self.token)
            .body(signed)
            .send()
            .expect("publish");
        let status = response.status().as_u16();
        assert_eq!(status, 201, "publish {id}@{version}: {:?}", response.text());
    }
}

impl Publisher {
    /// Yanks `id@version` with `reason`.
    fn yank(&self, id: &str, version: &str, reason: &str) {
        let response = self
            .http
            .delete(format!(
                "{}/api/v1/plugins/{id}/versions/{version}/yank",
                self.url
            ))
            .bearer_auth(&self.token)
            .json(&json!({ "reason": reason }))
            .send()
            .expect("yank");
        assert_eq!(response.status().as_u16(), 200, "yank {id}@{version}");
    }
}

/// `crm`: a configuration field of every kind the tests set.
const CRM_CONFIG: &str = "\
[[config]]\nkey = \"currency\"\ntype = \"select\"\noptions = [\"USD\", \"EUR\", \"GBP\"]\n\
default = \"USD\"\nworkspace-override = true\n\
[[config]]\nkey = \"refresh\"\ntype = \"integer\"\nmin = 60\nmax = 3600\ndefault = 60\n\
[[config]]\nkey = \"label\"\ntype = \"string\"\ndefault = \"CRM\"\n\
[[config]]\nkey = \"apiKey\"\ntype = \"secret\"\nrequired = true\n";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The problem lines (`  - …`) of an error on stderr.
fn problem_lines(output: &Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter_map(|l| l.strip_prefix("  - ").map(str::to_owned))
        .collect()
}

#[test]
fn plugins_in_a_tenant_through_the_cli() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let registry_dir = tempfile::tempdir().expect("tempdir");
    let core_dir = tempfile::tempdir().expect("tempdir");
    let registry_url = runtime.block_on(async {
        let mut config = plexica_registry::Config::embedded(registry_dir.path());
        config.publish_burst = 1000;
        serve_registry(config, REGISTRY_ADMIN_PASSWORD).await
    });
    let (_api, api_url) = runtime.block_on(async {
        let mut config = Config::embedded(core_dir.path());
        config.key_encryption =
            plexica_core_api::auth::sealing::KeySource::File(core_dir.path().join("kek"));
        config.registry_url = Some(registry_url.clone());
        config.trust_registry_keys = true;
        serve_core(config, PASSWORD).await
    });
    let publisher = Publisher::new(registry_url.clone());
    publisher.publish("crm", "1.0.0", CRM_CONFIG);
    publisher.publish(
        "reports",
        "1.0.0",
        "[dependencies]\nrequired = { crm = \"^1\" }\n",
    );
    publisher.publish(
        "analytics",
        "1.0.0",
        "[dependencies]\nrequired = { crm = \"^2\", search = \"^1\" }\n",
    );

    let sandbox = Sandbox::new();
    sandbox.login_admin(&api_url, PASSWORD);
    sandbox.json_ok(["-o", "json", "tenant", "create", "acme", "--name", "Acme"]);
    let run = |args: &[&str]| sandbox.plexica().args(args).output().expect("plexica runs");
    let with_stdin = |args: &[&str], input: &str| {
        sandbox
            .plexica()
            .args(args)
            .write_stdin(input)
            .output()
            .expect("plexica runs")
    };

    // A secret is refused on the command line, before anything is sent; a required field
    // missing without a terminal is named with the flag that gives it.
    let on_argv = run(&[
        "tenant",
        "plugin",
        "install",
        "acme",
        "crm",
        "--config",
        "apiKey=s3cr3t-value",
    ]);
    assert_eq!(on_argv.status.code(), Some(2), "{}", stderr(&on_argv));
    assert!(
        stderr(&on_argv).contains("`apiKey` is a secret: it may not be given on the command line"),
        "{}",
        stderr(&on_argv)
    );
    assert!(
        stderr(&on_argv).contains("help: pipe it in with `--config-stdin apiKey`"),
        "{}",
        stderr(&on_argv)
    );
    let missing_secret = run(&["tenant", "plugin", "install", "acme", "crm"]);
    assert_eq!(missing_secret.status.code(), Some(2));
    assert!(
        stderr(&missing_secret).contains("crm 1.0.0 requires `apiKey` and it was not given"),
        "{}",
        stderr(&missing_secret)
    );
    assert!(
        stderr(&missing_secret).contains("--config-stdin apiKey"),
        "{}",
        stderr(&missing_secret)
    );
    let none = run(&["tenant", "plugin", "list", "acme"]);
    assert_eq!(stdout(&none).trim(), "no plugins installed in acme");

    // Install: --config values are JSON when they parse (a number), else strings; they win
    // over --config-file; the secret comes from stdin and back redacted; --activate starts it.
    let file = sandbox.work().join("crm.toml");
    std::fs::write(&file, "refresh = 90\nlabel = \"From the file\"\n").expect("write");
    let output = with_stdin(
        &[
            "-o",
            "json",
            "tenant",
            "plugin",
            "install",
            "acme",
            "crm@^1",
            "--config",
            "refresh=120",
            "--config",
            "currency=EUR",
            "--config-stdin",
            "apiKey",
            "--config-file",
            file.to_str().expect("utf-8 path"),
            "--activate",
        ],
        "s3cr3t-value\n",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let installed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(installed["id"], "crm");
    assert_eq!(installed["version"], "1.0.0");
    assert_eq!(installed["state"], "ACTIVE");
    assert_eq!(
        installed["config"],
        json!({ "currency": "EUR", "refresh": 120, "label": "From the file", "apiKey": "********" })
    );
    let again = run(&["tenant", "plugin", "install", "acme", "crm"]);
    assert_eq!(again.status.code(), Some(5), "{}", stderr(&again));
    assert!(stderr(&again).contains("PLUGIN_ALREADY_INSTALLED"));

    // List and get, for people and for scripts.
    let list = run(&["tenant", "plugin", "list", "acme"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let text = stdout(&list);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "NAME", "VERSION", "STATE", "UPDATED"],
        "{text}"
    );
    let crm_row: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    assert_eq!(
        crm_row[..5],
        ["crm", "crm", "plugin", "1.0.0", "ACTIVE"],
        "{text}"
    );
    let listed = sandbox.json_ok(["-o", "json", "tenant", "plugin", "list", "acme"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0], installed);
    let got = sandbox.json_ok(["-o", "json", "tenant", "plugin", "get", "acme", "crm"]);
    assert_eq!(got["config"], installed["config"]);
    let shown = run(&["tenant", "plugin", "get", "acme", "crm"]);
    let text = stdout(&shown);
    assert!(text.contains("state:       ACTIVE"), "{text}");
    assert!(text.contains("  refresh = 120\n"), "{text}");
    assert!(text.contains("  apiKey = ********\n"), "{text}");
    // What its sandbox lets the backend reach is shown like its permissions.
    assert!(text.contains("connects to: the platform only\n"), "{text}");
    let missing = run(&["tenant", "plugin", "get", "acme", "reports"]);
    assert_eq!(missing.status.code(), Some(4));
    assert!(stderr(&missing).contains("PLUGIN_NOT_INSTALLED"));

    // Configure: --set changes, --unset resets to the default; bad values change nothing and
    // name every field at fault, each on its own line.
    let configured = sandbox.json_ok([
        "-o",
        "json",
        "tenant",
        "plugin",
        "configure",
        "acme",
        "crm",
        "--set",
        "refresh=300",
        "--unset",
        "currency",
    ]);
    assert_eq!(configured["config"]["refresh"], 300);
    assert_eq!(configured["config"]["currency"], "USD");
    assert_eq!(configured["config"]["label"], "From the file");
    let bad = run(&[
        "tenant",
        "plugin",
        "configure",
        "acme",
        "crm",
        "--set",
        "refresh=5",
        "--set",
        "currency=JPY",
    ]);
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(stderr(&bad).starts_with("error: "), "{}", stderr(&bad));
    assert_eq!(
        stderr(&bad).lines().next(),
        Some("error: the configuration is not valid (CONFIG_INVALID)"),
        "the problems are listed once, below: {}",
        stderr(&bad)
    );
    let problems = problem_lines(&bad);
    assert_eq!(problems.len(), 2, "{}", stderr(&bad));
    assert!(
        problems.iter().any(|p| p.starts_with("`refresh` ")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("`currency` ")),
        "{problems:?}"
    );
    assert!(
        stderr(&bad).contains("help: change the values with --set KEY=VALUE or --set-stdin KEY"),
        "the help names the fix: {}",
        stderr(&bad)
    );
    let got = sandbox.json_ok(["-o", "json", "tenant", "plugin", "get", "acme", "crm"]);
    assert_eq!(got["config"], configured["config"]);
    let nothing = run(&["tenant", "plugin", "configure", "acme", "crm"]);
    assert_eq!(nothing.status.code(), Some(2));
    // A secret is changed from stdin, never from --set.
    let secret_on_argv = run(&[
        "tenant",
        "plugin",
        "configure",
        "acme",
        "crm",
        "--set",
        "apiKey=other",
    ]);
    assert_eq!(secret_on_argv.status.code(), Some(2));
    assert!(
        stderr(&secret_on_argv).contains("--set-stdin apiKey"),
        "{}",
        stderr(&secret_on_argv)
    );
    let rotated = with_stdin(
        &[
            "-o",
            "json",
            "tenant",
            "plugin",
            "configure",
            "acme",
            "crm",
            "--set-stdin",
            "apiKey",
        ],
        "rotated-secret\n",
    );
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    let unknown = with_stdin(
        &[
            "tenant",
            "plugin",
            "configure",
            "acme",
            "crm",
            "--set-stdin",
            "nope",
        ],
        "x\n",
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("its fields: currency, refresh, label, apiKey"),
        "{}",
        stderr(&unknown)
    );

    // Deactivate and activate again.
    let off = sandbox.json_ok([
        "-o",
        "json",
        "tenant",
        "plugin",
        "deactivate",
        "acme",
        "crm",
    ]);
    assert_eq!(off["state"], "INACTIVE");
    let on = run(&["tenant", "plugin", "activate", "acme", "crm"]);
    assert!(on.status.success(), "{}", stderr(&on));
    assert!(stdout(&on).contains("ACTIVE"), "{}", stdout(&on));
    assert!(
        stderr(&on).contains("Activated crm in acme"),
        "{}",
        stderr(&on)
    );
    let got = sandbox.json_ok(["-o", "json", "tenant", "plugin", "get", "acme", "crm"]);
    assert_eq!(got["state"], "ACTIVE");

    // Unsatisfied dependencies: refused, every problem listed on its own line.
    let refused = run(&["tenant", "plugin", "install", "acme", "analytics"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("(DEPENDENCIES_UNSATISFIED)"));
    assert_eq!(
        stderr(&refused).lines().next(),
        Some("error: `analytics` cannot be installed (DEPENDENCIES_UNSATISFIED)"),
        "{}",
        stderr(&refused)
    );
    let problems = problem_lines(&refused);
    assert_eq!(problems.len(), 2, "{}", stderr(&refused));
    assert!(
        problems
            .iter()
            .any(|p| p.contains("`crm`") && p.ends_with("(version)")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("`search`") && p.ends_with("(missing)")),
        "{problems:?}"
    );
    let listed = sandbox.json_ok(["-o", "json", "tenant", "plugin", "list", "acme"]);
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "nothing installed: {listed}"
    );

    // A plugin that requires crm: crm cannot be uninstalled while it is there.
    let reports = sandbox.json_ok([
        "-o",
        "json",
        "tenant",
        "plugin",
        "install",
        "acme",
        "reports",
        "--activate",
    ]);
    assert_eq!(reports["state"], "ACTIVE");
    let required = run(&["tenant", "plugin", "uninstall", "acme", "crm"]);
    assert_eq!(required.status.code(), Some(5), "{}", stderr(&required));
    assert!(stderr(&required).contains("(PLUGIN_REQUIRED)"));
    assert!(stderr(&required).contains("reports"));
    assert!(stderr(&required).contains("help: "));

    // Purging without --yes and without a terminal is refused before anything is sent.
    let unconfirmed = run(&[
        "tenant",
        "plugin",
        "uninstall",
        "acme",
        "reports",
        "--purge",
    ]);
    assert_eq!(
        unconfirmed.status.code(),
        Some(2),
        "{}",
        stderr(&unconfirmed)
    );
    assert!(
        stderr(&unconfirmed).contains("--yes"),
        "{}",
        stderr(&unconfirmed)
    );
    let listed = sandbox.json_ok(["-o", "json", "tenant", "plugin", "list", "acme"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    let purged = sandbox.json_ok([
        "-o",
        "json",
        "tenant",
        "plugin",
        "uninstall",
        "acme",
        "reports",
        "--purge",
        "--yes",
    ]);
    assert_eq!(
        purged,
        json!({ "tenant": "acme", "id": "reports", "uninstalled": true, "purged": true })
    );
    let listed = sandbox.json_ok(["-o", "json", "tenant", "plugin", "list", "acme"]);
    let ids: Vec<&str> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, ["crm"]);

    // Workspace settings: read, change, write back; only `workspace-override` fields.
    let set = sandbox.json_ok([
        "-o",
        "json",
        "workspace",
        "plugin-settings",
        "set",
        "--tenant",
        "acme",
        "default",
        "crm",
        "currency=GBP",
    ]);
    assert_eq!(set["overrides"], json!({ "currency": "GBP" }));
    assert_eq!(set["effective"]["currency"], "GBP");
    assert_eq!(set["effective"]["refresh"], 300);
    assert_eq!(set["effective"]["apiKey"], "********");
    let shown = sandbox
        .plexica()
        .env("PLEXICA_TENANT", "acme")
        .args(["workspace", "plugin-settings", "get", "default", "crm"])
        .output()
        .expect("runs");
    assert!(shown.status.success(), "{}", stderr(&shown));
    let text = stdout(&shown);
    let row = |key: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(row("currency"), ["currency", "GBP", "workspace"], "{text}");
    assert_eq!(row("refresh"), ["refresh", "300", "tenant"], "{text}");
    let not_overridable = run(&[
        "workspace",
        "plugin-settings",
        "set",
        "--tenant",
        "acme",
        "default",
        "crm",
        "refresh=100",
    ]);
    assert_eq!(not_overridable.status.code(), Some(1));
    assert!(
        problem_lines(&not_overridable)
            .iter()
            .any(|p| p.starts_with("`refresh` "))
    );
    let unset = sandbox.json_ok([
        "-o",
        "json",
        "workspace",
        "plugin-settings",
        "set",
        "--tenant",
        "acme",
        "default",
        "crm",
        "--unset",
        "currency",
    ]);
    assert_eq!(unset["overrides"], json!({}));
    assert_eq!(unset["effective"]["currency"], "USD");
    let got = sandbox.json_ok([
        "-o",
        "json",
        "workspace",
        "plugin-settings",
        "get",
        "--tenant",
        "acme",
        "default",
        "crm",
    ]);
    assert_eq!(got, unset);

    // `plugin info --tenant`: the registry's answer plus the tenant's install.
    let info = sandbox.json_ok([
        "-o",
        "json",
        "--registry-url",
        &registry_url,
        "plugin",
        "info",
        "crm",
        "--tenant",
        "acme",
    ]);
    assert_eq!(info["id"], "crm");
    assert_eq!(info["latest"], "1.0.0");
    assert_eq!(
        info["tenant_install"],
        json!({ "tenant": "acme", "installed": true, "version": "1.0.0", "state": "ACTIVE" })
    );
    let info = run(&[
        "--registry-url",
        &registry_url,
        "plugin",
        "info",
        "reports",
        "--tenant",
        "acme",
    ]);
    assert!(info.status.success(), "{}", stderr(&info));
    assert!(
        stdout(&info).contains("tenant acme: not installed"),
        "{}",
        stdout(&info)
    );
    let info = run(&[
        "--registry-url",
        &registry_url,
        "plugin",
        "info",
        "crm@1.0.0",
        "--tenant",
        "acme",
    ]);
    assert!(
        stdout(&info).contains("tenant acme: 1.0.0 installed, ACTIVE"),
        "{}",
        stdout(&info)
    );
    let plain = sandbox.json_ok([
        "-o",
        "json",
        "--registry-url",
        &registry_url,
        "plugin",
        "info",
        "crm",
    ]);
    assert!(plain.get("tenant_install").is_none(), "{plain}");

    // Upgrade: the newest version, the configuration carried.
    publisher.publish("crm", "1.1.0", CRM_CONFIG);
    let upgraded = sandbox.json_ok(["-o", "json", "tenant", "plugin", "upgrade", "acme", "crm"]);
    assert_eq!(upgraded["version"], "1.1.0");
    assert_eq!(upgraded["state"], "ACTIVE");
    assert_eq!(upgraded["config"], configured["config"]);
    let not_newer = run(&["tenant", "plugin", "upgrade", "acme", "crm@=1.0.0"]);
    assert_eq!(not_newer.status.code(), Some(5), "{}", stderr(&not_newer));
    assert!(stderr(&not_newer).contains("NOT_AN_UPGRADE"));

    // A version that requires a new field: without a terminal, the error names the flag;
    // `--config` gives it and the rest is carried.
    publisher.publish(
        "crm",
        "1.2.0",
        &format!("{CRM_CONFIG}[[config]]\nkey = \"region\"\ntype = \"string\"\nrequired = true\n"),
    );
    let needs = run(&["tenant", "plugin", "upgrade", "acme", "crm"]);
    assert_eq!(needs.status.code(), Some(2), "{}", stderr(&needs));
    assert!(
        stderr(&needs).contains("crm 1.2.0 requires `region`"),
        "{}",
        stderr(&needs)
    );
    assert!(
        stderr(&needs).contains("--config region=VALUE"),
        "{}",
        stderr(&needs)
    );
    let upgraded = sandbox.json_ok([
        "-o",
        "json",
        "tenant",
        "plugin",
        "upgrade",
        "acme",
        "crm",
        "--config",
        "region=eu",
    ]);
    assert_eq!(upgraded["version"], "1.2.0");
    assert_eq!(upgraded["config"]["region"], "eu");
    assert_eq!(
        upgraded["config"]["refresh"],
        configured["config"]["refresh"]
    );
    assert_eq!(upgraded["config"]["apiKey"], "********");

    // Plain uninstall keeps nothing installed.
    let gone = sandbox.json_ok(["-o", "json", "tenant", "plugin", "uninstall", "acme", "crm"]);
    assert_eq!(gone["purged"], false);
    let listed = run(&["tenant", "plugin", "list", "acme"]);
    assert_eq!(stdout(&listed).trim(), "no plugins installed in acme");

    // A yanked version installs only when pinned, and says why it was yanked.
    publisher.yank("crm", "1.2.0", "leaks the api key in logs");
    let output = with_stdin(
        &[
            "tenant",
            "plugin",
            "install",
            "acme",
            "crm@=1.2.0",
            "--config",
            "region=eu",
            "--config-stdin",
            "apiKey",
        ],
        "s3cr3t-value",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("warning: crm@1.2.0 is yanked: leaks the api key in logs"),
        "{}",
        stderr(&output)
    );

    // On a terminal, the missing required fields are asked for: the secret hidden (never
    // echoed), the new field of an upgrade too.
    sandbox.json_ok(["-o", "json", "tenant", "create", "beta", "--name", "Beta"]);
    // `plexica api`: any route as the logged-in user; errors exit as usual; no other host.
    let listed = sandbox.json_ok(["-o", "json", "api", "tenants/beta/plugins"]);
    assert_eq!(listed, json!([]));
    let made = sandbox.json_ok([
        "-o",
        "json",
        "api",
        "/api/v1/tenants/beta/workspaces",
        "--data",
        r#"{"slug":"ops","name":"Ops"}"#,
    ]);
    assert_eq!(made["slug"], "ops", "{made}");
    let missing = run(&["api", "tenants/beta/workspaces/nope"]);
    assert_eq!(missing.status.code(), Some(4), "{}", stderr(&missing));
    let elsewhere = run(&["api", "http://127.0.0.1:9/api/v1/tenants"]);
    assert_eq!(elsewhere.status.code(), Some(2), "{}", stderr(&elsewhere));
    // Completion asks the profile's core API for tenant slugs.
    let completed = sandbox
        .plexica()
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "4")
        .env("_CLAP_IFS", "\n")
        .args(["--", "plexica", "tenant", "plugin", "list", "b"])
        .output()
        .expect("runs");
    assert_eq!(String::from_utf8_lossy(&completed.stdout).trim(), "beta");
    let mut screen = String::new();
    let mut install = sandbox.on_a_terminal(&["tenant", "plugin", "install", "beta", "crm@=1.1.0"]);
    screen += &install.exp_string("apiKey").expect("asks for the secret");
    type_secret(&mut install, "typed-secret");
    screen += &install
        .exp_string("Installed crm 1.1.0 in beta")
        .expect("installs");
    screen += &install.exp_eof().expect("exits");
    let mut upgrade = sandbox.on_a_terminal(&["tenant", "plugin", "upgrade", "beta", "crm@=1.2.0"]);
    screen += &upgrade
        .exp_string("is yanked: leaks the api key in logs")
        .expect("warns");
    screen += &upgrade
        .exp_string("region")
        .expect("asks for the new field");
    upgrade.send_line("us").expect("types");
    screen += &upgrade
        .exp_string("Upgraded crm to 1.2.0 in beta")
        .expect("upgrades");
    screen += &upgrade.exp_eof().expect("exits");
    assert!(
        !screen.contains("typed-secret"),
        "the secret was echoed: {screen}"
    );
    let got = sandbox.json_ok(["-o", "json", "tenant", "plugin", "get", "beta", "crm"]);
    assert_eq!(got["config"]["region"], "us", "{got}");
    assert_eq!(got["config"]["apiKey"], "********", "{got}");
}
