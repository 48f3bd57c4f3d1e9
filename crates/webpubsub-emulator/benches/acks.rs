//! Acked frames on one connection, and recovery time.
//!
//! `cargo bench -p webpubsub-emulator --bench acks` (also `cargo xtask bench`):
//!
//! 1. One `json.webpubsub.azure.v1` client sends 20,000 `sendToGroup` frames with ack ids (to a
//!    group it is not in), pipelined, and reads the acks: acked frames per second through the
//!    emulator (ack delay 5 ms, the default), and through a bare tokio-tungstenite server that
//!    answers every frame with its ack at once, in the same run, and the ratio.
//! 2. A reliable client drops its transport while 100 messages are sent to it; the time from the
//!    recovery request to the last replayed message (median of 20).

#![allow(clippy::print_stdout, missing_docs)] // a benchmark reports on stdout

use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message as Ws;
use webpubsub::{ClientAccessTokenOptions, Payload, Role, WebPubSubServiceClient};
use webpubsub_emulator::Emulator;

const FRAMES: u64 = 20_000;
const REPLAYED: u64 = 100;
const RECOVERIES: usize = 20;

async fn connect(
    url: &str,
    protocol: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// Sends `FRAMES` acked frames on `url` and waits for every ack; frames per second.
async fn acked_frames_per_second(url: &str, skip_first: bool) -> f64 {
    let socket = connect(url, "json.webpubsub.azure.v1").await;
    let (mut sink, mut stream) = socket.split();
    if skip_first {
        stream.next().await; // `connected`
    }
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        for ack_id in 1..=FRAMES {
            let frame = format!(
                r#"{{"type":"sendToGroup","group":"elsewhere","ackId":{ack_id},"dataType":"text","data":"benchmark payload"}}"#
            );
            sink.feed(Ws::text(frame)).await.unwrap();
            if ack_id % 64 == 0 {
                sink.flush().await.unwrap();
            }
        }
        sink.flush().await.unwrap();
        sink
    });
    let mut acked = 0;
    while acked < FRAMES {
        match stream.next().await {
            Some(Ok(Ws::Text(text))) => {
                let ack: Value = serde_json::from_str(text.as_str()).unwrap();
                assert_eq!(ack["success"], true, "{ack}");
                acked += 1;
            }
            Some(Ok(_)) => {}
            other => panic!("the connection ended: {other:?}"),
        }
    }
    let elapsed = started.elapsed();
    drop(writer.await);
    FRAMES as f64 / elapsed.as_secs_f64()
}

use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

/// The handshake answer naming the JSON subprotocol, as the client asks.
#[allow(clippy::result_large_err)] // tungstenite's callback signature
fn echo_protocol(_: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    response.headers_mut().insert(
        "sec-websocket-protocol",
        "json.webpubsub.azure.v1".parse().unwrap(),
    );
    Ok(response)
}

/// A bare server answering each frame's ack id at once.
async fn bare_ack_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let socket = tokio_tungstenite::accept_hdr_async(stream, echo_protocol)
                    .await
                    .unwrap();
                let (mut sink, mut stream) = socket.split();
                while let Some(Ok(Ws::Text(text))) = stream.next().await {
                    let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                    let ack = format!(
                        r#"{{"type":"ack","ackId":{},"success":true}}"#,
                        frame["ackId"]
                    );
                    if sink.send(Ws::text(ack)).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    format!("ws://{addr}/")
}

async fn recovery_time(emulator: &Emulator, client: &WebPubSubServiceClient) -> Duration {
    let url = client
        .get_client_access_token(Some(ClientAccessTokenOptions {
            user_id: Some("r".into()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .url;
    let mut socket = connect(&url, "json.reliable.webpubsub.azure.v1").await;
    let connected: Value = match socket.next().await {
        Some(Ok(Ws::Text(text))) => serde_json::from_str(text.as_str()).unwrap(),
        other => panic!("{other:?}"),
    };
    let id = connected["connectionId"].as_str().unwrap().to_owned();
    let token = connected["reconnectionToken"].as_str().unwrap().to_owned();
    drop(socket);
    tokio::time::sleep(Duration::from_millis(20)).await;
    for n in 0..REPLAYED {
        client
            .send_to_connection(&id, Payload::text(format!("m{n}")), None)
            .await
            .unwrap();
    }
    let base = emulator.endpoint().replace("http://", "ws://");
    let resume =
        format!("{base}/client/hubs/chat?awps_connection_id={id}&awps_reconnection_token={token}");
    let started = Instant::now();
    let mut socket = connect(&resume, "json.reliable.webpubsub.azure.v1").await;
    let mut replayed = 0;
    while replayed < REPLAYED {
        match socket.next().await {
            Some(Ok(Ws::Text(_))) => replayed += 1,
            other => panic!("{other:?}"),
        }
    }
    let elapsed = started.elapsed();
    let _ = socket.close(None).await;
    elapsed
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let emulator = Emulator::builder().start().await.unwrap();
    let client =
        WebPubSubServiceClient::from_connection_string(&emulator.connection_string(), "chat", None)
            .unwrap();
    let url = client
        .get_client_access_token(Some(ClientAccessTokenOptions {
            roles: vec![Role::send_to_group()],
            ..Default::default()
        }))
        .await
        .unwrap()
        .url;
    let bare = bare_ack_server().await;
    // Warm up both, then measure them alternately.
    acked_frames_per_second(&url, true).await;
    acked_frames_per_second(&bare, false).await;
    let mut ratios = Vec::new();
    for round in 1..=3 {
        let ours = acked_frames_per_second(&url, true).await;
        let theirs = acked_frames_per_second(&bare, false).await;
        ratios.push(ours / theirs);
        println!(
            "acked sendToGroup frames on one connection, round {round}: emulator {ours:.0}/s, bare server {theirs:.0}/s, ratio {:.2}x",
            ours / theirs
        );
    }
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..RECOVERIES {
        times.push(recovery_time(&emulator, &client).await);
    }
    times.sort();
    println!(
        "recovery, request to the last of {REPLAYED} replayed messages: median {:.1} ms (min {:.1}, max {:.1})",
        times[RECOVERIES / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[RECOVERIES - 1].as_secs_f64() * 1e3
    );
    emulator.shutdown().await;
}
