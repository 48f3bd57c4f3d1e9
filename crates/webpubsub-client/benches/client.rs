//! The client's throughput and recovery time, on the embedded emulator (loopback):
//!
//! 1. Messages received per second by one `WebPubSubClient` from a group broadcast, beside a
//!    bare tokio-tungstenite reader of the same frames (it only recognises message frames, with
//!    no decoding, and on the reliable protocol acks every 256), on each subprotocol. Each reader is alone
//!    in its group, rounds alternate the two, and the publisher keeps at most 500 messages ahead
//!    of the reader (the service closes a reliable connection with more than 1,000
//!    unacknowledged); median per-pair ratio (target >= 0.8x).
//! 2. Acked `send_to_group` per second on one connection: one at a time, and 64 in flight.
//! 3. Recovery: the time from cutting a reliable connection (a loopback proxy) to the last of
//!    100 messages, published just before the cut, arriving; median of 20 cuts.
//!
//! `cargo bench -p webpubsub-client --bench client`

#![allow(clippy::print_stdout, missing_docs)] // a benchmark reports on stdout

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;
use webpubsub::{ClientAccessTokenOptions, Payload, Role, WebPubSubServiceClient};
use webpubsub_client::{
    ClientEvent, ClientEvents, SendToGroupOptions, Subprotocol, WebPubSubClient,
    WebPubSubClientOptions,
};
use webpubsub_emulator::Emulator;
use webpubsub_testkit::proxy::FaultProxy;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const MESSAGES: usize = 20_000;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn client_url(service: &WebPubSubServiceClient, user: &str) -> String {
    let options = ClientAccessTokenOptions::default()
        .user_id(user)
        .role(Role::join_leave_group())
        .role(Role::send_to_group());
    service
        .get_client_access_token(Some(options))
        .await
        .unwrap()
        .url
}

async fn bare(url: &str, protocol: &str) -> Socket {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket.next().await.unwrap().unwrap(); // connected
    socket
}

/// Joins `group` on a bare socket and waits for the ack.
async fn bare_join(socket: &mut Socket, group: &str) {
    let join = serde_json::json!({"type": "joinGroup", "group": group, "ackId": 1});
    socket.send(Message::text(join.to_string())).await.unwrap();
    while let Some(Ok(frame)) = socket.next().await {
        if let Message::Text(text) = frame {
            if text.contains("\"ack\"") {
                return;
            }
        }
    }
}

/// How far the publisher may run ahead of a reader.
const WINDOW: usize = 500;

/// What a reader has received, for the publisher's window.
#[derive(Default)]
struct Progress {
    received: AtomicUsize,
    wake: Notify,
}

impl Progress {
    fn got(&self, count: usize) {
        self.received.store(count, Ordering::Release);
        if count.is_multiple_of(64) {
            self.wake.notify_one();
        }
    }
}

/// Reads `n` messages on a bare socket; the time from the first to the last.
async fn bare_read(
    mut socket: Socket,
    n: usize,
    reliable: bool,
    progress: Arc<Progress>,
) -> Duration {
    let mut first = None;
    let mut count = 0;
    while count < n {
        let Some(Ok(Message::Text(text))) = socket.next().await else {
            panic!("the bare reader's connection ended")
        };
        // The least a reader can do: recognise a message without decoding it.
        if !text.contains(r#""type":"message""#) {
            continue;
        }
        first.get_or_insert_with(Instant::now);
        count += 1;
        progress.got(count);
        if reliable && count.is_multiple_of(256) {
            let frame: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            let ack = serde_json::json!({"type": "sequenceAck", "sequenceId": frame["sequenceId"]});
            socket.send(Message::text(ack.to_string())).await.unwrap();
        }
    }
    first.map_or(Duration::ZERO, |f| f.elapsed())
}

/// Reads `n` group messages from our client; the time from the first to the last.
async fn sdk_read(mut events: ClientEvents, n: usize, progress: Arc<Progress>) -> Duration {
    let mut first = None;
    let mut count = 0;
    while count < n {
        match events.next().await {
            Some(ClientEvent::GroupMessage(_)) => {
                first.get_or_insert_with(Instant::now);
                count += 1;
                progress.got(count);
            }
            Some(ClientEvent::Disconnected { code, reason, .. }) => {
                panic!("the client's connection ended: {code:?} {reason}")
            }
            Some(_) => {}
            None => panic!("the client ended"),
        }
    }
    first.map_or(Duration::ZERO, |f| f.elapsed())
}

