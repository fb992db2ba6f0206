//! The backend of the `{{plugin_id}}` Plexica plugin: an event handler, an install hook and an
//! HTTP route.
//! (A fullstack plugin keeps its frontend in `ui/`.)

use plexica_sdk::prelude::*;

/// The `data` of a `core.workspace.created` event.
#[derive(Debug, Deserialize, Serialize)]
struct WorkspaceCreated {
    workspace_id: String,
    slug: String,
    name: String,
}

/// The plugin's configuration in a tenant (the manifest's `[[config]]` fields).
#[derive(Debug, Deserialize)]
struct Settings {
    greeting: String,
}

/// The greeting configured for the context's tenant and workspace ("Hello" outside the
/// platform, e.g. in unit tests).
async fn greeting(ctx: &Context) -> Result<String> {
    match ctx.core().config::<Settings>().await {
        Ok(settings) => Ok(settings.greeting),
        Err(Error::NotConnected) => Ok("Hello".to_owned()),
        Err(e) => Err(e),
    }
}

/// Runs once for every workspace created in a tenant that installed the plugin, and answers
/// with the plugin's own event. Events can be delivered more than once: keep handlers
/// idempotent (`ev.id` identifies a delivery).
#[event_handler("core.workspace.created")]
async fn on_workspace_created(ctx: &Context, ev: Event<WorkspaceCreated>) -> Result<()> {
    eprintln!(
        "tenant {}: workspace `{}` ({}, id {}) created [correlation {}]",
        ctx.tenant(),
        ev.name,
        ev.slug,
        ev.workspace_id,
        ctx.correlation_id()
    );
    let message = format!("{}, {}", greeting(ctx).await?, ev.name);
    let greeted = json!({ "workspace": ev.slug, "message": message });
    match ctx
        .events()
        .publish("plugin.{{plugin_id}}.workspace.greeted", greeted)
        .await
    {
        // Outside the platform (unit tests) there is nobody to tell.
        Ok(_) | Err(Error::NotConnected) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Runs when a tenant installs the plugin, after its migrations: seed defaults here.
#[hook(on_install)]
async fn on_install(ctx: &Context) -> Result<()> {
    eprintln!("installed in tenant {}", ctx.tenant());
    Ok(())
}

/// `GET /hello`: the configured greeting for the calling tenant (reached through the
/// platform's gateway, which tells the plugin who calls).
async fn hello(ctx: Context) -> Result<Json<serde_json::Value>> {
    let message = greeting(&ctx).await?;
    Ok(Json(
        json!({ "plugin": "{{plugin_id}}", "tenant": ctx.tenant(), "message": message }),
    ))
}

/// The plugin's own HTTP routes, next to the platform's health route.
fn routes() -> Router {
    Router::new().route("/hello", get(hello))
}

#[tokio::main]
async fn main() -> Result<()> {
    Plugin::from_manifest("plexica.toml")?
        .routes(routes())
        .run()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use plexica_sdk::testing;

    fn sales() -> WorkspaceCreated {
        WorkspaceCreated {
            workspace_id: "ws-1".into(),
            slug: "sales".into(),
            name: "Sales".into(),
        }
    }

    #[tokio::test]
    async fn handles_workspace_created() {
        let ctx = testing::context("acme");
        let ev = testing::event("core.workspace.created", sales());
        on_workspace_created(&ctx, ev).await.expect("handled");
    }

    #[tokio::test]
    async fn workspace_created_reaches_the_handler_through_its_registration() {
        let ctx = testing::ContextBuilder::new("acme")
            .workspace("sales")
            .build();
        let ev = testing::event("core.workspace.created", sales());
        testing::dispatch(ctx, ev).await.expect("dispatched");
    }

    #[tokio::test]
    async fn install_hook_runs() {
        on_install(&testing::context("acme")).await.expect("installed");
    }

    #[test]
    fn the_manifest_is_valid_and_matches_the_handlers() {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/plexica.toml");
        let plugin = Plugin::from_manifest(manifest).expect("plexica.toml");
        assert_eq!(plugin.manifest().plugin.id, "{{plugin_id}}");
    }

    #[tokio::test]
    async fn hello_greets() {
        let Json(body) = hello(testing::context("acme")).await.expect("answers");
        assert_eq!(body["message"], "Hello");
        assert_eq!(body["tenant"], "acme");
    }
}
