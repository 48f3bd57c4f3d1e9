//! Every event the service sends beyond the basic four, as `@azure/web-pubsub-express` 1.1.0
//! dispatches them: group `joined`/`left`, MQTT connects (typed CONNECT fields, CONNACK
//! properties, refusals with MQTT codes), MQTT disconnects; every `ce-*` attribute in the
//! context; and the handler mounted as a `tower::Service`.

use std::sync::Mutex;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt as _, Full};
use serde_json::{json, Value};
use tower_service::Service as _;
use webpubsub_handler::*;

mod common;
use common::{event, keys, with_body};

#[derive(Default)]
struct Seen {
    log: Mutex<Vec<String>>,
}

impl Seen {
    fn push(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }
}

impl EventHandler for Seen {
    async fn connect(
        &self,
        ctx: &mut EventContext,
        request: ConnectEventRequest,
    ) -> ConnectResponse {
        let mqtt = request.mqtt.clone().unwrap_or_default();
        self.push(format!(
            "connect mqtt={} v{} user={:?} password={:?} props={:?} phys={:?} session={:?}",
            ctx.is_mqtt(),
            mqtt.protocol_version,
            mqtt.username,
            mqtt.password,
            mqtt.user_properties,
            ctx.physical_connection_id,
            ctx.session_id,
        ));
        match mqtt.username.as_deref() {
            Some("refused") => ConnectResponse::reject(401, "who are you"),
            Some("banned") => ConnectResponse::RejectMqtt(MqttConnectError {
                code: 138,
                reason: Some("banned".into()),
                user_properties: vec![MqttUserProperty::new("why", "spam")],
            }),
            Some("plain") => ConnectResponse::accept(),
            _ => ConnectEventResponse::default()
                .with_user_id("device-1")
                .with_mqtt_user_properties([MqttUserProperty::new("welcome", "yes")])
                .into(),
        }
    }

    async fn connected(&self, ctx: &EventContext) {
        self.push(format!(
            "connected id={} time={:?} source={} spec={} awps={} signed={}",
            ctx.id,
            ctx.time,
            ctx.source,
            ctx.spec_version,
            ctx.awps_version,
            ctx.signature.is_some()
        ));
    }

    async fn disconnected(&self, ctx: &EventContext, event: DisconnectedEventRequest) {
        let mqtt = event.mqtt.map(|m| {
            (
                m.disconnect_packet.code,
                m.disconnect_packet.user_properties.len(),
                m.initiated_by_client,
            )
        });
        self.push(format!(
            "disconnected {} {:?} {mqtt:?}",
            ctx.connection_id, event.reason
        ));
    }

    async fn group_joined(&self, ctx: &EventContext, group: &str) {
        self.push(format!("joined {} {group}", ctx.connection_id));
    }

    async fn group_left(&self, ctx: &EventContext, group: &str) {
        self.push(format!("left {} {group}", ctx.connection_id));
    }
}

fn handler() -> WebPubSubEventHandler<Seen> {
    WebPubSubEventHandler::new("chat", HandlerOptions::new(keys()), Seen::default())
}

fn log(h: &WebPubSubEventHandler<Seen>) -> Vec<String> {
    std::mem::take(&mut *h.handler().log.lock().unwrap())
}

fn json_event(ce_type: &str, name: &str, body: &str) -> Request<Bytes> {
    with_body(
        event(ce_type, name, "application/json; charset=utf-8", ""),
        body.to_owned(),
    )
}

/// An MQTT client's event: the `mqtt` subprotocol and a physical connection id.
fn mqtt_event(ce_type: &str, name: &str, body: &str) -> Request<Bytes> {
    with_body(
        event(ce_type, name, "application/json; charset=utf-8", "")
            .header("ce-subprotocol", "mqtt")
            .header("ce-physicalConnectionId", "phys-1")
            .header("ce-sessionId", "session-1"),
        body.to_owned(),
    )
}

fn mqtt_connect(version: u8, username: &str) -> Request<Bytes> {
    let body = json!({
        "claims": {}, "query": {}, "headers": {}, "subprotocols": ["mqtt"],
        "clientCertificates": [{"thumbprint": "ab12", "content": "-----BEGIN CERTIFICATE-----"}],
        "mqtt": {
            "protocolVersion": version, "username": username, "password": "p4ss",
            "userProperties": [{"name": "site", "value": "north"}]
        }
    })
    .to_string();
    mqtt_event("azure.webpubsub.sys.connect", "connect", &body)
}

fn body_json(response: &http::Response<Bytes>) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

