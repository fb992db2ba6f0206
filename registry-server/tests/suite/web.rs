//! The marketplace (issue 20): documents kept at publish and served sanitized, the pages,
//! feeds, the forms' defences, and the whole journey in Chromium.

use crate::common;

use common::{TestRegistry, code, manifest, png, signed_with_files};
use plexica_sdk::package::signing::SecretKey;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, SET_COOKIE};
use serde_json::json;

const CRM_README: &str = "# CRM for Plexica\n\nContacts, deals and a **pipeline**.\n\n\
    ![The pipeline](docs/pipeline.png)\n\n| Feature | Status |\n|---|---|\n| Contacts | done |\n";

const HOSTILE_README: &str = "# Totally safe\n\n<script>window.__pwned = 1; alert('script')</script>\n\n\
    <img src=x onerror=\"window.__pwned = 2; alert('onerror')\">\n\n\
    [click me](javascript:window.__pwned=3)\n\n<a href=\"javascript:alert(4)\">and me</a>\n\n\
    <svg onload=\"alert(5)\"><script>alert(6)</script></svg>\n\n\
    <iframe src=\"https://example.com\"></iframe>\n\n<p onclick=\"alert(7)\" style=\"position:fixed\">text</p>\n\n\
    ![svg](docs/evil.svg)\n";

const SVG_WITH_SCRIPT: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script></svg>";

