//! The example plugins of `examples/` (CRM, and Analytics that requires it), shipped the way a
//! plugin developer ships them: their own tests, `plexica plugin build` and `publish` against
//! `plexica up`, then installed in a tenant through the CLI and used through the gateway by
//! the tenant's users. Checks the dependency rules, the per-workspace data, the permissions
//! the gateway enforces, Analytics calling CRM (granted by CRM's manifest: `callers =
//! ["analytics"]`; depending on CRM grants nothing), the events between the two plugins, and
//! the circuit breaker when CRM stops answering.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::up::Platform;
use crate::common::{Sandbox, pids_of, workspace_root};
use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::{Value, json};

/// The core API as a tenant's user would call it.
struct Api {
    http: Client,
    url: String,
}

/// An answer: status, `Cache-Control`, JSON body, and how long it took.
struct Answer {
    status: u16,
    cache_control: Option<String>,
    body: Value,
    took: Duration,
}

impl Api {
    fn login(&self, email: &str, password: &str) -> String {
        let response = self
            .http
            .post(format!("{}/api/v1/auth/login", self.url))
            .json(&json!({ "tenant": "acme", "email": email, "password": password }))
            .send()
            .expect("login");
        assert_eq!(response.status().as_u16(), 200, "login {email}");
        let body: Value = response.json().expect("tokens");
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// `method …/gateway/{plugin}/{service}/{path}` in workspace `ws` as `token`.
    fn gateway(
        &self,
        token: &str,
        ws: &str,
        method: Method,
        target: (&str, &str, &str),
        body: Option<Value>,
    ) -> Answer {
        let (plugin, service, path) = target;
        let url = format!(
            "{}/api/v1/tenants/acme/gateway/{plugin}/{service}/{path}",
            self.url
        );
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(token)
            .header("X-Plexica-Workspace", ws);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let started = Instant::now();
        let response = request.send().expect("gateway call");
        let took = started.elapsed();
        let status = response.status().as_u16();
        let cache_control = response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.json().unwrap_or(Value::Null);
        Answer {
            status,
            cache_control,
            body,
            took,
        }
    }

    fn contacts(&self, token: &str, ws: &str) -> Answer {
        self.gateway(
            token,
            ws,
            Method::GET,
            ("crm", "crm.contacts", "contacts"),
            None,
        )
    }

    fn report(&self, token: &str, ws: &str) -> Answer {
        self.gateway(
            token,
            ws,
            Method::GET,
            ("analytics", "analytics.reports", "report"),
            None,
        )
    }
}

/// The output of a `plexica` run that must fail, as text.
fn failure(sandbox: &Sandbox, args: &[&str]) -> String {
    let output = sandbox.plexica().args(args).output().expect("runs");
    assert!(!output.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Adds tenant user `email` with workspace role `role` in `ws`; returns their password.
fn add_member(sandbox: &Sandbox, email: &str, ws: &str, role: &str) -> String {
    let user = sandbox.json_ok([
        "-o", "json", "tenant", "user", "add", "acme", email, "--roles", "member",
    ]);
    sandbox
        .plexica()
        .args(["workspace", "member", "add", "--tenant", "acme", ws, email])
        .args(["--role", role])
        .assert()
        .success();
    user["initial_password"]
        .as_str()
        .expect("password")
        .to_owned()
}

/// Waits until tenant acme's event log has an event of `event_type` for workspace `ws`.
fn wait_for_event(sandbox: &Sandbox, event_type: &str, ws: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let output = sandbox
            .plexica()
            .args(["-o", "json", "events", "tail", "--tenant", "acme"])
            .args(["--from-start", "--type", event_type, "--count", "50"])
            .timeout(Duration::from_secs(5))
            .output()
            .expect("events tail");
        let text = String::from_utf8_lossy(&output.stdout);
        let found = text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|e| e["workspace"] == ws);
        if let Some(event) = found {
            return event;
        }
        assert!(
            Instant::now() < deadline,
            "no {event_type} for {ws}: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Polls `report` until `done` holds for its body (events reach Analytics asynchronously).
fn wait_for_report(api: &Api, token: &str, ws: &str, done: impl Fn(&Value) -> bool) -> Answer {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = api.report(token, ws);
        if answer.status == 200 && done(&answer.body) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "report of {ws}: {} {}",
            answer.status,
            answer.body
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The Unix socket the running backend of `plugin` serves on: `<state>/<plugin>-<version>/
/// backend.sock`, somewhere under `root`.
fn backend_socket(root: &Path, plugin: &str) -> PathBuf {
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !path.is_dir() || name == "target" {
                continue;
            }
            if name.starts_with(&format!("{plugin}-")) && path.join("backend.sock").exists() {
                return path.join("backend.sock");
            }
            dirs.push(path);
        }
    }
    panic!("no socket of {plugin} under {}", root.display())
}

/// Sends `request` as is over the Unix socket at `socket`; returns the whole answer.
fn raw_call(socket: &Path, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).expect("connect");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    answer
}

fn signal(pid: &str, signal: &str) {
    let sent = Command::new("kill")
        .args([signal, pid])
        .status()
        .expect("kill");
    assert!(sent.success(), "kill {signal} {pid}");
}

#[test]
fn crm_and_analytics_are_built_published_installed_and_work_together() {
    let sandbox = Sandbox::new();
    let platform = Platform::start_with(
        &sandbox,
        None,
        None,
        &[
            "--gateway-timeout-seconds",
            "1",
            "--breaker-cooldown-seconds",
            "2",
        ],
    );
    for step in [
        &["keys", "generate"][..],
        &["keys", "register", "default"][..],
    ] {
        sandbox.plexica().args(step).assert().success();
    }
    for id in ["crm", "analytics"] {
        let dir = sandbox.copy_example(id);
        sandbox.build_and_publish(&dir);
        let tested = Command::new(env!("CARGO"))
            .args(["test", "--quiet"])
            .current_dir(&dir)
            .output()
            .expect("cargo test");
        assert!(
            tested.status.success(),
            "{id}'s own tests: {}",
            String::from_utf8_lossy(&tested.stderr)
        );
    }
    let tenant = sandbox.json_ok(["-o", "json", "tenant", "create", "acme", "--name", "Acme"]);
    let admin_email = tenant["initial_admin"]["email"].as_str().expect("email");
    let admin_password = tenant["initial_admin"]["password"]
        .as_str()
        .expect("password");

    // Analytics requires CRM: refused, naming it, until CRM is there; then CRM cannot leave.
    let refused = failure(
        &sandbox,
        &[
            "tenant",
            "plugin",
            "install",
            "acme",
            "analytics",
            "--activate",
        ],
    );
    assert!(
        refused.contains("DEPENDENCIES_UNSATISFIED") && refused.contains("crm"),
        "{refused}"
    );
    for id in ["crm", "analytics"] {
        let installed = sandbox.json_ok([
            "-o",
            "json",
            "tenant",
            "plugin",
            "install",
            "acme",
            id,
            "--activate",
        ]);
        assert_eq!(installed["state"], "ACTIVE", "{installed}");
    }
    let refused = failure(&sandbox, &["tenant", "plugin", "uninstall", "acme", "crm"]);
    assert!(refused.contains("analytics"), "{refused}");

    // Workspaces created now get CRM's pipeline from its `core.workspace.created` handler.
    for ws in ["sales", "support"] {
        sandbox
            .plexica()
            .args(["workspace", "create", "--tenant", "acme", ws, "--name", ws])
            .assert()
            .success();
    }
    for ws in ["sales", "support"] {
        let created = wait_for_event(&sandbox, "plugin.crm.pipeline.created", ws);
        assert_eq!(created["data"]["name"], "Sales", "{created}");
        assert_eq!(created["source"], "plugin/crm", "{created}");
    }

    let api = Api {
        http: Client::new(),
        url: platform.api_url.clone(),
    };
    let admin = api.login(admin_email, admin_password);
    let contact = |ws: &str, name: &str, email: &str| {
        let answer = api.gateway(
            &admin,
            ws,
            Method::POST,
            ("crm", "crm.contacts", "contacts"),
            Some(json!({ "name": name, "email": email })),
        );
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body["id"].as_str().expect("contact id").to_owned()
    };
    let ada = contact("sales", "Ada Lovelace", "ada@example.com");
    contact("sales", "Grace Hopper", "grace@example.com");
    contact("support", "Linus Torvalds", "linus@example.com");

    // CRM's backend listens on a Unix socket in a directory of its own (0700). A local process
    // that calls it directly, claiming to be the platform, is refused by the SDK before any
    // handler runs.
    let socket = backend_socket(sandbox.root.path(), "crm");
    let dir = socket.parent().expect("socket directory");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir).expect("stat").permissions(),
    );
    assert_eq!(mode & 0o777, 0o700, "{}", dir.display());
    let forged = raw_call(
        &socket,
        "GET /contacts HTTP/1.1\r\nHost: crm\r\nX-Plexica-Tenant: acme\r\n\
         X-Plexica-Workspace: sales\r\nX-Plexica-User: admin\r\nConnection: close\r\n\r\n",
    );
    assert!(forged.starts_with("HTTP/1.1 401"), "{forged}");
    assert!(forged.contains("BAD_SIGNATURE"), "{forged}");
    assert!(!forged.contains("Ada Lovelace"), "{forged}");
    let again = api.gateway(
        &admin,
        "sales",
        Method::POST,
        ("crm", "crm.contacts", "contacts"),
        Some(json!({ "name": "Ada again", "email": "ada@example.com" })),
    );
    assert_eq!(again.status, 409, "{}", again.body);
    let invalid = api.gateway(
        &admin,
        "sales",
        Method::POST,
        ("crm", "crm.contacts", "contacts"),
        Some(json!({ "name": " " })),
    );
    assert_eq!(invalid.status, 422, "{}", invalid.body);

