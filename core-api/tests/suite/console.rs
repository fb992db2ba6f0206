//! What the console relies on, attacked as a browser and another site would: the session in
//! cookies no script reads, writes only from the console's own origin, the UI modules a user
//! may see, and plugin files served only to the tenant that installed the plugin.

use crate::common;
use common::Backend;
use common::registry::{borrowed, frontend_plugin, on_both_backends_with_registry, platform};
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The console's session routes, and who the caller is.
const SESSION: &str = "/api/v1/auth/session";
const REFRESH: &str = "/api/v1/auth/session/refresh";
const ME: &str = "/api/v1/auth/me";

/// Where a request comes from, as a browser tells the server.
#[derive(Clone, Copy)]
enum From {
    /// A page of the console (`Sec-Fetch-Site: same-origin`).
    Console,
    /// A page of another site, by the header a modern browser sends.
    OtherSite,
    /// A page of another site, by `Origin` only (a browser without `Sec-Fetch-*`).
    OtherOrigin,
    /// No browser header at all.
    Nowhere,
}

/// A browser's cookie jar for the console: the two session cookies, as last set.
#[derive(Default, Clone)]
struct Jar {
    access: Option<String>,
    refresh: Option<String>,
}

impl Jar {
    /// Keeps the cookies `response` sets, checking their attributes.
    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().expect("text");
            assert!(text.contains("; HttpOnly"), "{text}");
            assert!(text.contains("; SameSite=Strict"), "{text}");
            let (pair, _) = text.split_once(';').expect("attributes");
            let (name, value) = pair.split_once('=').expect("name=value");
            let value = (!value.is_empty()).then(|| value.to_owned());
            match name {
                "plexica_access" => {
                    assert!(text.contains("; Path=/;"), "{text}");
                    self.access = value;
                }
                "plexica_refresh" => {
                    assert!(text.contains("; Path=/api/v1/auth/session;"), "{text}");
                    self.refresh = value;
                }
                other => panic!("unexpected cookie {other}"),
            }
        }
    }

    /// The `Cookie` header a browser sends to `path`.
    fn header(&self, path: &str) -> String {
        let mut pairs = Vec::new();
        if let Some(access) = &self.access {
            pairs.push(format!("plexica_access={access}"));
        }
        if let (Some(refresh), true) = (&self.refresh, path.starts_with(SESSION)) {
            pairs.push(format!("plexica_refresh={refresh}"));
        }
        pairs.join("; ")
    }
}

