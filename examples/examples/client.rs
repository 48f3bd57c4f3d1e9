//! The WebSocket client: join a group, send, receive, and survive dropped connections. A network
//! cut is recovered (same connection, nothing lost); a connection the service closes is replaced
//! (a fresh token from the provider, the group joined again).
//!
//! ```text
//! cargo run -p examples --example client
//! ```
//!
//! It runs on the embedded emulator, behind a loopback proxy that can cut the connection as a
//! network drop would.

#![allow(clippy::print_stdout)] // an example reports on stdout

use std::time::Duration;

use webpubsub::{ClientAccessTokenOptions, Payload, Role, WebPubSubServiceClient};
use webpubsub_client::{
    ClientCredential, ClientEvent, ClientEvents, WebPubSubClient, WebPubSubClientOptions,
};
use webpubsub_emulator::Emulator;
use webpubsub_testkit::proxy::FaultProxy;

/// Prints events until `count` messages arrived (within 10 s).
async fn print_messages(events: &mut ClientEvents, count: usize) -> Result<(), String> {
    let mut seen = 0;
    while seen < count {
        let event = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .map_err(|_| format!("only {seen} of {count} messages arrived"))?
            .ok_or("the client went away")?;
        match event {
            ClientEvent::GroupMessage(m) => {
                seen += 1;
                println!(
                    "  [{}] {:?}: {}",
                    m.group,
                    m.from_user_id,
                    m.data.as_text().unwrap_or("<binary>")
                );
            }
            ClientEvent::ServerMessage(m) => {
                seen += 1;
                println!("  [server] {}", m.data.as_text().unwrap_or("<binary>"));
            }
            ClientEvent::Connected { connection_id, .. } => {
                println!("  connected as {connection_id}")
            }
            ClientEvent::Disconnected { code, message, .. } => {
                println!("  disconnected (close code {code:?}, {message:?})")
            }
            other => println!("  {other:?}"),
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::builder()
        .ignore_audience_host(true)
        .start()
        .await?;
    let proxy = FaultProxy::start(emulator.local_addr()).await;
    let service = WebPubSubServiceClient::from_connection_string(
        &emulator.connection_string(),
        "chat",
        None,
    )?;

    // A provider: asked for a fresh URL (a new token) before every new connection.
    let credential = {
        let (service, emulator_addr, proxy_addr) =
            (service.clone(), emulator.local_addr(), proxy.local_addr());
        ClientCredential::from_provider(move || {
            let service = service.clone();
            async move {
                let options = ClientAccessTokenOptions::default()
                    .user_id("alice")
                    .role(Role::join_leave_group())
                    .role(Role::send_to_group());
                let url = service.get_client_access_token(Some(options)).await?.url;
                // Through the proxy, so the example can cut the network.
                Ok::<_, webpubsub::Error>(
                    url.replace(&emulator_addr.to_string(), &proxy_addr.to_string()),
                )
            }
        })
    };
    let (client, mut events) = WebPubSubClient::new(credential, WebPubSubClientOptions::default());
    client.start().await?;
    client.join_group("room").await?;
    client
        .send_to_group("room", Payload::text("hello, room"), None)
        .await?;
    println!("joined and sent:");
    print_messages(&mut events, 1).await?;

    println!("the network drops; the service sends two messages meanwhile:");
    proxy.stall(); // new connections hang too, for a moment
    proxy.cut();
    service
        .group("room")
        .send(Payload::text("sent during the cut (1)"), None)
        .await?;
    service
        .group("room")
        .send(Payload::text("sent during the cut (2)"), None)
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.resume();
    print_messages(&mut events, 2).await?;
    println!("recovered: still connection {:?}", client.connection_id());

    println!("the service closes the connection; the client reconnects and rejoins \"room\":");
    let old = client.connection_id().unwrap_or_default();
    service
        .close_connection(
            &old,
            Some(webpubsub::CloseConnectionOptions {
                reason: Some("maintenance".into()),
            }),
        )
        .await?;
    // Group sends reach the client again once it rejoined.
    let mut rejoined = false;
    for _ in 0..100 {
        if client.connection_id().is_some_and(|id| id != old) {
            service
                .group("room")
                .send(Payload::text("welcome back"), None)
                .await?;
        }
        match tokio::time::timeout(Duration::from_millis(100), events.next()).await {
            Ok(Some(ClientEvent::GroupMessage(m))) => {
                println!("  [{}] {}", m.group, m.data.as_text().unwrap_or_default());
                rejoined = true;
                break;
            }
            Ok(Some(ClientEvent::Disconnected { code, message, .. })) => {
                println!("  disconnected (close code {code:?}, {message:?})")
            }
            Ok(Some(ClientEvent::Connected { connection_id, .. })) => {
                println!("  connected as {connection_id}")
            }
            _ => {}
        }
    }
    if !rejoined {
        return Err("the client did not rejoin".into());
    }
    println!(
        "new connection {:?}, groups {:?}",
        client.connection_id(),
        client.groups()
    );

    client.stop().await; // closes with 1000: the service ends the session at once
    emulator.shutdown().await;
    Ok(())
}
