//! The event transport. Embedded (the default), events stay in the databases' outbox and are
//! pushed to plugins over HTTP; distributed, they go through NATS JetStream at
//! [`crate::Config::nats_url`]. Readiness (`/health/ready`) includes the transport.

use std::time::Duration;

/// Where events travel.
#[derive(Debug, Clone)]
pub enum EventTransport {
    /// The databases' outbox and HTTP push.
    Embedded,
    /// NATS JetStream.
    Nats(async_nats::Client),
}

impl EventTransport {
    /// Connects to NATS at `url` (without waiting for the server: the client keeps trying in
    /// the background, and readiness reports the connection), or the embedded transport.
    pub async fn connect(url: Option<&str>) -> Result<Self, String> {
        let Some(url) = url else {
            return Ok(Self::Embedded);
        };
        let client = async_nats::ConnectOptions::new()
            .name("plexica-core-api")
            .connection_timeout(Duration::from_secs(5))
            .retry_on_initial_connect()
            .connect(url)
            .await
            .map_err(|e| format!("NATS at {url}: {e}"))?;
        Ok(Self::Nats(client))
    }

    /// Can events be published now? The error says why not.
    pub fn ready(&self) -> Result<(), String> {
        match self {
            Self::Embedded => Ok(()),
            Self::Nats(client) => match client.connection_state() {
                async_nats::connection::State::Connected => Ok(()),
                state => Err(format!("NATS is {state:?}")),
            },
        }
    }

    /// `embedded` or `nats`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Nats(_) => "nats",
        }
    }
}
