//! Running out of file descriptors does not make `serve_hyper`'s accept loop spin, and it
//! serves again once descriptors are back. Its own test process: it lowers the process's limit.

use std::sync::Arc;
use std::time::Duration;

use webpubsub_auth::AccessKey;
use webpubsub_handler::*;

struct App;
impl EventHandler for App {}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_file_descriptors_does_not_spin_the_accept_loop() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(WebPubSubEventHandler::new(
        "chat",
        HandlerOptions::new([AccessKey::new("k")]),
        App,
    ));
    let _server = tokio::spawn(serve_hyper(listener, handler));
    let used = webpubsub_testkit::descriptors::idle_cpu_at_descriptor_limit(addr).await;
    assert!(
        used < Duration::from_millis(300),
        "the process used {used:?} of CPU in one idle second at the descriptor limit"
    );
    let validation = b"OPTIONS /eventhandler HTTP/1.1\r\nHost: x\r\nWebHook-Request-Origin: x\r\nConnection: close\r\n\r\n";
    let answer = webpubsub_testkit::slow_http::exchange(addr, validation, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 "), "served again: {answer}");
}