/// Publishes CRM 1.0.0 (then yanked), CRM 1.1.0 with README, changelog and screenshots, an
/// analytics plugin whose description mentions contacts, and `evil` with a hostile README.
async fn catalogue(reg: &TestRegistry, token: &str, key: &SecretKey) {
    let crm_manifest = |version: &str| {
        manifest(
            "crm",
            version,
            "keywords = [\"contacts\", \"sales\"]\ncategories = [\"crm\"]\n\
             screenshots = [\"docs/shot.png\"]\nhomepage = \"https://crm.example\"\n",
        )
        .replace("name = \"crm plugin\"", "name = \"CRM\"")
    };
    let crm_files = vec![
        ("README.md", CRM_README.as_bytes().to_vec()),
        ("CHANGELOG.md", b"## 1.1.0\n\n- Pipeline widget\n".to_vec()),
        ("docs/shot.png", png()),
        ("docs/pipeline.png", png()),
    ];
    for version in ["1.0.0", "1.1.0"] {
        let (status, body) = reg
            .publish(
                token,
                signed_with_files(key, &crm_manifest(version), &crm_files),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "crm {version}: {body}");
    }
    let (status, body) = reg
        .send(
            reg.http
                .delete(reg.at("/api/v1/plugins/crm/versions/1.0.0/yank"))
                .bearer_auth(token)
                .json(&json!({ "reason": "data loss on upgrade" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let analytics = manifest("analytics", "2.0.0", "categories = [\"analytics\"]\n").replace(
        "The analytics plugin, for tests",
        "Charts of deals and contacts over time",
    );
    let (status, body) = reg
        .publish(token, signed_with_files(key, &analytics, &[]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let evil = manifest("evil", "0.1.0", "").replace(
        "name = \"evil plugin\"",
        "name = \"<b>Evil</b> <img src=x onerror=alert(1)>\"",
    );
    let (status, body) = reg
        .publish(
            token,
            signed_with_files(
                key,
                &evil,
                &[
                    ("README.md", HOSTILE_README.as_bytes().to_vec()),
                    ("docs/evil.svg", SVG_WITH_SCRIPT.to_vec()),
                ],
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// A client that does not follow redirects, as the forms' answers are checked.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn page(reg: &TestRegistry, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = reg.http.get(reg.at(path)).send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("text"))
}

on_both_backends!(documents_are_kept_at_publish_and_served_sanitized, |reg| {
    let (token, key) = reg.publisher("ada").await;
    catalogue(&reg, &token, &key).await;

    let (status, detail) = reg.get("/api/v1/plugins/crm/versions/1.1.0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (detail["readme"].clone(), detail["changelog"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(
        detail["manifest"]["plugin"]["screenshots"],
        json!(["docs/shot.png"])
    );

    let (status, headers, source) = page(&reg, "/api/v1/plugins/crm/versions/1.1.0/readme").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(source, CRM_README);
    assert!(
        headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/markdown")
    );
    let (_, headers, html) = page(
        &reg,
        "/api/v1/plugins/crm/versions/1.1.0/readme?format=html",
    )
    .await;
    assert!(
        headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.contains("<h1>CRM for Plexica</h1>"), "{html}");
    assert!(html.contains("<table>"), "{html}");
    assert!(
        html.contains("src=\"/api/v1/plugins/crm/versions/1.1.0/images/docs/pipeline.png\""),
        "{html}"
    );
    let (_, _, changelog) = page(
        &reg,
        "/api/v1/plugins/crm/versions/1.1.0/changelog?format=html",
    )
    .await;
    assert!(
        changelog.contains("<li>Pipeline widget</li>"),
        "{changelog}"
    );

    let response = reg
        .http
        .get(reg.at("/api/v1/plugins/crm/versions/1.1.0/images/docs/shot.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "image/png");
    assert!(
        response.headers()[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.bytes().await.unwrap().to_vec(), png());

    // The hostile README: nothing that runs survives, and the SVG is never served.
    let (_, headers, html) = page(
        &reg,
        "/api/v1/plugins/evil/versions/0.1.0/readme?format=html",
    )
    .await;
    for banned in [
        "<script",
        "onerror",
        "onload",
        "onclick",
        "javascript:",
        "<svg",
        "<iframe",
        "style=",
        "evil.svg",
    ] {
        assert!(!html.contains(banned), "{banned} survived: {html}");
    }
    assert!(
        headers[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    let (status, _) = reg
        .get("/api/v1/plugins/evil/versions/0.1.0/images/docs/evil.svg")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = reg
        .get("/api/v1/plugins/analytics/versions/2.0.0/readme")
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
});

on_both_backends!(
    screenshots_are_checked_by_their_bytes_and_nothing_is_kept_on_refusal,
    |reg| {
        let (token, key) = reg.publisher("ada").await;
        let with_shot = manifest("shots", "1.0.0", "screenshots = [\"docs/shot.png\"]\n");
        let (status, body) = reg
            .publish(
                &token,
                signed_with_files(
                    &key,
                    &with_shot,
                    &[("docs/shot.png", SVG_WITH_SCRIPT.to_vec())],
                ),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "SCREENSHOT_INVALID"),
            "{body}"
        );

        let (status, body) = reg
            .publish(&token, common::unsigned_with_files(&with_shot, &[]))
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "MANIFEST_INVALID"),
            "{body}"
        );
        assert!(
            body.to_string().contains("is not a file of the plugin"),
            "{body}"
        );

        // Text that does not compress much (a zip bomb is refused earlier, for another reason).
        let mut seed: u32 = 7;
        let huge: Vec<u8> = (0..600 * 1024)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                b'a' + u8::try_from((seed >> 16) % 26).unwrap_or(0)
            })
            .collect();
        let (status, body) = reg
            .publish(
                &token,
                signed_with_files(
                    &key,
                    &manifest("shots", "1.0.0", ""),
                    &[("README.md", huge)],
                ),
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "DOCUMENT_TOO_LARGE"),
            "{body}"
        );

        let (status, _) = reg.get("/api/v1/plugins/shots").await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a refused publish leaves nothing"
        );
    }
);

#[tokio::test]
async fn pages_show_the_catalogue() {
    let reg = TestRegistry::start(common::Backend::Sqlite)
        .await
        .expect("sqlite");
    let (token, key) = reg.publisher("ada").await;
    catalogue(&reg, &token, &key).await;

    let (status, headers, home) = page(&reg, "/").await;
    assert_eq!(status, StatusCode::OK);
    let policy = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        policy.contains("default-src 'none'") && !policy.contains("script-src"),
        "{policy}"
    );
    for section in [
        "Most downloaded",
        "Recently updated",
        "Newly published",
        "Categories",
    ] {
        assert!(home.contains(section), "{section}");
    }
    assert!(home.contains("href=\"/plugins/crm\""), "{home}");

    // Ranked as the API ranks: a keyword beats a description.
    let (_, _, results) = page(&reg, "/search?q=contacts").await;
    let crm = results.find("href=\"/plugins/crm\"").expect("crm listed");
    let analytics = results
        .find("href=\"/plugins/analytics\"")
        .expect("analytics listed");
    assert!(crm < analytics, "{results}");
    let (_, _, words) = page(&reg, "/search?q=deals+charts").await;
    assert!(
        words.contains("href=\"/plugins/analytics\"") && words.contains("1 plugin<"),
        "{words}"
    );
    let (_, _, filtered) = page(&reg, "/search?q=contacts&category=analytics").await;
    assert!(!filtered.contains("href=\"/plugins/crm\""), "{filtered}");
    let (_, _, keyword) = page(&reg, "/search?keyword=sales").await;
    assert!(
        keyword.contains("href=\"/plugins/crm\"") && !keyword.contains("/plugins/analytics\""),
        "{keyword}"
    );
    let (_, _, typo) = page(&reg, "/search?q=analytcs").await;
    assert!(
        typo.contains("Did you mean") && typo.contains(">analytics</a>"),
        "{typo}"
    );
    let (_, _, first) = page(&reg, "/search?per_page=2").await;
    assert!(
        first.contains("Page 1 of 2") && first.contains("href=\"/search?per_page=2&amp;page=2\""),
        "{first}"
    );
    let (_, _, second) = page(&reg, "/search?per_page=2&page=2").await;
    assert!(
        second.contains("Page 2 of 2") && second.contains("rel=\"prev\""),
        "{second}"
    );
    assert_eq!(second.matches("class=\"card\"").count(), 1, "{second}");
    let (status, _, _) = page(&reg, "/search?category=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _, plugin) = page(&reg, "/plugins/crm").await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "<h1>CRM for Plexica</h1>",
        "data loss on upgrade",
        "Verified: signed by key",
        "plexica tenant plugin install &lt;tenant&gt; crm",
        "property=\"og:title\" content=\"CRM\"",
        "property=\"og:image\" content=\"http://127.0.0.1",
        "Screenshot 1 of CRM",
        "href=\"https://crm.example\"",
        "href=\"/users/ada\"",
        "Pipeline widget",
        "MIT",
    ] {
        assert!(
            plugin.contains(expected),
            "{expected} missing from the plugin page"
        );
    }
    let css = page(&reg, "/assets/site.css").await.2;
    let weight = plugin.len() + css.len();
    eprintln!(
        "plugin page weight: {weight} bytes (HTML {}, CSS {}, JS 0)",
        plugin.len(),
        css.len()
    );
    assert!(
        weight < 50 * 1024,
        "plugin page weighs {weight} bytes with its CSS"
    );

    let (_, _, old) = page(&reg, "/plugins/crm/v/1.0.0").await;
    assert!(old.contains("Version 1.0.0 is yanked"), "{old}");

    let (_, _, evil) = page(&reg, "/plugins/evil").await;
    assert!(evil.contains("&lt;b&gt;Evil&lt;/b&gt;"), "the name is text");
    assert!(
        !evil.contains("<script") && !evil.contains("<img src=x"),
        "{evil}"
    );

    let (_, _, publisher) = page(&reg, "/users/ada").await;
    assert!(publisher.contains("href=\"/plugins/crm\"") && publisher.contains(&key.id.to_string()));
    assert_eq!(page(&reg, "/users/nobody").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        page(&reg, "/plugins/nothing-here").await.0,
        StatusCode::NOT_FOUND
    );

    let (_, headers, feed) = page(&reg, "/feed.atom").await;
    assert!(
        headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let doc = roxmltree::Document::parse(&feed).expect("the feed is XML");
    let entries: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("entry"))
        .filter_map(|e| {
            e.children()
                .find(|c| c.has_tag_name("title"))
                .and_then(|t| t.text())
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(entries.len(), 4, "{feed}");
    assert!(
        entries
            .iter()
            .any(|t| t == "<b>Evil</b> <img src=x onerror=alert(1)> 0.1.0"),
        "{entries:?}"
    );
    let (_, _, sitemap) = page(&reg, "/sitemap.xml").await;
    let doc = roxmltree::Document::parse(&sitemap).expect("the sitemap is XML");
    let locs: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("loc"))
        .filter_map(|n| n.text())
        .collect();
    assert!(locs.iter().any(|l| l.ends_with("/plugins/crm")), "{locs:?}");
    assert_eq!(locs.len(), 4, "home and three plugins: {locs:?}");
}

/// Signs in through the form; returns the session cookie (`name=value`).
async fn sign_in(reg: &TestRegistry, username: &str) -> String {
    let response = client()
        .post(reg.at("/login"))
        .form(&[
            ("username", username),
            ("password", "a long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    cookie.split(';').next().unwrap().to_owned()
}

async fn post_form(
    reg: &TestRegistry,
    path: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client().post(reg.at(path)).form(form);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap()
}

on_both_backends!(
    forms_hold_against_outsiders_other_sites_and_non_owners,
    |reg| {
        let (token, key) = reg.publisher("ada").await;
        catalogue(&reg, &token, &key).await;
        let _ = reg.publisher("eve").await;

        // No session: sent to sign in, nothing written.
        let response = post_form(
            &reg,
            "/plugins/crm/review",
            None,
            None,
            &[("rating", "1"), ("text", "x")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/login");
        for (path, form) in [
            (
                "/plugins/crm/yank",
                vec![("version", "1.1.0"), ("reason", "x")],
            ),
            ("/plugins/crm/unyank", vec![("version", "1.0.0")]),
            ("/plugins/crm/deprecate", vec![("message", "gone")]),
            ("/plugins/crm/undeprecate", vec![]),
            ("/plugins/crm/owners/add", vec![("username", "eve")]),
            ("/plugins/crm/owners/remove", vec![("username", "ada")]),
        ] {
            let response = post_form(&reg, path, None, None, &form).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
            assert_eq!(response.headers()[LOCATION], "/login", "{path}");
        }
        assert_eq!(
            reg.get("/api/v1/plugins/crm/versions/1.0.0").await.1["yanked"],
            true
        );

        // A form another site's page posts with the victim's cookie is refused before it is read.
        let eve = sign_in(&reg, "eve").await;
        let response = post_form(
            &reg,
            "/plugins/crm/review",
            Some(&eve),
            Some("https://evil.example"),
            &[("rating", "1"), ("text", "forged")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let response = client()
            .post(reg.at("/plugins/crm/review"))
            .header("cookie", &eve)
            .header("sec-fetch-site", "cross-site")
            .form(&[("rating", "1"), ("text", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(reg.get("/api/v1/plugins/crm/reviews").await.1, json!([]));

        // A signed-in non-owner cannot yank, deprecate or take ownership.
        let own_origin = reg.url.clone();
        for (path, form) in [
            (
                "/plugins/crm/yank",
                vec![("version", "1.1.0"), ("reason", "mine now")],
            ),
            ("/plugins/crm/deprecate", vec![("message", "gone")]),
            ("/plugins/crm/owners/add", vec![("username", "eve")]),
            ("/plugins/crm/owners/remove", vec![("username", "ada")]),
        ] {
            let response = post_form(&reg, path, Some(&eve), Some(&own_origin), &form).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        }
        let (_, detail) = reg.get("/api/v1/plugins/crm").await;
        assert_eq!(detail["owners"], json!(["ada"]));
        assert!(detail["deprecation"].is_null());
        assert_eq!(
            reg.get("/api/v1/plugins/crm/versions/1.1.0").await.1["yanked"],
            false
        );

        // The same-origin review works, once per user, and edits.
        for text in ["first", "edited"] {
            let response = post_form(
                &reg,
                "/plugins/crm/review",
                Some(&eve),
                Some(&own_origin),
                &[("rating", "5"), ("text", text)],
            )
            .await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
        }
        let reviews = reg.get("/api/v1/plugins/crm/reviews").await.1;
        assert_eq!(reviews.as_array().map(Vec::len), Some(1), "{reviews}");
        assert_eq!(reviews[0]["text"], "edited");

        // The owner manages from the page.
        let ada = sign_in(&reg, "ada").await;
        let (_, _, html) = {
            let response = reg
                .http
                .get(reg.at("/plugins/crm"))
                .header("cookie", &ada)
                .send()
                .await
                .unwrap();
            (response.status(), (), response.text().await.unwrap())
        };
        assert!(
            html.contains("Manage (owners)"),
            "the owner sees the manage forms"
        );
        let response = post_form(
            &reg,
            "/plugins/crm/deprecate",
            Some(&ada),
            Some(&own_origin),
            &[("message", "use crm2"), ("successor", "analytics")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            reg.get("/api/v1/plugins/crm").await.1["deprecation"]["successor"],
            "analytics"
        );
        let (_, _, html) = page(&reg, "/plugins/crm").await;
        assert!(
            html.contains("Deprecated: </strong>use crm2")
                && html.contains("href=\"/plugins/analytics\""),
            "{html}"
        );

        // Signing out revokes the session's token.
        let response = post_form(&reg, "/logout", Some(&eve), Some(&own_origin), &[]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let response = post_form(
            &reg,
            "/plugins/crm/review",
            Some(&eve),
            Some(&own_origin),
            &[("rating", "1"), ("text", "after")],
        )
        .await;
        assert_eq!(response.headers()[LOCATION], "/login");

        // A form that does not parse gets a page that says so, and writes nothing.
        let response = post_form(
            &reg,
            "/plugins/crm/review",
            Some(&ada),
            Some(&own_origin),
            &[("rating", "lots")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(response.text().await.unwrap().contains("<h1>Refused</h1>"));

        // Wrong password: the form again, 401, no cookie.
        let response = post_form(
            &reg,
            "/login",
            None,
            None,
            &[("username", "eve"), ("password", "wrong password!")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get(SET_COOKIE).is_none());
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_marketplace_in_chromium() {
    let reg = TestRegistry::start(common::Backend::Sqlite)
        .await
        .expect("sqlite");
    let (token, key) = reg.publisher("ada").await;
    catalogue(&reg, &token, &key).await;
    let _ = reg.publisher("grace").await;
    let shots = plexica_testkit::browser::screenshots_dir("marketplace");
    let url = reg.url.clone();
    let shots_text = shots.display().to_string();
    let output = tokio::task::spawn_blocking(move || {
        plexica_testkit::browser::run(
            "marketplace.mjs",
            &[
                ("BASE_URL", url.as_str()),
                ("SHOTS", shots_text.as_str()),
                ("USERNAME", "grace"),
                ("PASSWORD", "a long enough password"),
            ],
        )
    })
    .await
    .expect("browser task");
    let Some(output) = output else { return };
    let report: serde_json::Value = serde_json::from_str(output.trim()).expect("report");
    assert_eq!(report["failures"], json!([]), "{report}");
    for step in [
        "01-home",
        "02-search",
        "03-plugin",
        "04-hostile-readme",
        "05-signed-in",
        "06-review",
    ] {
        assert!(
            shots.join(format!("{step}.png")).exists(),
            "screenshot {step}"
        );
        assert_eq!(report["axe"][step], 0, "axe on {step}");
    }
    let reviews = reg.get("/api/v1/plugins/crm/reviews").await.1;
    assert_eq!(
        reviews[0]["username"], "grace",
        "the review reached the registry"
    );
}