/// Publishes `n` text messages to `group` from a bare socket, as fast as it can write (at most
/// [`WINDOW`] ahead of `progress`, when given).
async fn publish(socket: &mut Socket, group: &str, n: usize, progress: Option<&Progress>) {
    for i in 0..n {
        if let Some(progress) = progress {
            while i >= progress.received.load(Ordering::Acquire) + WINDOW {
                socket.flush().await.unwrap();
                let _ =
                    tokio::time::timeout(Duration::from_millis(5), progress.wake.notified()).await;
            }
        }
        let frame = serde_json::json!({"type": "sendToGroup", "group": group, "dataType": "text", "data": format!("message {i:06} of the benchmark")});
        socket.feed(Message::text(frame.to_string())).await.unwrap();
        if i % 64 == 63 {
            socket.flush().await.unwrap();
        }
    }
    socket.flush().await.unwrap();
}

/// One reader's rate: `reader` reads what the publisher sends to `group`.
async fn rate_of(
    publisher: &mut Socket,
    group: &str,
    reader: impl FnOnce(Arc<Progress>) -> tokio::task::JoinHandle<Duration>,
) -> f64 {
    let progress = Arc::new(Progress::default());
    let reading = reader(progress.clone());
    publish(publisher, group, MESSAGES, Some(&progress)).await;
    MESSAGES as f64 / reading.await.unwrap().as_secs_f64()
}

async fn receive_rates(service: &WebPubSubServiceClient, protocol: Subprotocol) -> (f64, f64, f64) {
    let mut ratios = Vec::new();
    let (mut ours_rates, mut bare_rates) = (Vec::new(), Vec::new());
    let mut publisher = bare(&client_url(service, "pub").await, "json.webpubsub.azure.v1").await;
    for round in 0..6 {
        let mut options = WebPubSubClientOptions::default();
        options.protocol = protocol;
        let (client, events) = WebPubSubClient::new(client_url(service, "ours").await, options);
        client.start().await.unwrap();
        let ours_group = format!("ours-{round}");
        client.join_group(&ours_group).await.unwrap();
        let mut reader = bare(&client_url(service, "bare").await, protocol.as_str()).await;
        let bare_group = format!("bare-{round}");
        bare_join(&mut reader, &bare_group).await;
        let reliable = protocol.is_reliable();
        let mut events = Some(events);
        let mut reader = Some(reader);
        let mut measure_ours = async |publisher: &mut Socket| {
            let events = events.take().unwrap();
            rate_of(publisher, &ours_group, |p| {
                tokio::spawn(sdk_read(events, MESSAGES, p))
            })
            .await
        };
        let (ours, theirs) = if round % 2 == 0 {
            let ours = measure_ours(&mut publisher).await;
            let reader = reader.take().unwrap();
            let theirs = rate_of(&mut publisher, &bare_group, |p| {
                tokio::spawn(bare_read(reader, MESSAGES, reliable, p))
            })
            .await;
            (ours, theirs)
        } else {
            let reader = reader.take().unwrap();
            let theirs = rate_of(&mut publisher, &bare_group, |p| {
                tokio::spawn(bare_read(reader, MESSAGES, reliable, p))
            })
            .await;
            (measure_ours(&mut publisher).await, theirs)
        };
        ours_rates.push(ours);
        bare_rates.push(theirs);
        ratios.push(ours / theirs);
        client.stop().await;
    }
    (
        median(&mut ours_rates),
        median(&mut bare_rates),
        median(&mut ratios),
    )
}

