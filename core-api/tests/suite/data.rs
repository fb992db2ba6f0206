//! The data API and the SDK's `ctx.data()`: a plugin reads and writes the tables its own
//! migrations created, and nothing else; a workspace-aware plugin's rows stay in the workspace
//! of the request; bad rows are refused with the database's reason — on SQLite and PostgreSQL.

use crate::common;

use common::registry::{borrowed, frontend_plugin, manifest, on_both_backends_with_registry};
use common::{TestCore, assert_error};
use plexica_sdk::runtime::{Context, Error};
use plexica_sdk::testing::ContextBuilder;
use reqwest::StatusCode;
use serde_json::{Value, json};

const CONTACTS: &str = "CREATE TABLE crm_contacts (\n\
     id TEXT PRIMARY KEY,\n\
     workspace_id TEXT NOT NULL,\n\
     name TEXT NOT NULL,\n\
     email TEXT UNIQUE,\n\
     score BIGINT NOT NULL DEFAULT 0,\n\
     vip BOOLEAN,\n\
     tags JSON\n\
 );";

/// A backend plugin `id` whose one migration is `sql`.
fn plugin(id: &str, workspace_aware: bool, sql: &str) -> Vec<(String, String)> {
    let mut text = manifest(
        id,
        "1.0.0",
        if workspace_aware {
            "workspace-aware = true"
        } else {
            ""
        },
    );
    text.push_str(&format!(
        "[backend]\nentry = \"bin/{id}\"\nmigrations = \"migrations\"\n"
    ));
    vec![
        ("plexica.toml".to_owned(), text),
        (format!("bin/{id}"), "#!/bin/sh\nexit 3\n".to_owned()),
        ("migrations/0001_init.sql".to_owned(), sql.to_owned()),
    ]
}

