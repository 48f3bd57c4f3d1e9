//! The official JS WebSocket client `@azure/web-pubsub-client` 1.1.0 against the emulator,
//! through a loopback proxy that can cut or black-hole its connection: reliable join, send and
//! receive, `invokeEvent` answered by our handler, recovery after a cut and after a black hole
//! with nothing lost or repeated, and the close a REST call makes.
//!
//! Node finds the package through `$WEBPUBSUB_TEST_NODE_PATH` (set by `cargo xtask test`);
//! without it the test is skipped with a printed reason, unless `WEBPUBSUB_REQUIRE_INTEROP=1`.

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use webpubsub::{AccessKey, ClientAccessTokenOptions, Payload, Role, WebPubSubServiceClient};
use webpubsub_emulator::{Emulator, EventHandlerSettings};
use webpubsub_handler::{
    serve_hyper, EventContext, EventHandler, HandlerOptions, UserEvent, UserEventResponse,
    WebPubSubEventHandler,
};
use webpubsub_testkit::proxy::FaultProxy;
use webpubsub_testkit::KillOnDrop;

const CLIENT_SCRIPT: &str = r#"
const { WebPubSubClient } = require('@azure/web-pubsub-client');
const readline = require('readline');
const out = (o) => console.log(JSON.stringify(o));
const client = new WebPubSubClient(process.argv[1], { keepAliveIntervalInMs: 200, keepAliveTimeoutInMs: 1500 });
client.on('connected', (e) => out({ event: 'connected', connectionId: e.connectionId }));
client.on('disconnected', (e) => out({ event: 'disconnected', message: e.message && e.message.message }));
client.on('stopped', () => out({ event: 'stopped' }));
client.on('group-message', (e) => out({ event: 'group', group: e.message.group, data: e.message.data }));
client.on('server-message', (e) => out({ event: 'server', data: e.message.data }));
(async () => {
  await client.start();
  await client.joinGroup('room');
  await client.sendToGroup('room', 'hello from js', 'text');
  const answer = await client.invokeEvent('add', '1+1', 'text');
  out({ event: 'invoked', data: answer.data });
  out({ event: 'ready' });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line === 'stop') { client.stop(); }
  }
})().catch((e) => { out({ event: 'error', message: String(e && e.message || e) }); process.exit(1); });
"#;

struct App;

impl EventHandler for App {
    async fn user_event(&self, _ctx: &mut EventContext, event: UserEvent) -> UserEventResponse {
        let text = event.data.as_text().unwrap_or_default().to_owned();
        UserEventResponse::Reply(Payload::text(format!("{} = 2", text)))
    }
}

async fn line(lines: &mut mpsc::UnboundedReceiver<Value>, what: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(20), lines.recv())
        .await
        .unwrap_or_else(|_| panic!("no {what} from the JS client within 20 s"))
        .unwrap_or_else(|| panic!("the JS client ended before {what}"))
}

