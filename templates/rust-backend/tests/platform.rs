//! Runs against a real platform under `plexica plugin test`, which starts one of its own and
//! installs this plugin in a tenant of it; a plain `cargo test` skips it.

use plexica_sdk::testing;
use serde_json::{Value, json};

#[tokio::test]
async fn items_are_kept_in_the_tenants_data_space() {
    let Some(platform) = testing::platform() else {
        eprintln!("skipped: `plexica plugin test` runs this against a platform");
        return;
    };
    let ctx = platform.context();
    let data = ctx.data();
    let before = data.count("{{table_prefix}}_items", ()).await.expect("count");
    let item: Value = data
        .insert(
            "{{table_prefix}}_items",
            json!({
                "id": format!("item-{before}"),
                "workspace_id": platform.workspace,
                "name": "First",
                "created_at": "2026-01-01T00:00:00Z",
            }),
        )
        .await
        .expect("insert");
    assert_eq!(item["name"], "First");
    let after = data.count("{{table_prefix}}_items", ()).await.expect("count");
    assert_eq!(after, before + 1);
}
