//! The official JS packages with the emulator: the emulator's events drive an express app using
//! `@azure/web-pubsub-express` 1.1.0 (its replies must take effect), and the JS service SDK
//! (`@azure/web-pubsub` 1.2.0) sends to clients connected to the emulator.
//!
//! Node finds the packages through `$WEBPUBSUB_TEST_NODE_PATH` (set by `cargo xtask test`);
//! without them the test is skipped with a printed reason, unless `WEBPUBSUB_REQUIRE_INTEROP=1`.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message as Ws;
use webpubsub::{ClientAccessTokenOptions, WebPubSubServiceClient};
use webpubsub_emulator::{Emulator, EventHandlerSettings};
use webpubsub_testkit::KillOnDrop;

const EXPRESS_APP: &str = r#"
const express = require('express');
const { WebPubSubEventHandler } = require('@azure/web-pubsub-express');
const handler = new WebPubSubEventHandler('chat', {
  path: '/eventhandler',
  handleConnect: (req, res) => {
    const name = req.queries && req.queries.name ? req.queries.name[0] : undefined;
    if (name === 'intruder') { res.fail(401, 'not you'); return; }
    res.setState('greeted', name || 'nobody');
    res.success({ userId: name, groups: ['lobby'] });
  },
  handleUserEvent: (req, res) => {
    res.success(`js saw ${req.context.eventName} from ${req.context.userId} (${req.context.states.greeted}): ${req.data}`, 'text');
  },
  onGroupJoined: (req) => console.log(JSON.stringify({ joined: req.group, user: req.context.userId })),
  onGroupLeft: (req) => console.log(JSON.stringify({ left: req.group, user: req.context.userId })),
});
const app = express();
app.use(handler.getMiddleware());
const server = app.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
"#;

const SERVICE_SCRIPT: &str = r#"
const { WebPubSubServiceClient } = require('@azure/web-pubsub');
(async () => {
  const client = new WebPubSubServiceClient(process.argv[1], 'chat', { allowInsecureConnection: true });
  await client.sendToAll('from the JS SDK', { contentType: 'text/plain' });
  await client.group('lobby').sendToAll({ js: true });
  const exists = await client.userExists('zed');
  const groupExists = await client.groupExists('lobby');
  const token = await client.getClientAccessToken({ userId: 'js-user' });
  console.log(JSON.stringify({ exists, groupExists, url: token.url }));
})().catch(e => { console.error(e); process.exit(1); });
"#;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(socket: &mut Socket) -> Value {
    match tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    {
        Ws::Text(text) => serde_json::from_str(text.as_str()).unwrap(),
        other => panic!("{other:?}"),
    }
}

async fn connect(url: &str) -> Socket {
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "json.webpubsub.azure.v1".parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// The next line express printed.
async fn printed(lines: &mut tokio::sync::mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(10), lines.recv())
        .await
        .expect("express printed in time")
        .expect("express is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_js_packages_work_with_the_emulator() {
    let Some(node_path) = webpubsub_testkit::node_with(&[
        "@azure/web-pubsub",
        "@azure/web-pubsub-express",
        "express",
    ]) else {
        return;
    };
    let mut app = KillOnDrop(
        Command::new("node")
            .args(["-e", EXPRESS_APP])
            .env("NODE_PATH", &node_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts"),
    );
    // Every line express prints (its port first, then what its callbacks saw).
    let stdout = app.0.stdout.take().unwrap();
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if let Ok(value) = serde_json::from_str(&line) {
                let _ = lines_tx.send(value);
            }
        }
    });
    let port = printed(&mut lines).await["port"].as_u64().unwrap();

    let emulator = Emulator::builder()
        .event_handler(
            "chat",
            EventHandlerSettings {
                url_template: format!("http://127.0.0.1:{port}/eventhandler"),
                user_event_pattern: "*".into(),
                system_events: ["connect", "connected", "disconnected", "joined", "left"]
                    .map(String::from)
                    .to_vec(),
            },
        )
        .start()
        .await
        .unwrap();
    let ours =
        WebPubSubServiceClient::from_connection_string(&emulator.connection_string(), "chat", None)
            .unwrap();
    let url = ours
        .get_client_access_token(Some(ClientAccessTokenOptions::default()))
        .await
        .unwrap()
        .url;

    // express's connect answer names the user, joins "lobby" and sets state.
    let mut zed = connect(&format!("{url}&name=zed")).await;
    assert_eq!(next_json(&mut zed).await["userId"], "zed");
    assert!(ours.group_exists("lobby", None).await.unwrap());
    // express's user-event answer comes back, and it saw the state its connect answer set.
    zed.send(Ws::text(
        json!({"type": "event", "event": "say", "ackId": 1, "dataType": "text", "data": "hello"})
            .to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(
        next_json(&mut zed).await["data"],
        "js saw say from zed (zed): hello"
    );
    assert_eq!(next_json(&mut zed).await["success"], true);
    // The emulator's group events reach express's onGroupJoined / onGroupLeft.
    ours.add_user_to_group("extra", "zed", None).await.unwrap();
    assert_eq!(
        printed(&mut lines).await,
        json!({"joined": "extra", "user": "zed"})
    );
    ours.remove_user_from_group("extra", "zed", None)
        .await
        .unwrap();
    assert_eq!(
        printed(&mut lines).await,
        json!({"left": "extra", "user": "zed"})
    );
    // express refusing the connect refuses the upgrade.
    match tokio_tungstenite::connect_async(format!("{url}&name=intruder"))
        .await
        .unwrap_err()
    {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 401),
        other => panic!("{other:?}"),
    }

    // The JS service SDK against the emulator.
    let cs = emulator.connection_string();
    let node_path_for_sdk = node_path.clone();
    let stdout = tokio::task::spawn_blocking(move || {
        let mut command = Command::new("node");
        command
            .args(["-e", SERVICE_SCRIPT, &cs])
            .env("NODE_PATH", node_path_for_sdk);
        webpubsub_testkit::stdout_of(command, "the JS service SDK")
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(report["exists"], true);
    assert_eq!(report["groupExists"], true);
    assert_eq!(
        next_json(&mut zed).await,
        json!({"type": "message", "from": "server", "dataType": "text", "data": "from the JS SDK"})
    );
    assert_eq!(
        next_json(&mut zed).await,
        json!({"type": "message", "from": "group", "group": "lobby", "dataType": "json", "data": {"js": true}})
    );
    // A client URL minted by the JS SDK connects (express keeps the token's user).
    let mut js_user = connect(report["url"].as_str().unwrap()).await;
    assert_eq!(next_json(&mut js_user).await["userId"], "js-user");
    emulator.shutdown().await;
    drop(app);
}
