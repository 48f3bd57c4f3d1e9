//! The emulator end to end: our service client over real HTTP and WebSocket clients
//! (tokio-tungstenite) on loopback.

use std::time::{Duration, SystemTime};

use futures_util::{SinkExt as _, StreamExt as _, TryStreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as Ws;
use webpubsub::*;
use webpubsub_emulator::Emulator;

mod common;
use common::*;

/// Proves nothing else is queued for `socket`: a ping must be answered first.
async fn nothing_pending(socket: &mut Socket) {
    send_json(socket, json!({"type": "ping"})).await;
    assert_eq!(next_json(socket).await, json!({"type": "pong"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_sends_reach_each_kind_of_client_in_its_format() {
    let (emulator, client) = start(Emulator::builder()).await;
    let mut alice = connect(
        &token(&client, Some("alice"), vec![]).await,
        Some("json.webpubsub.azure.v1"),
    )
    .await;
    let connected = next_json(&mut alice).await;
    assert_eq!(connected["type"], "system");
    assert_eq!(connected["event"], "connected");
    assert_eq!(connected["userId"], "alice");
    let alice_id = connected["connectionId"].as_str().unwrap().to_owned();
    let mut bob = connect(&token(&client, Some("bob"), vec![]).await, None).await;
    while !client.user_exists("bob", None).await.unwrap() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    assert!(client.connection_exists(&alice_id, None).await.unwrap());
    assert!(!client.connection_exists("nobody", None).await.unwrap());
    assert!(client.user_exists("alice", None).await.unwrap());
    assert!(!client.user_exists("carol", None).await.unwrap());
    client.service_status(None).await.unwrap();

    // The content-type table: text, JSON (a JSON string stays quoted for raw clients), binary.
    client
        .send_to_all(Payload::text("Hello World"), None)
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut alice).await,
        json!({"type": "message", "from": "server", "dataType": "text", "data": "Hello World"})
    );
    assert_eq!(next(&mut bob).await, Ws::text("Hello World"));
    client
        .send_to_all(Payload::json(&json!({"Hello": "World"})).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut alice).await["data"],
        json!({"Hello": "World"})
    );
    assert_eq!(next(&mut bob).await, Ws::text(r#"{"Hello":"World"}"#));
    client
        .send_to_all(Payload::json("Hello World").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(next_json(&mut alice).await["data"], "Hello World");
    assert_eq!(next(&mut bob).await, Ws::text(r#""Hello World""#));
    client
        .send_to_all(Payload::binary(vec![0, 1, 255]), None)
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut alice).await,
        json!({"type": "message", "from": "server", "dataType": "binary", "data": "AAH/"})
    );
    assert_eq!(next(&mut bob).await, Ws::binary(vec![0, 1, 255]));

    // Users, connections, excluded and filters pick the receivers.
    client
        .send_to_user("bob", Payload::text("to bob"), None)
        .await
        .unwrap();
    assert_eq!(next(&mut bob).await, Ws::text("to bob"));
    client
        .send_to_connection(&alice_id, Payload::text("to alice"), None)
        .await
        .unwrap();
    assert_eq!(next_json(&mut alice).await["data"], "to alice");
    let only_bob = SendToAllOptions {
        filter: Some(Filter::user_id().eq("bob")),
        ..Default::default()
    };
    client
        .send_to_all(Payload::text("filtered"), Some(only_bob))
        .await
        .unwrap();
    assert_eq!(next(&mut bob).await, Ws::text("filtered"));
    let not_alice = SendToAllOptions {
        excluded: vec![alice_id.clone()],
        ..Default::default()
    };
    client
        .send_to_all(Payload::text("excluded"), Some(not_alice))
        .await
        .unwrap();
    assert_eq!(next(&mut bob).await, Ws::text("excluded"));
    nothing_pending(&mut alice).await;

    // Groups by REST.
    assert!(!client.group_exists("room", None).await.unwrap());
    client
        .add_connection_to_group("room", &alice_id, None)
        .await
        .unwrap();
    assert!(client.group_exists("room", None).await.unwrap());
    client
        .group("room")
        .send(Payload::text("group hello"), None)
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut alice).await,
        json!({"type": "message", "from": "group", "group": "room", "dataType": "text", "data": "group hello"})
    );
    client.add_user_to_group("room", "bob", None).await.unwrap();
    let members: Vec<GroupMember> = client
        .list_connections_in_group(
            "room",
            Some(ListConnectionsOptions {
                max_page_size: Some(1),
                top: None,
                ..Default::default()
            }),
        )
        .try_collect()
        .await
        .unwrap();
    let mut users: Vec<_> = members.iter().map(|m| m.user_id.clone().unwrap()).collect();
    users.sort();
    assert_eq!(users, ["alice", "bob"], "two pages of one");
    let err = client
        .add_connection_to_group("room", "nobody", None)
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.error_code(), Some("Error.Connection.NotExisted"));
    client
        .remove_user_from_group("room", "bob", None)
        .await
        .unwrap();
    client
        .remove_connection_from_all_groups(&alice_id, None)
        .await
        .unwrap();
    assert!(!client.group_exists("room", None).await.unwrap());

    // Filters over groups move connections between groups.
    client
        .add_connections_to_groups(
            &["news"],
            Some(GroupsFilterOptions {
                filter: Some(Filter::parse("userId eq 'alice'").unwrap()),
            }),
        )
        .await
        .unwrap();
    assert!(client.group_exists("news", None).await.unwrap());
    client
        .remove_connections_from_groups(
            &["news"],
            Some(GroupsFilterOptions {
                filter: Some(Filter::parse("userId eq 'alice'").unwrap()),
            }),
        )
        .await
        .unwrap();
    assert!(!client.group_exists("news", None).await.unwrap());

    // A REST close: `disconnected` first, then the close frame with the reason.
    client
        .close_connection(
            &alice_id,
            Some(CloseConnectionOptions {
                reason: Some("kicked".into()),
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut alice).await,
        json!({"type": "system", "event": "disconnected", "message": "kicked"})
    );
    match next(&mut alice).await {
        Ws::Close(Some(frame)) => assert_eq!(frame.reason.as_str(), "kicked"),
        other => panic!("{other:?}"),
    }
    client.close_user_connections("bob", None).await.unwrap();
    assert!(matches!(next(&mut bob).await, Ws::Close(_)));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_rest_permissions_govern_what_clients_may_do() {
    let (emulator, client) = start(Emulator::builder()).await;
    let mut a = connect(
        &token(&client, Some("a"), vec![]).await,
        Some("json.webpubsub.azure.v1"),
    )
    .await;
    let a_id = next_json(&mut a).await["connectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let roles = vec![
        Role::join_leave_group_named("room"),
        Role::send_to_group_named("room"),
    ];
    let mut b = connect(
        &token(&client, Some("b"), roles).await,
        Some("json.webpubsub.azure.v1"),
    )
    .await;
    next_json(&mut b).await;

    send_json(
        &mut a,
        json!({"type": "joinGroup", "group": "room", "ackId": 1}),
    )
    .await;
    let ack = next_json(&mut a).await;
    assert_eq!(ack["success"], false);
    assert_eq!(ack["error"]["name"], "Forbidden");

    let target = || {
        Some(PermissionOptions {
            target_name: Some("room".into()),
        })
    };
    assert!(!client
        .has_permission(Permission::JoinLeaveGroup, &a_id, target())
        .await
        .unwrap());
    client
        .grant_permission(Permission::JoinLeaveGroup, &a_id, target())
        .await
        .unwrap();
    assert!(client
        .has_permission(Permission::JoinLeaveGroup, &a_id, target())
        .await
        .unwrap());
    send_json(
        &mut a,
        json!({"type": "joinGroup", "group": "room", "ackId": 2}),
    )
    .await;
    assert_eq!(
        next_json(&mut a).await,
        json!({"type": "ack", "ackId": 2, "success": true})
    );
    send_json(
        &mut a,
        json!({"type": "joinGroup", "group": "room", "ackId": 2}),
    )
    .await;
    assert_eq!(next_json(&mut a).await["error"]["name"], "Duplicate");
    client
        .revoke_permission(Permission::JoinLeaveGroup, &a_id, target())
        .await
        .unwrap();
    assert!(!client
        .has_permission(Permission::JoinLeaveGroup, &a_id, target())
        .await
        .unwrap());
    let err = client
        .grant_permission(Permission::SendToGroup, "nobody", target())
        .await
        .unwrap_err();
    assert!(err.is_not_found());

    // b may join and publish to "room"; with noEcho it does not hear itself, a does.
    send_json(
        &mut b,
        json!({"type": "joinGroup", "group": "room", "ackId": 1}),
    )
    .await;
    assert_eq!(next_json(&mut b).await["success"], true);
    send_json(&mut b, json!({"type": "sendToGroup", "group": "room", "ackId": 2, "noEcho": true, "dataType": "json", "data": {"x": 1}})).await;
    assert_eq!(next_json(&mut b).await["success"], true);
    assert_eq!(
        next_json(&mut a).await,
        json!({"type": "message", "from": "group", "group": "room", "fromUserId": "b", "dataType": "json", "data": {"x": 1}})
    );
    nothing_pending(&mut b).await;
    send_json(
        &mut b,
        json!({"type": "sendToGroup", "group": "other", "ackId": 3, "data": "x"}),
    )
    .await;
    assert_eq!(next_json(&mut b).await["error"]["name"], "Forbidden");
    // Events need an upstream handler; without one the ack says so.
    send_json(
        &mut b,
        json!({"type": "event", "event": "chat", "ackId": 4, "dataType": "text", "data": "hi"}),
    )
    .await;
    assert_eq!(
        next_json(&mut b).await["error"]["name"],
        "InternalServerError"
    );
    // Unknown types get an error ack, not a closed connection.
    send_json(&mut b, json!({"type": "invoke", "ackId": 5})).await;
    assert_eq!(next_json(&mut b).await["error"]["name"], "BadRequest");
    nothing_pending(&mut b).await;
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reliable_clients_get_sequence_ids_and_a_reconnection_token() {
    let (emulator, client) = start(Emulator::builder()).await;
    let mut r = connect(
        &token(&client, Some("r"), vec![]).await,
        Some("json.reliable.webpubsub.azure.v1"),
    )
    .await;
    let connected = next_json(&mut r).await;
    assert!(connected["reconnectionToken"].is_string());
    client
        .send_to_all(Payload::text("one"), None)
        .await
        .unwrap();
    client
        .send_to_all(Payload::text("two"), None)
        .await
        .unwrap();
    assert_eq!(next_json(&mut r).await["sequenceId"], 1);
    assert_eq!(next_json(&mut r).await["sequenceId"], 2);
    send_json(&mut r, json!({"type": "sequenceAck", "sequenceId": 2})).await;
    nothing_pending(&mut r).await;
    // A closed reliable client is told not to recover.
    client.close_all_connections(None).await.unwrap();
    next_json(&mut r).await;
    match next(&mut r).await {
        Ws::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1008),
        other => panic!("{other:?}"),
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_before_the_upgrade() {
    let (emulator, client) = start(Emulator::builder()).await;
    let good = token(&client, None, vec![]).await;
    let base = good.split('?').next().unwrap().to_owned();
    let other_key = WebPubSubServiceClient::from_connection_string(
        &format!(
            "Endpoint={};AccessKey=wrong-key;Version=1.0;",
            emulator.endpoint()
        ),
        "chat",
        None,
    )
    .unwrap();
    let cases = [
        base.clone(),
        format!("{base}?access_token=not.a.jwt"),
        token(&other_key, None, vec![]).await,
        token(&client.with_hub("otherhub").unwrap(), None, vec![])
            .await
            .replace("otherhub", "chat"),
    ];
    for url in cases {
        let err = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap_err();
        match err {
            tokio_tungstenite::tungstenite::Error::Http(response) => {
                assert_eq!(response.status(), 401, "{url}")
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    // The hub matches case-insensitively; `/client/?hub=` works too.
    let upper = good.replace("/client/hubs/chat", "/client/hubs/CHAT");
    let _ = connect(&upper, None).await;
    let query_form = good.replace("/client/hubs/chat?", "/client/?hub=chat&");
    let _ = connect(&query_form, None).await;
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_errors_have_the_service_shape() {
    use bytes::Bytes;
    use webpubsub_transport::{HttpClient, HyperClient, HyperClientOptions};
    let (emulator, _client) = start(Emulator::builder()).await;
    let transport = HyperClient::new(HyperClientOptions::default()).unwrap();
    let key = webpubsub_auth::AccessKey::new(webpubsub_auth::AccessKey::DEVELOPMENT);
    let call = |method: &str, path: &str, content_type: &str, body: &'static str, signed: bool| {
        let url = format!("{}{path}", emulator.endpoint());
        let mut builder = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("content-type", content_type);
        if signed {
            let token = webpubsub_auth::rest_bearer_token(
                &key,
                &url,
                SystemTime::now(),
                Duration::from_secs(60),
            )
            .unwrap();
            builder = builder.header("authorization", format!("Bearer {}", token.expose()));
        }
        builder.body(Bytes::from_static(body.as_bytes())).unwrap()
    };
    let cases = [
        (
            call(
                "POST",
                "/api/hubs/chat/:send?api-version=2024-12-01",
                "text/plain",
                "x",
                false,
            ),
            401,
            "Error.Unauthorized",
        ),
        (
            call(
                "POST",
                "/api/hubs/chat/:send?api-version=2024-12-01",
                "image/png",
                "x",
                true,
            ),
            415,
            "Error.UnsupportedMediaType",
        ),
        (
            call(
                "POST",
                "/api/hubs/chat/:send?messageTtlSeconds=301&api-version=2024-12-01",
                "text/plain",
                "x",
                true,
            ),
            400,
            "Error.BadRequest",
        ),
        (
            call(
                "POST",
                "/api/hubs/chat/:send?filter=userId%20eq&api-version=2024-12-01",
                "text/plain",
                "x",
                true,
            ),
            400,
            "Error.BadRequest",
        ),
        (
            call(
                "POST",
                "/api/hubs/chat/:send?api-version=2024-12-01",
                "application/json",
                "{bad",
                true,
            ),
            400,
            "Error.BadRequest",
        ),
        (
            call(
                "POST",
                "/api/hubs/1bad/:send?api-version=2024-12-01",
                "text/plain",
                "x",
                true,
            ),
            400,
            "Error.BadRequest",
        ),
        (
            call(
                "GET",
                "/api/hubs/chat/nothing?api-version=2024-12-01",
                "text/plain",
                "",
                true,
            ),
            404,
            "Error.NotFound",
        ),
        (
            call(
                "GET",
                "/api/hubs/chat/groups/g/connections?maxpagesize=500&api-version=2024-12-01",
                "text/plain",
                "",
                true,
            ),
            400,
            "Error.BadRequest",
        ),
    ];
    for (request, status, code) in cases {
        let response = transport.execute(&request).await.unwrap();
        assert_eq!(response.status(), status, "{}", request.uri());
        assert_eq!(
            response.headers().get("x-ms-error-code").unwrap(),
            code,
            "{}",
            request.uri()
        );
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["code"], code);
        assert!(body["message"].is_string());
    }
    // generateToken mints a token the emulator accepts for that user.
    let request = call("POST", "/api/hubs/chat/:generateToken?userId=zoe&role=webpubsub.sendToGroup&minutesToExpire=5&api-version=2024-12-01", "text/plain", "", true);
    let response = transport.execute(&request).await.unwrap();
    assert_eq!(response.status(), 200);
    let token: Value = serde_json::from_slice(response.body()).unwrap();
    let url = format!(
        "{}/client/hubs/chat?access_token={}",
        emulator.endpoint().replace("http", "ws"),
        token["token"].as_str().unwrap()
    );
    let mut zoe = connect(&url, Some("json.webpubsub.azure.v1")).await;
    assert_eq!(next_json(&mut zoe).await["userId"], "zoe");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_reliable_connection_recovers_with_replay() {
    let (emulator, client) = start(Emulator::builder()).await;
    let url = token(&client, Some("r"), vec![]).await;
    let mut first = connect(&url, Some("json.reliable.webpubsub.azure.v1")).await;
    let connected = next_json(&mut first).await;
    let id = connected["connectionId"].as_str().unwrap().to_owned();
    let reconnection_token = connected["reconnectionToken"].as_str().unwrap().to_owned();
    client
        .add_connection_to_group("room", &id, None)
        .await
        .unwrap();

    client
        .send_to_all(Payload::text("one"), None)
        .await
        .unwrap();
    assert_eq!(next_json(&mut first).await["sequenceId"], 1);
    send_json(&mut first, json!({"type": "sequenceAck", "sequenceId": 1})).await;
    client
        .send_to_all(Payload::text("two"), None)
        .await
        .unwrap();
    assert_eq!(next_json(&mut first).await["data"], "two");
    nothing_pending(&mut first).await; // the ack above has been processed
                                       // The transport drops without a close frame; the session waits for recovery.
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(client.connection_exists(&id, None).await.unwrap());
    client
        .group("room")
        .send(Payload::text("three"), None)
        .await
        .unwrap();

    // A wrong token cannot take the session over.
    let mut thief = connect(
        &format!("{url}&awps_connection_id={id}&awps_reconnection_token=guess"),
        Some("json.reliable.webpubsub.azure.v1"),
    )
    .await;
    match next(&mut thief).await {
        Ws::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1008),
        other => panic!("{other:?}"),
    }
    // The right one replays what was not acknowledged, with the same sequence ids, in order.
    let resume =
        format!("{url}&awps_connection_id={id}&awps_reconnection_token={reconnection_token}");
    let mut second = connect(&resume, Some("json.reliable.webpubsub.azure.v1")).await;
    let two = next_json(&mut second).await;
    assert_eq!(
        (two["sequenceId"].clone(), two["data"].clone()),
        (json!(2), json!("two"))
    );
    let three = next_json(&mut second).await;
    assert_eq!(
        (
            three["sequenceId"].clone(),
            three["data"].clone(),
            three["group"].clone()
        ),
        (json!(3), json!("three"), json!("room"))
    );
    nothing_pending(&mut second).await;
    assert!(
        client.group_exists("room", None).await.unwrap(),
        "groups survive recovery"
    );

    // A close with 1000 ends the session for good (other codes, or none, keep it recoverable).
    let normal = tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: "bye".into(),
    };
    second.close(Some(normal)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!client.connection_exists(&id, None).await.unwrap());
    let mut late = connect(&resume, Some("json.reliable.webpubsub.azure.v1")).await;
    assert!(matches!(next(&mut late).await, Ws::Close(Some(_))));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_closed_without_stalling_the_others() {
    let emulator = Emulator::builder()
        .outbound_queue(64)
        .start()
        .await
        .unwrap();
    let client =
        WebPubSubServiceClient::from_connection_string(&emulator.connection_string(), "chat", None)
            .unwrap();
    let mut slow = connect(&token(&client, Some("slow"), vec![]).await, None).await;
    let mut fast = connect(&token(&client, Some("fast"), vec![]).await, None).await;
    while !(client.user_exists("slow", None).await.unwrap()
        && client.user_exists("fast", None).await.unwrap())
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // 64 KiB messages: enough to fill the slow client's socket buffers and then its queue.
    let payload = "x".repeat(64 * 1024);
    let reader = tokio::spawn(async move {
        let mut got = 0;
        while got < 300 {
            match next(&mut fast).await {
                Ws::Text(text) => {
                    assert_eq!(text.len(), 64 * 1024);
                    got += 1;
                }
                other => panic!("{other:?}"),
            }
        }
        got
    });
    for _ in 0..300 {
        client
            .send_to_all(Payload::text(payload.clone()), None)
            .await
            .unwrap();
    }
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(30), reader)
            .await
            .unwrap()
            .unwrap(),
        300,
        "the fast client got everything"
    );
    // The slow one was dropped: once it reads, its stream ends early.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while client.user_exists("slow", None).await.unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow client was never closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut received = 0;
    while let Some(Ok(Ws::Text(_))) = tokio::time::timeout(Duration::from_secs(5), slow.next())
        .await
        .unwrap_or(None)
    {
        received += 1;
    }
    assert!(
        received < 300,
        "the slow client cannot have received everything: {received}"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_clients_in_send_to_group_mode_publish_their_frames() {
    let (emulator, client) = start(Emulator::builder()).await;
    let mut listener = connect(
        &token(&client, Some("l"), vec![]).await,
        Some("json.webpubsub.azure.v1"),
    )
    .await;
    let id = next_json(&mut listener).await["connectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    client
        .add_connection_to_group("room", &id, None)
        .await
        .unwrap();

    let allowed = token(
        &client,
        Some("sender"),
        vec![Role::send_to_group_named("room")],
    )
    .await;
    let mut sender = connect(
        &format!("{allowed}&webpubsub_mode=sendToGroup&group=room"),
        None,
    )
    .await;
    sender.send(Ws::text("raw hello")).await.unwrap();
    assert_eq!(
        next_json(&mut listener).await,
        json!({"type": "message", "from": "group", "group": "room", "fromUserId": "sender", "dataType": "text", "data": "raw hello"})
    );
    sender.send(Ws::binary(vec![7, 8])).await.unwrap();
    assert_eq!(next_json(&mut listener).await["data"], "Bwg=");

    let denied = token(&client, Some("nobody"), vec![]).await;
    let mut intruder = connect(
        &format!("{denied}&webpubsub_mode=sendToGroup&group=room"),
        None,
    )
    .await;
    intruder.send(Ws::text("let me in")).await.unwrap();
    match next(&mut intruder).await {
        Ws::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 1008),
        other => panic!("{other:?}"),
    }
    nothing_pending(&mut listener).await;
    emulator.shutdown().await;
}
