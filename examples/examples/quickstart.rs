//! Quickstart: mint a client URL, connect a WebSocket client with it, then broadcast JSON, text
//! and binary, and send to a group and a user; the client prints what arrives.
//!
//! ```text
//! cargo run -p examples --example quickstart
//! WEBPUBSUB_CONNECTION_STRING="Endpoint=https://<name>.webpubsub.azure.com;AccessKey=<key>;Version=1.0;" \
//!     cargo run -p examples --example quickstart
//! ```
//!
//! Without `WEBPUBSUB_CONNECTION_STRING` it starts the embedded emulator on a free local port.

#![allow(clippy::print_stdout)] // an example reports on stdout

use std::time::Duration;

use futures_util::StreamExt as _;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message as Frame;
use webpubsub::{ClientAccessTokenOptions, Payload, Role, WebPubSubServiceClient};
use webpubsub_emulator::Emulator;

const HUB: &str = "quickstart";

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame, within 10 seconds.
async fn next(socket: &mut Socket) -> Result<String, String> {
    match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
        Ok(Some(Ok(Frame::Text(text)))) => Ok(text.to_string()),
        other => Err(format!("no message: {other:?}")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A real service when configured, the embedded emulator otherwise.
    let (connection_string, emulator) = match std::env::var("WEBPUBSUB_CONNECTION_STRING") {
        Ok(cs) if !cs.trim().is_empty() => (cs, None),
        _ => {
            let emulator = Emulator::builder().start().await?;
            println!("started the embedded emulator at {}", emulator.endpoint());
            (emulator.connection_string(), Some(emulator))
        }
    };
    let client = WebPubSubServiceClient::from_connection_string(&connection_string, HUB, None)?;

    // 1. What a browser or device needs to connect: a URL with a signed token.
    let token = client
        .get_client_access_token(Some(ClientAccessTokenOptions {
            user_id: Some("alice".into()),
            roles: vec![
                Role::join_leave_group_named("lobby"),
                Role::send_to_group_named("lobby"),
            ],
            groups: vec!["lobby".into()],
            ..Default::default()
        }))
        .await?;
    println!("client URL for alice: {}?access_token=...", token.base_url);

    // 2. Connect a WebSocket client with the JSON subprotocol.
    let mut request = token.url.as_str().into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "json.webpubsub.azure.v1".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    println!("alice got: {}", next(&mut socket).await?);

    // 3. Broadcast in the three content types; a string sent as JSON stays a JSON string.
    client
        .send_to_all(
            Payload::json(&serde_json::json!({"kind": "greeting", "text": "hello"}))?,
            None,
        )
        .await?;
    client
        .send_to_all(Payload::text("hello as text"), None)
        .await?;
    client
        .send_to_all(Payload::binary(vec![0xde, 0xad, 0xbe, 0xef]), None)
        .await?;
    // 4. A group (alice joined "lobby" through her token) and a user.
    client
        .group("lobby")
        .send(Payload::text("hello, lobby"), None)
        .await?;
    client
        .send_to_user("alice", Payload::text("hello, alice"), None)
        .await?;
    for _ in 0..5 {
        println!("alice got: {}", next(&mut socket).await?);
    }

    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    Ok(())
}
