//! A loopback TCP proxy for fault tests: everything it forwards can be cut (both sockets closed
//! at once, as when a network drops) or stalled (bytes held, sockets left open: a black hole, as
//! a half-open connection after a laptop sleep). New connections are forwarded normally unless
//! the proxy is stalled.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with the bytes it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    Stall,
}

/// A running proxy on `127.0.0.1:0` to one target.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    /// Bumped by [`FaultProxy::cut`]: connections of an older generation close.
    cuts: watch::Sender<u64>,
    accepted: Arc<AtomicU64>,
}

impl FaultProxy {
    /// Starts forwarding to `target`.
    ///
    /// # Panics
    /// When it cannot bind a loopback port.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let (mode, mode_rx) = watch::channel(Mode::Forward);
        let (cuts, cuts_rx) = watch::channel(0u64);
        let accepted = Arc::new(AtomicU64::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                let (mode, cuts) = (mode_rx.clone(), cuts_rx.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let generation = *cuts.borrow();
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    let up = pipe(client_read, server_write, mode.clone());
                    let down = pipe(server_read, client_write, mode);
                    let mut cuts = cuts;
                    tokio::select! {
                        _ = async { tokio::join!(up, down) } => {}
                        _ = cuts.wait_for(|c| *c != generation) => {}
                    }
                    // Dropping both halves closes both sockets.
                });
            }
        });
        Self {
            addr,
            mode,
            cuts,
            accepted,
        }
    }

    /// The address to connect to instead of the target.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection through the proxy now (new ones are forwarded).
    pub fn cut(&self) {
        self.cuts.send_modify(|c| *c += 1);
    }

    /// Holds every byte in both directions, leaving the sockets open.
    pub fn stall(&self) {
        let _ = self.mode.send(Mode::Stall);
    }

    /// Forwards again (held bytes flow on).
    pub fn resume(&self) {
        let _ = self.mode.send(Mode::Forward);
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        if mode.wait_for(|m| *m == Mode::Forward).await.is_err() {
            return;
        }
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // Read while forwarding; if a stall began meanwhile, hold these bytes until it ends.
        if mode.wait_for(|m| *m == Mode::Forward).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn forwards_cuts_and_stalls() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = echo.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut b = [0u8; 64];
                    while let Ok(n) = s.read(&mut b).await {
                        if n == 0 || s.write_all(&b[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let proxy = FaultProxy::start(target).await;
        let mut c = TcpStream::connect(proxy.local_addr()).await.unwrap();
        let mut b = [0u8; 2];
        c.write_all(b"hi").await.unwrap();
        c.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"hi");

        proxy.stall();
        c.write_all(b"yo").await.unwrap();
        let held =
            tokio::time::timeout(std::time::Duration::from_millis(200), c.read_exact(&mut b)).await;
        assert!(held.is_err(), "nothing passes a stall");
        proxy.resume();
        c.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"yo");

        proxy.cut();
        let mut rest = Vec::new();
        let n =
            tokio::time::timeout(std::time::Duration::from_secs(2), c.read_to_end(&mut rest)).await;
        assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "cut closes the socket");
        assert_eq!(proxy.connections(), 1);
    }
}
