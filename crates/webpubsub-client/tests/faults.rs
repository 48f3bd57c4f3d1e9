//! Faults through a loopback TCP proxy (testkit `FaultProxy`): recovery with replay after a cut,
//! a stalled connection found by keep-alive, reconnect and rejoin when recovery is refused
//! (1008), and 10,000 messages across three cuts with none lost and none delivered twice.

use std::time::Duration;

use webpubsub::{Payload, WebPubSubServiceClient};
use webpubsub_client::*;
use webpubsub_emulator::{Emulator, EmulatorBuilder};
use webpubsub_testkit::proxy::FaultProxy;

mod common;
use common::{all_roles, fast, next, next_text, quiet, start, url};

/// An emulator (tokens valid through the proxy's address), its proxy, and a client URL through
/// the proxy for `user`.
async fn proxied(builder: EmulatorBuilder) -> (Emulator, WebPubSubServiceClient, FaultProxy) {
    let (emulator, service) = start(builder.ignore_audience_host(true)).await;
    let proxy = FaultProxy::start(emulator.local_addr()).await;
    (emulator, service, proxy)
}

async fn through(
    service: &WebPubSubServiceClient,
    emulator: &Emulator,
    proxy: &FaultProxy,
    user: &str,
) -> String {
    url(service, user, all_roles()).await.replace(
        &emulator.local_addr().to_string(),
        &proxy.local_addr().to_string(),
    )
}

