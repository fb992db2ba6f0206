use plexica_sdk::prelude::*;

#[event_handler("core.workspace.created")]
async fn one_argument(_: &Context) -> Result<()> { Ok(()) }

#[event_handler("core.workspace.updated")]
async fn no_result(_: &Context, _: Event) {}

#[event_handler("core.workspace.deleted")]
async fn wrong_context(_ctx: String, _: Event) -> Result<()> { Ok(()) }

#[event_handler("core.user.created")]
async fn not_an_event(_: &Context, _ev: String) -> Result<()> { Ok(()) }

#[hook(on_install)]
async fn with_event(_: &Context, _: Event) -> Result<()> { Ok(()) }

fn main() {}