    // Deals take the tenant's configured currency.
    let deal = |amount_cents: i64| {
        let answer = api.gateway(
            &admin,
            "sales",
            Method::POST,
            ("crm", "crm.deals", "deals"),
            Some(json!({ "title": "Engines", "amount_cents": amount_cents, "contact_id": ada })),
        );
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body
    };
    assert_eq!(deal(125_000)["currency"], "USD");
    sandbox
        .plexica()
        .args(["tenant", "plugin", "configure", "acme", "crm"])
        .args(["--set", "currency=EUR"])
        .assert()
        .success();
    let second = deal(5_000);
    assert_eq!(
        (&second["currency"], &second["stage"]),
        (&json!("EUR"), &json!("lead"))
    );
    let refused = failure(
        &sandbox,
        &[
            "tenant",
            "plugin",
            "configure",
            "acme",
            "crm",
            "--set",
            "currency=JPY",
        ],
    );
    assert!(refused.contains("currency"), "{refused}");

    // Each workspace sees its own contacts only.
    let sales = api.contacts(&admin, "sales");
    assert_eq!(sales.status, 200, "{}", sales.body);
    assert_eq!(sales.body["total"], 2, "{}", sales.body);
    assert_eq!(api.contacts(&admin, "support").body["total"], 1);

    // Analytics' report, through the gateway: from CRM (through the gateway again, which
    // CRM's `callers` grants) and from the contact events it counted; per workspace.
    let report = wait_for_report(&api, &admin, "sales", |r| r["contacts_counted"] == 2);
    assert_eq!(report.body["contacts"], 2, "{}", report.body);
    assert_eq!(report.body["deals"], 2, "{}", report.body);
    assert_eq!(
        report.body["pipeline"]["lead"],
        json!({ "deals": 2, "amount_cents": 130_000 })
    );
    assert_eq!(report.body["currencies"], json!(["EUR", "USD"]));
    assert_eq!(
        report.cache_control.as_deref(),
        Some("private, max-age=300")
    );
    let support = wait_for_report(&api, &admin, "support", |r| r["contacts_counted"] == 1);
    assert_eq!(
        (&support.body["contacts"], &support.body["deals"]),
        (&json!(1), &json!(0))
    );

