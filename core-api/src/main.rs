//! `plexica-core-api`: the Plexica core API.

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Parser;

/// The Plexica core API.
#[derive(Debug, Parser)]
#[command(name = "plexica-core-api", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "PLEXICA_LISTEN", default_value = "127.0.0.1:7800")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!("plexica-core-api listening on {}", listener.local_addr()?);
    plexica_core_api::serve(listener).await?;
    Ok(())
}
