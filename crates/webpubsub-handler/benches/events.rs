//! Handler throughput: user events verified (ce-signature, two keys) and answered per second,
//! in process, and the share of that time spent on the signature check.
//!
//! `cargo bench -p webpubsub-handler --bench events`

#![allow(clippy::print_stdout, missing_docs)] // a benchmark reports on stdout

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use webpubsub_auth::{event_signature, verify_event_signature, AccessKey};
use webpubsub_handler::{
    EventContext, EventHandler, HandlerOptions, UserEvent, UserEventResponse, WebPubSubEventHandler,
};

struct Echo;

impl EventHandler for Echo {
    async fn user_event(&self, _ctx: &mut EventContext, event: UserEvent) -> UserEventResponse {
        UserEventResponse::Reply(event.data)
    }
}

fn request(signature: &str) -> http::Request<Bytes> {
    http::Request::post("/eventhandler")
        .header("content-type", "application/json")
        .header("WebHook-Request-Origin", "xxx.webpubsub.azure.com")
        .header("ce-specversion", "1.0")
        .header("ce-type", "azure.webpubsub.user.message")
        .header("ce-source", "/hubs/chat/client/conn1")
        .header("ce-id", "1")
        .header("ce-signature", signature)
        .header("ce-userId", "user1")
        .header("ce-connectionId", "conn1")
        .header("ce-hub", "chat")
        .header("ce-eventName", "message")
        .header("ce-awpsversion", "1.0")
        .body(Bytes::from_static(br#"{"text":"hello, handler"}"#))
        .unwrap()
}

fn main() {
    let keys = vec![
        AccessKey::new("primary-key"),
        AccessKey::new("secondary-key"),
    ];
    let signature = event_signature("conn1", &keys);
    let handler = WebPubSubEventHandler::new("chat", HandlerOptions::new(keys.clone()), Echo);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    const N: u32 = 50_000;
    let mut best_rate: f64 = 0.0;
    let mut best_verify: f64 = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        runtime.block_on(async {
            for _ in 0..N {
                let response = handler.handle(request(&signature)).await;
                assert_eq!(response.status(), 200);
                black_box(response);
            }
        });
        best_rate = best_rate.max(f64::from(N) / start.elapsed().as_secs_f64());
        let start = Instant::now();
        for _ in 0..N {
            black_box(verify_event_signature(
                black_box(&signature),
                "conn1",
                &keys,
            ))
            .unwrap();
        }
        best_verify = best_verify.min(start.elapsed().as_secs_f64() / f64::from(N));
    }
    println!(
        "handler: {best_rate:.0} user events verified and answered per second (one core); signature check {:.1} us of {:.1} us per event",
        best_verify * 1e6,
        1e6 / best_rate
    );
}
