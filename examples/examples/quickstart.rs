//! Quickstart: mint a client URL, connect a WebSocket client (`webpubsub-client`) with it, then
//! broadcast JSON, text and binary, and send to a group and a user; the client prints what
//! arrives.
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

use webpubsub::{ClientAccessTokenOptions, Payload, Role, WebPubSubServiceClient};
use webpubsub_client::{ClientEvent, ClientEvents, WebPubSubClient, WebPubSubClientOptions};
use webpubsub_emulator::Emulator;

const HUB: &str = "quickstart";

/// A message's type and content.
fn show(data: &Payload) -> String {
    match data.as_text() {
        Some(text) => format!("{:?} {text}", data.content_type()),
        None => format!("{:?} {:02x?}", data.content_type(), data.body()),
    }
}

/// The next message, as the client typed it, within 10 seconds.
async fn next(events: &mut ClientEvents) -> Result<String, String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.next()).await {
            Ok(Some(ClientEvent::ServerMessage(m))) => {
                return Ok(format!("{} from the server", show(&m.data)))
            }
            Ok(Some(ClientEvent::GroupMessage(m))) => {
                return Ok(format!("{} in {}", show(&m.data), m.group))
            }
            Ok(Some(ClientEvent::Connected {
                connection_id,
                user_id,
            })) => {
                println!("connected as {connection_id} ({user_id:?})")
            }
            Ok(Some(_)) => {}
            other => return Err(format!("no message: {other:?}")),
        }
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

    // 2. Connect a WebSocket client (the reliable JSON subprotocol by default).
    let (alice, mut events) = WebPubSubClient::new(token.url, WebPubSubClientOptions::default());
    alice.start().await?;

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
        println!("alice got {}", next(&mut events).await?);
    }
    alice.stop().await;

    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    Ok(())
}