#[tokio::test]
async fn group_joined_and_left_reach_their_methods() {
    let h = handler();
    let joined = json_event(
        "azure.webpubsub.gp.joined",
        "joined",
        r#"{"group":"room 1"}"#,
    );
    assert_eq!(h.handle(joined).await.status(), 200);
    let left = json_event("azure.webpubsub.gp.left", "left", r#"{"group":"room 1"}"#);
    assert_eq!(h.handle(left).await.status(), 200);
    assert_eq!(log(&h), ["joined conn1 room 1", "left conn1 room 1"]);
    // A body without the group is a clear 400, and nothing is dispatched.
    let broken = json_event("azure.webpubsub.gp.joined", "joined", r#"{"grp":1}"#);
    let response = h.handle(broken).await;
    assert_eq!(response.status(), 400);
    assert!(String::from_utf8_lossy(response.body()).contains("group event body"));
    assert!(log(&h).is_empty());
}

#[tokio::test]
async fn every_ce_attribute_is_in_the_context() {
    let h = handler();
    let connected = json_event("azure.webpubsub.sys.connected", "connected", "{}");
    assert_eq!(h.handle(connected).await.status(), 200);
    assert_eq!(
        log(&h),
        [
            r#"connected id=1 time=Some("2021-01-01T00:00:00Z") source=/hubs/chat/client/conn1 spec=1.0 awps=1.0 signed=true"#
        ]
    );
}

#[tokio::test]
async fn mqtt_connect_fields_are_typed_and_accepts_carry_user_properties() {
    let h = handler();
    let response = h.handle(mqtt_connect(5, "device")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body_json(&response),
        json!({"userId": "device-1", "mqtt": {"userProperties": [{"name": "welcome", "value": "yes"}]}})
    );
    assert_eq!(
        log(&h),
        [
            r#"connect mqtt=true v5 user=Some("device") password=Some("p4ss") props=[MqttUserProperty { name: "site", value: "north" }] phys=Some("phys-1") session=Some("session-1")"#
        ]
    );
    // No overrides: 204, as express answers an MQTT connect.
    assert_eq!(h.handle(mqtt_connect(4, "plain")).await.status(), 204);
}

#[tokio::test]
async fn mqtt_refusals_carry_the_code_of_the_clients_protocol_version() {
    let h = handler();
    for (version, code) in [(4u8, 5u8), (5, 135)] {
        let response = h.handle(mqtt_connect(version, "refused")).await;
        assert_eq!(response.status(), 401, "MQTT {version}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        assert_eq!(
            body_json(&response),
            json!({"mqtt": {"code": code, "reason": "who are you"}}),
            "MQTT {version}"
        );
    }
    // An exact CONNACK code: the status follows from it (138 banned → 403).
    let response = h.handle(mqtt_connect(5, "banned")).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        body_json(&response),
        json!({"mqtt": {"code": 138, "reason": "banned", "userProperties": [{"name": "why", "value": "spam"}]}})
    );
    // A WebSocket client refused the same way gets a text body, not MQTT JSON.
    let websocket = json_event(
        "azure.webpubsub.sys.connect",
        "connect",
        r#"{"claims":{},"query":{},"headers":{},"subprotocols":[],"mqtt":{"protocolVersion":5,"username":"refused"}}"#,
    );
    let response = h.handle(websocket).await;
    assert_eq!(
        (response.status().as_u16(), response.body().as_ref()),
        (401, &b"who are you"[..])
    );
    let _ = log(&h);
}

#[tokio::test]
async fn mqtt_disconnects_carry_the_packet_and_who_ended_it() {
    let h = handler();
    let body = r#"{"reason":"client closed","mqtt":{"disconnectPacket":{"code":4,"userProperties":[{"name":"a","value":"b"}]},"initiatedByClient":true}}"#;
    let response = h
        .handle(mqtt_event(
            "azure.webpubsub.sys.disconnected",
            "disconnected",
            body,
        ))
        .await;
    assert_eq!(response.status(), 200);
    let plain = json_event(
        "azure.webpubsub.sys.disconnected",
        "disconnected",
        r#"{"reason":"gone"}"#,
    );
    assert_eq!(h.handle(plain).await.status(), 200);
    assert_eq!(
        log(&h),
        [
            r#"disconnected conn1 Some("client closed") Some((4, 1, true))"#,
            r#"disconnected conn1 Some("gone") None"#,
        ]
    );
}

#[test]
fn the_mqtt_password_never_shows_in_debug() {
    let connect: ConnectEventRequest = serde_json::from_value(json!({
        "mqtt": {"protocolVersion": 4, "username": "u", "password": "hunter2"}
    }))
    .unwrap();
    let shown = format!("{connect:?}");
    assert!(
        shown.contains("<redacted>") && !shown.contains("hunter2"),
        "{shown}"
    );
}

#[tokio::test]
async fn as_a_tower_service_oversized_bodies_are_413_not_empty() {
    let mut options = HandlerOptions::new(keys());
    options.max_body_bytes = 64;
    let mut service = WebPubSubEventHandler::new("chat", options, Seen::default()).into_service();
    let call = |request: Request<Full<Bytes>>| {
        let mut service = service.clone();
        async move {
            let response = service.call(request).await.unwrap();
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, body)
        }
    };
    let joined = r#"{"group":"g"}"#;
    let small = event(
        "azure.webpubsub.gp.joined",
        "joined",
        "application/json",
        joined,
    )
    .body(Full::new(Bytes::from_static(joined.as_bytes())))
    .unwrap();
    assert_eq!(call(small).await.0, 200);
    assert_eq!(log(service.handler()), ["joined conn1 g"]);
    // Larger than the cap, no length declared: cut off while reading.
    let big = format!(r#"{{"group":"{}"}}"#, "g".repeat(100));
    let streamed = event(
        "azure.webpubsub.gp.joined",
        "joined",
        "application/json",
        "",
    )
    .body(Full::new(Bytes::from(big)))
    .unwrap();
    let (status, body) = call(streamed).await;
    assert_eq!(
        (status, body.as_ref()),
        (413, &b"the event body is too large"[..])
    );
    // A declared length over the cap is refused before reading.
    let declared = event(
        "azure.webpubsub.gp.joined",
        "joined",
        "application/json",
        "",
    )
    .header("content-length", "10000000000")
    .body(Full::new(Bytes::new()))
    .unwrap();
    assert_eq!(call(declared).await.0, 413);
    assert!(log(service.handler()).is_empty());
    std::future::poll_fn(|cx| {
        tower_service::Service::<Request<Full<Bytes>>>::poll_ready(&mut service, cx)
    })
    .await
    .unwrap();
}
