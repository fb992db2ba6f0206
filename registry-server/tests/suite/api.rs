//! The registry's API over real HTTP, on SQLite and on PostgreSQL.

use crate::common;

use std::io::Write as _;

use common::{TestRegistry, code, manifest, signed, unsigned_with};
use plexica_sdk::package::signing::SecretKey;
use plexica_sdk::package::{PackageFile, Source, sign_package, write_package};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A zip of exactly these entries (no sanity), through the `zip` crate.
fn raw_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("start");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("finish").into_inner()
}

/// Renames every occurrence of entry name `from` to `to` (same length) in zip bytes.
fn rename_entry(mut bytes: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
        }
        i += 1;
    }
    bytes
}

on_both_backends!(publish_then_read_everything_back, |reg| {
    let (token, key) = reg.publisher("ada").await;
    let bytes = signed(&key, "crm", "1.2.0");
    let (status, body) = reg.publish(&token, bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let digest = plexica_sdk::package::sha256_hex(&bytes);
    assert_eq!(body["id"], "crm");
    assert_eq!(body["version"], "1.2.0");
    assert_eq!(body["digest"], digest.as_str());
    assert_eq!(body["size"], bytes.len());
    assert!(
        body["url"]
            .as_str()
            .unwrap_or("")
            .ends_with("/api/v1/plugins/crm/versions/1.2.0")
    );

    let (status, plugin) = reg.get("/api/v1/plugins/crm").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(plugin["latest"], "1.2.0");
    assert_eq!(plugin["owners"], json!(["ada"]));

    let (status, version) = reg.get("/api/v1/plugins/crm/versions/1.2.0").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(version["digest"], digest.as_str());
    assert_eq!(version["key_id"], key.id.to_string());
    assert_eq!(version["published_by"], "ada");
    assert_eq!(version["manifest"]["plugin"]["id"], "crm");
    assert!(
        version["signature"]
            .as_str()
            .unwrap_or("")
            .contains("trusted comment: plexica-plugin id=crm")
    );

    let download = reg
        .http
        .get(reg.at("/api/v1/plugins/crm/versions/1.2.0/download"))
        .send()
        .await
        .expect("download");
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()["etag"], format!("\"{digest}\"").as_str());
    assert_eq!(download.bytes().await.expect("bytes").to_vec(), bytes);
    let (_, version) = reg.get("/api/v1/plugins/crm/versions/1.2.0").await;
    assert_eq!(version["downloads"], 1);
    let (_, plugin) = reg.get("/api/v1/plugins/crm").await;
    assert_eq!(plugin["downloads"], 1);

    let index = reg
        .http
        .get(reg.at("/api/v1/index/crm"))
        .send()
        .await
        .expect("index");
    assert_eq!(index.status(), StatusCode::OK);
    let etag = index.headers()["etag"].to_str().expect("etag").to_owned();
    let lines = index.text().await.expect("text");
    let line: serde_json::Value =
        serde_json::from_str(lines.lines().next().expect("a line")).expect("json line");
    assert_eq!(line["version"], "1.2.0");
    assert_eq!(line["digest"], digest.as_str());
    let cached = reg
        .http
        .get(reg.at("/api/v1/index/crm"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("index again");
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert!(cached.bytes().await.expect("body").is_empty());
});

on_both_backends!(versions_are_immutable_even_when_yanked, |reg| {
    let (token, key) = reg.publisher("ada").await;
    assert_eq!(
        reg.publish(&token, signed(&key, "crm", "1.0.0")).await.0,
        StatusCode::CREATED
    );
    let (status, body) = reg.publish(&token, signed(&key, "crm", "1.0.0")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(code(&body), "VERSION_EXISTS");
    let (status, body) = reg
        .send(
            reg.http
                .delete(reg.at("/api/v1/plugins/crm/versions/1.0.0/yank"))
                .bearer_auth(&token)
                .json(&json!({"reason": "broken"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["yanked"], true);
    assert_eq!(body["yank_reason"], "broken");
    let (status, body) = reg.publish(&token, signed(&key, "crm", "1.0.0")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "VERSION_EXISTS")
    );
    // Build metadata does not make a new version.
    let (status, body) = reg
        .publish(&token, signed(&key, "crm", "1.0.0+rebuild"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "VERSION_EXISTS")
    );
    // A yank needs a reason.
    let (status, body) = reg
        .send(
            reg.http
                .delete(reg.at("/api/v1/plugins/crm/versions/1.0.0/yank"))
                .bearer_auth(&token)
                .json(&json!({"reason": " "})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "REASON_REQUIRED")
    );
});

on_both_backends!(eight_concurrent_publishes_of_one_version_one_wins, |reg| {
    let (token, key) = reg.publisher("ada").await;
    let bytes = signed(&key, "racy", "1.0.0");
    let reg = std::sync::Arc::new(reg);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (reg, token, bytes) = (reg.clone(), token.clone(), bytes.clone());
            tokio::spawn(async move { reg.publish(&token, bytes).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let (status, body) = task.await.expect("task");
        if status == StatusCode::CONFLICT {
            assert_eq!(code(&body), "VERSION_EXISTS");
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        7,
        "{statuses:?}"
    );
    let (_, plugin) = reg.get("/api/v1/plugins/racy").await;
    assert_eq!(plugin["versions"].as_array().map(Vec::len), Some(1));
});

on_both_backends!(each_publish_check_has_its_own_code, |reg| {
    let (token, key) = reg.publisher("ada").await;
    let good = signed(&key, "checked", "1.0.0");
    let toml = manifest("checked", "1.0.0", "");
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "corrupt",
            b"not a zip at all".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "PACKAGE_CORRUPT",
        ),
        (
            "zip bomb",
            {
                let files = vec![
                    PackageFile {
                        path: "plexica.toml".into(),
                        size: 0,
                        source: Source::Bytes(toml.clone().into_bytes()),
                        executable: false,
                    },
                    PackageFile {
                        path: "ui/remoteEntry.js".into(),
                        size: 0,
                        source: Source::Bytes(vec![0; 8 << 20]),
                        executable: false,
                    },
                ];
                write_package(&files, None, std::io::Cursor::new(Vec::new()))
                    .expect("write")
                    .into_inner()
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "PACKAGE_ZIP_BOMB",
        ),
        (
            "traversal",
            rename_entry(
                raw_zip(&[("plexica.toml", toml.as_bytes()), ("ab/evil", b"x")]),
                "ab/evil",
                "../evil",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "PACKAGE_PATH_TRAVERSAL",
        ),
        (
            "absolute",
            rename_entry(
                raw_zip(&[("plexica.toml", toml.as_bytes()), ("etc/pwd", b"x")]),
                "etc/pwd",
                "/etc/pw",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "PACKAGE_ABSOLUTE_PATH",
        ),
        (
            "symlink",
            {
                let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
                zip.start_file("plexica.toml", zip::write::SimpleFileOptions::default())
                    .expect("start");
                zip.write_all(toml.as_bytes()).expect("write");
                zip.add_symlink(
                    "ui/link",
                    "/etc/passwd",
                    zip::write::SimpleFileOptions::default(),
                )
                .expect("symlink");
                zip.finish().expect("finish").into_inner()
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "PACKAGE_SYMLINK",
        ),
        (
            "duplicate",
            rename_entry(
                raw_zip(&[
                    ("plexica.toml", toml.as_bytes()),
                    ("ui/aaaa", b"1"),
                    ("ui/aaab", b"2"),
                ]),
                "ui/aaab",
                "ui/aaaa",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "PACKAGE_DUPLICATE_ENTRY",
        ),
        (
            "bad manifest",
            unsigned_with(
                &manifest("checked", "1.0.0", "categories = [\"crn\"]"),
                b"x".to_vec(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "MANIFEST_INVALID",
        ),
        (
            "checksums mismatch",
            {
                let package =
                    plexica_sdk::package::read_package(&good, &Default::default()).expect("read");
                raw_zip(&[
                    (
                        "CHECKSUMS",
                        package.checksums_text.as_deref().unwrap_or("").as_bytes(),
                    ),
                    (
                        "SIGNATURE",
                        package.signature_text.as_deref().unwrap_or("").as_bytes(),
                    ),
                    ("plexica.toml", toml.as_bytes()),
                    ("ui/remoteEntry.js", b"tampered();\n"),
                ])
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "CHECKSUMS_MISMATCH",
        ),
        (
            "missing signature",
            unsigned_with(&toml, b"x".to_vec()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "SIGNATURE_MISSING",
        ),
        (
            "invalid signature",
            plexica_sdk::package::rewrite_with_signature(
                &unsigned_with(&toml, b"x".to_vec()),
                "untrusted comment: x\nnot base64!\n",
            )
            .expect("rewrite"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "SIGNATURE_INVALID",
        ),
        (
            "foreign signature",
            signed(&SecretKey::generate(), "checked", "1.0.0"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "SIGNATURE_FOREIGN",
        ),
        (
            "signature for another version",
            common::signed_for_other_version(&key, "checked", "1.0.0", "9.9.9"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "SIGNATURE_MISMATCH",
        ),
    ];
    for (what, bytes, status, expected) in cases {
        let (got, body) = reg.publish(&token, bytes).await;
        assert_eq!((got, code(&body)), (status, expected), "{what}: {body}");
    }
    let (_, body) = reg
        .publish(
            &token,
            unsigned_with(
                &manifest("checked", "1.0.0", "categories = [\"crn\"]"),
                b"x".to_vec(),
            ),
        )
        .await;
    let diagnostic = body["diagnostics"]
        .as_array()
        .and_then(|list| list.iter().find(|d| d["severity"] == "error"))
        .expect("an error diagnostic");
    assert_eq!(diagnostic["code"], "manifest::category");
    assert_eq!(diagnostic["help"], "did you mean `crm`?");
    assert_eq!(diagnostic["file"], "plexica.toml");
    // Nothing of the refused packages is visible.
    assert_eq!(
        reg.get("/api/v1/plugins/checked").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(reg.publish(&token, good).await.0, StatusCode::CREATED);
});

on_both_backends!(revoked_keys_ownership_and_token_rules, |reg| {
    let (ada, ada_key) = reg.publisher("ada").await;
    let (bob, bob_key) = reg.publisher("bob").await;
    assert_eq!(
        reg.publish(&ada, signed(&ada_key, "owned", "1.0.0"))
            .await
            .0,
        StatusCode::CREATED
    );
    let (status, body) = reg.publish(&bob, signed(&bob_key, "owned", "2.0.0")).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "NOT_OWNER"));

    let (status, body) = reg
        .send(
            reg.http
                .delete(reg.at(&format!("/api/v1/keys/{}", ada_key.id)))
                .bearer_auth(&ada),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["revoked_at"].is_string());
    let (status, body) = reg.publish(&ada, signed(&ada_key, "owned", "1.1.0")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "KEY_REVOKED")
    );
    let (_, keys) = reg.get("/api/v1/users/ada/keys").await;
    assert!(keys[0]["revoked_at"].is_string(), "{keys}");

    let bytes = signed(&bob_key, "fresh", "1.0.0");
    let (status, body) = reg
        .send(
            reg.http
                .post(reg.at("/api/v1/packages"))
                .body(bytes.clone()),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );
    let (status, body) = reg
        .send(
            reg.http
                .post(reg.at("/api/v1/me/tokens"))
                .bearer_auth(&bob)
                .json(&json!({"name": "manage-only", "scopes": ["manage"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let manage_only = body["token"].as_str().expect("token").to_owned();
    let (status, body) = reg.publish(&manage_only, bytes.clone()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "SCOPE_MISSING")
    );
    let (status, body) = reg
        .send(
            reg.http
                .post(reg.at("/api/v1/me/tokens"))
                .bearer_auth(&bob)
                .json(&json!({"name": "short", "expires_in_seconds": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let short = body["token"].as_str().expect("token").to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = reg.publish(&short, bytes).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "TOKEN_EXPIRED")
    );
    assert!(
        body["errors"][0]["detail"]
            .as_str()
            .unwrap_or("")
            .contains("expired at 20"),
        "{body}"
    );
    let (status, body) = reg
        .publish("plxr_forged", signed(&bob_key, "fresh", "1.0.0"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );
});

on_both_backends!(tokens_are_private_and_stored_hashed, |reg| {
    let (ada, _) = reg.publisher("ada").await;
    let (bob, _) = reg.publisher("bob").await;
    let (_, ada_tokens) = reg
        .send(reg.http.get(reg.at("/api/v1/tokens")).bearer_auth(&ada))
        .await;
    let (_, bob_tokens) = reg
        .send(reg.http.get(reg.at("/api/v1/tokens")).bearer_auth(&bob))
        .await;
    let ada_ids: Vec<&str> = ada_tokens
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    let bob_ids: Vec<&str> = bob_tokens
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert!(!ada_ids.is_empty() && !bob_ids.is_empty());
    assert!(ada_ids.iter().all(|id| !bob_ids.contains(id)));
    assert!(
        !ada_tokens.to_string().contains("plxr_"),
        "listings never show secrets"
    );
    // Bob cannot revoke Ada's token.
    let (status, _) = reg
        .send(
            reg.http
                .delete(reg.at(&format!("/api/v1/tokens/{}", ada_ids[0])))
                .bearer_auth(&bob),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The database holds only hashes.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&reg.database_url).await.expect("db");
    let hashes: Vec<String> = sqlx::query_scalar("SELECT secret_hash FROM tokens")
        .fetch_all(&pool)
        .await
        .expect("rows");
    assert!(
        hashes
            .iter()
            .all(|h| h.len() == 64 && !h.starts_with("plxr_"))
    );
    assert!(hashes.contains(&plexica_sdk::package::sha256_hex(ada.as_bytes())));
    let dump: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_all(&pool)
        .await
        .expect("rows");
    assert!(dump.iter().all(|h| h.starts_with("$argon2id$")));
    pool.close().await;
    // Revoked tokens stop working.
    let ada_id = ada_ids[0];
    assert_eq!(
        reg.send(
            reg.http
                .delete(reg.at(&format!("/api/v1/tokens/{ada_id}")))
                .bearer_auth(&ada)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        reg.send(reg.http.get(reg.at("/api/v1/me")).bearer_auth(&ada))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
});

on_both_backends!(search_ranks_filters_and_paginates, |reg| {
    let (token, key) = reg.publisher("ada").await;
    let publish = |id: &str, extra: &str| {
        let bytes = unsigned_with(&manifest(id, "1.0.0", extra), b"x".to_vec());
        sign_package(&bytes, &key, 1).expect("sign")
    };
    for (id, extra) in [
        ("crm", "categories = [\"crm\"]"),
        ("crm-pro", "categories = [\"crm\"]"),
        (
            "sales-hub",
            "keywords = [\"crm\"]\ncategories = [\"marketing\"]",
        ),
        ("notes", "categories = [\"productivity\"]"),
    ] {
        assert_eq!(
            reg.publish(&token, publish(id, extra)).await.0,
            StatusCode::CREATED,
            "{id}"
        );
    }
    let (status, body) = reg.get("/api/v1/plugins?q=CRM").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = body["plugins"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        ["crm", "crm-pro", "sales-hub"],
        "exact id > id prefix > keywords"
    );
    assert_eq!(body["total"], 3);
    let (_, body) = reg.get("/api/v1/plugins?q=crm&category=marketing").await;
    assert_eq!(body["plugins"][0]["id"], "sales-hub");
    assert_eq!(body["total"], 1);
    let (_, body) = reg.get("/api/v1/plugins?per_page=2&page=2&sort=name").await;
    assert_eq!(body["total"], 4);
    let ids: Vec<&str> = body["plugins"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, ["notes", "sales-hub"]);
    let (status, body) = reg.get("/api/v1/plugins?category=nonsense").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "BAD_REQUEST")
    );
    let (_, body) = reg.get("/api/v1/plugins?q=100%25_%5C").await;
    assert_eq!(body["total"], 0, "LIKE wildcards in the query are literal");
});

on_both_backends!(
    versions_sort_as_semver_and_latest_skips_yanked_and_pre_releases,
    |reg| {
        let (token, key) = reg.publisher("ada").await;
        for version in ["1.9.0", "1.10.0", "2.0.0-beta.1", "1.2.0"] {
            assert_eq!(
                reg.publish(&token, signed(&key, "sv", version)).await.0,
                StatusCode::CREATED,
                "{version}"
            );
        }
        let (_, plugin) = reg.get("/api/v1/plugins/sv").await;
        let versions: Vec<&str> = plugin["versions"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|v| v["version"].as_str())
            .collect();
        assert_eq!(versions, ["2.0.0-beta.1", "1.10.0", "1.9.0", "1.2.0"]);
        assert_eq!(plugin["latest"], "1.10.0");
        let index = reg
            .http
            .get(reg.at("/api/v1/index/sv"))
            .send()
            .await
            .expect("index");
        let etag = index.headers()["etag"].to_str().expect("etag").to_owned();
        let text = index.text().await.expect("text");
        let order: Vec<String> = text
            .lines()
            .map(|l| {
                let line: serde_json::Value = serde_json::from_str(l).expect("json");
                line["version"].as_str().unwrap_or("").to_owned()
            })
            .collect();
        assert_eq!(
            order,
            ["1.2.0", "1.9.0", "1.10.0", "2.0.0-beta.1"],
            "SemVer order"
        );
        reg.send(
            reg.http
                .delete(reg.at("/api/v1/plugins/sv/versions/1.10.0/yank"))
                .bearer_auth(&token)
                .json(&json!({"reason": "bug"})),
        )
        .await;
        let (_, plugin) = reg.get("/api/v1/plugins/sv").await;
        assert_eq!(plugin["latest"], "1.9.0");
        let after = reg
            .http
            .get(reg.at("/api/v1/index/sv"))
            .header("if-none-match", &etag)
            .send()
            .await
            .expect("index");
        assert_eq!(after.status(), StatusCode::OK, "a yank changes the index");
        assert_ne!(after.headers()["etag"].to_str().expect("etag"), etag);
        reg.send(
            reg.http
                .put(reg.at("/api/v1/plugins/sv/versions/1.10.0/unyank"))
                .bearer_auth(&token),
        )
        .await;
        let (_, plugin) = reg.get("/api/v1/plugins/sv").await;
        assert_eq!(plugin["latest"], "1.10.0");
    }
);

on_both_backends!(
    search_shows_deprecation_and_yanks_at_once_and_on_other_replicas_within_the_interval,
    config = |c: &mut plexica_registry::Config| c.search_refresh_ms = 300,
    |reg| {
        let (ada, key) = reg.publisher("ada").await;
        for version in ["1.0.0", "1.1.0"] {
            let (status, body) = reg.publish(&ada, signed(&key, "legacy", version)).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
        // A second replica on the same database and blobs, started after the publishes.
        let shared = (reg.database_url.clone(), reg.dir.path().join("blobs"));
        let other = common::TestRegistry::start_with(
            if reg.database_url.starts_with("sqlite") {
                common::Backend::Sqlite
            } else {
                common::Backend::Postgres
            },
            move |c| {
                c.database_url = shared.0;
                c.blobs = plexica_registry::BlobConfig::Local(shared.1);
                c.search_refresh_ms = 300;
            },
        )
        .await
        .expect("second replica");
        let hit = |body: &Value| body["plugins"][0].clone();
        let (_, before) = other.get("/api/v1/plugins?q=legacy").await;
        assert_eq!(hit(&before)["deprecated"], false, "{before}");
        assert_eq!(hit(&before)["latest"], "1.1.0", "{before}");

        for request in [
            reg.http
                .put(reg.at("/api/v1/plugins/legacy/deprecation"))
                .bearer_auth(&ada)
                .json(&json!({"message": "use modern"})),
            reg.http
                .delete(reg.at("/api/v1/plugins/legacy/versions/1.1.0/yank"))
                .bearer_auth(&ada)
                .json(&json!({"reason": "stale binary"})),
        ] {
            let (status, body) = reg.send(request).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        // The replica that made the change shows it at once.
        let (_, here) = reg.get("/api/v1/plugins?q=legacy").await;
        assert_eq!(hit(&here)["deprecated"], true, "{here}");
        assert_eq!(hit(&here)["latest"], "1.0.0", "{here}");
        // The other within its reload interval (300 ms here; allow for a slow machine).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (_, there) = other.get("/api/v1/plugins?q=legacy").await;
            if hit(&there)["deprecated"] == true && hit(&there)["latest"] == "1.0.0" {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the other replica never saw the change: {there}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
);

on_both_backends!(owners_deprecation_and_reviews, |reg| {
    let (ada, key) = reg.publisher("ada").await;
    let (bob, _) = reg.publisher("bob").await;
    assert_eq!(
        reg.publish(&ada, signed(&key, "legacy", "1.0.0")).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        reg.publish(&ada, signed(&key, "modern", "1.0.0")).await.0,
        StatusCode::CREATED
    );
    // An outsider cannot act as owner.
    for request in [
        reg.http
            .put(reg.at("/api/v1/plugins/legacy/deprecation"))
            .bearer_auth(&bob)
            .json(&json!({"message": "x"})),
        reg.http
            .put(reg.at("/api/v1/plugins/legacy/owners"))
            .bearer_auth(&bob)
            .json(&json!({"users": ["bob"]})),
        reg.http
            .delete(reg.at("/api/v1/plugins/legacy/versions/1.0.0/yank"))
            .bearer_auth(&bob)
            .json(&json!({"reason": "x"})),
    ] {
        let (status, body) = reg.send(request).await;
        assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "NOT_OWNER"));
    }
    let (status, body) = reg
        .send(
            reg.http
                .put(reg.at("/api/v1/plugins/legacy/deprecation"))
                .bearer_auth(&ada)
                .json(&json!({"message": "use modern", "successor": "modern"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deprecation"]["successor"], "modern");
    let (_, owners) = reg
        .send(
            reg.http
                .put(reg.at("/api/v1/plugins/legacy/owners"))
                .bearer_auth(&ada)
                .json(&json!({"users": ["bob"]})),
        )
        .await;
    assert_eq!(owners["users"], json!(["ada", "bob"]));
    let (status, body) = reg
        .send(
            reg.http
                .delete(reg.at("/api/v1/plugins/legacy/owners"))
                .bearer_auth(&bob)
                .json(&json!({"users": ["ada", "bob"]})),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "LAST_OWNER"));
    // One review per user, editable.
    for (rating, text) in [(2, "meh"), (5, "great after all")] {
        let (status, body) = reg
            .send(
                reg.http
                    .post(reg.at("/api/v1/plugins/modern/reviews"))
                    .bearer_auth(&bob)
                    .json(&json!({"rating": rating, "text": text})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (_, reviews) = reg.get("/api/v1/plugins/modern/reviews").await;
    assert_eq!(reviews.as_array().map(Vec::len), Some(1));
    assert_eq!(reviews[0]["rating"], 5);
    let (_, plugin) = reg.get("/api/v1/plugins/modern").await;
    assert_eq!(plugin["rating"], 5.0);
    let (status, body) = reg
        .send(
            reg.http
                .post(reg.at("/api/v1/plugins/modern/reviews"))
                .bearer_auth(&bob)
                .json(&json!({"rating": 6})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "INVALID_RATING")
    );
    let (_, stats) = reg.get("/api/v1/stats").await;
    assert_eq!(stats["plugins"], 2);
    assert_eq!(stats["versions"], 2);
});

on_both_backends!(dry_run_checks_everything_and_stores_nothing, |reg| {
    let (token, key) = reg.publisher("ada").await;
    let (status, body) = reg
        .send(
            reg.http
                .post(reg.at("/api/v1/packages?dry-run=true"))
                .bearer_auth(&token)
                .body(signed(&key, "dry", "1.0.0")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["dry_run"], true);
    assert_eq!(
        reg.get("/api/v1/plugins/dry").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = reg
        .send(
            reg.http
                .post(reg.at("/api/v1/packages?dry-run=true"))
                .bearer_auth(&token)
                .body(unsigned_with(&manifest("dry", "1.0.0", ""), b"x".to_vec())),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "SIGNATURE_MISSING")
    );
});

#[tokio::test]
async fn publishes_over_the_limit_get_429_with_retry_after() {
    let reg = TestRegistry::start_with(common::Backend::Sqlite, |c| {
        c.publish_burst = 2;
        c.publish_interval_ms = 60_000;
    })
    .await
    .expect("sqlite");
    let (token, key) = reg.publisher("ada").await;
    assert_eq!(
        reg.publish(&token, signed(&key, "busy", "1.0.0")).await.0,
        StatusCode::CREATED
    );
    // A refused publish counts against the limit: checking it was the work.
    assert_eq!(
        reg.publish(&token, signed(&key, "busy", "1.0.0")).await.0,
        StatusCode::CONFLICT
    );
    let response = reg
        .http
        .post(reg.at("/api/v1/packages"))
        .bearer_auth(&token)
        .body(signed(&key, "busy", "1.0.2"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    // So does a dry run.
    let (other, other_key) = reg.publisher("bob").await;
    let response = reg
        .http
        .post(reg.at("/api/v1/packages?dry-run=true"))
        .bearer_auth(&other)
        .body(signed(&other_key, "quiet", "1.0.0"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    for version in ["1.0.0", "1.0.1"] {
        let response = reg
            .http
            .post(reg.at("/api/v1/packages?dry-run=true"))
            .bearer_auth(&other)
            .body(signed(&other_key, "quiet", version))
            .send()
            .await
            .expect("request");
        if version == "1.0.1" {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        }
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_while_streaming() {
    let reg = TestRegistry::start_with(common::Backend::Sqlite, |c| c.max_package_bytes = 1024)
        .await
        .expect("sqlite");
    let (token, _) = reg.publisher("ada").await;
    let (status, body) = reg.publish(&token, vec![7; 4096]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "PACKAGE_TOO_LARGE")
    );
}

#[tokio::test]
async fn every_authenticated_route_refuses_outsiders() {
    let reg = TestRegistry::start(common::Backend::Sqlite)
        .await
        .expect("sqlite");
    let (ada, key) = reg.publisher("ada").await;
    assert_eq!(
        reg.publish(&ada, signed(&key, "guarded", "1.0.0")).await.0,
        StatusCode::CREATED
    );
    let routes: Vec<(reqwest::Method, &str)> = vec![
        (reqwest::Method::GET, "/api/v1/tokens"),
        (reqwest::Method::DELETE, "/api/v1/tokens/abc"),
        (reqwest::Method::GET, "/api/v1/me"),
        (reqwest::Method::POST, "/api/v1/me/tokens"),
        (reqwest::Method::POST, "/api/v1/invites"),
        (reqwest::Method::POST, "/api/v1/keys/challenges"),
        (reqwest::Method::PUT, "/api/v1/keys"),
        (reqwest::Method::DELETE, "/api/v1/keys/0000000000000000"),
        (reqwest::Method::POST, "/api/v1/packages"),
        (
            reqwest::Method::DELETE,
            "/api/v1/plugins/guarded/versions/1.0.0/yank",
        ),
        (
            reqwest::Method::PUT,
            "/api/v1/plugins/guarded/versions/1.0.0/unyank",
        ),
        (reqwest::Method::PUT, "/api/v1/plugins/guarded/deprecation"),
        (
            reqwest::Method::DELETE,
            "/api/v1/plugins/guarded/deprecation",
        ),
        (reqwest::Method::PUT, "/api/v1/plugins/guarded/owners"),
        (reqwest::Method::DELETE, "/api/v1/plugins/guarded/owners"),
        (reqwest::Method::POST, "/api/v1/plugins/guarded/reviews"),
    ];
    for (method, path) in &routes {
        let (status, body) = reg
            .send(
                reg.http
                    .request(method.clone(), reg.at(path))
                    .json(&json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        assert_eq!(code(&body), "UNAUTHENTICATED", "{method} {path}");
    }
    // A publisher who is not an admin cannot create users.
    let (status, body) = reg
        .send(
            reg.http
                .post(reg.at("/api/v1/users"))
                .bearer_auth(&ada)
                .json(&json!({"username": "eve", "password": "a long enough password"})),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "FORBIDDEN"));
}

#[tokio::test]
async fn operations_endpoints_answer() {
    let reg = TestRegistry::start(common::Backend::Sqlite)
        .await
        .expect("sqlite");
    assert_eq!(reg.get("/health/live").await.1["status"], "ok");
    assert_eq!(reg.get("/health/ready").await.1["status"], "ok");
    let (status, doc) = reg.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["paths"]["/api/v1/packages"]["post"]["security"].is_array(),
        "{doc}"
    );
    assert!(doc["paths"]["/api/v1/plugins"]["get"]["security"].is_null());
    assert_eq!(
        doc["paths"]["/api/v1/plugins/{id}/versions/{version}/images/{path}"]["get"]["parameters"]
            [2]["name"],
        "path",
        "{doc}"
    );
    plexica_testkit::services::check_openapi(&doc, &plexica_registry::routes::table())
        .unwrap_or_else(|problem| panic!("the OpenAPI document: {problem}"));
    let metrics = reg
        .http
        .get(reg.at("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("registry_http_requests_total")
            && metrics.contains("# TYPE registry_http_request_seconds histogram")
            && metrics.contains("# HELP registry_downloads_total "),
        "{metrics}"
    );
    if let Some(lint) = plexica_testkit::services::promtool_check_metrics(&metrics) {
        lint.unwrap_or_else(|problems| panic!("promtool: {problems}\n{metrics}"));
    }
}

#[tokio::test]
async fn links_use_the_configured_public_url() {
    let reg = TestRegistry::start_with(common::Backend::Sqlite, |c| {
        c.public_url = Some("https://registry.example/".to_owned());
    })
    .await
    .expect("sqlite");
    let (token, key) = reg.publisher("ada").await;
    let (status, body) = reg.publish(&token, signed(&key, "linked", "1.0.0")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        body["url"],
        "https://registry.example/api/v1/plugins/linked/versions/1.0.0"
    );
}

on_both_backends!(oversized_json_bodies_answer_413_in_the_envelope, |reg| {
    let password = "x".repeat(3 << 20);
    let (status, body) = reg
        .send(
            reg.http
                .post(format!("{}/api/v1/tokens", reg.url))
                .json(&json!({ "username": "admin", "password": password })),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(code(&body), "PAYLOAD_TOO_LARGE");
});

/// Generated from the route table: a route marked `Token` refuses a caller without a token, or
/// with one that is not a token, with 401 before it reads anything else; a `Public` route
/// never asks a caller without a token for one. Nothing a refused call sent is stored.
#[tokio::test]
async fn every_route_answers_outsiders_as_its_table_says() {
    use plexica_registry::routes::{Access, table};
    let reg = TestRegistry::start(common::Backend::Sqlite)
        .await
        .expect("sqlite");
    let routes = table();
    assert!(routes.len() >= 30, "{}", routes.len());
    for route in &routes {
        let path = route
            .path
            .split('/')
            .map(|segment| match segment {
                "{*path}" => "outsider/image.png",
                s if s.starts_with('{') => "outsider",
                s => s,
            })
            .collect::<Vec<_>>()
            .join("/");
        let tokens: &[Option<&str>] = match route.rule {
            Access::Token => &[None, Some("plxr_not-a-token")],
            Access::Public => &[None],
        };
        for token in tokens {
            let mut request = reg
                .http
                .request(route.method.clone(), reg.at(&path))
                .header("content-type", "application/json")
                .body(r#"{"name":"outsider","password":"outsider","scopes":["publish"]}"#);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let status = request.send().await.expect("request").status();
            match route.rule {
                Access::Token => assert_eq!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{} {path} with {token:?}",
                    route.method
                ),
                Access::Public => assert_ne!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{} {path} is public but asked for a token",
                    route.method
                ),
            }
        }
    }
    let (_, search) = reg.get("/api/v1/plugins?q=outsider").await;
    assert_eq!(search["total"], 0, "{search}");
}