async fn acked_sends(service: &WebPubSubServiceClient) -> (f64, f64, f64) {
    let (client, events) = WebPubSubClient::new(
        client_url(service, "acked").await,
        WebPubSubClientOptions::default(),
    );
    drop(events);
    client.start().await.unwrap();
    let options = || Some(SendToGroupOptions::no_echo());
    const N: usize = 5_000;
    let start = Instant::now();
    for i in 0..N {
        client
            .send_to_group("acked", Payload::text(i.to_string()), options())
            .await
            .unwrap();
    }
    let sequential = N as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..N / 64 {
                    client
                        .send_to_group("acked", Payload::text(i.to_string()), options())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let in_flight = (N / 64 * 64) as f64 / start.elapsed().as_secs_f64();
    client.stop().await;
    // The same, one at a time, on a bare socket.
    let mut socket = bare(
        &client_url(service, "bare-acked").await,
        "json.webpubsub.azure.v1",
    )
    .await;
    let start = Instant::now();
    for i in 0..N as u64 {
        let frame = serde_json::json!({"type": "sendToGroup", "group": "acked", "ackId": i + 1, "noEcho": true, "dataType": "text", "data": i.to_string()});
        socket.send(Message::text(frame.to_string())).await.unwrap();
        loop {
            let Some(Ok(Message::Text(text))) = socket.next().await else {
                panic!("the bare socket ended")
            };
            if text.contains("\"ack\"") {
                break;
            }
        }
    }
    let bare_sequential = N as f64 / start.elapsed().as_secs_f64();
    (sequential, in_flight, bare_sequential)
}

async fn recovery(emulator: &Emulator, service: &WebPubSubServiceClient) -> (f64, f64) {
    let proxy = FaultProxy::start(emulator.local_addr()).await;
    let url = client_url(service, "cut").await.replace(
        &emulator.local_addr().to_string(),
        &proxy.local_addr().to_string(),
    );
    let mut options = WebPubSubClientOptions::default();
    options.recovery_retry_delay = Duration::from_millis(10);
    let (client, mut events) = WebPubSubClient::new(url, options);
    client.start().await.unwrap();
    assert!(matches!(
        events.next().await,
        Some(ClientEvent::Connected { .. })
    ));
    client.join_group("cut").await.unwrap();
    let mut publisher = bare(
        &client_url(service, "pub2").await,
        "json.webpubsub.azure.v1",
    )
    .await;
    let mut times = Vec::new();
    for _ in 0..20 {
        publish(&mut publisher, "cut", 100, None).await;
        let cut = Instant::now();
        proxy.cut();
        let mut count = 0;
        while count < 100 {
            match tokio::time::timeout(Duration::from_secs(10), events.next()).await {
                Ok(Some(ClientEvent::GroupMessage(_))) => count += 1,
                Ok(Some(
                    event @ (ClientEvent::Connected { .. } | ClientEvent::Disconnected { .. }),
                )) => {
                    panic!("a cut must be recovered: {event:?}")
                }
                Ok(Some(_)) => {}
                _ => panic!("messages lost in a cut"),
            }
        }
        times.push(cut.elapsed().as_secs_f64() * 1e3);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let max = times.iter().copied().fold(0.0, f64::max);
    client.stop().await;
    (median(&mut times), max)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let emulator = Emulator::builder()
            .ignore_audience_host(true)
            .ack_delay(Duration::ZERO)
            .outbound_queue(1 << 20)
            .outbound_queue_bytes(1 << 30)
            .start()
            .await
            .unwrap();
        let service = WebPubSubServiceClient::from_connection_string(
            &emulator.connection_string(),
            "bench",
            None,
        )
        .unwrap();
        let only_recovery = std::env::var("BENCH_ONLY_RECOVERY").is_ok();
        for protocol in [Subprotocol::Json, Subprotocol::JsonReliable].into_iter().filter(|_| !only_recovery) {
            let (ours, theirs, ratio) = receive_rates(&service, protocol).await;
            println!(
                "client receive ({}): ours {ours:.0}/s, bare tokio-tungstenite {theirs:.0}/s; ours/bare {ratio:.2}x (median of 6 rounds, {MESSAGES} messages each)",
                protocol.as_str()
            );
        }
        let (sequential, in_flight, bare) = acked_sends(&service).await;
        println!("client acked send_to_group: {sequential:.0}/s one at a time ({:.2}x a bare socket's {bare:.0}/s), {in_flight:.0}/s with 64 in flight (emulator ack delay 0)", sequential / bare);
        let (median_ms, max_ms) = recovery(&emulator, &service).await;
        println!("client recovery: cut to the last of 100 replayed messages, median {median_ms:.1} ms, max {max_ms:.1} ms (20 cuts)");
        emulator.shutdown().await;
    });
}
