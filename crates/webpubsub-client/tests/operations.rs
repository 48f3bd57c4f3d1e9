//! Every operation against the embedded emulator, on both subprotocols: connect, groups, sends
//! (acked, no-echo, fire-and-forget), events, acks and duplicates, Forbidden without a role,
//! stop with 1000, token refresh through the provider, and bad input refused before sending.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt as _;

use webpubsub::{ClientAccessTokenOptions, Role};
use webpubsub_client::*;
use webpubsub_emulator::Emulator;

mod common;
use common::{all_roles, eventually, fast, next, quiet, start, url};

async fn started(
    url: String,
    options: WebPubSubClientOptions,
) -> (WebPubSubClient, ClientEvents, String) {
    let (client, mut events) = WebPubSubClient::new(url, options);
    client.start().await.unwrap();
    let ClientEvent::Connected { connection_id, .. } = next(&mut events).await else {
        panic!("Connected first")
    };
    (client, events, connection_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_on_both_protocols() {
    let (emulator, service) = start(Emulator::builder()).await;
    for protocol in [Subprotocol::JsonReliable, Subprotocol::Json] {
        let mut options = fast();
        options.protocol = protocol;
        let (client, mut events) =
            WebPubSubClient::new(url(&service, "ann", all_roles()).await, options);
        assert_eq!(client.state(), ClientState::Stopped);
        client.start().await.unwrap();
        assert_eq!(client.state(), ClientState::Connected);
        let ClientEvent::Connected {
            connection_id,
            user_id,
        } = next(&mut events).await
        else {
            panic!("Connected first")
        };
        assert_eq!(user_id.as_deref(), Some("ann"));
        assert_eq!(
            client.connection_id().as_deref(),
            Some(connection_id.as_str())
        );
        assert!(service
            .connection_exists(&connection_id, None)
            .await
            .unwrap());

        // Acks count up from 1.
        let joined = client.join_group("room").await.unwrap();
        assert_eq!((joined.ack_id, joined.duplicated), (Some(1), false));
        assert!(service.group_exists("room", None).await.unwrap());
        assert_eq!(client.groups(), ["room"]);

        // Echoed to itself, with its user, and sequence ids only on the reliable protocol.
        client
            .send_to_group("room", Payload::text("one"), None)
            .await
            .unwrap();
        let ClientEvent::GroupMessage(message) = next(&mut events).await else {
            panic!("the echo")
        };
        assert_eq!(
            (
                message.group.as_str(),
                message.from_user_id.as_deref(),
                message.data.as_text()
            ),
            ("room", Some("ann"), Some("one"))
        );
        assert_eq!(message.sequence_id.is_some(), protocol.is_reliable());

        // No echo; fire-and-forget has no ack id; JSON and binary keep their types.
        client
            .send_to_group(
                "room",
                Payload::text("not back"),
                Some(SendToGroupOptions::no_echo()),
            )
            .await
            .unwrap();
        let sent = client
            .send_to_group(
                "room",
                Payload::json(&serde_json::json!({"n": 2})).unwrap(),
                Some(SendToGroupOptions::fire_and_forget()),
            )
            .await
            .unwrap();
        assert_eq!(sent.ack_id, None);
        let ClientEvent::GroupMessage(message) = next(&mut events).await else {
            panic!("the json")
        };
        assert_eq!(message.data.content_type(), ContentType::Json);
        assert_eq!(message.data.as_text(), Some(r#"{"n":2}"#));
        client
            .send_to_group("room", Payload::binary(vec![0u8, 1, 255]), None)
            .await
            .unwrap();
        let ClientEvent::GroupMessage(message) = next(&mut events).await else {
            panic!("the binary")
        };
        assert_eq!(message.data.body(), [0u8, 1, 255]);

        // The same ack id again: the service answers Duplicate, which is success.
        let options = SendToGroupOptions::no_echo().with_ack_id(1000);
        let first = client
            .send_to_group("room", Payload::text("once"), Some(options.clone()))
            .await
            .unwrap();
        let again = client
            .send_to_group("room", Payload::text("once"), Some(options))
            .await
            .unwrap();
        assert_eq!((first.duplicated, again.duplicated), (false, true));

        // A server message (REST) arrives as one.
        service
            .send_to_connection(&connection_id, Payload::text("from rest"), None)
            .await
            .unwrap();
        let ClientEvent::ServerMessage(message) = next(&mut events).await else {
            panic!("the server message")
        };
        assert_eq!(message.data.as_text(), Some("from rest"));

        // An event with no handler: the service's error ack, typed.
        let error = client
            .send_event("nobody", Payload::text("x"), None)
            .await
            .unwrap_err();
        assert!(matches!(error.kind(), ErrorKind::Ack { .. }), "{error:?}");
        assert!(!error.is_retriable());
        client
            .send_event(
                "nobody",
                Payload::text("x"),
                Some(SendEventOptions::fire_and_forget()),
            )
            .await
            .unwrap();

        client.leave_group("room").await.unwrap();
        assert!(client.groups().is_empty());
        assert!(!service.group_exists("room", None).await.unwrap());

        // stop(): close 1000, so the service ends the session at once (no recovery window).
        client.stop().await;
        assert_eq!(client.state(), ClientState::Stopped);
        let ClientEvent::Disconnected { code, .. } = next(&mut events).await else {
            panic!("Disconnected")
        };
        assert_eq!(code, Some(1000));
        assert!(matches!(next(&mut events).await, ClientEvent::Stopped));
        let id = connection_id.clone();
        eventually("the connection is gone", async || {
            !service.connection_exists(&id, None).await.unwrap()
        })
        .await;
        // Operations after stop fail typed.
        let error = client.join_group("room").await.unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::NotConnected);
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_without_a_role_is_a_typed_error_and_not_retried() {
    let (emulator, service) = start(Emulator::builder()).await;
    let (client, _events, _) = started(url(&service, "bob", vec![]).await, fast()).await;
    let started_at = std::time::Instant::now();
    let error = client.join_group("room").await.unwrap_err();
    assert!(error.is_forbidden(), "{error:?}");
    assert!(started_at.elapsed() < Duration::from_secs(2), "not retried");
    let error = client
        .send_to_group("room", Payload::text("x"), None)
        .await
        .unwrap_err();
    assert!(error.is_forbidden(), "{error:?}");
    assert!(
        client.groups().is_empty(),
        "a refused join is not remembered"
    );
    // A group-scoped role allows exactly that group.
    let (scoped, _events, _) = started(
        url(&service, "cy", vec![Role::join_leave_group_named("mine")]).await,
        fast(),
    )
    .await;
    scoped.join_group("mine").await.unwrap();
    assert!(scoped.join_group("other").await.unwrap_err().is_forbidden());
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_anything_is_sent() {
    let (emulator, service) = start(Emulator::builder()).await;
    let (client, mut events, _) = started(url(&service, "dee", all_roles()).await, fast()).await;
    for group in ["", "   ", "two\nlines", &"g".repeat(1025)] {
        let error = client.join_group(group).await.unwrap_err();
        assert!(error.is_invalid_input(), "{group:?}: {error:?}");
    }
    let error = client
        .send_event("", Payload::text("x"), None)
        .await
        .unwrap_err();
    assert!(error.is_invalid_input());
    let big = Payload::binary(vec![7u8; MAX_FRAME_BYTES]);
    let error = client.send_to_group("room", big, None).await.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::MessageTooLarge { limit, .. } if *limit == MAX_FRAME_BYTES),
        "{error:?}"
    );
    // Just under the limit goes through (base64 grows binary by a third).
    client.join_group("room").await.unwrap();
    let fits = Payload::binary(vec![7u8; MAX_FRAME_BYTES / 4 * 3 - 1024]);
    client.send_to_group("room", fits, None).await.unwrap();
    let ClientEvent::GroupMessage(message) = next(&mut events).await else {
        panic!("the big message")
    };
    assert_eq!(message.data.body().len(), MAX_FRAME_BYTES / 4 * 3 - 1024);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_is_asked_for_every_new_connection_so_expired_tokens_are_replaced() {
    let (emulator, service) = start(Emulator::builder()).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let credential = {
        let (service, calls) = (service.clone(), calls.clone());
        ClientCredential::from_provider(move || {
            let (service, calls) = (service.clone(), calls.clone());
            async move {
                // The first token lives 1 s; later ones an hour.
                let lifetime = match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Duration::from_secs(1),
                    _ => Duration::from_secs(3600),
                };
                let options = ClientAccessTokenOptions::default()
                    .user_id("eve")
                    .role(Role::join_leave_group())
                    .expires_after(lifetime);
                service
                    .get_client_access_token(Some(options))
                    .await
                    .map(|t| t.url)
            }
        })
    };
    let (client, mut events) = WebPubSubClient::new(credential, fast());
    client.start().await.unwrap();
    let ClientEvent::Connected { connection_id, .. } = next(&mut events).await else {
        panic!()
    };
    client.join_group("room").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await; // the first token has expired
                                                           // The service closes the connection: no recovery (1008), a new connection with a new URL.
    service
        .close_connection(
            &connection_id,
            Some(webpubsub::CloseConnectionOptions {
                reason: Some("rotate".into()),
            }),
        )
        .await
        .unwrap();
    let ClientEvent::Disconnected { message, .. } = next(&mut events).await else {
        panic!("Disconnected")
    };
    assert_eq!(message.as_deref(), Some("rotate"));
    let ClientEvent::Connected {
        connection_id: second,
        ..
    } = next(&mut events).await
    else {
        panic!("a new connection")
    };
    assert_ne!(second, connection_id);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // ...and the group was joined again.
    eventually("rejoined", async || {
        let members: Vec<_> = service
            .list_connections_in_group("room", None)
            .try_collect()
            .await
            .unwrap();
        members.iter().any(|m| m.connection_id == second)
    })
    .await;
    quiet(&mut events, Duration::from_millis(200)).await;
    emulator.shutdown().await;
}