/// Installs `id` in tenant `slug` (not activated: there is no process to run).
async fn install(core: &TestCore, token: &str, slug: &str, id: &str) {
    let (status, body) = core
        .post(
            &format!("/api/v1/tenants/{slug}/plugins"),
            token,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{id}: {body}");
}

/// A context of `plugin` in `tenant` (and `workspace`), connected to the core API.
async fn context(core: &TestCore, tenant: &str, plugin: &str, workspace: Option<&str>) -> Context {
    let token =
        plexica_core_api::auth::issue_install_token(&core.api.state().core, tenant, plugin, 0)
            .await
            .expect("install token");
    let builder = ContextBuilder::new(tenant).core(core.url.clone(), token);
    match workspace {
        Some(ws) => builder.workspace(ws),
        None => builder,
    }
    .build()
}

/// The code of a refusal, or a panic naming what came instead.
fn refused<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, String) {
    match result {
        Err(Error::Refused { status, code, .. }) => (status, code),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn workspace(core: &TestCore, token: &str, slug: &str) -> String {
    let (status, body) = core
        .post(
            "/api/v1/tenants/acme/workspaces",
            token,
            json!({ "slug": slug, "name": slug }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

on_both_backends_with_registry!(own_tables_only, |core, registry| {
    let acme = core.tenant("acme").await;
    let bravo = core.tenant("bravo").await;
    registry
        .publish_files(&borrowed(&plugin("crm", true, CONTACTS)))
        .await;
    let notes = "CREATE TABLE notes_items (id TEXT PRIMARY KEY, body TEXT NOT NULL);";
    registry
        .publish_files(&borrowed(&plugin("notes", false, notes)))
        .await;
    registry
        .publish_files(&borrowed(&frontend_plugin("plain", "1.0.0", "")))
        .await;
    for id in ["crm", "notes", "plain"] {
        install(&core, &acme.admin_token, "acme", id).await;
    }
    install(&core, &bravo.admin_token, "bravo", "crm").await;
    let sales_id = workspace(&core, &acme.admin_token, "sales").await;
    workspace(&core, &acme.admin_token, "ops").await;

    // Rows travel as typed JSON; the platform fills in the workspace's id.
    let sales = context(&core, "acme", "crm", Some("sales")).await;
    let ada: Value = sales
        .data()
        .insert(
            "crm_contacts",
            json!({ "id": "c1", "name": "Ada", "email": "ada@example.com", "vip": true,
                    "tags": ["math", "engines"] }),
        )
        .await
        .expect("insert");
    assert_eq!(
        ada,
        json!({ "id": "c1", "workspace_id": sales_id, "name": "Ada", "email": "ada@example.com",
                "score": 0, "vip": true, "tags": ["math", "engines"] })
    );
    let _: Value = sales
        .data()
        .insert(
            "crm_contacts",
            json!({ "id": "c2", "name": "Alan", "score": 3 }),
        )
        .await
        .expect("insert");
    let ops = context(&core, "acme", "crm", Some("ops")).await;
    let _: Value = ops
        .data()
        .insert(
            "crm_contacts",
            json!({ "id": "c3", "name": "Grace", "score": 9 }),
        )
        .await
        .expect("insert");

    // Reads, counts, updates and deletes see only the request's workspace.
    let names = |rows: Vec<Value>| -> Vec<String> {
        rows.iter()
            .map(|r| r["name"].as_str().unwrap_or("?").to_owned())
            .collect()
    };
    let in_sales = sales
        .data()
        .query("crm_contacts")
        .order_by("-score")
        .fetch::<Value>()
        .await
        .expect("query");
    assert_eq!(names(in_sales), ["Alan", "Ada"]);
    let in_ops = ops
        .data()
        .query("crm_contacts")
        .fetch::<Value>()
        .await
        .expect("query");
    assert_eq!(names(in_ops), ["Grace"]);
    assert_eq!(
        sales.data().count("crm_contacts", ()).await.expect("count"),
        2
    );
    let vip = sales
        .data()
        .query("crm_contacts")
        .filter("vip", true)
        .first::<Value>()
        .await
        .expect("query");
    assert_eq!(vip.map(|r| r["id"].clone()), Some(json!("c1")));
    let no_email = sales
        .data()
        .count("crm_contacts", json!({ "email": null }))
        .await
        .expect("count");
    assert_eq!(no_email, 1);
    let page = sales
        .data()
        .query("crm_contacts")
        .order_by("name")
        .offset(1)
        .limit(1)
        .fetch::<Value>()
        .await
        .expect("page");
    assert_eq!(names(page), ["Alan"]);
    let moved = ops
        .data()
        .update(
            "crm_contacts",
            json!({ "id": "c1" }),
            json!({ "score": 100 }),
        )
        .await
        .expect("update");
    assert_eq!(moved, 0, "another workspace's row is out of reach");
    let moved = sales
        .data()
        .update(
            "crm_contacts",
            json!({ "id": "c1" }),
            json!({ "score": 100 }),
        )
        .await
        .expect("update");
    assert_eq!(moved, 1);
    assert_eq!(
        ops.data()
            .delete("crm_contacts", json!({ "id": "c2" }))
            .await
            .expect("delete"),
        0
    );
    assert_eq!(
        sales
            .data()
            .delete("crm_contacts", json!({ "id": "c2" }))
            .await
            .expect("delete"),
        1
    );

    let tenant_wide = context(&core, "acme", "crm", None).await;

    // What the row itself gets wrong, with the database's reason.
    let duplicate = sales
        .data()
        .insert::<Value>("crm_contacts", json!({ "id": "c1", "name": "Again" }))
        .await;
    assert_eq!(refused(duplicate), (409, "ROW_EXISTS".to_owned()));
    let missing = sales
        .data()
        .insert::<Value>("crm_contacts", json!({ "id": "c9" }))
        .await;
    assert_eq!(refused(missing), (422, "CONSTRAINT_VIOLATION".to_owned()));
    let own_workspace = sales
        .data()
        .insert::<Value>(
            "crm_contacts",
            json!({ "id": "c8", "name": "X", "workspace_id": "w" }),
        )
        .await;
    assert_eq!(
        refused(own_workspace),
        (422, "VALIDATION_FAILED".to_owned())
    );
    let unknown = sales
        .data()
        .query("crm_contacts")
        .filter("nope", 1)
        .fetch::<Value>()
        .await;
    assert_eq!(refused(unknown), (422, "VALIDATION_FAILED".to_owned()));
    let bad_order = sales
        .data()
        .query("crm_contacts")
        .order_by("-nope")
        .fetch::<Value>()
        .await;
    assert_eq!(refused(bad_order), (422, "VALIDATION_FAILED".to_owned()));
    let too_many = sales
        .data()
        .query("crm_contacts")
        .limit(1001)
        .fetch::<Value>()
        .await;
    assert_eq!(refused(too_many), (422, "VALIDATION_FAILED".to_owned()));
    let everything = sales.data().delete("crm_contacts", ()).await;
    assert_eq!(refused(everything), (422, "VALIDATION_FAILED".to_owned()));
    if core.backend == common::Backend::Postgres {
        let not_a_number = sales
            .data()
            .insert::<Value>(
                "crm_contacts",
                json!({ "id": "c7", "name": "N", "score": "many" }),
            )
            .await;
        assert_eq!(refused(not_a_number), (422, "VALUE_INVALID".to_owned()));
    }
    let no_workspace = tenant_wide.data().count("crm_contacts", ()).await;
    assert_eq!(
        refused(no_workspace),
        (400, "WORKSPACE_REQUIRED".to_owned())
    );
    let unknown_ws = context(&core, "acme", "crm", Some("nowhere")).await;
    let unknown_ws = unknown_ws.data().count("crm_contacts", ()).await;
    assert_eq!(refused(unknown_ws), (404, "WORKSPACE_NOT_FOUND".to_owned()));

    // No other table: another plugin's, the platform's, a made-up or hostile name.
    for table in [
        "notes_items",
        "users",
        "plugin_installs",
        "shared_values",
        "crm_contacts; DROP TABLE users",
        "crm_contacts\"",
        "pg_class",
        "sqlite_master",
    ] {
        let found = sales.data().count(table, ()).await;
        assert_eq!(
            refused(found),
            (404, "TABLE_NOT_FOUND".to_owned()),
            "{table}"
        );
    }
    let plain = context(&core, "acme", "plain", None).await;
    let found = plain.data().count("crm_contacts", ()).await;
    assert_eq!(refused(found), (404, "TABLE_NOT_FOUND".to_owned()));
    // A plugin that is not workspace-aware reaches its own table tenant-wide.
    let notes = context(&core, "acme", "notes", Some("sales")).await;
    let _: Value = notes
        .data()
        .insert("notes_items", json!({ "id": "n1", "body": "hi" }))
        .await
        .expect("notes insert");
    assert_eq!(
        notes.data().count("notes_items", ()).await.expect("count"),
        1
    );

    // Another tenant's install of the same plugin sees its own tenant's (empty) table only,
    // and its token opens nothing in acme.
    let (status, body) = core
        .call(
            reqwest::Method::POST,
            "/api/v1/tenants/acme/data/crm_contacts/count",
            Some(
                &plexica_core_api::auth::issue_install_token(
                    &core.api.state().core,
                    "bravo",
                    "crm",
                    0,
                )
                .await
                .expect("token"),
            ),
            Some(json!({})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");
    let bravo_default = context(&core, "bravo", "crm", Some("default")).await;
    let count = bravo_default.data().count("crm_contacts", ()).await;
    assert_eq!(count.expect("count"), 0);

    // Users are not plugins.
    let (status, body) = core
        .call(
            reqwest::Method::POST,
            "/api/v1/tenants/acme/data/crm_contacts/count",
            Some(&acme.admin_token),
            Some(json!({})),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "PLUGIN_ONLY");
});
