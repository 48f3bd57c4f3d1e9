//! What the client's test files share: an emulator with a service client, client URLs, fast
//! options and bounded waits for events.

#![allow(dead_code)] // each test file uses its own part

use std::time::Duration;

use webpubsub::{ClientAccessTokenOptions, Role, WebPubSubServiceClient};
use webpubsub_client::{
    ClientEvent, ClientEvents, RetryMode, RetryOptions, WebPubSubClientOptions,
};
use webpubsub_emulator::{Emulator, EmulatorBuilder};

/// Starts `builder` and a service client for hub `chat`.
pub(crate) async fn start(builder: EmulatorBuilder) -> (Emulator, WebPubSubServiceClient) {
    let emulator = builder.start().await.unwrap();
    let service =
        WebPubSubServiceClient::from_connection_string(&emulator.connection_string(), "chat", None)
            .unwrap();
    (emulator, service)
}

/// A client URL for `user` with `roles`.
pub(crate) async fn url(service: &WebPubSubServiceClient, user: &str, roles: Vec<Role>) -> String {
    service
        .get_client_access_token(Some(ClientAccessTokenOptions {
            user_id: Some(user.to_owned()),
            roles,
            ..Default::default()
        }))
        .await
        .unwrap()
        .url
}

/// Every role a test client needs.
pub(crate) fn all_roles() -> Vec<Role> {
    vec![Role::join_leave_group(), Role::send_to_group()]
}

/// Options with test-sized delays (the defaults are seconds).
pub(crate) fn fast() -> WebPubSubClientOptions {
    let mut options = WebPubSubClientOptions::default();
    let quick = RetryOptions {
        max_retries: 20,
        delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        mode: RetryMode::Fixed,
    };
    options.message_retry = quick;
    options.reconnect_retry = quick;
    options.recovery_retry_delay = Duration::from_millis(50);
    options.ack_timeout = Duration::from_secs(5);
    options.connect_timeout = Duration::from_secs(5);
    options.sequence_ack_interval = Duration::from_millis(100);
    options
}

/// The next event, within 10 s.
pub(crate) async fn next(events: &mut ClientEvents) -> ClientEvent {
    tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10 s")
        .expect("the client is alive")
}

/// The next group or server message's text, skipping other events, within 10 s.
pub(crate) async fn next_text(events: &mut ClientEvents) -> String {
    loop {
        match next(events).await {
            ClientEvent::GroupMessage(m) => return m.data.as_text().unwrap_or_default().to_owned(),
            ClientEvent::ServerMessage(m) => {
                return m.data.as_text().unwrap_or_default().to_owned()
            }
            _ => {}
        }
    }
}

/// No event within `within`.
pub(crate) async fn quiet(events: &mut ClientEvents, within: Duration) {
    if let Ok(event) = tokio::time::timeout(within, events.next()).await {
        panic!("expected no event, got {event:?}");
    }
}

/// Waits until `condition` holds (checked every 10 ms, at most 10 s).
pub(crate) async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
