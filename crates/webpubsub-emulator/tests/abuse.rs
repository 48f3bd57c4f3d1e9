//! The emulator stays up under abuse: slow request heads and bodies are cut off, and a declared
//! oversized body is refused at once. (Running out of file descriptors: `descriptors.rs`.)

use std::time::{Duration, Instant};

use webpubsub_emulator::Emulator;
use webpubsub_testkit::slow_http::{exchange, partial_heads_are_closed, status_before_body};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_and_bodies_are_cut_off_and_huge_bodies_refused_at_once() {
    let emulator = Emulator::builder()
        .request_timeout(Duration::from_millis(500))
        .start()
        .await
        .unwrap();
    let addr = emulator.local_addr();
    // 200 connections each holding a partial request head.
    let started = Instant::now();
    let head = b"GET /api/health HTTP/1.1\r\nHost: x\r\n";
    assert!(
        partial_heads_are_closed(addr, 200, head, Duration::from_secs(5)).await,
        "a partial head was kept open"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // A body that never finishes: 408 after the timeout.
    let stalled = b"POST /api/hubs/chat/:send?api-version=2024-12-01 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nonly ten b";
    let answer = exchange(addr, stalled, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A declared 10 GB body: 413 before any of it is sent.
    let huge = b"POST /api/hubs/chat/:send?api-version=2024-12-01 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 10000000000\r\n\r\n";
    let status = status_before_body(addr, huge, Duration::from_secs(2)).await;
    assert_eq!(status.as_deref(), Some("HTTP/1.1 413"), "answered at once");
    emulator.shutdown().await;
}
