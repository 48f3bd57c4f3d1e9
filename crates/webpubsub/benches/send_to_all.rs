//! `send_to_all` through the service client against a bare hyper-util client that signs the same
//! JWT, same local server, same run.
//!
//! `cargo bench -p webpubsub --bench send_to_all` prints the rates and the median ratio,
//! sequential and with 64 calls in flight. A second bare client also sends the two headers the
//! service client must send on every request (`User-Agent`, `x-ms-client-request-id`), to show
//! how much of the gap is those headers (the server parses them) rather than the client.

#![allow(clippy::print_stdout, missing_docs)] // a benchmark reports on stdout

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use webpubsub::{AccessKey, Payload, WebPubSubServiceClient};
use webpubsub_testkit::bench::{accepting_server, calls_per_second, median};

const PAYLOAD: &str = r#"{"message":"hello, every connection of the hub"}"#;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let addr = accepting_server().await;
        let key = AccessKey::new(AccessKey::DEVELOPMENT);
        let connection_string = format!("Endpoint=http://{addr};AccessKey={};Version=1.0;", key.expose());
        let ours = WebPubSubServiceClient::from_connection_string(&connection_string, "bench", None).unwrap();
        let bare: Arc<Client<_, Full<Bytes>>> =
            Arc::new(Client::builder(TokioExecutor::new()).pool_timer(TokioTimer::new()).build_http());
        let url = format!("http://{addr}/api/hubs/bench/:send?api-version=2024-12-01");

        for (label, in_flight, total) in [("sequential", 1, 500), ("64 in flight", 64, 3_200)] {
            let (mut ratios, mut header_ratios) = (Vec::new(), Vec::new());
            let (mut ours_rps, mut bare_rps) = (Vec::new(), Vec::new());
            for round in 0..61 {
                let ours_send = {
                    let client = ours.clone();
                    // The payload is the caller's; cloning a Message does not copy it.
                    let message = Payload::json_raw(PAYLOAD).unwrap();
                    Arc::new(move || {
                        let (client, message) = (client.clone(), message.clone());
                        async move {
                            client.send_to_all(message, None).await.unwrap();
                        }
                    })
                };
                let bare_send = |with_headers: bool| {
                    let (client, url, key) = (bare.clone(), url.clone(), key.clone());
                    Arc::new(move || {
                        let (client, url, key) = (client.clone(), url.clone(), key.clone());
                        async move {
                            let token = webpubsub::auth::rest_bearer_token(
                                &key,
                                &url,
                                SystemTime::now(),
                                std::time::Duration::from_secs(300),
                            )
                            .unwrap();
                            let mut request = hyper::Request::post(&url);
                            if with_headers {
                                request = request
                                    .header("user-agent", "azsdk-rust-webpubsub/0.1.0")
                                    .header("x-ms-client-request-id", "8f0e4c62-5a4b-4d3e-9c1f-2b7a6d5e4f30");
                            }
                            let request = request
                                .header("authorization", format!("Bearer {}", token.expose()))
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from_static(PAYLOAD.as_bytes())))
                                .unwrap();
                            let response = client.request(request).await.unwrap();
                            assert_eq!(response.status(), 202);
                            let _ = response.into_body().collect().await.unwrap();
                        }
                    })
                };
                // Who goes first rotates, so drift in machine speed hits all three alike.
                let (mut o, mut b, mut h) = (0.0, 0.0, 0.0);
                for turn in 0..3 {
                    match (round + turn) % 3 {
                        0 => o = calls_per_second(total, in_flight, ours_send.clone()).await,
                        1 => b = calls_per_second(total, in_flight, bare_send(false)).await,
                        _ => h = calls_per_second(total, in_flight, bare_send(true)).await,
                    }
                }
                if round == 0 {
                    continue; // warm-up: pools fill, caches settle
                }
                ratios.push(o / b);
                header_ratios.push(o / h);
                ours_rps.push(o);
                bare_rps.push(b);
            }
            println!(
                "{label}: client {:.0} calls/s, bare hyper-util + JWT {:.0} req/s, ratio client/bare = {:.3}x (target >= 0.9x); \
                 against a bare client that also sends User-Agent and x-ms-client-request-id: {:.3}x",
                median(&mut ours_rps),
                median(&mut bare_rps),
                median(&mut ratios),
                median(&mut header_ratios)
            );
        }
    });
}
