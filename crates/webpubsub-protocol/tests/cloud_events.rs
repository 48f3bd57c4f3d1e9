//! CloudEvents headers and bodies, both ways, with the header set the real service sends.

use std::collections::BTreeMap;

use serde_json::json;
use webpubsub_protocol::events::*;
use webpubsub_protocol::Payload;

/// The header set of a real service request (as in the reference's captured request), as an
/// HTTP stack hands it over: lower-cased names.
fn captured() -> BTreeMap<String, String> {
    [
        ("ce-specversion", "1.0"),
        ("ce-type", "azure.webpubsub.user.message"),
        ("ce-source", "/hubs/chat/client/conn1"),
        ("ce-id", "3"),
        ("ce-time", "2021-01-01T00:00:00Z"),
        ("ce-signature", "sha256=aa,sha256=bb"),
        ("ce-userid", "user1"),
        ("ce-connectionid", "conn1"),
        ("ce-hub", "chat"),
        ("ce-eventname", "message"),
        ("ce-subprotocol", "json.webpubsub.azure.v1"),
        ("ce-connectionstate", "eyJhIjoxfQ=="),
        ("ce-awpsversion", "1.0"),
        ("webhook-request-origin", "xxx.webpubsub.azure.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn lookup(map: &BTreeMap<String, String>) -> http::HeaderMap {
    map.iter()
        .map(|(k, v)| {
            (
                http::HeaderName::try_from(k.as_str()).unwrap(),
                http::HeaderValue::try_from(v.as_str()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn parses_a_real_request_case_insensitively_and_renders_it_back() {
    let map = captured();
    let headers = CloudEventHeaders::from_headers(&lookup(&map)).unwrap();
    assert_eq!(headers.event_type, EventType::User("message".into()));
    assert_eq!(headers.hub, "chat");
    assert_eq!(headers.connection_id, "conn1");
    assert_eq!(headers.user_id.as_deref(), Some("user1"));
    assert_eq!(headers.signature.as_deref(), Some("sha256=aa,sha256=bb"));
    assert_eq!(
        headers.subprotocol.as_deref(),
        Some("json.webpubsub.azure.v1")
    );
    let state = ConnectionState::from_header(headers.connection_state.as_deref().unwrap()).unwrap();
    assert_eq!(state.get("a"), Some(&json!(1)));

    let rendered: BTreeMap<String, String> = headers
        .to_headers()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let mut expected = captured();
    expected.remove("webhook-request-origin");
    assert_eq!(rendered, expected);
}

#[test]
fn event_types_and_required_headers() {
    for (ce_type, typed, blocking) in [
        ("azure.webpubsub.sys.connect", EventType::Connect, true),
        ("azure.webpubsub.sys.connected", EventType::Connected, false),
        (
            "azure.webpubsub.sys.disconnected",
            EventType::Disconnected,
            false,
        ),
        ("azure.webpubsub.gp.joined", EventType::GroupJoined, false),
        ("azure.webpubsub.gp.left", EventType::GroupLeft, false),
        (
            "azure.webpubsub.user.chat.message",
            EventType::User("chat.message".into()),
            true,
        ),
    ] {
        assert_eq!(EventType::from_ce_type(ce_type), Some(typed.clone()));
        assert_eq!(typed.ce_type(), ce_type);
        assert_eq!(typed.is_blocking(), blocking);
    }
    assert_eq!(EventType::from_ce_type("azure.webpubsub.user."), None);
    assert_eq!(EventType::from_ce_type("com.example.other"), None);
    // A value that cannot be a header value is an error, not a dropped or mangled header.
    let broken =
        CloudEventHeaders::new(EventType::Connected, "chat", "c", "1").with_user_id("a\nb");
    assert_eq!(
        broken.to_headers().unwrap_err(),
        CloudEventError::InvalidHeaderValue("ce-userid")
    );

    for missing in ["ce-type", "ce-hub", "ce-connectionid", "ce-awpsversion"] {
        let mut map = captured();
        map.remove(missing);
        let err = CloudEventHeaders::from_headers(&lookup(&map)).unwrap_err();
        assert!(
            matches!(err, CloudEventError::MissingHeader(name) if name.eq_ignore_ascii_case(missing)),
            "{missing}: {err}"
        );
    }
    let mut map = captured();
    map.insert("ce-type".into(), "other".into());
    assert_eq!(
        CloudEventHeaders::from_headers(&lookup(&map)).unwrap_err(),
        CloudEventError::UnknownType
    );
}

#[test]
fn connect_request_as_the_service_sends_it() {
    let body = r#"{"claims":{"sub":["user1"],"role":["webpubsub.sendToGroup"],"aud":["http://localhost/client/hubs/chat"],"iat":"1700000000"},
                   "query":{"id":["aaa"]},"headers":{"User-Agent":["ua"],"Sec-WebSocket-Version":["13"]},
                   "subprotocols":["json.webpubsub.azure.v1","json.reliable.webpubsub.azure.v1"],
                   "clientCertificates":[{"thumbprint":"ABC","content":"-----BEGIN CERTIFICATE-----"}]}"#;
    let connect: ConnectEventRequest = serde_json::from_str(body).unwrap();
    assert_eq!(connect.claims["role"], ["webpubsub.sendToGroup"]);
    assert_eq!(connect.query["id"], ["aaa"]);
    assert_eq!(connect.headers["Sec-WebSocket-Version"], ["13"]);
    assert_eq!(connect.subprotocols.len(), 2);
    assert_eq!(connect.client_certificates[0].thumbprint, "ABC");
    // Emitted as the service emits it, and read back the same.
    let again: ConnectEventRequest =
        serde_json::from_str(&serde_json::to_string(&connect).unwrap()).unwrap();
    assert_eq!(again, connect);
    // Lenient: single strings, `queries` alias, missing fields.
    let loose: ConnectEventRequest =
        serde_json::from_str(r#"{"claims":{"sub":"u","n":5},"queries":{"a":"b"}}"#).unwrap();
    assert_eq!(loose.claims["sub"], ["u"]);
    assert_eq!(loose.claims["n"], ["5"]);
    assert_eq!(loose.query["a"], ["b"]);
    assert!(loose.subprotocols.is_empty());
}

#[test]
fn connect_response_disconnected_and_user_events() {
    let response: ConnectEventResponse = serde_json::from_str(
        r#"{"userId":"u","groups":["g"],"roles":["r"],"subprotocol":"json.webpubsub.azure.v1"}"#,
    )
    .unwrap();
    assert_eq!(
        response.subprotocol.as_deref(),
        Some("json.webpubsub.azure.v1")
    );
    assert_eq!(
        serde_json::to_string(&ConnectEventResponse::default()).unwrap(),
        "{}"
    );
    let disconnected: DisconnectedEventRequest =
        serde_json::from_str(r#"{"reason":"ClosedByAppServer"}"#).unwrap();
    assert_eq!(disconnected.reason.as_deref(), Some("ClosedByAppServer"));
    assert_eq!(
        serde_json::from_str::<DisconnectedEventRequest>("{}")
            .unwrap()
            .reason,
        None
    );

    let json = |ct: &str, body: &'static [u8]| Payload::from_content_type(ct, body.into()).ok();
    assert_eq!(
        json("application/json; charset=utf-8", br#"{"a":1}"#),
        Some(Payload::json(&json!({"a": 1})).unwrap())
    );
    assert_eq!(json("application/json", b"{bad"), None);
    assert_eq!(
        json("application/octet-stream", &[0, 1]),
        Some(Payload::binary(vec![0, 1]))
    );
    assert_eq!(json("text/plain", &[0xff]), None);
    for payload in [
        Payload::json(&json!([1])).unwrap(),
        Payload::text("t"),
        Payload::binary(vec![9]),
    ] {
        let back = Payload::from_content_type(
            payload.content_type().as_str(),
            payload.body().to_vec().into(),
        );
        assert_eq!(back, Ok(payload));
    }
}

#[test]
fn connection_state_matches_the_js_handler_encoding() {
    // The JS express handler writes Buffer.from(JSON.stringify(states)).toString("base64").
    let js = "eyJjb3VudGVyIjoyLCJuYW1lIjoiYWxpY2UifQ=="; // {"counter":2,"name":"alice"}
    let state = ConnectionState::from_header(js).unwrap();
    assert_eq!(state.get("counter"), Some(&json!(2)));
    assert_eq!(state.to_header(), js);
    assert_eq!(
        ConnectionState::from_header("not base64!").unwrap_err(),
        CloudEventError::InvalidConnectionState
    );
    assert_eq!(
        ConnectionState::from_header("WzFd").unwrap_err(),
        CloudEventError::InvalidConnectionState
    ); // [1]
    let mut state = state;
    assert_eq!(state.remove("counter"), Some(json!(2)));
    assert_eq!(state.values().len(), 1);
}

#[test]
fn mqtt_clients_are_told_apart_by_subprotocol_and_physical_connection() {
    let plain =
        CloudEventHeaders::new(EventType::Connected, "chat", "c", "1").with_subprotocol("mqtt");
    assert!(
        !plain.is_mqtt(),
        "an mqtt subprotocol alone is not an MQTT client"
    );
    let mqtt = plain.with_mqtt("phys-1", Some("session-1".into()));
    assert!(mqtt.is_mqtt());
    let rendered = mqtt.to_headers().unwrap();
    assert_eq!(rendered["ce-physicalconnectionid"], "phys-1");
    assert_eq!(rendered["ce-sessionid"], "session-1");
    let parsed = CloudEventHeaders::from_headers(&rendered).unwrap();
    assert_eq!(parsed, mqtt);
    let websocket = CloudEventHeaders::new(EventType::Connected, "chat", "c", "1")
        .with_subprotocol("json.webpubsub.azure.v1")
        .with_mqtt("phys-1", None);
    assert!(!websocket.is_mqtt());
}

#[test]
fn mqtt_codes_map_both_ways_as_the_service_reads_them() {
    use webpubsub_protocol::events::{mqtt_connect_code, status_for_mqtt_connect_code};
    for (status, v4, v5) in [(400, 4, 134), (401, 5, 135), (500, 3, 128), (403, 3, 128)] {
        assert_eq!(mqtt_connect_code(status, 4), v4, "v3.1.1 code for {status}");
        assert_eq!(mqtt_connect_code(status, 5), v5, "v5 code for {status}");
    }
    assert_eq!(mqtt_connect_code(401, 3), 1, "an unknown version");
    for (code, status) in [
        (1, 400),
        (2, 400),
        (3, 503),
        (4, 401),
        (5, 401),
        (134, 401),
        (135, 401),
        (133, 400),
        (149, 400),
        (151, 429),
        (159, 429),
        (138, 403),
        (136, 500),
        (128, 500),
        (200, 500),
    ] {
        assert_eq!(
            status_for_mqtt_connect_code(code),
            status,
            "status for code {code}"
        );
    }
    // The round trip the handler relies on: a refusal's status survives the mapping.
    assert_eq!(status_for_mqtt_connect_code(mqtt_connect_code(401, 5)), 401);
    assert_eq!(status_for_mqtt_connect_code(mqtt_connect_code(400, 4)), 401);
}
