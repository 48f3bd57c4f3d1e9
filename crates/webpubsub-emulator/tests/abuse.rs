//! The emulator stays up under abuse: slow request heads and bodies are cut off, and a declared
//! oversized body is refused at once. (Running out of file descriptors: `descriptors.rs`.)

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use webpubsub_emulator::Emulator;

/// Reads until the server closes; `None` if it is still open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut answer)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_and_bodies_are_cut_off_and_huge_bodies_refused_at_once() {
    let emulator = Emulator::builder()
        .request_timeout(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let addr = emulator.local_addr();
    // 200 connections each holding a partial request head.
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    let started = Instant::now();
    for stream in &mut slow {
        assert!(
            closed_within(stream, Duration::from_secs(5))
                .await
                .is_some(),
            "a partial head was kept open"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));

    // A body that never finishes: 408 after the timeout.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /api/hubs/chat/:send?api-version=2024-12-01 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly ten b")
        .await
        .unwrap();
    let answer = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A declared 10 GB body: 413 before any of it is sent.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /api/hubs/chat/:send?api-version=2024-12-01 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 10000000000\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut head))
        .await
        .expect("answered at once")
        .unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");
    emulator.shutdown().await;
}
