//! Groups and permissions: add and remove users and connections, grant and check permissions,
//! and move connections between groups with an OData filter.
//!
//! ```text
//! cargo run -p examples --example groups_and_permissions                     # embedded emulator
//! WEBPUBSUB_CONNECTION_STRING=... cargo run -p examples --example groups_and_permissions [connection-id]
//! ```
//!
//! On the embedded emulator it connects a client of its own to have a connection to work with.

#![allow(clippy::print_stdout)] // an example reports on stdout

use webpubsub::{
    Filter, GroupsFilterOptions, Payload, Permission, PermissionOptions, WebPubSubServiceClient,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (connection_string, emulator) =
        examples::connection_string_or_emulator("groups_and_permissions").await?;
    let client = WebPubSubServiceClient::from_connection_string(&connection_string, "chat", None)?;
    // On the emulator: a client of our own to work with.
    let mut own = None;
    if emulator.is_some() {
        let url = client
            .get_client_access_token(Some(webpubsub::ClientAccessTokenOptions {
                user_id: Some("listener-1".into()),
                ..Default::default()
            }))
            .await?
            .url;
        own = Some(
            examples::connect_client(&url)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let room = client.group("room-1");

    // Users: the user's current connections join the group (404 when it has none).
    match room.add_user("listener-1", None).await {
        Err(e) if e.is_not_found() => println!("listener-1 has no connection"),
        other => other?,
    }
    println!("room-1 has connections: {}", room.exists(None).await?);

    // Connections by filter: everyone whose user id starts with "listener-" joins "news".
    let listeners = Filter::starts_with(Filter::user_id(), "listener-");
    client
        .add_connections_to_groups(
            &["news"],
            Some(GroupsFilterOptions {
                filter: Some(listeners.clone()),
            }),
        )
        .await?;
    client
        .send_to_group("news", Payload::text("breaking"), None)
        .await?;

    // One connection: join, permission to publish to the group, check, revoke.
    let connection_id = std::env::args()
        .nth(1)
        .or_else(|| own.as_ref().map(|(_, id)| id.clone()));
    if let Some(connection_id) = connection_id {
        match room.add_connection(&connection_id, None).await {
            Err(e) if e.is_not_found() => println!("connection {connection_id} is not connected"),
            other => other?,
        }
        let target = || {
            Some(PermissionOptions {
                target_name: Some("room-1".into()),
            })
        };
        client
            .grant_permission(Permission::SendToGroup, &connection_id, target())
            .await?;
        println!(
            "may send to room-1: {}",
            client
                .has_permission(Permission::SendToGroup, &connection_id, target())
                .await?
        );
        client
            .revoke_permission(Permission::SendToGroup, &connection_id, target())
            .await?;
    }

    println!(
        "news has connections: {}",
        client.group_exists("news", None).await?
    );
    room.remove_user("listener-1", None).await?;
    client
        .remove_connections_from_groups(
            &["news"],
            Some(GroupsFilterOptions {
                filter: Some(listeners),
            }),
        )
        .await?;
    drop(own);
    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    Ok(())
}