/// Reads group messages until `want` distinct ones arrived; fails on a repeat or a `connected`.
async fn group_messages(lines: &mut mpsc::UnboundedReceiver<Value>, want: &[String]) {
    let mut seen = Vec::new();
    while seen.len() < want.len() {
        let event = line(lines, "the group messages").await;
        match event["event"].as_str() {
            Some("group") => {
                let data = event["data"].as_str().unwrap().to_owned();
                assert!(!seen.contains(&data), "{data} delivered twice");
                seen.push(data);
            }
            Some("connected") => panic!("a recovery must not raise a second connected: {event}"),
            _ => {}
        }
    }
    assert_eq!(seen, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_js_client_survives_cuts_and_black_holes() {
    let Some(node_path) = webpubsub_testkit::node_with(&["@azure/web-pubsub-client"]) else {
        return;
    };
    let app = Arc::new(WebPubSubEventHandler::new(
        "chat",
        HandlerOptions::new([AccessKey::new(AccessKey::DEVELOPMENT)]),
        App,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handler_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve_hyper(listener, app));
    let emulator = Emulator::builder()
        // The client reaches the emulator through the proxy, under the proxy's address.
        .ignore_audience_host(true)
        .event_handler(
            "chat",
            EventHandlerSettings {
                url_template: format!("http://{handler_addr}/eventhandler"),
                user_event_pattern: "*".into(),
                system_events: Vec::new(),
            },
        )
        .start()
        .await
        .unwrap();
    let proxy = FaultProxy::start(emulator.local_addr()).await;
    let ours =
        WebPubSubServiceClient::from_connection_string(&emulator.connection_string(), "chat", None)
            .unwrap();
    let url = ours
        .get_client_access_token(Some(ClientAccessTokenOptions {
            user_id: Some("js".into()),
            roles: vec![Role::join_leave_group(), Role::send_to_group()],
            ..Default::default()
        }))
        .await
        .unwrap()
        .url;
    let url = common::through(&url, &emulator, proxy.local_addr());

    let mut node = KillOnDrop(
        Command::new("node")
            .args(["-e", CLIENT_SCRIPT, &url])
            .env("NODE_PATH", &node_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts"),
    );
    let mut stdin: ChildStdin = node.0.stdin.take().unwrap();
    let stdout = node.0.stdout.take().unwrap();
    let (tx, mut lines) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for text in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                if tx.send(value).is_err() {
                    return;
                }
            }
        }
    });

    let connected = line(&mut lines, "connected").await;
    assert_eq!(connected["event"], "connected", "{connected}");
    let id = connected["connectionId"].as_str().unwrap().to_owned();
    let mut echo = line(&mut lines, "its own group message").await;
    assert_eq!(
        echo,
        json!({"event": "group", "group": "room", "data": "hello from js"})
    );
    echo = line(&mut lines, "the invocation").await;
    assert_eq!(echo, json!({"event": "invoked", "data": "1+1 = 2"}));
    assert_eq!(line(&mut lines, "ready").await["event"], "ready");

    // Cut: messages sent while the client is away arrive once each, after its recovery.
    let room = ours.group("room");
    room.send(Payload::text("c1"), None).await.unwrap();
    proxy.cut();
    for n in 2..=5 {
        room.send(Payload::text(format!("c{n}")), None)
            .await
            .unwrap();
    }
    let want: Vec<String> = (1..=5).map(|n| format!("c{n}")).collect();
    group_messages(&mut lines, &want).await;

    // Black hole: nothing passes and the sockets stay open; the client's keep-alive notices,
    // and it recovers the session once the network is back.
    proxy.stall();
    for n in 1..=5 {
        room.send(Payload::text(format!("s{n}")), None)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    proxy.cut(); // the stalled sockets die, as a half-open connection finally does
    proxy.resume();
    let want: Vec<String> = (1..=5).map(|n| format!("s{n}")).collect();
    group_messages(&mut lines, &want).await;
    assert!(
        ours.connection_exists(&id, None).await.unwrap(),
        "the same session"
    );

    // A REST close: the client hears the reason, cannot recover (1008) and starts anew.
    let close = webpubsub::CloseConnectionOptions {
        reason: Some("maintenance".into()),
    };
    ours.close_connection(&id, Some(close)).await.unwrap();
    let mut saw_reason = false;
    let fresh = loop {
        let event = line(&mut lines, "a new connection").await;
        match event["event"].as_str() {
            Some("disconnected") => saw_reason |= event["message"] == "maintenance",
            Some("connected") => break event["connectionId"].as_str().unwrap().to_owned(),
            _ => {}
        }
    };
    assert!(saw_reason, "the close reason reached the client");
    assert_ne!(fresh, id);

    writeln!(stdin, "stop").unwrap();
    loop {
        if line(&mut lines, "stopped").await["event"] == "stopped" {
            break;
        }
    }
    emulator.shutdown().await;
    server.abort();
    drop(node);
}
