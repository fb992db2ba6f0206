//! `plexica-registry`: the Plexica plugin registry.

use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Parser;

/// The Plexica plugin registry.
#[derive(Debug, Parser)]
#[command(name = "plexica-registry", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "PLEXICA_LISTEN", default_value = "127.0.0.1:7700")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!("plexica-registry listening on {}", listener.local_addr()?);
    plexica_registry::serve(listener).await?;
    Ok(())
}
