//! What the emulator's test files share: a started emulator with a service client, WebSocket
//! clients and bounded waits.

#![allow(dead_code)] // each test file uses its own part

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use webpubsub::{ClientAccessTokenOptions, Role, WebPubSubServiceClient};
use webpubsub_emulator::{Emulator, EmulatorBuilder};

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Starts `builder` and a service client for hub `chat`.
pub(crate) async fn start(builder: EmulatorBuilder) -> (Emulator, WebPubSubServiceClient) {
    let emulator = builder.start().await.unwrap();
    let client =
        WebPubSubServiceClient::from_connection_string(&emulator.connection_string(), "chat", None)
            .unwrap();
    (emulator, client)
}

/// A client URL for `user` (or anonymous) with `roles`.
pub(crate) async fn token(
    client: &WebPubSubServiceClient,
    user: Option<&str>,
    roles: Vec<Role>,
) -> String {
    client
        .get_client_access_token(Some(ClientAccessTokenOptions {
            user_id: user.map(str::to_owned),
            roles,
            ..Default::default()
        }))
        .await
        .unwrap()
        .url
}

/// `url` with the emulator's address replaced by `proxy`'s (tokens then need
/// `ignore_audience_host`).
pub(crate) fn through(url: &str, emulator: &Emulator, proxy: SocketAddr) -> String {
    url.replace(&emulator.local_addr().to_string(), &proxy.to_string())
}

/// Connects offering `protocol`, and checks it was echoed.
pub(crate) async fn connect(url: &str, protocol: Option<&str>) -> Socket {
    let mut request = url.into_client_request().unwrap();
    if let Some(protocol) = protocol {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().unwrap());
    }
    let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        protocol,
        "the chosen subprotocol is echoed"
    );
    socket
}

/// A `json.webpubsub.azure.v1` client for `user` and its connection id.
pub(crate) async fn json_client(
    client: &WebPubSubServiceClient,
    user: &str,
    roles: Vec<Role>,
) -> (Socket, String) {
    let url = token(client, Some(user), roles).await;
    let mut socket = connect(&url, Some("json.webpubsub.azure.v1")).await;
    let id = next_json(&mut socket).await["connectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    (socket, id)
}

pub(crate) async fn next(socket: &mut Socket) -> Ws {
    tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a frame within 5 s")
        .expect("the socket is open")
        .unwrap()
}

pub(crate) async fn next_json(socket: &mut Socket) -> Value {
    match next(socket).await {
        Ws::Text(text) => serde_json::from_str(text.as_str()).unwrap(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

pub(crate) async fn send_json(socket: &mut Socket, value: Value) {
    socket.send(Ws::text(value.to_string())).await.unwrap();
}

/// Waits (at most 5 s) until `check` holds.
pub(crate) async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 5 s");
}

/// Waits until the connection is gone.
pub(crate) async fn gone(client: &WebPubSubServiceClient, id: &str, what: &str) {
    eventually(what, async || {
        !client.connection_exists(id, None).await.unwrap()
    })
    .await;
}
