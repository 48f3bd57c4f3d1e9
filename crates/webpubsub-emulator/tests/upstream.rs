//! Upstream events end to end: the emulator calls our `webpubsub-handler` (served over hyper on
//! loopback) for connect, connected, disconnected and user events, with real signatures.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message as Ws;
use webpubsub::{AccessKey, ClientAccessTokenOptions, WebPubSubServiceClient};
use webpubsub_emulator::{Emulator, EventHandlerSettings};
use webpubsub_handler::{
    serve_hyper, ConnectEventRequest, ConnectEventResponse, ConnectResponse, ContentType,
    DisconnectedEventRequest, EventContext, EventHandler, HandlerOptions, Payload, UserEvent,
    UserEventResponse, WebPubSubEventHandler,
};

#[derive(Default)]
struct App {
    log: Mutex<Vec<String>>,
}

impl EventHandler for App {
    async fn connect(
        &self,
        ctx: &mut EventContext,
        request: ConnectEventRequest,
    ) -> ConnectResponse {
        let name = request.query.get("name").and_then(|v| v.first()).cloned();
        self.log
            .lock()
            .unwrap()
            .push(format!("connect {:?} {:?}", name, request.subprotocols));
        match name.as_deref() {
            Some("intruder") => ConnectResponse::reject(403, "go away"),
            Some(name) => {
                ctx.set_state("count", 0);
                ConnectEventResponse::default()
                    .with_user_id(name)
                    .with_groups(["lobby"])
                    .into()
            }
            None => ConnectResponse::accept(),
        }
    }

    async fn connected(&self, ctx: &EventContext) {
        self.log
            .lock()
            .unwrap()
            .push(format!("connected {:?}", ctx.user_id));
    }

    async fn disconnected(&self, ctx: &EventContext, event: DisconnectedEventRequest) {
        let reason = event.reason;
        self.log
            .lock()
            .unwrap()
            .push(format!("disconnected {:?} {:?}", ctx.user_id, reason));
    }

    async fn group_joined(&self, ctx: &EventContext, group: &str) {
        self.log
            .lock()
            .unwrap()
            .push(format!("joined {:?} {group}", ctx.user_id));
    }

    async fn group_left(&self, ctx: &EventContext, group: &str) {
        self.log
            .lock()
            .unwrap()
            .push(format!("left {:?} {group}", ctx.user_id));
    }

    async fn user_event(&self, ctx: &mut EventContext, event: UserEvent) -> UserEventResponse {
        let count = ctx.state("count").and_then(Value::as_i64).unwrap_or(-100) + 1;
        ctx.set_state("count", count);
        match (event.name.as_str(), event.data) {
            ("slow", data) => {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                UserEventResponse::Reply(data)
            }
            ("fail", _) => UserEventResponse::Reject {
                status: 500,
                reason: "no".into(),
            },
            (name, data) if data.content_type() == ContentType::Text => {
                let text = data.as_text().unwrap_or_default();
                UserEventResponse::Reply(Payload::text(format!("{name}#{count}: {text}")))
            }
            (_, data) => UserEventResponse::Reply(data),
        }
    }
}

