use plexica_sdk::prelude::*;

#[hook(on_instal)]
async fn misspelled(_: &Context) -> Result<()> { Ok(()) }

#[hook(install)]
async fn without_prefix(_: &Context) -> Result<()> { Ok(()) }

#[hook]
async fn nameless(_: &Context) -> Result<()> { Ok(()) }

#[hook(on_activate, retries = 2)]
async fn with_option(_: &Context) -> Result<()> { Ok(()) }

fn main() {}
