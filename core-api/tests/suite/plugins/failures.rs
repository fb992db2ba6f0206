//! A backend that keeps crashing becomes `FAILED` with its exit and the end of its log, emits
//! `core.plugin.failed`, and its log is readable (secrets blanked) by the tenant it served
//! alone, never by another tenant's administrators.

use super::*;

/// Serves its health route until 1.5 s after its first start, then exits; every later start
/// fails at once, after printing its install token.
const CRASHY_START: &str = r#"#!/usr/bin/python3
import os, sys, threading

print("starting with " + os.environ["PLEXICA_INSTALL_TOKEN"], flush=True)
if os.path.exists("started-once"):
    print("boom: cannot start again", flush=True)
    sys.exit(7)
open("started-once", "w").close()
threading.Timer(1.5, lambda: os._exit(3)).start()
"#;

/// Does `text` hold an install token in full?
fn holds_a_token(text: &str) -> bool {
    text.match_indices("plxi_").any(|(at, _)| {
        text[at + 5..]
            .bytes()
            .take_while(u8::is_ascii_hexdigit)
            .count()
            >= 16
    })
}

on_both_backends_with_registry!(
    a_crashing_backend_becomes_failed_with_its_log,
    |core, registry| {
        let acme = core.tenant("acme").await;
        let bravo = core.tenant("bravo").await;
        let text = manifest("crashy", "1.0.0", "")
            + "[backend]\nentry = \"bin/crashy\"\n\
               [frontend]\ndist = \"ui\"\nremote-entry = \"remoteEntry.js\"\n\
               [[frontend.modules]]\nname = \"Home\"\nkind = \"page\"\nroute = \"/crashy\"\n";
        let crashy = format!("{CRASHY_START}{HEALTH_SERVER}");
        registry
            .publish_files(&[
                ("plexica.toml", text.as_str()),
                ("bin/crashy", crashy.as_str()),
                ("ui/remoteEntry.js", "export function init() {}\n"),
            ])
            .await;
        let (status, body) = core
            .post(
                "/api/v1/tenants/acme/plugins",
                &acme.admin_token,
                json!({ "id": "crashy", "activate": true }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["state"], "ACTIVE");

        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let failed = loop {
            let (status, body) = core
                .get("/api/v1/tenants/acme/plugins/crashy", &acme.admin_token)
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if body["state"] == "FAILED" {
                break body;
            }
            assert!(std::time::Instant::now() < deadline, "never FAILED: {body}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        let error = failed["error"].as_str().expect("error");
        assert!(error.contains("given up"), "{error}");
        assert!(error.contains("exit status: 7"), "{error}");
        assert!(error.contains("boom: cannot start again"), "{error}");
        assert!(error.contains("plxi_[redacted]"), "{error}");
        assert!(!holds_a_token(error), "{error}");
        assert!(
            event_types(&core, "acme")
                .await
                .contains(&"core.plugin.failed".to_owned())
        );
        // The console shows why in the plugin's places instead of loading it.
        let (status, ui) = core
            .get("/api/v1/tenants/acme/ui-modules", &acme.admin_token)
            .await;
        assert_eq!(status, StatusCode::OK, "{ui}");
        assert_eq!(ui["plugins"][0]["state"], "FAILED", "{ui}");
        assert_eq!(ui["plugins"][0]["error"], failed["error"], "{ui}");
        assert_eq!(ui["plugins"][0]["modules"][0]["route"], "/crashy", "{ui}");
        // The end of the log is for those who may read plugins; a guest learns it failed.
        let (_, guest) = core.user(&acme, "guest@acme.test", &["guest"]).await;
        let (status, ui) = core.get("/api/v1/tenants/acme/ui-modules", &guest).await;
        assert_eq!(status, StatusCode::OK, "{ui}");
        assert_eq!(ui["plugins"][0]["state"], "FAILED", "{ui}");
        assert!(!ui.to_string().contains("boom"), "{ui}");

        // Its log: the tenant's own, secrets blanked; `after` gives only what came next.
        let (status, log) = core
            .get(
                "/api/v1/tenants/acme/plugins/crashy/logs?lines=3",
                &acme.admin_token,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{log}");
        let lines = log["lines"].as_array().expect("lines");
        assert_eq!(lines.len(), 3, "{log}");
        assert_eq!(lines[2], "boom: cannot start again");
        assert!(!holds_a_token(&log.to_string()), "{log}");
        let offset = log["next_offset"].as_u64().expect("offset");
        let (_, after) = core
            .get(
                &format!("/api/v1/tenants/acme/plugins/crashy/logs?after={offset}"),
                &acme.admin_token,
            )
            .await;
        assert_eq!(after["lines"], json!([]), "{after}");
        // Another tenant's administrator reaches nothing of it.
        let (status, body) = core
            .get(
                "/api/v1/tenants/acme/plugins/crashy/logs",
                &bravo.admin_token,
            )
            .await;
        assert!(
            matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{status} {body}"
        );

        // Activating it again fails again and it stays FAILED.
        let (status, body) = core
            .post(
                "/api/v1/tenants/acme/plugins/crashy/activate",
                &acme.admin_token,
                json!({}),
            )
            .await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_GATEWAY,
            "PLUGIN_START_FAILED",
        );
        let (_, again) = core
            .get("/api/v1/tenants/acme/plugins/crashy", &acme.admin_token)
            .await;
        assert_eq!(again["state"], "FAILED", "{again}");

        // Once the same backend has served another tenant, its log is no longer either tenant's:
        // bravo's failed start quotes none of it, acme's administrators are refused it, and a
        // platform administrator still reads it.
        let (status, body) = core
            .post(
                "/api/v1/tenants/bravo/plugins",
                &bravo.admin_token,
                json!({ "id": "crashy", "activate": true }),
            )
            .await;
        assert_error(
            status,
            &body,
            StatusCode::BAD_GATEWAY,
            "PLUGIN_START_FAILED",
        );
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.contains("boom"), "{message}");
        assert!(message.contains("other tenants"), "{message}");
        let (status, body) = core
            .get(
                "/api/v1/tenants/acme/plugins/crashy/logs",
                &acme.admin_token,
            )
            .await;
        assert_error(status, &body, StatusCode::FORBIDDEN, "LOG_SHARED");
        let (status, body) = core
            .get("/api/v1/tenants/acme/plugins/crashy/logs", &core.admin)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
);
