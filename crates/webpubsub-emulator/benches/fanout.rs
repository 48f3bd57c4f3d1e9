//! Broadcast fan-out and idle-connection memory.
//!
//! `cargo bench -p webpubsub-emulator --bench fanout` (also `cargo xtask bench`):
//!
//! 1. 1,000 raw WebSocket clients in a second process (this binary, re-run with `--clients`);
//!    REST `send_to_all` broadcasts (16 in flight) through the emulator, then the same frames written by a bare
//!    tokio-tungstenite server to the same number of clients, in the same run: delivered messages
//!    per second for both, and the ratio.
//! 2. 10,000 idle clients on the emulator: its resident memory before and after, per connection.

#![allow(clippy::print_stdout, missing_docs)] // a benchmark reports on stdout

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message as Ws;
use webpubsub_emulator::Emulator;

const CLIENTS: usize = 1_000;
const MESSAGES: u64 = 100;
const IDLE_CLIENTS: usize = 10_000;
const PAYLOAD: &str = "{\"kind\":\"tick\",\"text\":\"fan-out benchmark payload of about one hundred bytes..........\"}";

/// The client process: connects `n` clients to `url`, says `ready`, then `done` once every
/// client has received `expect` messages (or stays idle when `expect` is 0, until stdin closes).
async fn clients(n: usize, url: String, expect: u64) {
    let received = Arc::new(AtomicU64::new(0));
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("connect");
        sockets.push(socket);
    }
    println!("ready");
    std::io::stdout().flush().ok();
    if expect == 0 {
        let mut line = String::new();
        let _ = tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await;
        drop(sockets);
        return;
    }
    let target = expect * n as u64;
    let mut tasks = Vec::new();
    for mut socket in sockets {
        let received = received.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = 0;
            while mine < expect {
                match socket.next().await {
                    Some(Ok(Ws::Text(_))) | Some(Ok(Ws::Binary(_))) => {
                        mine += 1;
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    println!("done {}", received.load(Ordering::Relaxed) == target);
}

fn spawn_clients(n: usize, url: &str, expect: u64) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--clients",
            &n.to_string(),
            "--url",
            url,
            "--expect",
            &expect.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the client process did not connect");
    (child, out)
}

fn wait_done(out: &mut BufReader<ChildStdout>) {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "done true", "not every message arrived");
}

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A bare WebSocket server: accepts clients and writes every broadcast to each of them.
async fn bare_server() -> (String, broadcast::Sender<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (sender, _) = broadcast::channel::<String>(1024);
    let tx = sender.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let mut rx = tx.subscribe();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Ok(text) = rx.recv().await {
                    if ws.send(Ws::text(text)).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("ws://{addr}/"), sender)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Some(n) = arg("--clients") {
        let expect = arg("--expect").and_then(|e| e.parse().ok()).unwrap_or(0);
        runtime.block_on(clients(n.parse().unwrap(), arg("--url").unwrap(), expect));
        return;
    }
    runtime.block_on(async {
        let emulator = Emulator::builder().start().await.unwrap();
        let client = webpubsub::WebPubSubServiceClient::from_connection_string(&emulator.connection_string(), "bench", None).unwrap();
        let url = client.get_client_access_token(None).await.unwrap().url;
        let message = webpubsub::Payload::json_raw(PAYLOAD).unwrap();

        // Fan-out through the emulator (REST broadcast -> 1,000 raw clients).
        let (mut child, mut out) = spawn_clients(CLIENTS, &url, MESSAGES);
        let start = Instant::now();
        // The broadcasts come in as an app server sends them when busy: several at once.
        futures_util::stream::iter(0..MESSAGES)
            .for_each_concurrent(16, |_| {
                let (client, message) = (client.clone(), message.clone());
                async move { client.send_to_all(message, None).await.unwrap() }
            })
            .await;
        let out = tokio::task::spawn_blocking(move || {
            wait_done(&mut out);
            out
        })
        .await
        .unwrap();
        let emulator_rate = (CLIENTS as u64 * MESSAGES) as f64 / start.elapsed().as_secs_f64();
        drop(out);
        let _ = child.wait();

        // The same frames from a bare server.
        let (bare_url, sender) = bare_server().await;
        let (mut child, mut out) = spawn_clients(CLIENTS, &bare_url, MESSAGES);
        while sender.receiver_count() < CLIENTS {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let start = Instant::now();
        for _ in 0..MESSAGES {
            let _ = sender.send(PAYLOAD.to_owned());
            tokio::task::yield_now().await;
        }
        let out = tokio::task::spawn_blocking(move || {
            wait_done(&mut out);
            out
        })
        .await
        .unwrap();
        let bare_rate = (CLIENTS as u64 * MESSAGES) as f64 / start.elapsed().as_secs_f64();
        drop(out);
        let _ = child.wait();
        println!(
            "fan-out to {CLIENTS} clients: emulator {emulator_rate:.0} msg/s, bare server {bare_rate:.0} msg/s, ratio {:.2}x (target >= 0.5x)",
            emulator_rate / bare_rate
        );

        // Idle connections: resident memory per connection.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = rss_kib();
        let (mut child, _out) = spawn_clients(IDLE_CLIENTS, &url, 0);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = rss_kib();
        println!(
            "{IDLE_CLIENTS} idle connections: {} KiB resident more, {:.1} KiB per connection (target <= 16 KiB)",
            after.saturating_sub(before),
            after.saturating_sub(before) as f64 / IDLE_CLIENTS as f64
        );
        drop(child.stdin.take());
        let _ = child.wait();
        emulator.shutdown().await;
    });
}