async fn next(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Ws {
    tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

fn text(frame: Ws) -> Value {
    match frame {
        Ws::Text(t) => serde_json::from_str(t.as_str()).unwrap(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_drives_the_handler_for_every_event() {
    let key = AccessKey::DEVELOPMENT;
    let (app, handler_addr, server) = serve_app(key).await;
    let (emulator, client) = emulator_for(handler_addr, Emulator::builder().access_key(key)).await;
    let url = client
        .get_client_access_token(Some(ClientAccessTokenOptions::default()))
        .await
        .unwrap()
        .url;

    // connect: the handler names the user and puts it in "lobby".
    let mut request = format!("{url}&name=zed").into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "json.webpubsub.azure.v1".parse().unwrap(),
    );
    let (mut zed, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let connected = text(next(&mut zed).await);
    assert_eq!(connected["userId"], "zed");
    assert!(client.group_exists("lobby", None).await.unwrap());

    // User events: the reply comes back before the ack, and the state carries across events.
    zed.send(Ws::text(
        json!({"type": "event", "event": "say", "ackId": 1, "dataType": "text", "data": "hi"})
            .to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(
        text(next(&mut zed).await),
        json!({"type": "message", "from": "server", "dataType": "text", "data": "say#1: hi"})
    );
    assert_eq!(
        text(next(&mut zed).await),
        json!({"type": "ack", "ackId": 1, "success": true})
    );
    zed.send(Ws::text(
        json!({"type": "event", "event": "say", "ackId": 2, "dataType": "text", "data": "again"})
            .to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(text(next(&mut zed).await)["data"], "say#2: again");
    assert_eq!(text(next(&mut zed).await)["success"], true);
    zed.send(Ws::text(
        json!({"type": "event", "event": "fail", "ackId": 3, "dataType": "json", "data": {"x": 1}})
            .to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(
        text(next(&mut zed).await)["error"]["name"],
        "InternalServerError"
    );

    // A raw client's frames are `message` events; the reply comes back as a frame.
    let (mut raw, _) = tokio_tungstenite::connect_async(format!("{url}&name=rae"))
        .await
        .unwrap();
    raw.send(Ws::text("ping?")).await.unwrap();
    assert_eq!(next(&mut raw).await, Ws::text("message#1: ping?"));

    // A rejected connect refuses the upgrade with the handler's status.
    match tokio_tungstenite::connect_async(format!("{url}&name=intruder"))
        .await
        .unwrap_err()
    {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 403),
        other => panic!("{other:?}"),
    }

    zed.close(None).await.unwrap();
    drop(raw);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let log = app.handler().log.lock().unwrap().clone();
        if log.iter().filter(|l| l.starts_with("disconnected")).count() == 2 {
            assert!(
                log.contains(&"connected Some(\"zed\")".to_owned()),
                "{log:?}"
            );
            assert!(
                log.contains(&"connect Some(\"zed\") [\"json.webpubsub.azure.v1\"]".to_owned()),
                "{log:?}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{log:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    emulator.shutdown().await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_fails_validation_gets_no_events() {
    // A handler that allows only another origin: validation fails, so connect is refused (500)
    // rather than sent.
    let mut options = HandlerOptions::new([AccessKey::new(AccessKey::DEVELOPMENT)]);
    options.allowed_origins =
        webpubsub_handler::AllowedOrigins::Hosts(vec!["somewhere.else".into()]);
    let app = Arc::new(WebPubSubEventHandler::new("chat", options, App::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handler_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve_hyper(listener, app.clone()));
    let emulator = Emulator::builder()
        .event_handler(
            "*",
            EventHandlerSettings {
                url_template: format!("http://{handler_addr}/eventhandler"),
                user_event_pattern: String::new(),
                system_events: vec!["connect".into()],
            },
        )
        .start()
        .await
        .unwrap();
    let client =
        WebPubSubServiceClient::from_connection_string(&emulator.connection_string(), "chat", None)
            .unwrap();
    let url = client.get_client_access_token(None).await.unwrap().url;
    match tokio_tungstenite::connect_async(url).await.unwrap_err() {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 500),
        other => panic!("{other:?}"),
    }
    assert!(
        app.handler().log.lock().unwrap().is_empty(),
        "no event reached the handler"
    );
    emulator.shutdown().await;
    server.abort();
}

/// Our handler with `App`, knowing `key`, served on a free loopback port.
async fn serve_app(
    key: &str,
) -> (
    Arc<WebPubSubEventHandler<App>>,
    std::net::SocketAddr,
    tokio::task::JoinHandle<()>,
) {
    let app = Arc::new(WebPubSubEventHandler::new(
        "chat",
        HandlerOptions::new([AccessKey::new(key)]),
        App::default(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handler_addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve_hyper(listener, app.clone()));
    (app, handler_addr, server)
}

/// The handler on `addr` with every event subscribed, and the emulator calling it.
async fn emulator_for(
    handler_addr: std::net::SocketAddr,
    builder: webpubsub_emulator::EmulatorBuilder,
) -> (Emulator, WebPubSubServiceClient) {
    common::start(
        builder.event_handler(
            "chat",
            EventHandlerSettings {
                url_template: format!("http://{handler_addr}/eventhandler/{{event}}"),
                user_event_pattern: "*".into(),
                system_events: ["connect", "connected", "disconnected", "joined", "left"]
                    .map(String::from)
                    .to_vec(),
            },
        ),
    )
    .await
}

async fn connect_as(
    client: &WebPubSubServiceClient,
    name: &str,
    protocol: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = client.get_client_access_token(None).await.unwrap().url;
    let mut request = format!("{url}&name={name}").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn wait_for_log(app: &WebPubSubEventHandler<App>, line: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let log = app.handler().log.lock().unwrap().clone();
        if log.iter().any(|l| l == line) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {line:?} in {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_events_do_not_hold_up_the_connection_and_invocations_are_answered() {
    let (_app, handler_addr, server) = serve_app(AccessKey::DEVELOPMENT).await;
    let (emulator, client) = emulator_for(handler_addr, Emulator::builder()).await;
    let mut zed = connect_as(&client, "zed", "json.webpubsub.azure.v1").await;
    assert_eq!(text(next(&mut zed).await)["event"], "connected");

    // The handler takes 1.5 s: a ping sent after the event is answered long before.
    let slow =
        json!({"type": "event", "event": "slow", "ackId": 10, "dataType": "text", "data": "zzz"});
    zed.send(Ws::text(slow.to_string())).await.unwrap();
    zed.send(Ws::text(json!({"type": "ping"}).to_string()))
        .await
        .unwrap();
    assert_eq!(text(next(&mut zed).await), json!({"type": "pong"}));
    assert_eq!(text(next(&mut zed).await)["data"], "zzz");
    assert_eq!(text(next(&mut zed).await)["ackId"], 10);

    // invoke -> the user event -> invokeResponse with the handler's reply.
    let invoke = json!({"type": "invoke", "invocationId": "abc", "target": "event", "event": "add", "dataType": "text", "data": "1+1"});
    zed.send(Ws::text(invoke.to_string())).await.unwrap();
    let answer = text(next(&mut zed).await);
    assert_eq!(
        answer,
        json!({"type": "invokeResponse", "invocationId": "abc", "success": true, "dataType": "text", "data": "add#2: 1+1"})
    );
    let failing = json!({"type": "invoke", "invocationId": "def", "event": "fail"});
    zed.send(Ws::text(failing.to_string())).await.unwrap();
    let answer = text(next(&mut zed).await);
    assert_eq!(
        (answer["success"].clone(), answer["error"]["name"].clone()),
        (json!(false), json!("InternalServerError"))
    );
    emulator.shutdown().await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_that_ends_is_reported_disconnected_with_its_reason() {
    let (app, handler_addr, server) = serve_app(AccessKey::DEVELOPMENT).await;
    let builder = Emulator::builder().recovery_window(Duration::from_millis(300));
    let (emulator, client) = emulator_for(handler_addr, builder).await;

    // A REST close: its reason.
    let mut ann = connect_as(&client, "ann", "json.webpubsub.azure.v1").await;
    text(next(&mut ann).await);
    let close = webpubsub::CloseConnectionsOptions {
        reason: Some("maintenance".into()),
        ..Default::default()
    };
    client
        .close_user_connections("ann", Some(close))
        .await
        .unwrap();
    wait_for_log(&app, "disconnected Some(\"ann\") Some(\"maintenance\")").await;

    // A reliable session whose recovery window passes.
    let mut bob = connect_as(&client, "bob", "json.reliable.webpubsub.azure.v1").await;
    text(next(&mut bob).await);
    drop(bob);
    wait_for_log(
        &app,
        "disconnected Some(\"bob\") Some(\"the connection was not recovered in time\")",
    )
    .await;

    // A detached session closed by REST.
    let mut cy = connect_as(&client, "cy", "json.reliable.webpubsub.azure.v1").await;
    text(next(&mut cy).await);
    drop(cy);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let close = webpubsub::CloseConnectionsOptions {
        reason: Some("bye cy".into()),
        ..Default::default()
    };
    client
        .close_user_connections("cy", Some(close))
        .await
        .unwrap();
    wait_for_log(&app, "disconnected Some(\"cy\") Some(\"bye cy\")").await;
    emulator.shutdown().await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_starts_after_the_emulator_is_validated_on_a_later_connect() {
    // A free port with nothing listening yet.
    let port = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let (emulator, client) = emulator_for(port, Emulator::builder()).await;
    let url = client.get_client_access_token(None).await.unwrap().url;
    match tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap_err()
    {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 500),
        other => panic!("{other:?}"),
    }
    // The app server comes up; after the first back-off (1 s) validation is tried again.
    let app = Arc::new(WebPubSubEventHandler::new(
        "chat",
        HandlerOptions::new([AccessKey::new(AccessKey::DEVELOPMENT)]),
        App::default(),
    ));
    let listener = tokio::net::TcpListener::bind(port).await.unwrap();
    let server = tokio::spawn(serve_hyper(listener, app.clone()));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{url}&name=late"))
        .await
        .unwrap();
    socket.send(Ws::text("hi")).await.unwrap();
    assert_eq!(next(&mut socket).await, Ws::text("message#1: hi"));
    emulator.shutdown().await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_signed_with_both_keys_so_a_handler_knowing_either_accepts_them() {
    const SECOND: &str = "c2Vjb25kIGtleSBmb3Igcm90YXRpb24gdGVzdHMgMTIzNDU2Nzg5MA==";
    // The app server knows only the secondary key (the primary is being rotated).
    let (app, handler_addr, server) = serve_app(SECOND).await;
    let (emulator, client) =
        emulator_for(handler_addr, Emulator::builder().secondary_key(SECOND)).await;
    let mut zed = connect_as(&client, "zed", "json.webpubsub.azure.v1").await;
    assert_eq!(
        text(next(&mut zed).await)["userId"],
        "zed",
        "connect verified with the second key"
    );
    wait_for_log(&app, "connected Some(\"zed\")").await;
    emulator.shutdown().await;
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_joins_and_leaves_after_connect_are_sent_as_joined_and_left() {
    let (app, handler_addr, server) = serve_app(AccessKey::DEVELOPMENT).await;
    let (emulator, client) = emulator_for(handler_addr, Emulator::builder()).await;
    let token = ClientAccessTokenOptions::default().role(webpubsub::Role::join_leave_group());
    let url = client
        .get_client_access_token(Some(token))
        .await
        .unwrap()
        .url;
    let mut request = format!("{url}&name=gil").into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "json.webpubsub.azure.v1".parse().unwrap(),
    );
    let (mut gil, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let connected = text(next(&mut gil).await);
    let id = connected["connectionId"].as_str().unwrap().to_owned();
    wait_for_log(&app, "connected Some(\"gil\")").await;

    // Its own request, then REST, then leaving both ways.
    gil.send(Ws::text(
        json!({"type": "joinGroup", "group": "room", "ackId": 1}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(text(next(&mut gil).await)["success"], true);
    wait_for_log(&app, "joined Some(\"gil\") room").await;
    client
        .add_connection_to_group("rest room", &id, None)
        .await
        .unwrap();
    wait_for_log(&app, "joined Some(\"gil\") rest room").await;
    // Joining a group it is already in changes nothing, so nothing is sent.
    client
        .add_connection_to_group("room", &id, None)
        .await
        .unwrap();
    gil.send(Ws::text(
        json!({"type": "leaveGroup", "group": "room", "ackId": 2}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(text(next(&mut gil).await)["success"], true);
    wait_for_log(&app, "left Some(\"gil\") room").await;
    client
        .remove_connection_from_group("rest room", &id, None)
        .await
        .unwrap();
    wait_for_log(&app, "left Some(\"gil\") rest room").await;

    // "lobby" (joined by the connect answer) and the groups left on disconnect are not events.
    gil.close(None).await.unwrap();
    wait_for_log(&app, "disconnected Some(\"gil\") None").await;
    let log = app.handler().log.lock().unwrap().clone();
    let groups: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with("joined") || l.starts_with("left"))
        .collect();
    assert_eq!(
        groups,
        [
            "joined Some(\"gil\") room",
            "joined Some(\"gil\") rest room",
            "left Some(\"gil\") room",
            "left Some(\"gil\") rest room"
        ]
    );
    emulator.shutdown().await;
    server.abort();
}
