//! Handler throughput, two ways:
//!
//! 1. In process: user events verified (`ce-signature`, two keys) and answered per second, and the
//!    share of that time spent on the signature check.
//! 2. Over HTTP on loopback, beside the official express handler in the same run: the same signed
//!    user events POSTed by one client (16 in flight) to our handler with verification, to ours
//!    without it (express checks no signature, so this is the like-for-like figure), and to
//!    `@azure/web-pubsub-express` 1.1.0 on express 4 (Node), in rounds that alternate the order;
//!    the median per-round rates and ratios. Express needs `WEBPUBSUB_TEST_NODE_PATH` (set by
//!    `cargo xtask bench`); without it that part is skipped, saying so.
//!
//! `cargo bench -p webpubsub-handler --bench events`

#![allow(clippy::print_stdout, missing_docs)] // a benchmark reports on stdout

use std::hint::black_box;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use webpubsub_auth::{event_signature, verify_event_signature, AccessKey};
use webpubsub_handler::{
    EventContext, EventHandler, HandlerOptions, UserEvent, UserEventResponse, WebPubSubEventHandler,
};
use webpubsub_testkit::bench::{calls_per_second, median, serving};
use webpubsub_testkit::KillOnDrop;
use webpubsub_transport::{HttpClient, HyperClient, HyperClientOptions};

struct Echo;

impl EventHandler for Echo {
    async fn user_event(&self, _ctx: &mut EventContext, event: UserEvent) -> UserEventResponse {
        UserEventResponse::Reply(event.data)
    }
}

const BODY: &[u8] = br#"{"text":"hello, handler"}"#;

fn request(uri: &str, signature: &str) -> http::Request<Bytes> {
    http::Request::post(uri)
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
        .body(Bytes::from_static(BODY))
        .unwrap()
}

fn keys() -> Vec<AccessKey> {
    vec![
        AccessKey::new("primary-key"),
        AccessKey::new("secondary-key"),
    ]
}

fn in_process() {
    let keys = keys();
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
                let response = handler.handle(request("/eventhandler", &signature)).await;
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
        "handler in process: {best_rate:.0} user events verified and answered per second (one core); signature check {:.1} us of {:.1} us per event",
        best_verify * 1e6,
        1e6 / best_rate
    );
}

const EXPRESS_APP: &str = r#"
const express = require('express');
const { WebPubSubEventHandler } = require('@azure/web-pubsub-express');
const handler = new WebPubSubEventHandler('chat', {
  path: '/eventhandler',
  handleUserEvent: (req, res) => res.success(JSON.stringify(req.data), 'json'),
});
const app = express();
app.use(handler.getMiddleware());
const server = app.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
"#;

fn express() -> Option<(KillOnDrop, SocketAddr)> {
    let node_path = webpubsub_testkit::node_with(&["@azure/web-pubsub-express", "express"])?;
    let mut child = Command::new("node")
        .args(["-e", EXPRESS_APP])
        .env("NODE_PATH", node_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    let port = serde_json::from_str::<serde_json::Value>(&line).ok()?["port"].as_u64()?;
    Some((
        KillOnDrop(child),
        SocketAddr::from(([127, 0, 0, 1], port as u16)),
    ))
}

async fn ours(verify: bool) -> SocketAddr {
    let mut options = HandlerOptions::new(keys());
    options.verify_signature = verify;
    let handler = Arc::new(WebPubSubEventHandler::new("chat", options, Echo));
    serving(move |request| {
        let handler = handler.clone();
        async move { handler.handle(request).await }
    })
    .await
}

async fn rate(client: &Arc<HyperClient>, addr: SocketAddr, signature: &str, total: usize) -> f64 {
    let request = Arc::new(request(&format!("http://{addr}/eventhandler"), signature));
    let client = client.clone();
    calls_per_second(
        total,
        16,
        Arc::new(move || {
            let (client, request) = (client.clone(), request.clone());
            async move {
                let response = client.execute(&request).await.unwrap();
                assert_eq!(response.status(), 200);
                assert_eq!(response.body().as_ref(), BODY);
            }
        }),
    )
    .await
}

fn over_http() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let express = express();
    runtime.block_on(async {
        let signature = event_signature("conn1", &keys());
        let client = Arc::new(HyperClient::new(HyperClientOptions::default()).unwrap());
        let verified = ours(true).await;
        let unverified = ours(false).await;
        const ROUNDS: usize = 7;
        const TOTAL: usize = 4_000;
        // Warm-up: connections open, JIT warm.
        for addr in [Some(verified), Some(unverified), express.as_ref().map(|e| e.1)]
            .into_iter()
            .flatten()
        {
            rate(&client, addr, &signature, 800).await;
        }
        let (mut ours_v, mut ours_u, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
        let (mut ratio_v, mut ratio_u) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let measure = |addr| rate(&client, addr, &signature, TOTAL);
            let (v, u, e) = match (&express, round % 2) {
                (Some((_, e)), 0) => {
                    let e = measure(*e).await;
                    (measure(verified).await, measure(unverified).await, Some(e))
                }
                (Some((_, e)), _) => {
                    let v = measure(verified).await;
                    let u = measure(unverified).await;
                    (v, u, Some(measure(*e).await))
                }
                (None, _) => (measure(verified).await, measure(unverified).await, None),
            };
            ours_v.push(v);
            ours_u.push(u);
            if let Some(e) = e {
                theirs.push(e);
                ratio_v.push(v / e);
                ratio_u.push(u / e);
            }
        }
        println!(
            "handler over HTTP (16 in flight, median of {ROUNDS} rounds): ours verified {:.0}/s, ours unverified {:.0}/s",
            median(&mut ours_v),
            median(&mut ours_u)
        );
        if theirs.is_empty() {
            println!("handler over HTTP: express SKIPPED (set WEBPUBSUB_TEST_NODE_PATH, or run `cargo xtask bench`)");
        } else {
            println!(
                "handler over HTTP: @azure/web-pubsub-express 1.1.0 {:.0}/s; ours verified {:.2}x, ours unverified {:.2}x express (median per-round ratios)",
                median(&mut theirs),
                median(&mut ratio_v),
                median(&mut ratio_u)
            );
        }
    });
}

fn main() {
    in_process();
    over_http();
}
