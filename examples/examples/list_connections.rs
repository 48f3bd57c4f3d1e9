//! List the connections in a group as a stream that follows the service's pages.
//!
//! ```text
//! cargo run -p examples --example list_connections                           # embedded emulator
//! WEBPUBSUB_CONNECTION_STRING=... cargo run -p examples --example list_connections [group]
//! ```
//!
//! On the embedded emulator it first connects three clients into the group, two per page.

#![allow(clippy::print_stdout)] // an example reports on stdout

use futures_util::TryStreamExt as _;
use webpubsub::{ListConnectionsOptions, WebPubSubServiceClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (connection_string, emulator) =
        examples::connection_string_or_emulator("list_connections").await?;
    let client = WebPubSubServiceClient::from_connection_string(&connection_string, "chat", None)?;
    let group = std::env::args().nth(1).unwrap_or_else(|| "room-1".into());
    let mut clients = Vec::new();
    if emulator.is_some() {
        for user in ["ann", "ben", "cat"] {
            let options = webpubsub::ClientAccessTokenOptions {
                user_id: Some(user.into()),
                groups: vec![group.clone()],
                ..Default::default()
            };
            let url = client.get_client_access_token(Some(options)).await?.url;
            clients.push(examples::connect_client(&url).await?);
        }
    }
    let mut members = client.list_connections_in_group(
        &group,
        Some(ListConnectionsOptions {
            max_page_size: Some(100),
            top: Some(1000),
            ..Default::default()
        }),
    );
    let mut count = 0;
    while let Some(member) = members.try_next().await? {
        count += 1;
        println!("{} user={:?}", member.connection_id, member.user_id);
    }
    println!("{count} connection(s) in {group}");
    drop(clients);
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    Ok(())
}
