use plexica_sdk::prelude::*;

#[event_handler("core.workspace.created")]
async fn generic<T: serde::de::DeserializeOwned>(_: &Context, _: Event<T>) -> Result<()> { Ok(()) }

#[event_handler("core.workspace.updated")]
async fn where_clause(_: &Context, _: Event) -> Result<()> where String: Clone { Ok(()) }

fn main() {}
