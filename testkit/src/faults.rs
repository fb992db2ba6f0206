//! A real fault between a server and what it depends on: a TCP proxy on loopback that a test
//! cuts (every open connection closed, new ones refused) and restores, for PostgreSQL, NATS or
//! any TCP service.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// A proxy to one target; dropping it stops it.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: AbortHandle,
}

struct Shared {
    up: AtomicBool,
    connections: Mutex<Vec<AbortHandle>>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards every connection to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            up: AtomicBool::new(true),
            connections: Mutex::new(Vec::new()),
        });
        let accepting = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accepting.up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let relay = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                if let Ok(mut open) = accepting.connections.lock() {
                    open.retain(|c| !c.is_finished());
                    open.push(relay.abort_handle());
                }
            }
        })
        .abort_handle();
        Ok(Self {
            addr,
            shared,
            accept,
        })
    }

    /// A proxy in front of the service `url` points at (`postgres://…@host:port/db`,
    /// `nats://host:port`), and `url` pointing at the proxy instead.
    pub async fn in_front_of(url: &str) -> std::io::Result<(Self, String)> {
        let parsed = url::Url::parse(url)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let host = parsed.host_str().unwrap_or("127.0.0.1");
        let port = parsed
            .port_or_known_default()
            .unwrap_or(match parsed.scheme() {
                "nats" => 4222,
                _ => 5432,
            });
        let target = tokio::net::lookup_host((host, port))
            .await?
            .next()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, host.to_owned()))?;
        let proxy = Self::start(target).await?;
        let proxied = proxy.url_for(url);
        Ok((proxy, proxied))
    }

    /// The address to give the server instead of the target's.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` (`scheme://user@host:port/…`) with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let Ok(mut parsed) = url::Url::parse(url) else {
            return url.to_owned();
        };
        let _ = parsed.set_ip_host(self.addr.ip());
        let _ = parsed.set_port(Some(self.addr.port()));
        parsed.to_string()
    }

    /// The dependency goes away: open connections are closed, new ones refused at once.
    pub fn cut(&self) {
        self.shared.up.store(false, Ordering::SeqCst);
        if let Ok(mut open) = self.shared.connections.lock() {
            for connection in open.drain(..) {
                connection.abort();
            }
        }
    }

    /// The dependency is back.
    pub fn restore(&self) {
        self.shared.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
