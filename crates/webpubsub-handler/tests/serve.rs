//! `serve_hyper` faces the internet: slow request heads and bodies are cut off, a declared body
//! over the cap is refused at once, and a shutdown lets the requests in flight finish.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use webpubsub_auth::{event_signature, AccessKey};
use webpubsub_handler::*;
use webpubsub_testkit::slow_http::{
    exchange, partial_heads_are_closed, read_until_closed, status_before_body,
};

const KEY: &str = "serve-test-key";

/// Echoes user events, slowly.
struct Slow;

impl EventHandler for Slow {
    async fn user_event(&self, _ctx: &mut EventContext, event: UserEvent) -> UserEventResponse {
        tokio::time::sleep(Duration::from_millis(500)).await;
        UserEventResponse::Reply(event.data)
    }
}

async fn serve(
    options: ServeOptions,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(WebPubSubEventHandler::new(
        "chat",
        HandlerOptions::new([AccessKey::new(KEY)]),
        Slow,
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_hyper_with(listener, handler, options, async {
        let _ = stopped.await;
    }));
    (addr, stop, server)
}

/// A signed user event, as raw HTTP/1.1.
fn user_event(body: &str) -> String {
    format!(
        "POST /eventhandler HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         WebHook-Request-Origin: x.webpubsub.azure.com\r\nce-specversion: 1.0\r\n\
         ce-type: azure.webpubsub.user.echo\r\nce-source: /hubs/chat/client/c1\r\nce-id: 1\r\n\
         ce-time: 2021-01-01T00:00:00Z\r\nce-signature: {}\r\nce-connectionId: c1\r\nce-hub: chat\r\n\
         ce-eventName: echo\r\nce-awpsversion: 1.0\r\nConnection: close\r\n\r\n{body}",
        body.len(),
        event_signature("c1", &[AccessKey::new(KEY)])
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_huge_bodies_refused_at_once() {
    let mut options = ServeOptions::default();
    options.request_timeout = Duration::from_millis(500);
    let (addr, _stop, _server) = serve(options).await;
    // 500 connections holding a partial head: all closed within the timeout.
    let started = Instant::now();
    let head = b"POST /eventhandler HTTP/1.1\r\nHost: x\r\n";
    assert!(
        partial_heads_are_closed(addr, 500, head, Duration::from_secs(5)).await,
        "a partial head was kept open"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // A body that stops halfway: 408.
    let request = user_event("0123456789");
    let stalled = &request.as_bytes()[..request.len() - 5];
    let answer = exchange(addr, stalled, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A declared 10 GB body: 413 before any of it is sent.
    let huge = b"POST /eventhandler HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n";
    let status = status_before_body(addr, huge, Duration::from_secs(2)).await;
    assert_eq!(status.as_deref(), Some("HTTP/1.1 413"), "answered at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_finishes_the_requests_in_flight_then_stops() {
    let (addr, stop, server) = serve(ServeOptions::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(user_event("hello").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await; // the handler is now sleeping
    stop.send(()).unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"),
        "{answer}"
    );
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serving ends after the shutdown")
        .unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}
