//! Our client with the official packages, on the embedded emulator: it receives what the Python
//! service SDK (`azure-messaging-webpubsubservice` 1.3.0) sends to all, to a user, to a group and
//! to its connection, each typed; it receives what the JS client (`@azure/web-pubsub-client`
//! 1.1.0) sends to a group, and the JS client receives what ours sends.
//!
//! Python is `$WEBPUBSUB_TEST_PYTHON`, Node's packages `$WEBPUBSUB_TEST_NODE_PATH` (both set by
//! `cargo xtask test`); without them each test is skipped with a printed reason, unless
//! `WEBPUBSUB_REQUIRE_INTEROP=1`.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use webpubsub_client::*;
use webpubsub_emulator::Emulator;
use webpubsub_testkit::KillOnDrop;

mod common;
use common::{all_roles, fast, next, start, url};

const PYTHON_SENDER: &str = r#"
import sys
from azure.messaging.webpubsubservice import WebPubSubServiceClient
cs, connection_id = sys.argv[1], sys.argv[2]
service = WebPubSubServiceClient.from_connection_string(cs, hub="chat", retry_total=0)
service.send_to_all("to everyone", content_type="text/plain")
service.send_to_user("rusty", {"to": "user"})
service.send_to_group("room", b"\x00\x01\xff", content_type="application/octet-stream")
service.send_to_connection(connection_id, "to the connection", content_type="text/plain")
print("sent")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_python_service_sdk_sends_arrives_typed() {
    let Some(python) = webpubsub_testkit::python_with(&["azure.messaging.webpubsubservice"]) else {
        return;
    };
    let (emulator, service) = start(Emulator::builder()).await;
    let (client, mut events) =
        WebPubSubClient::new(url(&service, "rusty", all_roles()).await, fast());
    client.start().await.unwrap();
    let ClientEvent::Connected { connection_id, .. } = next(&mut events).await else {
        panic!()
    };
    client.join_group("room").await.unwrap();
    let cs = emulator.connection_string();
    let output = tokio::task::spawn_blocking(move || {
        let mut command = Command::new(python);
        command.args(["-c", PYTHON_SENDER, &cs, &connection_id]);
        webpubsub_testkit::stdout_of(command, "the Python service SDK")
    })
    .await
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&output).trim(), "sent");

    let mut received = Vec::new();
    while received.len() < 4 {
        match next(&mut events).await {
            ClientEvent::ServerMessage(m) => received.push(("server".to_owned(), m.data)),
            ClientEvent::GroupMessage(m) => received.push((m.group, m.data)),
            other => panic!("{other:?}"),
        }
    }
    let shown: Vec<(String, ContentType, Vec<u8>)> = received
        .into_iter()
        .map(|(from, data)| (from, data.content_type(), data.body().to_vec()))
        .collect();
    assert_eq!(
        shown,
        [
            (
                "server".to_owned(),
                ContentType::Text,
                b"to everyone".to_vec()
            ),
            (
                "server".to_owned(),
                ContentType::Json,
                br#"{"to": "user"}"#.to_vec()
            ),
            ("room".to_owned(), ContentType::Binary, vec![0, 1, 255]),
            (
                "server".to_owned(),
                ContentType::Text,
                b"to the connection".to_vec()
            ),
        ]
    );
    client.stop().await;
    emulator.shutdown().await;
}

const JS_CLIENT: &str = r#"
const { WebPubSubClient } = require('@azure/web-pubsub-client');
const out = (o) => console.log(JSON.stringify(o));
const client = new WebPubSubClient(process.argv[1]);
client.on('group-message', (e) => out({ group: e.message.group, from: e.message.fromUserId, data: e.message.data }));
(async () => {
  await client.start();
  await client.joinGroup('room');
  out({ ready: true });
  await client.sendToGroup('room', { from: 'js' }, 'json', { noEcho: true });
})().catch((e) => { out({ error: String(e && e.message || e) }); process.exit(1); });
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ours_and_the_official_js_client_talk_through_a_group() {
    let Some(node_path) = webpubsub_testkit::node_with(&["@azure/web-pubsub-client"]) else {
        return;
    };
    let (emulator, service) = start(Emulator::builder()).await;
    let (client, mut events) =
        WebPubSubClient::new(url(&service, "rusty", all_roles()).await, fast());
    client.start().await.unwrap();
    assert!(matches!(
        next(&mut events).await,
        ClientEvent::Connected { .. }
    ));
    client.join_group("room").await.unwrap();

    let js_url = url(&service, "jess", all_roles()).await;
    let mut node = KillOnDrop(
        Command::new("node")
            .args(["-e", JS_CLIENT, &js_url])
            .env("NODE_PATH", node_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts"),
    );
    let stdout = node.0.stdout.take().unwrap();
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str(&line) {
                let _ = lines_tx.send(value);
            }
        }
    });
    let mut line = async || {
        tokio::time::timeout(Duration::from_secs(20), lines.recv())
            .await
            .expect("the JS client printed in time")
            .expect("the JS client runs")
    };
    assert_eq!(line().await, serde_json::json!({"ready": true}));

    // The JS client's message reaches ours, typed JSON, from its user.
    let ClientEvent::GroupMessage(message) = next(&mut events).await else {
        panic!("the JS client's message")
    };
    assert_eq!(message.from_user_id.as_deref(), Some("jess"));
    assert_eq!(message.data.content_type(), ContentType::Json);
    assert_eq!(
        message.data.to_json::<Value>().unwrap(),
        serde_json::json!({"from": "js"})
    );

    // Ours reaches the JS client, in each content type.
    client
        .send_to_group(
            "room",
            Payload::text("from rust"),
            Some(SendToGroupOptions::no_echo()),
        )
        .await
        .unwrap();
    client
        .send_to_group(
            "room",
            Payload::json(&serde_json::json!({"n": 1})).unwrap(),
            Some(SendToGroupOptions::no_echo()),
        )
        .await
        .unwrap();
    assert_eq!(
        line().await,
        serde_json::json!({"group": "room", "from": "rusty", "data": "from rust"})
    );
    assert_eq!(
        line().await,
        serde_json::json!({"group": "room", "from": "rusty", "data": {"n": 1}})
    );
    client.stop().await;
    emulator.shutdown().await;
}
