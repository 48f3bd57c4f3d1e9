//! List the connections in a group as a stream that follows the service's pages.
//!
//! ```text
//! WEBPUBSUB_CONNECTION_STRING=... cargo run -p examples --example list_connections [group]
//! ```

#![allow(clippy::print_stdout)] // an example reports on stdout

use futures_util::TryStreamExt as _;
use webpubsub::{ListConnectionsOptions, WebPubSubServiceClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(connection_string) = examples::connection_string("list_connections") else {
        return Ok(());
    };
    let client = WebPubSubServiceClient::from_connection_string(&connection_string, "chat")?;
    let group = std::env::args().nth(1).unwrap_or_else(|| "room-1".into());
    let mut members = client.list_connections_in_group(
        &group,
        Some(ListConnectionsOptions {
            max_page_size: Some(100),
            top: Some(1000),
        }),
    );
    let mut count = 0;
    while let Some(member) = members.try_next().await? {
        count += 1;
        println!("{} user={:?}", member.connection_id, member.user_id);
    }
    println!("{count} connection(s) in {group}");
    Ok(())
}
