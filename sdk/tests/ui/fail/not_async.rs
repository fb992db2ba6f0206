use plexica_sdk::prelude::*;

#[event_handler("core.workspace.created")]
fn not_async(_: &Context, _: Event) -> Result<()> { Ok(()) }

#[hook(on_install)]
fn install(_: &Context) -> Result<()> { Ok(()) }

fn main() {}
