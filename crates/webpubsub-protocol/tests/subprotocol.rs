//! Round trips of the documented JSON subprotocol frames (reference-json-webpubsub-subprotocol and
//! the reliable variant), and hostile input.

use serde_json::{json, Value};
use webpubsub_protocol::*;

fn round_trip_client(text: &str) -> ClientMessage {
    let frame: ClientMessage = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let again: Value = serde_json::to_value(&frame).unwrap();
    let original: Value = serde_json::from_str(text).unwrap();
    assert_eq!(again, original, "{text}");
    frame
}

fn round_trip_server(text: &str) -> ServerMessage {
    let frame: ServerMessage = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let rendered = serde_json::to_string(&frame).unwrap();
    assert_eq!(rendered, text, "the service's field order is kept");
    frame
}

#[test]
fn documented_client_frames() {
    assert_eq!(
        round_trip_client(r#"{"type":"joinGroup","group":"<g>","ackId":1}"#),
        ClientMessage::JoinGroup {
            group: "<g>".into(),
            ack_id: Some(1)
        }
    );
    assert_eq!(
        round_trip_client(r#"{"type":"leaveGroup","group":"<g>","ackId":2}"#),
        ClientMessage::LeaveGroup {
            group: "<g>".into(),
            ack_id: Some(2)
        }
    );
    assert_eq!(
        round_trip_client(
            r#"{"type":"sendToGroup","group":"<g>","ackId":3,"noEcho":false,"dataType":"json","data":{"a":1}}"#
        ),
        ClientMessage::SendToGroup {
            group: "<g>".into(),
            ack_id: Some(3),
            no_echo: false,
            data_type: DataType::Json,
            data: json!({"a": 1}),
        }
    );
    assert_eq!(
        round_trip_client(
            r#"{"type":"event","event":"<name>","ackId":4,"dataType":"binary","data":"AAEC"}"#
        ),
        ClientMessage::Event {
            event: "<name>".into(),
            ack_id: Some(4),
            data_type: DataType::Binary,
            data: json!("AAEC")
        }
    );
    assert_eq!(
        round_trip_client(r#"{"type":"sequenceAck","sequenceId":12}"#),
        ClientMessage::SequenceAck { sequence_id: 12 }
    );
    assert_eq!(round_trip_client(r#"{"type":"ping"}"#), ClientMessage::Ping);
    // Defaults: no ackId, no noEcho, no dataType means json.
    let frame: ClientMessage =
        serde_json::from_str(r#"{"type":"sendToGroup","group":"g","data":"x"}"#).unwrap();
    assert_eq!(
        frame,
        ClientMessage::SendToGroup {
            group: "g".into(),
            ack_id: None,
            no_echo: false,
            data_type: DataType::Json,
            data: json!("x")
        }
    );
}

#[test]
fn documented_server_frames() {
    assert_eq!(
        round_trip_server(
            r#"{"type":"system","event":"connected","userId":"user1","connectionId":"abc","reconnectionToken":"tok"}"#
        ),
        ServerMessage::Connected {
            user_id: Some("user1".into()),
            connection_id: "abc".into(),
            reconnection_token: Some("tok".into())
        }
    );
    assert_eq!(
        round_trip_server(
            r#"{"type":"system","event":"connected","userId":null,"connectionId":"abc"}"#
        ),
        ServerMessage::Connected {
            user_id: None,
            connection_id: "abc".into(),
            reconnection_token: None
        }
    );
    assert_eq!(
        round_trip_server(r#"{"type":"system","event":"disconnected","message":"bye"}"#),
        ServerMessage::Disconnected {
            message: Some("bye".into())
        }
    );
    assert_eq!(
        round_trip_server(r#"{"type":"ack","ackId":1,"success":true}"#),
        ServerMessage::Ack {
            ack_id: 1,
            success: true,
            error: None
        }
    );
    for (name, typed) in [
        ("Duplicate", AckErrorName::Duplicate),
        ("Forbidden", AckErrorName::Forbidden),
        ("InternalServerError", AckErrorName::InternalServerError),
        ("BadRequest", AckErrorName::BadRequest),
        ("Timeout", AckErrorName::Other("Timeout".into())),
    ] {
        let text = format!(
            r#"{{"type":"ack","ackId":1,"success":false,"error":{{"name":"{name}","message":"m"}}}}"#
        );
        assert_eq!(
            round_trip_server(&text),
            ServerMessage::Ack {
                ack_id: 1,
                success: false,
                error: Some(AckError {
                    name: typed,
                    message: Some("m".into())
                })
            }
        );
    }
    assert_eq!(
        round_trip_server(
            r#"{"type":"message","from":"group","group":"<g>","fromUserId":"user1","dataType":"json","data":{"x":1},"sequenceId":5}"#
        ),
        ServerMessage::Message {
            source: MessageSource::Group {
                group: "<g>".into(),
                from_user_id: Some("user1".into())
            },
            data_type: DataType::Json,
            data: json!({"x": 1}),
            sequence_id: Some(5),
        }
    );
    assert_eq!(
        round_trip_server(r#"{"type":"message","from":"server","dataType":"text","data":"Hello"}"#),
        ServerMessage::Message {
            source: MessageSource::Server,
            data_type: DataType::Text,
            data: json!("Hello"),
            sequence_id: None
        }
    );
    assert_eq!(round_trip_server(r#"{"type":"pong"}"#), ServerMessage::Pong);
}

#[test]
fn unknown_types_are_kept_not_rejected() {
    let frame: ClientMessage =
        serde_json::from_str(r#"{"type":"invoke","invocationId":"7","event":"e"}"#).unwrap();
    let ClientMessage::Unknown { kind, raw } = &frame else {
        panic!("{frame:?}")
    };
    assert_eq!(kind, "invoke");
    assert_eq!(serde_json::to_value(&frame).unwrap(), *raw);
    let frame: ClientMessage = serde_json::from_str(r#"{"noType":true}"#).unwrap();
    assert!(matches!(frame, ClientMessage::Unknown { ref kind, .. } if kind.is_empty()));
    let frame: ServerMessage =
        serde_json::from_str(r#"{"type":"streamAck","streamId":"s"}"#).unwrap();
    assert!(matches!(frame, ServerMessage::Unknown { ref kind, .. } if kind == "streamAck"));
    let frame: ServerMessage =
        serde_json::from_str(r#"{"type":"system","event":"groupStateSnapshot"}"#).unwrap();
    assert!(matches!(frame, ServerMessage::Unknown { .. }));
}

#[test]
fn malformed_frames_are_errors_never_panics() {
    for text in [
        "",
        "null",
        "[]",
        "\"joinGroup\"",
        r#"{"type":"joinGroup"}"#,
        r#"{"type":"joinGroup","group":1}"#,
        r#"{"type":"joinGroup","group":"g","ackId":-1}"#,
        r#"{"type":"sendToGroup","group":"g","dataType":"xml","data":"x"}"#,
        r#"{"type":"sequenceAck","sequenceId":"12"}"#,
        r#"{"type":"event","data":"x"}"#,
        "{\"type\":\"ping\"",
    ] {
        assert!(
            serde_json::from_str::<ClientMessage>(text).is_err(),
            "{text}"
        );
    }
    for text in [
        r#"{"type":"ack","ackId":1}"#,
        r#"{"type":"system","event":"connected"}"#,
        r#"{"type":"message","from":"group","data":"x"}"#,
        r#"{"type":"message","from":"moon","data":"x"}"#,
    ] {
        assert!(
            serde_json::from_str::<ServerMessage>(text).is_err(),
            "{text}"
        );
    }
}

#[test]
fn payloads_decode_by_data_type() {
    assert_eq!(
        DataType::Json.decode(&json!({"a": [1]})).unwrap(),
        Payload::Json(json!({"a": [1]}))
    );
    assert!(DataType::Json.decode(&Value::Null).is_err());
    assert_eq!(
        DataType::Text.decode(&json!("hi")).unwrap(),
        Payload::Text("hi".into())
    );
    assert_eq!(
        DataType::Protobuf.decode(&json!("AQI=")).unwrap(),
        Payload::Binary(vec![1, 2])
    );
    assert!(DataType::Binary.decode(&json!("not base64!")).is_err());
    let err = DataType::Binary.decode(&json!(5)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`data` does not match dataType `binary`: expected a base64 string"
    );
    for payload in [
        Payload::Json(json!([1, "a"])),
        Payload::Text("t".into()),
        Payload::Binary(vec![0, 255]),
    ] {
        let (data_type, data) = payload.encode();
        assert_eq!(data_type.decode(&data).unwrap(), payload);
    }
    assert_eq!(JSON_SUBPROTOCOL, "json.webpubsub.azure.v1");
    assert_eq!(
        JSON_RELIABLE_SUBPROTOCOL,
        "json.reliable.webpubsub.azure.v1"
    );
}
