// Every option, patterns, raw identifiers, visibility, and every hook.
use plexica_sdk::prelude::*;

#[event_handler("plugin.crm.contact.*", retries = 3, workspace = "required",)]
pub async fn r#contact_changed(_ctx: &Context, ev: Event<serde_json::Value>) -> Result<()> {
    let _ = ev.data;
    Ok(())
}

#[event_handler("core.tenant.updated", crate = "::plexica_sdk")]
pub(crate) async fn tenant_updated(_: &Context, _: Event) -> Result<()> {
    Ok(())
}

#[hook(on_install)]
async fn on_install(_: &Context) -> Result<()> { Ok(()) }
#[hook(on_uninstall)]
async fn on_uninstall(_: &Context) -> Result<()> { Ok(()) }
#[hook(on_activate, crate = "::plexica_sdk")]
async fn on_activate(_: &Context) -> Result<()> { Ok(()) }
#[hook(on_deactivate)]
async fn on_deactivate(_: &Context) -> Result<()> { Ok(()) }

fn main() {
    assert_eq!(plexica_sdk::handlers().count(), 2);
    assert_eq!(plexica_sdk::hooks().count(), 4);
}
