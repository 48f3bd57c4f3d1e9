//! Where reliable clients depend on the service's exact behaviour: recovery, keep-alive, close
//! frames, subprotocols, raw send-to-group mode, health probes, invocations and REST group rules.
//! Each test runs a real emulator on 127.0.0.1:0.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message as Ws;
use webpubsub::*;
use webpubsub_emulator::Emulator;

mod common;
use common::*;

const RELIABLE: &str = "json.reliable.webpubsub.azure.v1";

async fn url(client: &WebPubSubServiceClient, user: &str, roles: Vec<Role>) -> String {
    token(client, Some(user), roles).await
}

/// The recovery URL as the service documents it: no access token.
fn recovery_url(emulator: &Emulator, id: &str, token: &str) -> String {
    let base = emulator.endpoint().replace("http://", "ws://");
    format!("{base}/client/hubs/chat?awps_connection_id={id}&awps_reconnection_token={token}")
}

async fn reliable(client: &WebPubSubServiceClient, user: &str) -> (Socket, String, String) {
    let mut socket = connect(&url(client, user, vec![]).await, Some(RELIABLE)).await;
    let connected = next_json(&mut socket).await;
    let id = connected["connectionId"].as_str().unwrap().to_owned();
    let token = connected["reconnectionToken"].as_str().unwrap().to_owned();
    (socket, id, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_needs_no_access_token_and_ignores_an_expired_one() {
    let (emulator, client) = start(Emulator::builder()).await;
    let (first, id, token) = reliable(&client, "r").await;
    drop(first);
    eventually("the session to detach", async || {
        client
            .send_to_connection(&id, Payload::text("while away"), None)
            .await
            .is_ok()
    })
    .await;
    let mut second = connect(&recovery_url(&emulator, &id, &token), Some(RELIABLE)).await;
    let replayed = next_json(&mut second).await;
    assert_eq!(
        (replayed["data"].clone(), replayed["sequenceId"].clone()),
        (json!("while away"), json!(1))
    );
    drop(second);

    // The JS client appends the recovery parameters to its first URL, whose token may have
    // expired by now: it is not even looked at.
    let expired = format!(
        "{}&access_token=eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2lnbmF0dXJl",
        recovery_url(&emulator, &id, &token)
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = connect(&expired, Some(RELIABLE)).await;
    client
        .send_to_connection(&id, Payload::text("again"), None)
        .await
        .unwrap();
    let frames = [next_json(&mut third).await, next_json(&mut third).await];
    assert_eq!(frames[1]["data"], "again", "{frames:?}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_takes_over_a_transport_that_still_looks_attached() {
    let (emulator, client) = start(Emulator::builder()).await;
    let (mut old, id, token) = reliable(&client, "laptop").await;
    client
        .add_connection_to_group("room", &id, None)
        .await
        .unwrap();
    client
        .group("room")
        .send(Payload::text("before sleep"), None)
        .await
        .unwrap();
    assert_eq!(next_json(&mut old).await["data"], "before sleep");

    // Half-open TCP after a laptop sleep: the old socket is never closed by the client.
    let mut new = connect(&recovery_url(&emulator, &id, &token), Some(RELIABLE)).await;
    let replayed = next_json(&mut new).await;
    assert_eq!(
        replayed["data"], "before sleep",
        "not acknowledged, so replayed"
    );
    client
        .group("room")
        .send(Payload::text("after"), None)
        .await
        .unwrap();
    let after = next_json(&mut new).await;
    assert_eq!(
        (after["data"].clone(), after["sequenceId"].clone()),
        (json!("after"), json!(2))
    );
    // The old transport was dropped without a frame.
    let old_end = tokio::time::timeout(Duration::from_secs(5), old.next())
        .await
        .unwrap();
    assert!(!matches!(old_end, Some(Ok(Ws::Text(_)))), "{old_end:?}");
    assert!(client.connection_exists(&id, None).await.unwrap());
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_drop_gets_its_own_recovery_window() {
    let window = Duration::from_millis(3000);
    let (emulator, client) = start(Emulator::builder().recovery_window(window)).await;
    let (first, id, token) = reliable(&client, "r").await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let second = connect(&recovery_url(&emulator, &id, &token), Some(RELIABLE)).await;
    drop(second);
    // 4 s after the first drop, 2 s after the second: inside the second window only.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(
        client.connection_exists(&id, None).await.unwrap(),
        "the first window did not end the second"
    );
    let mut third = connect(&recovery_url(&emulator, &id, &token), Some(RELIABLE)).await;
    client
        .send_to_connection(&id, Payload::text("still here"), None)
        .await
        .unwrap();
    assert_eq!(next_json(&mut third).await["data"], "still here");
    drop(third);
    // Without a recovery, the session ends when its window does.
    gone(&client, &id, "the session to expire").await;
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_closes_a_peer_that_stopped_answering_and_keeps_one_that_answers() {
    let builder =
        Emulator::builder().keep_alive(Duration::from_millis(100), Duration::from_millis(1500));
    let (emulator, client) = start(builder).await;
    let (_silent, silent_id) = json_client(&client, "silent", vec![]).await;
    let (mut alive, alive_id) = json_client(&client, "alive", vec![]).await;
    // `alive` reads (tungstenite answers the pings while reading); `silent` never does.
    let reader = tokio::spawn(async move {
        let mut pings = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(2500);
        while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, alive.next()).await {
            pings += usize::from(matches!(frame, Ws::Ping(_)));
        }
        (alive, pings)
    });
    gone(&client, &silent_id, "the silent peer to be closed").await;
    let (_alive, pings) = reader.await.unwrap();
    assert!(pings >= 2, "pinged while quiet: {pings}");
    assert!(client.connection_exists(&alive_id, None).await.unwrap());
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_reasons_are_cut_on_a_character_boundary() {
    let (emulator, client) = start(Emulator::builder()).await;
    let mut socket = connect(&url(&client, "u", vec![]).await, None).await;
    client
        .send_to_user("u", Payload::text("hello"), None)
        .await
        .unwrap();
    assert!(matches!(next(&mut socket).await, Ws::Text(_)));
    let reason = "é".repeat(100);
    client
        .close_user_connections(
            "u",
            Some(CloseConnectionsOptions {
                reason: Some(reason.clone()),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    match next(&mut socket).await {
        Ws::Close(Some(frame)) => {
            assert!(
                frame.reason.len() <= 123 && reason.starts_with(frame.reason.as_str()),
                "{frame:?}"
            );
            assert_eq!(frame.reason.len(), 122);
        }
        other => panic!("{other:?}"),
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subprotocols_it_does_not_speak_are_refused_before_the_upgrade() {
    let (emulator, client) = start(Emulator::builder()).await;
    let url = url(&client, "u", vec![]).await;
    for offered in ["protobuf.webpubsub.azure.v1", "chat.v2"] {
        let mut request = url.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", offered.parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 400);
                let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                    .into_owned();
                assert!(body.contains(offered) && body.contains(RELIABLE), "{body}");
            }
            other => panic!("{offered}: {other:?}"),
        }
    }
    // Offered among known ones, the known one is chosen and echoed.
    let mut request = url.as_str().into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("protobuf.webpubsub.azure.v1, {RELIABLE}")
            .parse()
            .unwrap(),
    );
    let (_socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], RELIABLE);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_send_to_group_mode_honours_no_echo_and_refuses_bad_modes() {
    let (emulator, client) = start(Emulator::builder()).await;
    let role = vec![Role::send_to_group_named("g")];
    let base = url(&client, "sender", role.clone()).await;
    let mut sender = connect(
        &format!("{base}&webpubsub_mode=sendToGroup&group=g&noEcho=true"),
        None,
    )
    .await;
    let (mut listener, listener_id) = json_client(&client, "listener", vec![]).await;
    eventually("the sender to be registered", async || {
        client.user_exists("sender", None).await.unwrap()
    })
    .await;
    client.add_user_to_group("g", "sender", None).await.unwrap();
    client
        .add_connection_to_group("g", &listener_id, None)
        .await
        .unwrap();
    sender.send(Ws::text("to the group")).await.unwrap();
    let got = next_json(&mut listener).await;
    assert_eq!(
        (got["group"].clone(), got["data"].clone()),
        (json!("g"), json!("to the group"))
    );
    // No echo: the sender gets nothing, though it is in the group.
    client
        .send_to_user("sender", Payload::text("marker"), None)
        .await
        .unwrap();
    assert_eq!(next(&mut sender).await, Ws::text("marker"));

    for query in [
        "webpubsub_mode=broadcast&group=g",
        "webpubsub_mode=sendToGroup",
        "webpubsub_mode=sendToGroup&group=%20",
    ] {
        match tokio_tungstenite::connect_async(format!("{base}&{query}")).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 400, "{query}")
            }
            other => panic!("{query}: {other:?}"),
        }
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_probes_need_no_token() {
    let emulator = Emulator::builder().start().await.unwrap();
    for method in ["HEAD", "GET"] {
        let mut tcp = TcpStream::connect(emulator.local_addr()).await.unwrap();
        tcp.write_all(
            format!("{method} /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{method}: {answer}");
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unimplemented_frames_with_an_id_are_answered_never_ignored() {
    let (emulator, client) = start(Emulator::builder()).await;
    let mut socket = connect(
        &url(&client, "u", vec![]).await,
        Some("json.webpubsub.azure.v1"),
    )
    .await;
    next_json(&mut socket).await;
    // No event handler: the invocation fails with an answer, not silence.
    send_json(&mut socket, json!({"type":"invoke","invocationId":"i1","target":"event","event":"add","dataType":"text","data":"1"})).await;
    let answer = next_json(&mut socket).await;
    assert_eq!(
        (
            answer["type"].clone(),
            answer["invocationId"].clone(),
            answer["success"].clone()
        ),
        (json!("invokeResponse"), json!("i1"), json!(false))
    );
    assert_eq!(answer["error"]["name"], "InternalServerError");
    send_json(
        &mut socket,
        json!({"type":"invoke","invocationId":"i2","target":"group","event":"x"}),
    )
    .await;
    let answer = next_json(&mut socket).await;
    assert_eq!(
        (
            answer["invocationId"].clone(),
            answer["error"]["name"].clone()
        ),
        (json!("i2"), json!("BadRequest"))
    );
    send_json(
        &mut socket,
        json!({"type":"setGroupState","group":"g","ackId":5}),
    )
    .await;
    let answer = next_json(&mut socket).await;
    assert_eq!(
        (answer["ackId"].clone(), answer["error"]["name"].clone()),
        (json!(5), json!("BadRequest"))
    );
    send_json(&mut socket, json!({"type":"sendToGroup","group":"g","ackId":7,"stream":{"streamId":"s1","idleTimeoutMs":1000},"dataType":"text","data":"a"})).await;
    let closed = next_json(&mut socket).await;
    assert_eq!(
        (
            closed["type"].clone(),
            closed["streamId"].clone(),
            closed["error"]["name"].clone()
        ),
        (json!("streamClosed"), json!("s1"), json!("BadRequest"))
    );
    assert_eq!(next_json(&mut socket).await["ackId"], 7);
    send_json(&mut socket, json!({"type":"streamData","streamId":"s2","streamSequenceId":1,"dataType":"text","data":"b"})).await;
    assert_eq!(next_json(&mut socket).await["streamId"], "s2");
    send_json(
        &mut socket,
        json!({"type":"event","event":"1st","ackId":6,"dataType":"text","data":""}),
    )
    .await;
    let answer = next_json(&mut socket).await;
    assert_eq!(
        (answer["ackId"].clone(), answer["error"]["name"].clone()),
        (json!(6), json!("BadRequest"))
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_added_to_groups_now_only_and_revocations_beat_roles() {
    let (emulator, client) = start(Emulator::builder()).await;
    let missing = client
        .add_user_to_group("nobody", "g", None)
        .await
        .unwrap_err();
    assert_eq!(missing.status(), Some(404), "{missing}");
    assert_eq!(missing.error_code(), Some("Warning.User.NotExisted"));

    let role = Role::join_leave_group();
    let (mut socket, id) = json_client(&client, "u", vec![role]).await;
    client.add_user_to_group("g", "u", None).await.unwrap();
    assert!(client.group_exists("g", None).await.unwrap());
    // A later connection of the same user does not join.
    let (_later, later_id) = json_client(&client, "u", vec![]).await;
    client
        .remove_connection_from_group("g", &id, None)
        .await
        .unwrap();
    assert!(
        !client.group_exists("g", None).await.unwrap(),
        "{later_id} did not join"
    );

    let join = Permission::JoinLeaveGroup;
    let check = PermissionOptions {
        target_name: Some("secret".into()),
    };
    assert!(client
        .has_permission(join, &id, Some(check.clone()))
        .await
        .unwrap());
    client
        .revoke_permission(join, &id, Some(check.clone()))
        .await
        .unwrap();
    assert!(
        !client.has_permission(join, &id, Some(check)).await.unwrap(),
        "the role no longer allows it"
    );
    send_json(
        &mut socket,
        json!({"type":"joinGroup","group":"secret","ackId":1}),
    )
    .await;
    assert_eq!(next_json(&mut socket).await["error"]["name"], "Forbidden");
    send_json(
        &mut socket,
        json!({"type":"joinGroup","group":"open","ackId":2}),
    )
    .await;
    assert_eq!(
        next_json(&mut socket).await["success"],
        true,
        "other groups still allowed"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_past_their_ttl_are_not_replayed() {
    let (emulator, client) = start(Emulator::builder()).await;
    let (first, id, token) = reliable(&client, "r").await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let short = SendToUserOptions {
        message_ttl_seconds: Some(1),
        ..Default::default()
    };
    client
        .send_to_user("r", Payload::text("short-lived"), Some(short))
        .await
        .unwrap();
    client
        .send_to_user("r", Payload::text("kept"), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut second = connect(&recovery_url(&emulator, &id, &token), Some(RELIABLE)).await;
    let replayed = next_json(&mut second).await;
    assert_eq!(
        (replayed["data"].clone(), replayed["sequenceId"].clone()),
        (json!("kept"), json!(2))
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_flooding_pings_without_reading_is_closed_as_slow() {
    let (emulator, client) = start(Emulator::builder().outbound_queue(16)).await;
    let (mut socket, id) = json_client(&client, "flood", vec![]).await;
    let ping = Ws::text(json!({"type":"ping"}).to_string());
    // Never reads: pongs pile up in its queue, and it is closed like any non-reader. Writes
    // may fail once it is closed.
    for _ in 0..20_000 {
        if socket.feed(ping.clone()).await.is_err() {
            break;
        }
    }
    let _ = socket.flush().await;
    gone(&client, &id, "the flooder to be closed").await;
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn either_key_is_accepted_so_rotation_can_be_tested() {
    const SECOND: &str = "c2Vjb25kIGtleSBmb3Igcm90YXRpb24gdGVzdHMgMTIzNDU2Nzg5MA==";
    let emulator = Emulator::builder()
        .secondary_key(SECOND)
        .start()
        .await
        .unwrap();
    let second = format!(
        "Endpoint={};AccessKey={SECOND};Version=1.0;",
        emulator.endpoint()
    );
    let client = WebPubSubServiceClient::from_connection_string(&second, "chat", None).unwrap();
    client
        .send_to_all(Payload::text("signed with the second key"), None)
        .await
        .unwrap();
    let mut socket = connect(
        &url(&client, "u", vec![]).await,
        Some("json.webpubsub.azure.v1"),
    )
    .await;
    assert_eq!(next_json(&mut socket).await["event"], "connected");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_data_reaches_json_clients_byte_for_byte() {
    let (emulator, client) = start(Emulator::builder()).await;
    let (mut sender, _) = json_client(&client, "s", vec![Role::send_to_group()]).await;
    let (mut receiver, receiver_id) = json_client(&client, "r", vec![]).await;
    client
        .add_connection_to_group("g", &receiver_id, None)
        .await
        .unwrap();
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    for data in [
        "123456789012345678901234567890",
        "1e999999",
        r#""\ud800""#,
        deep.as_str(),
    ] {
        let frame =
            format!(r#"{{"type":"sendToGroup","group":"g","dataType":"json","data":{data}}}"#);
        sender.send(Ws::text(frame)).await.unwrap();
        match next(&mut receiver).await {
            Ws::Text(text) => {
                assert!(
                    text.as_str()
                        .contains(&format!(r#""dataType":"json","data":{data}"#)),
                    "{data}: {text}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
    emulator.shutdown().await;
}
