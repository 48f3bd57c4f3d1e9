//! Raw HTTP/1.1 over loopback for the "safe to face the internet" tests: requests that stop
//! halfway, and reading what a server answers before it closes.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Reads until the server closes; `None` when it is still open after `within`.
pub async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut answer = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(_) => None,
    }
}

/// Connects to `server`, writes `bytes` (a whole request, or the start of one) and reads what
/// comes back until the server closes; `None` when it is still open after `within`.
///
/// # Panics
/// When the connection or the write fails.
pub async fn exchange(server: SocketAddr, bytes: &[u8], within: Duration) -> Option<String> {
    let mut stream = TcpStream::connect(server).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    read_until_closed(&mut stream, within).await
}

/// Opens `count` connections that each send `partial_head` and nothing more, then waits for the
/// server to close them all; `true` when it did within `within`.
///
/// # Panics
/// When a connection or a write fails.
pub async fn partial_heads_are_closed(
    server: SocketAddr,
    count: usize,
    partial_head: &[u8],
    within: Duration,
) -> bool {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = TcpStream::connect(server).await.expect("connect");
        stream.write_all(partial_head).await.expect("write");
        streams.push(stream);
    }
    let deadline = tokio::time::Instant::now() + within;
    for stream in &mut streams {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if read_until_closed(stream, left).await.is_none() {
            return false;
        }
    }
    true
}

/// The status line's first 12 bytes (`HTTP/1.1 413`) the server sends after `head`, a request
/// head declaring a body that is never sent; `None` when nothing comes within `within`.
///
/// # Panics
/// When the connection or the write fails.
pub async fn status_before_body(
    server: SocketAddr,
    head: &[u8],
    within: Duration,
) -> Option<String> {
    let mut stream = TcpStream::connect(server).await.expect("connect");
    stream.write_all(head).await.expect("write");
    let mut status = [0u8; 12];
    match tokio::time::timeout(within, stream.read_exact(&mut status)).await {
        Ok(Ok(_)) => Some(String::from_utf8_lossy(&status).into_owned()),
        _ => None,
    }
}