async fn send(
    core: &common::TestCore,
    jar: &Jar,
    method: Method,
    path: &str,
    body: Option<Value>,
    from: From,
) -> reqwest::Response {
    let mut request = core
        .http
        .request(method, format!("{}{path}", core.url))
        .header(COOKIE, jar.header(path));
    request = match from {
        From::Console => request.header("sec-fetch-site", "same-origin"),
        From::OtherSite => request
            .header("sec-fetch-site", "cross-site")
            .header("origin", "http://evil.test"),
        From::OtherOrigin => request.header("origin", "http://evil.test"),
        From::Nowhere => request,
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

/// The answer refuses the request and sets no cookie.
fn assert_refused_without_cookies(response: &reqwest::Response) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get(SET_COOKIE).is_none());
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// [`send`], answered as status and JSON body.
async fn call(
    core: &common::TestCore,
    jar: &Jar,
    method: Method,
    path: &str,
    body: Option<Value>,
    from: From,
) -> (StatusCode, Value) {
    json_of(send(core, jar, method, path, body, from).await).await
}

/// Signs in from the console; returns the jar and the answer.
async fn sign_in(
    core: &common::TestCore,
    tenant: &str,
    email: &str,
    password: &str,
) -> (Jar, Value) {
    let mut jar = Jar::default();
    let response = send(
        core,
        &jar,
        Method::POST,
        SESSION,
        Some(json!({ "tenant": tenant, "email": email, "password": password })),
        From::Console,
    )
    .await;
    jar.keep(&response);
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (jar, body)
}

on_both_backends!(
    the_session_lives_in_cookies_and_other_sites_cannot_use_it,
    |core| {
        let acme = core.tenant("acme").await;
        let (mut jar, me) = sign_in(&core, "acme", &acme.admin_email, &acme.admin_password).await;
        assert_eq!(me["email"], acme.admin_email.as_str(), "{me}");
        assert_eq!(me["auth"], "session");
        let access = jar.access.clone().expect("access cookie");
        let refresh = jar.refresh.clone().expect("refresh cookie");
        // The answer hands no script a token: the credentials are in the cookies only.
        let text = me.to_string();
        assert!(
            !text.contains(&access) && !text.contains(&refresh),
            "{text}"
        );

        let (status, body) = call(&core, &jar, Method::GET, ME, None, From::Nowhere).await;
        assert_eq!(status, StatusCode::OK, "a read needs no origin: {body}");

        // A write the cookie authenticates: only from the console's own pages.
        let workspaces = "/api/v1/tenants/acme/workspaces";
        for (from, slug) in [
            (From::OtherSite, "forged-a"),
            (From::OtherOrigin, "forged-b"),
            (From::Nowhere, "forged-c"),
        ] {
            let body = json!({ "slug": slug, "name": "Forged" });
            let (status, answer) =
                call(&core, &jar, Method::POST, workspaces, Some(body), from).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
            assert_eq!(answer["error"]["code"], "CROSS_SITE_REQUEST", "{answer}");
        }
        let body = json!({ "slug": "real", "name": "Real" });
        let (status, answer) = call(
            &core,
            &jar,
            Method::POST,
            workspaces,
            Some(body),
            From::Console,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let (_, listed) = core.get(workspaces, &acme.admin_token).await;
        let slugs: Vec<&str> = listed["data"]
            .as_array()
            .expect("workspaces")
            .iter()
            .filter_map(|w| w["slug"].as_str())
            .collect();
        assert!(slugs.contains(&"real"), "{listed}");
        assert!(
            !slugs.iter().any(|s| s.starts_with("forged")),
            "a forged write went through: {listed}"
        );

        // Another site cannot sign the browser in either (login CSRF), nor out.
        let (status, answer) = call(
            &core,
            &Jar::default(),
            Method::POST,
            SESSION,
            Some(json!({ "tenant": "acme", "email": acme.admin_email, "password": acme.admin_password })),
            From::OtherSite,
        ).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        let response = send(
            &core,
            &jar,
            Method::DELETE,
            SESSION,
            None,
            From::OtherOrigin,
        )
        .await;
        assert_refused_without_cookies(&response);

        // Another site cannot make the browser refresh the session either.
        let response = send(&core, &jar, Method::POST, REFRESH, None, From::OtherSite).await;
        assert_refused_without_cookies(&response);

        // What plugin code in the console's page could do with the cookie, refused: mint a
        // long-lived API token, or call a plugin's endpoints without its UI token.
        let (status, answer) = call(
            &core,
            &jar,
            Method::POST,
            "/api/v1/auth/tokens",
            Some(json!({ "name": "stolen" })),
            From::Console,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
        let (_, tokens) = core.get("/api/v1/auth/tokens", &acme.admin_token).await;
        assert!(!tokens.to_string().contains("stolen"), "{tokens}");
        let (status, answer) = call(
            &core,
            &jar,
            Method::GET,
            "/api/v1/tenants/acme/gateway/crm/crm.contacts/contacts",
            None,
            From::Console,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");

        // Two session cookies (one planted by another page of this host): neither is taken.
        let mut planted = jar.clone();
        planted.access = Some(format!("{}; plexica_access=planted", access));
        let (status, answer) = call(&core, &planted, Method::GET, ME, None, From::Console).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");

        // Refresh rotates both cookies; the old refresh cookie, replayed, ends the session.
        let stale = jar.clone();
        let response = send(&core, &jar, Method::POST, REFRESH, None, From::Console).await;
        jar.keep(&response);
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_ne!(jar.refresh, stale.refresh);
        let (status, body) = call(&core, &stale, Method::POST, REFRESH, None, From::Console).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"]["code"], "REFRESH_TOKEN_REUSED", "{body}");

        // Signing out revokes the session and clears the cookies.
        let (mut jar, _) = sign_in(&core, "acme", &acme.admin_email, &acme.admin_password).await;
        let signed_in = jar.clone();
        let response = send(&core, &jar, Method::DELETE, SESSION, None, From::Console).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let cleared: Vec<&str> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert_eq!(cleared.len(), 2, "{cleared:?}");
        assert!(
            cleared.iter().all(|c| c.contains("Max-Age=0")),
            "{cleared:?}"
        );
        jar.keep(&response);
        assert!(jar.access.is_none() && jar.refresh.is_none());
        let (status, body) = call(&core, &signed_in, Method::GET, ME, None, From::Console).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"]["code"], "SESSION_REVOKED", "{body}");
    }
);

/// Deactivates CRM in acme.
async fn deactivate_crm(core: &common::TestCore, admin_token: &str) {
    let (status, body) = core
        .post(
            "/api/v1/tenants/acme/plugins/crm/deactivate",
            admin_token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// CRM's frontend: a contacts page that needs `contacts:read` (members have it by default),
/// and a widget for everyone.
fn crm(version: &str, extra_files: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut files = frontend_plugin(
        "crm",
        version,
        r#"route-prefix = "/crm"

[[frontend.modules]]
name = "ContactsPage"
kind = "page"
extension-point = "sidebar.menu"
route = "/crm/contacts"
menu = { label = "Contacts", icon = "users", order = 10 }
permission = "contacts:read"

[[frontend.modules]]
name = "PipelineWidget"
kind = "widget"
extension-point = "dashboard.widgets"

[[permissions]]
key = "contacts:read"
description = "Read contacts"
default-role = "member"
"#,
    );
    files.extend(
        extra_files
            .iter()
            .map(|(path, text)| ((*path).to_owned(), (*text).to_owned())),
    );
    files
}

async fn install(core: &common::TestCore, tenant: &str, token: &str, id: &str) {
    let base = format!("/api/v1/tenants/{tenant}/plugins");
    let (status, body) = core.post(&base, token, json!({ "id": id })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = core
        .post(&format!("{base}/{id}/activate"), token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn module_names(answer: &Value) -> Vec<String> {
    answer["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .flat_map(|p| p["modules"].as_array().expect("modules").iter())
        .map(|m| m["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn ui_modules_list_what_the_user_may_see_in_the_workspace() {
    let (core, registry) = platform(Backend::Sqlite, |_| {}).await.expect("sqlite");
    registry.publish_files(&borrowed(&crm("1.0.0", &[]))).await;
    let acme = core.tenant("acme").await;
    install(&core, "acme", &acme.admin_token, "crm").await;
    let (status, body) = core
        .post(
            "/api/v1/tenants/acme/workspaces",
            &acme.admin_token,
            json!({ "slug": "sales", "name": "Sales" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (viewer_id, viewer) = core.user(&acme, "viewer@acme.test", &["member"]).await;
    let (member_id, member) = core.user(&acme, "member@acme.test", &["member"]).await;
    for (user, role) in [(&viewer_id, "viewer"), (&member_id, "member")] {
        let (status, body) = core
            .post(
                "/api/v1/tenants/acme/workspaces/sales/members",
                &acme.admin_token,
                json!({ "user_id": user, "role": role }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let list = "/api/v1/tenants/acme/ui-modules?workspace=sales";

    let (status, answer) = core.get(list, &member).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(module_names(&answer), ["ContactsPage", "PipelineWidget"]);
    let crm = &answer["plugins"][0];
    assert_eq!(crm["remote_entry"], "/plugins/crm/1.0.0/remoteEntry.js");
    assert_eq!(crm["state"], "ACTIVE");
    assert_eq!(crm["modules"][0]["route"], "/crm/contacts");
    assert_eq!(crm["modules"][0]["menu"]["label"], "Contacts");
    assert_eq!(crm["modules"][1]["extension_point"], "dashboard.widgets");

    // A viewer lacks `contacts:read` there: no page, the widget still.
    let (_, answer) = core.get(list, &viewer).await;
    assert_eq!(module_names(&answer), ["PipelineWidget"], "{answer}");
    // Outside a workspace, a workspace role grants nothing.
    let (_, answer) = core.get("/api/v1/tenants/acme/ui-modules", &member).await;
    assert_eq!(module_names(&answer), ["PipelineWidget"], "{answer}");
    // The tenant admin holds every permission.
    let (_, answer) = core.get(list, &acme.admin_token).await;
    assert_eq!(module_names(&answer), ["ContactsPage", "PipelineWidget"]);
    // A workspace the user is not in is not there.
    let (status, answer) = core
        .get("/api/v1/tenants/acme/ui-modules?workspace=default", &viewer)
        .await;
    common::assert_error(
        status,
        &answer,
        StatusCode::NOT_FOUND,
        "WORKSPACE_NOT_FOUND",
    );

    // A deactivated plugin shows nothing.
    deactivate_crm(&core, &acme.admin_token).await;
    let (_, answer) = core.get(list, &acme.admin_token).await;
    assert_eq!(answer["plugins"], json!([]), "{answer}");
}

on_both_backends_with_registry!(
    plugin_files_are_served_only_to_the_tenant_that_installed_the_plugin,
    |core, registry| {
        let page = "export default function ContactsPage() { return null; }\n";
        registry
            .publish_files(&borrowed(&crm(
                "1.0.0",
                &[
                    ("ui/assets/page.js", page),
                    ("ui/style.css", "main { color: black }\n"),
                    ("ui/evil.html", "<script>alert(1)</script>\n"),
                    ("ui/.env", "SECRET=1\n"),
                ],
            )))
            .await;
        let acme = core.tenant("acme").await;
        let globex = core.tenant("globex").await;
        install(&core, "acme", &acme.admin_token, "crm").await;
        let url = "/plugins/crm/1.0.0/assets/page.js";

        let response = core
            .call_raw(Method::GET, url, Some(&acme.admin_token), None)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
        assert_eq!(
            headers["cache-control"],
            "private, max-age=31536000, immutable"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let etag = headers["etag"].to_str().expect("etag").to_owned();
        assert_eq!(response.text().await.expect("body"), page);
        let revalidated = core
            .http
            .get(format!("{}{url}", core.url))
            .bearer_auth(&acme.admin_token)
            .header("if-none-match", &etag)
            .send()
            .await
            .expect("request");
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);

        // The console's session cookie is enough (a module script sends no Authorization).
        let (jar, _) = sign_in(&core, "acme", &acme.admin_email, &acme.admin_password).await;
        let response = send(&core, &jar, Method::GET, url, None, From::Console).await;
        assert_eq!(response.status(), StatusCode::OK);

        // A page is never rendered from a plugin's files, and hidden files are not served.
        let response = core
            .call_raw(
                Method::GET,
                "/plugins/crm/1.0.0/evil.html",
                Some(&acme.admin_token),
                None,
            )
            .await;
        assert_eq!(
            response.headers()["content-type"],
            "application/octet-stream"
        );
        assert!(
            response.headers()["content-security-policy"]
                .to_str()
                .expect("text")
                .contains("sandbox")
        );
        for path in [
            "/plugins/crm/1.0.0/.env",
            "/plugins/crm/1.0.0/%2e%2e/plexica.toml",
            "/plugins/crm/1.0.0/assets/..%2f..%2fplexica.toml",
            "/plugins/crm/1.0.0/missing.js",
            "/plugins/crm/2.0.0/assets/page.js",
            "/plugins/nope/1.0.0/assets/page.js",
        ] {
            let (status, body) = core.get(path, &acme.admin_token).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        }

        // Another tenant, which did not install CRM, gets nothing; nor does anyone anonymous.
        let (status, body) = core.get(url, &globex.admin_token).await;
        common::assert_error(status, &body, StatusCode::NOT_FOUND, "NOT_FOUND");
        assert!(!body.to_string().contains("ContactsPage"), "{body}");
        let (status, _) = core.call(Method::GET, url, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Deactivated, its files are gone from the console too.
        deactivate_crm(&core, &acme.admin_token).await;
        let (status, _) = core.get(url, &acme.admin_token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
);

#[tokio::test]
async fn the_console_is_served_at_the_root_under_its_policy() {
    let core = common::TestCore::start(Backend::Sqlite)
        .await
        .expect("sqlite");
    let get = |path: &str, header: (&str, &str)| {
        core.http
            .get(format!("{}{path}", core.url))
            .header(header.0, header.1)
            .send()
    };
    let page = |path: &str, accept: &str| get(path, ("accept", accept));
    let response = page("/", "text/html").await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-cache");
    let policy = headers["content-security-policy"].to_str().expect("text");
    for directive in [
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    let html = response.text().await.expect("html");
    // Every script and stylesheet the page names is served, cached for good.
    let files: Vec<&str> = html
        .split('"')
        .filter(|part| part.starts_with("/_console/"))
        .collect();
    assert!(files.iter().any(|f| f.ends_with(".js")), "{html}");
    for file in files {
        let response = page(file, "*/*").await.expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{file}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(response.headers().get("content-encoding").is_none());
        let plain = response.bytes().await.expect("body").len();
        // Gzipped for a browser that asks.
        let zipped = get(file, ("accept-encoding", "gzip"))
            .await
            .expect("request");
        assert_eq!(zipped.headers()["content-encoding"], "gzip", "{file}");
        let size = zipped.bytes().await.expect("body").len();
        assert!(size < plain / 2, "{file}: {size} of {plain} bytes");
    }
    // API answers are not compressed.
    let response = get("/api/openapi.json", ("accept-encoding", "gzip"))
        .await
        .expect("request");
    assert!(response.headers().get("content-encoding").is_none());
    // A console route reloaded in the browser is the console; the API's misses stay JSON.
    let response = page("/crm/contacts", "text/html,*/*")
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("html"), html);
    for (path, accept) in [
        ("/api/v1/nope", "text/html"),
        ("/crm/contacts", "application/json"),
        ("/_console/missing.js", "*/*"),
    ] {
        let response = page(path, accept).await.expect("request");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let (_, body) = json_of(response).await;
        assert_eq!(body["error"]["code"], "NOT_FOUND", "{path}: {body}");
    }
}

/// A replica that never installed the plugin unpacks its package on the first request for a
/// file (from the registry: its own package cache is empty), once for requests that come
/// together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_serves_the_files_of_a_plugin_another_replica_installed() {
    let Some((core, registry)) = platform(Backend::Postgres, |_| {}).await else {
        return;
    };
    let page = "export default function ContactsPage() { return null; }\n";
    registry
        .publish_files(&borrowed(&crm("1.0.0", &[("ui/assets/page.js", page)])))
        .await;
    let acme = core.tenant("acme").await;
    install(&core, "acme", &acme.admin_token, "crm").await;
    let registry_url = registry.url.clone();
    let replica = core
        .replica(|c| {
            c.registry_url = Some(registry_url);
            c.trust_registry_keys = true;
        })
        .await;
    let url = "/plugins/crm/1.0.0/assets/page.js";
    let answers = futures_util::future::join_all(
        (0..4).map(|_| replica.call_raw(Method::GET, url, Some(&acme.admin_token), None)),
    )
    .await;
    for response in answers {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await.expect("body"), page);
    }
}