    // The gateway holds users to CRM's permissions: viewers may not read contacts, members may;
    // a viewer may read the report (`reports:read` is a viewer's).
    let viewer = add_member(&sandbox, "vera@acme.test", "sales", "viewer");
    let viewer = api.login("vera@acme.test", &viewer);
    let denied = api.contacts(&viewer, "sales");
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(denied.body["error"]["details"]["required"], "contacts:read");
    assert_eq!(api.report(&viewer, "sales").status, 200);
    let member = add_member(&sandbox, "mo@acme.test", "sales", "member");
    let member = api.login("mo@acme.test", &member);
    assert_eq!(api.contacts(&member, "sales").status, 200);
    assert_eq!(
        api.contacts(&member, "support").status,
        404,
        "not a member of support"
    );

    // CRM stops answering (frozen): after five failed calls the circuit opens and the gateway
    // answers 503 at once; CRM back, calls go through again after the cool-down.
    let crm = sandbox
        .work()
        .join(".plexica/core.plugin-state/packages/crm");
    let pids = pids_of(&crm);
    assert_eq!(pids.len(), 1, "{pids:?}");
    signal(&pids[0], "-STOP");
    for _ in 0..5 {
        let failed = api.contacts(&admin, "sales");
        assert!(failed.status >= 500, "{} {}", failed.status, failed.body);
    }
    let open = api.contacts(&admin, "sales");
    assert_eq!(open.status, 503, "{}", open.body);
    assert_eq!(open.body["error"]["code"], "CIRCUIT_OPEN", "{}", open.body);
    assert!(
        open.took < Duration::from_millis(50),
        "took {:?}",
        open.took
    );
    signal(&pids[0], "-CONT");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = api.contacts(&admin, "sales");
        if answer.status == 200 {
            assert_eq!(answer.body["total"], 2);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "CRM did not recover: {} {}",
            answer.status,
            answer.body
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    platform.stop();
    assert!(pids_of(&crm).is_empty(), "CRM stopped with the platform");
}

/// CRM's frontend is built the way the `frontend` template builds every plugin's: its build
/// files are the template's, byte for byte, and so are its dependencies (its package files
/// differ in the plugin's name and version only). A fix to one cannot miss the other.
#[test]
fn crm_builds_its_frontend_with_the_frontend_templates_files() {
    let root = workspace_root();
    let (crm, template) = (root.join("examples/crm"), root.join("templates/frontend"));
    for file in [
        "ui/build.mjs",
        "ui/plugin.mjs",
        "ui/vite.config.js",
        "ui/test/remote.test.mjs",
    ] {
        let read = |dir: &Path| std::fs::read(dir.join(file)).expect(file);
        assert!(
            read(&crm) == read(&template),
            "examples/crm/{file} is not templates/frontend/{file}"
        );
    }
    for file in ["package.json", "package-lock.json"] {
        let without_name = |dir: &Path| {
            let text = std::fs::read(dir.join(file)).expect(file);
            let mut package: Value = serde_json::from_slice(&text).expect("JSON");
            let forget = |entry: &mut Value| {
                if let Some(fields) = entry.as_object_mut() {
                    fields.remove("name");
                    fields.remove("version");
                }
            };
            forget(&mut package);
            forget(&mut package["packages"][""]);
            package
        };
        assert_eq!(without_name(&crm), without_name(&template), "{file}");
    }
}
