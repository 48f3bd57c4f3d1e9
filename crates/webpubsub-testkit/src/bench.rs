//! What the throughput benchmarks share: a local server and a timed loop.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// An HTTP/1.1 server on `127.0.0.1:0` that reads each request's body and answers 202 with an
/// empty body, as the service answers a send. Runs until the runtime stops.
pub async fn accepting_server() -> SocketAddr {
    serving(|_| async {
        let mut response = http::Response::new(Bytes::new());
        *response.status_mut() = http::StatusCode::ACCEPTED;
        response
    })
    .await
}

/// An HTTP/1.1 server on `127.0.0.1:0` answering each request (its body read whole) with
/// `answer`. Runs until the runtime stops.
pub async fn serving<F, Fut>(answer: F) -> SocketAddr
where
    F: Fn(http::Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Bytes>> + Send + 'static,
{
    let answer = Arc::new(answer);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let _ = stream.set_nodelay(true);
            let answer = answer.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let answer = answer.clone();
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let response = answer(http::Request::from_parts(parts, body)).await;
                        Ok::<_, Infallible>(response.map(Full::new))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// Calls `send` `total` times from `in_flight` tasks (each awaiting its calls one after
/// another) and returns the calls per second.
pub async fn calls_per_second<F, Fut>(total: usize, in_flight: usize, send: Arc<F>) -> f64
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

/// The median of `values` (sorted in place).
///
/// ```
/// let mut v = vec![3.0, 1.0, 2.0];
/// assert_eq!(webpubsub_testkit::bench::median(&mut v), 2.0);
/// ```
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
