//! Our transport against a bare hyper-util client, same local hyper server, same run.
//!
//! `cargo bench -p webpubsub-transport --bench transport` prints requests per second for both and
//! the ratio, sequential and with 64 requests in flight (median of interleaved rounds).

#![allow(clippy::print_stdout, missing_docs)] // a benchmark reports on stdout

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use webpubsub_testkit::bench::{accepting_server, calls_per_second, median};
use webpubsub_transport::{HttpClient, HyperClient, HyperClientOptions};

const BODY: &[u8] = br#"{"message":"hello, every connection of the hub"}"#;

fn request(url: &str) -> http::Request<Bytes> {
    http::Request::post(url)
        .header("content-type", "application/json")
        .body(Bytes::from_static(BODY))
        .unwrap()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let addr = accepting_server().await;
        let url = format!("http://{addr}/api/hubs/bench/:send?api-version=2024-12-01");

        let ours = Arc::new(HyperClient::new(HyperClientOptions::default()).unwrap());
        let bare: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .build_http();
        let bare = Arc::new(bare);

        for (label, in_flight, total) in [("sequential", 1, 500), ("64 in flight", 64, 3_200)] {
            let mut ratios = Vec::new();
            let (mut ours_rps, mut bare_rps) = (Vec::new(), Vec::new());
            // Many short rounds, alternating which client goes first, so drift in machine speed
            // (this is a shared VM) hits both sides alike; the median per-round ratio is reported.
            for round in 0..61 {
                let ours_send = {
                    let (client, url) = (ours.clone(), url.clone());
                    Arc::new(move || {
                        let (client, request) = (client.clone(), request(&url));
                        async move {
                            let response = client.execute(&request).await.unwrap();
                            assert_eq!(response.status(), 202);
                        }
                    })
                };
                let bare_send = {
                    let (client, url) = (bare.clone(), url.clone());
                    Arc::new(move || {
                        let (client, request) = (client.clone(), request(&url));
                        async move {
                            let (parts, body) = request.into_parts();
                            let response =
                                client.request(hyper::Request::from_parts(parts, Full::new(body))).await.unwrap();
                            assert_eq!(response.status(), 202);
                            let _ = response.into_body().collect().await.unwrap();
                        }
                    })
                };
                let (ours_rate, bare_rate) = if round % 2 == 0 {
                    let o = calls_per_second(total, in_flight, ours_send).await;
                    (o, calls_per_second(total, in_flight, bare_send).await)
                } else {
                    let b = calls_per_second(total, in_flight, bare_send).await;
                    (calls_per_second(total, in_flight, ours_send).await, b)
                };
                if round == 0 {
                    continue; // warm-up: pools fill, caches settle
                }
                ratios.push(ours_rate / bare_rate);
                ours_rps.push(ours_rate);
                bare_rps.push(bare_rate);
            }
            println!(
                "{label}: ours {:.0} req/s, bare hyper-util {:.0} req/s, ratio ours/bare = {:.3}x (target >= 0.97x)",
                median(&mut ours_rps),
                median(&mut bare_rps),
                median(&mut ratios)
            );
        }
    });
}