async fn state(client: &WebPubSubClient, wanted: ClientState) {
    let mut changes = client.state_changes();
    tokio::time::timeout(Duration::from_secs(10), changes.wait_for(|s| *s == wanted))
        .await
        .unwrap_or_else(|_| panic!("never {wanted:?}; now {:?}", client.state()))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_recovers_and_what_was_sent_meanwhile_is_replayed_once() {
    let (emulator, service, proxy) = proxied(Emulator::builder()).await;
    let (client, mut events) =
        WebPubSubClient::new(through(&service, &emulator, &proxy, "ann").await, fast());
    client.start().await.unwrap();
    let ClientEvent::Connected { connection_id, .. } = next(&mut events).await else {
        panic!()
    };
    client.join_group("room").await.unwrap();
    service
        .group("room")
        .send(Payload::text("before"), None)
        .await
        .unwrap();
    assert_eq!(next_text(&mut events).await, "before");

    // Cut, and hold new connections so the messages pile up in the service's replay buffer.
    proxy.stall();
    proxy.cut();
    state(&client, ClientState::Recovering).await;
    for i in 0..5 {
        service
            .group("room")
            .send(Payload::text(format!("during {i}")), None)
            .await
            .unwrap();
    }
    proxy.resume();
    for i in 0..5 {
        assert_eq!(next_text(&mut events).await, format!("during {i}"));
    }
    // The same connection: no Disconnected or Connected event, no duplicate.
    assert_eq!(client.state(), ClientState::Connected);
    assert_eq!(
        client.connection_id().as_deref(),
        Some(connection_id.as_str())
    );
    quiet(&mut events, Duration::from_millis(300)).await;
    // And it works as before.
    client
        .send_to_group("room", Payload::text("after"), None)
        .await
        .unwrap();
    assert_eq!(next_text(&mut events).await, "after");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_connection_is_found_by_keep_alive_and_recovered() {
    let (emulator, service, proxy) = proxied(Emulator::builder()).await;
    let mut options = fast();
    options.keep_alive_interval = Duration::from_millis(200);
    options.keep_alive_timeout = Duration::from_millis(800);
    options.connect_timeout = Duration::from_millis(500);
    let (client, mut events) =
        WebPubSubClient::new(through(&service, &emulator, &proxy, "bo").await, options);
    client.start().await.unwrap();
    let ClientEvent::Connected { connection_id, .. } = next(&mut events).await else {
        panic!()
    };
    // Pings keep a healthy but quiet connection alive past the timeout.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(client.state(), ClientState::Connected);
    // A black hole: nothing arrives, nothing errors. Keep-alive notices.
    let stalled = std::time::Instant::now();
    proxy.stall();
    state(&client, ClientState::Recovering).await;
    let noticed = stalled.elapsed();
    assert!(
        noticed >= Duration::from_millis(400) && noticed < Duration::from_secs(3),
        "noticed after {noticed:?}"
    );
    service
        .send_to_connection(&connection_id, Payload::text("still here"), None)
        .await
        .unwrap();
    proxy.cut(); // the half-open sockets die at last
    proxy.resume();
    assert_eq!(next_text(&mut events).await, "still here");
    assert_eq!(
        client.connection_id().as_deref(),
        Some(connection_id.as_str())
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_recovery_is_refused_with_1008_a_new_connection_rejoins_the_groups() {
    let (emulator, service, proxy) =
        proxied(Emulator::builder().recovery_window(Duration::from_millis(200))).await;
    let (client, mut events) =
        WebPubSubClient::new(through(&service, &emulator, &proxy, "cy").await, fast());
    client.start().await.unwrap();
    let ClientEvent::Connected { connection_id, .. } = next(&mut events).await else {
        panic!()
    };
    client.join_group("a").await.unwrap();
    client.join_group("b").await.unwrap();
    // Cut past the service's recovery window: the session is gone when the client comes back.
    proxy.stall();
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(600)).await;
    proxy.resume();
    let ClientEvent::Disconnected { code, .. } = next(&mut events).await else {
        panic!("Disconnected")
    };
    assert_eq!(code, Some(1008));
    let ClientEvent::Connected {
        connection_id: second,
        ..
    } = next(&mut events).await
    else {
        panic!("Connected")
    };
    assert_ne!(second, connection_id);
    // Both groups were joined again: group sends reach the new connection.
    for group in ["a", "b"] {
        let mut delivered = false;
        for _ in 0..100 {
            service
                .group(group)
                .send(Payload::text(group), None)
                .await
                .unwrap();
            if let Ok(Some(ClientEvent::GroupMessage(m))) =
                tokio::time::timeout(Duration::from_millis(100), events.next()).await
            {
                assert_eq!(m.group, group);
                delivered = true;
                break;
            }
        }
        assert!(delivered, "rejoined {group}");
    }
    assert_eq!(client.groups(), ["a", "b"]);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_across_three_cuts_none_lost_none_twice() {
    const TOTAL: usize = 10_000;
    let (emulator, service, proxy) = proxied(Emulator::builder()).await;
    let (receiver, mut events) =
        WebPubSubClient::new(through(&service, &emulator, &proxy, "rx").await, fast());
    receiver.start().await.unwrap();
    assert!(matches!(
        next(&mut events).await,
        ClientEvent::Connected { .. }
    ));
    receiver.join_group("stream").await.unwrap();
    // The sender connects directly: only the receiver's connection is cut.
    let (sender, sender_events) =
        WebPubSubClient::new(url(&service, "tx", all_roles()).await, fast());
    drop(sender_events);
    sender.start().await.unwrap();

    let sending = tokio::spawn({
        let sender = sender.clone();
        async move {
            for i in 0..TOTAL {
                let data = Payload::text(i.to_string());
                let options = SendToGroupOptions::fire_and_forget();
                sender
                    .send_to_group("stream", data, Some(options))
                    .await
                    .unwrap();
                if i % 100 == 99 {
                    // Paced so a cut's backlog stays within the service's replay buffer.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                if i % 2500 == 2499 && i < TOTAL - 1 {
                    proxy.cut();
                }
            }
            proxy
        }
    });

    let mut next_expected = 0usize;
    let mut last_sequence = 0u64;
    while next_expected < TOTAL {
        match tokio::time::timeout(Duration::from_secs(20), events.next()).await {
            Ok(Some(ClientEvent::GroupMessage(message))) => {
                let n: usize = message.data.as_text().unwrap().parse().unwrap();
                assert_eq!(n, next_expected, "in order, none lost, none twice");
                let sequence = message.sequence_id.unwrap();
                assert!(sequence > last_sequence, "sequence ids only grow");
                last_sequence = sequence;
                next_expected += 1;
            }
            Ok(Some(
                event @ (ClientEvent::Connected { .. } | ClientEvent::Disconnected { .. }),
            )) => {
                panic!("a cut must be recovered, not replaced: {event:?}")
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("the client went away"),
            Err(_) => panic!("stuck after {next_expected} messages"),
        }
    }
    let proxy = sending.await.unwrap();
    assert!(proxy.connections() >= 4, "three cuts, three recoveries");
    quiet(&mut events, Duration::from_millis(300)).await;
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_is_never_run_twice_when_its_connection_is_replaced_mid_retry() {
    // Acks come late (1 s), so attempts time out and are retried with the same ack id.
    let (emulator, service) =
        start(Emulator::builder().ack_delay(Duration::from_millis(1000))).await;
    let (listener, mut heard) =
        WebPubSubClient::new(url(&service, "ear", all_roles()).await, fast());
    listener.start().await.unwrap();
    assert!(matches!(
        next(&mut heard).await,
        ClientEvent::Connected { .. }
    ));
    listener.join_group("room").await.unwrap();

    let mut options = fast();
    options.ack_timeout = Duration::from_millis(200);
    options.message_retry.delay = Duration::from_millis(200);
    let (sender, mut events) =
        WebPubSubClient::new(url(&service, "tx", all_roles()).await, options);
    sender.start().await.unwrap();
    let ClientEvent::Connected { connection_id, .. } = next(&mut events).await else {
        panic!()
    };
    let sending = tokio::spawn({
        let sender = sender.clone();
        async move {
            sender
                .send_to_group("room", Payload::text("once"), None)
                .await
        }
    });
    // While it waits for its (late) ack, the service replaces the connection.
    tokio::time::sleep(Duration::from_millis(300)).await;
    service
        .close_connection(&connection_id, None)
        .await
        .unwrap();
    let error = sending.await.unwrap().unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::ConnectionLost, "{error}");
    assert!(error.to_string().contains("not sent again"), "{error}");
    assert_eq!(next_text(&mut heard).await, "once");
    quiet(&mut heard, Duration::from_millis(1500)).await;
    // Joining is idempotent: retried across the new connection, it succeeds.
    assert!(sender.join_group("other").await.is_ok());
    emulator.shutdown().await;
}
