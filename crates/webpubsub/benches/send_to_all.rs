//! `send_to_all` through the service client against a bare hyper-util client that signs the same
//! JWT, same local server, same run.
//!
//! `cargo bench -p webpubsub --bench send_to_all` prints the rates and the median ratio,
//! sequential and with 64 calls in flight. A second bare client also sends the two headers the
//! service client must send on every request (`User-Agent`, `x-ms-client-request-id`), to show
//! how much of the gap is those headers (the server parses them) rather than the client.

#![allow(clippy::print_stdout, missing_docs)] // a benchmark reports on stdout

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use webpubsub::{AccessKey, Message, WebPubSubServiceClient};

async fn server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(
                    |request: hyper::Request<hyper::body::Incoming>| async move {
                        let _ = request.into_body().collect().await;
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(202)
                                .body(Full::new(Bytes::new()))
                                .unwrap(),
                        )
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn run<F, Fut>(total: usize, in_flight: usize, send: Arc<F>) -> f64
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let start = Instant::now();
    let per_task = total / in_flight;
    let tasks: Vec<_> = (0..in_flight)
        .map(|_| {
            let send = send.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    send().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    (per_task * in_flight) as f64 / start.elapsed().as_secs_f64()
}

const PAYLOAD: &str = r#"{"message":"hello, every connection of the hub"}"#;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let addr = server().await;
        let key = AccessKey::new(AccessKey::DEVELOPMENT);
        let connection_string = format!("Endpoint=http://{addr};AccessKey={};Version=1.0;", key.expose());
        let ours = WebPubSubServiceClient::from_connection_string(&connection_string, "bench").unwrap();
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
                    let message = Message::json_raw(PAYLOAD).unwrap();
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
                            let token = webpubsub::layers::auth::rest_bearer_token(
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
                        0 => o = run(total, in_flight, ours_send.clone()).await,
                        1 => b = run(total, in_flight, bare_send(false)).await,
                        _ => h = run(total, in_flight, bare_send(true)).await,
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
            let median = |v: &mut Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
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
