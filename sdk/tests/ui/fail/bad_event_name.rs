use plexica_sdk::prelude::*;

#[event_handler("Core.Workspace.Created")]
async fn upper(_: &Context, _: Event) -> Result<()> { Ok(()) }

#[event_handler("core.workspace.*.created")]
async fn inner_wildcard(_: &Context, _: Event) -> Result<()> { Ok(()) }

fn main() {}
