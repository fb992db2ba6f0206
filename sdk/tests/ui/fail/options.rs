use plexica_sdk::prelude::*;

#[event_handler("core.workspace.created", retries = 1, retries = 2)]
async fn duplicate(_: &Context, _: Event) -> Result<()> { Ok(()) }

#[event_handler("core.workspace.updated", retry = 1)]
async fn unknown(_: &Context, _: Event) -> Result<()> { Ok(()) }

#[event_handler("core.workspace.deleted", retries = "many")]
async fn not_a_number(_: &Context, _: Event) -> Result<()> { Ok(()) }

#[event_handler("core.user.created", workspace = "optional")]
async fn workspace_value(_: &Context, _: Event) -> Result<()> { Ok(()) }

#[event_handler(core.user.deleted)]
async fn not_a_string(_: &Context, _: Event) -> Result<()> { Ok(()) }

fn main() {}
