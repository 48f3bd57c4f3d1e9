//! Quickstart: a client access URL, then a broadcast of JSON, text and binary, a group message and
//! a user message.
//!
//! ```text
//! WEBPUBSUB_CONNECTION_STRING="Endpoint=https://<name>.webpubsub.azure.com;AccessKey=<key>;Version=1.0;" \
//!     cargo run -p examples --example quickstart
//! ```
//!
//! Without `WEBPUBSUB_CONNECTION_STRING` it mints the client URL for the local development
//! endpoint and skips the service calls (the embedded emulator is not part of the workspace yet).

#![allow(clippy::print_stdout)] // an example reports on stdout

use webpubsub::{AccessKey, ClientAccessTokenOptions, Message, Role, WebPubSubServiceClient};

const HUB: &str = "quickstart";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let configured = examples::connection_string("quickstart");
    let connection_string = configured.clone().unwrap_or_else(|| {
        format!(
            "Endpoint=http://localhost:8080;AccessKey={};Version=1.0;",
            AccessKey::DEVELOPMENT
        )
    });
    let client = WebPubSubServiceClient::from_connection_string(&connection_string, HUB)?;

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
    println!("client URL for alice: {}", token.url);

    if configured.is_none() {
        return Ok(());
    }

    // 2. Broadcast in the three content types; a string sent as JSON stays a JSON string.
    client
        .send_to_all(
            Message::json(&serde_json::json!({"kind": "greeting", "text": "hello"}))?,
            None,
        )
        .await?;
    client
        .send_to_all(Message::text("hello as text"), None)
        .await?;
    client
        .send_to_all(Message::binary(vec![0xde, 0xad, 0xbe, 0xef]), None)
        .await?;

    // 3. A group and a user.
    client
        .group("lobby")
        .send(Message::text("hello, lobby"), None)
        .await?;
    client
        .send_to_user("alice", Message::text("hello, alice"), None)
        .await?;
    println!("sent: 3 broadcasts, 1 group message, 1 user message");
    Ok(())
}
