//! Round trips of the documented JSON subprotocol frames (reference-json-webpubsub-subprotocol and
//! the reliable variant), and hostile input.

use serde_json::{json, Value};
use webpubsub_protocol::frames::*;
use webpubsub_protocol::{DataType, Payload};

fn round_trip_client(text: &str) -> ClientFrame {
    let frame: ClientFrame = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let again: Value = serde_json::to_value(&frame).unwrap();
    let original: Value = serde_json::from_str(text).unwrap();
    assert_eq!(again, original, "{text}");
    frame
}

fn round_trip_server(text: &str) -> ServerFrame {
    let frame: ServerFrame = serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let rendered = serde_json::to_string(&frame).unwrap();
    assert_eq!(rendered, text, "the service's field order is kept");
    frame
}

#[test]
fn documented_client_frames() {
    assert_eq!(
        round_trip_client(r#"{"type":"joinGroup","group":"<g>","ackId":1}"#),
        ClientFrame::JoinGroup {
            group: "<g>".into(),
            ack_id: Some(1)
        }
    );
    assert_eq!(
        round_trip_client(r#"{"type":"leaveGroup","group":"<g>","ackId":2}"#),
        ClientFrame::LeaveGroup {
            group: "<g>".into(),
            ack_id: Some(2)
        }
    );
    assert_eq!(
        round_trip_client(
            r#"{"type":"sendToGroup","group":"<g>","ackId":3,"noEcho":false,"dataType":"json","data":{"a":1}}"#
        ),
        ClientFrame::SendToGroup {
            group: "<g>".into(),
            ack_id: Some(3),
            no_echo: false,
            stream: None,
            data: Payload::json(&json!({"a": 1})).unwrap(),
        }
    );
    assert_eq!(
        round_trip_client(
            r#"{"type":"event","event":"<name>","ackId":4,"dataType":"binary","data":"AAEC"}"#
        ),
        ClientFrame::Event {
            event: "<name>".into(),
            ack_id: Some(4),
            data: Payload::binary(vec![0, 1, 2])
        }
    );
    assert_eq!(
        round_trip_client(r#"{"type":"sequenceAck","sequenceId":12}"#),
        ClientFrame::SequenceAck { sequence_id: 12 }
    );
    assert_eq!(round_trip_client(r#"{"type":"ping"}"#), ClientFrame::Ping);
    // Defaults: no ackId, no noEcho, no dataType means json.
    let frame: ClientFrame =
        serde_json::from_str(r#"{"type":"sendToGroup","group":"g","data":"x"}"#).unwrap();
    assert_eq!(
        frame,
        ClientFrame::SendToGroup {
            group: "g".into(),
            ack_id: None,
            no_echo: false,
            stream: None,
            data: Payload::json(&"x").unwrap()
        }
    );
}

#[test]
fn documented_server_frames() {
    assert_eq!(
        round_trip_server(
            r#"{"type":"system","event":"connected","userId":"user1","connectionId":"abc","reconnectionToken":"tok"}"#
        ),
        ServerFrame::System(SystemEvent::Connected {
            user_id: Some("user1".into()),
            connection_id: "abc".into(),
            reconnection_token: Some("tok".into())
        })
    );
    assert_eq!(
        round_trip_server(
            r#"{"type":"system","event":"connected","userId":null,"connectionId":"abc"}"#
        ),
        ServerFrame::System(SystemEvent::Connected {
            user_id: None,
            connection_id: "abc".into(),
            reconnection_token: None
        })
    );
    assert_eq!(
        round_trip_server(r#"{"type":"system","event":"disconnected","message":"bye"}"#),
        ServerFrame::System(SystemEvent::Disconnected {
            message: Some("bye".into())
        })
    );
    assert_eq!(
        round_trip_server(r#"{"type":"ack","ackId":1,"success":true}"#),
        ServerFrame::Ack {
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
            ServerFrame::Ack {
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
        ServerFrame::Message {
            from: MessageSource::Group {
                group: "<g>".into(),
                from_user_id: Some("user1".into())
            },
            data: Payload::json(&json!({"x": 1})).unwrap(),
            sequence_id: Some(5),
        }
    );
    assert_eq!(
        round_trip_server(r#"{"type":"message","from":"server","dataType":"text","data":"Hello"}"#),
        ServerFrame::Message {
            from: MessageSource::Server,
            data: Payload::text("Hello"),
            sequence_id: None
        }
    );
    assert_eq!(round_trip_server(r#"{"type":"pong"}"#), ServerFrame::Pong);
}

#[test]
fn unknown_types_are_kept_not_rejected() {
    let frame: ClientFrame =
        serde_json::from_str(r#"{"type":"setGroupState","group":"g","state":{},"ackId":9}"#)
            .unwrap();
    let ClientFrame::Unknown(raw) = &frame else {
        panic!("{frame:?}")
    };
    assert_eq!(frame.type_name(), "setGroupState");
    assert_eq!(frame.ack_id(), Some(9));
    assert_eq!(serde_json::to_value(&frame).unwrap(), *raw);
    let frame: ClientFrame = serde_json::from_str(r#"{"noType":true}"#).unwrap();
    assert_eq!(frame.type_name(), "");
    let frame: ServerFrame =
        serde_json::from_str(r#"{"type":"streamAck","streamId":"s"}"#).unwrap();
    assert!(matches!(frame, ServerFrame::Unknown(ref raw) if raw["type"] == "streamAck"));
    let frame: ServerFrame =
        serde_json::from_str(r#"{"type":"system","event":"groupStateSnapshot"}"#).unwrap();
    assert!(matches!(frame, ServerFrame::Unknown(_)));
}

#[test]
fn malformed_frames_are_kept_as_unknown_or_rejected_never_panics() {
    // Not JSON at all: an error.
    for text in ["", "{\"type\":\"ping\""] {
        assert!(serde_json::from_str::<ClientFrame>(text).is_err(), "{text}");
    }
    // A known type with missing or wrongly typed fields is not that frame: it is kept whole, with
    // its type, so a server can answer it (an ack with BadRequest).
    for (text, kind) in [
        (r#"{"type":"joinGroup"}"#, "joinGroup"),
        (r#"{"type":"joinGroup","group":1}"#, "joinGroup"),
        (
            r#"{"type":"joinGroup","group":"g","ackId":-1}"#,
            "joinGroup",
        ),
        (
            r#"{"type":"sendToGroup","group":"g","dataType":"xml","data":"x"}"#,
            "sendToGroup",
        ),
        (
            r#"{"type":"sendToGroup","group":"g","dataType":"binary","data":"not base64!"}"#,
            "sendToGroup",
        ),
        (
            r#"{"type":"sendToGroup","group":"g","dataType":"text","data":5}"#,
            "sendToGroup",
        ),
        (r#"{"type":"sequenceAck","sequenceId":"12"}"#, "sequenceAck"),
        (r#"{"type":"event","data":"x"}"#, "event"),
        ("null", ""),
        ("[]", ""),
        ("\"joinGroup\"", ""),
    ] {
        let frame = serde_json::from_str::<ClientFrame>(text).unwrap();
        assert!(matches!(frame, ClientFrame::Unknown(_)), "{text}");
        assert_eq!(frame.type_name(), kind, "{text}");
    }
    for text in [
        r#"{"type":"ack","ackId":1}"#,
        r#"{"type":"system","event":"connected"}"#,
        r#"{"type":"message","from":"group","data":"x"}"#,
        r#"{"type":"message","from":"moon","data":"x"}"#,
    ] {
        let frame = serde_json::from_str::<ServerFrame>(text).unwrap();
        assert!(matches!(frame, ServerFrame::Unknown(_)), "{text}");
    }
}

#[test]
fn payloads_decode_by_data_type() {
    assert_eq!(
        Payload::from_frame(DataType::Json, json!({"a": [1]})).unwrap(),
        Payload::json(&json!({"a": [1]})).unwrap()
    );
    assert!(Payload::from_frame(DataType::Json, Value::Null).is_err());
    assert_eq!(
        Payload::from_frame(DataType::Text, json!("hi")).unwrap(),
        Payload::text("hi")
    );
    assert_eq!(
        Payload::from_frame(DataType::Protobuf, json!("AQI=")).unwrap(),
        Payload::binary(vec![1, 2])
    );
    assert!(Payload::from_frame(DataType::Binary, json!("not base64!")).is_err());
    let err = Payload::from_frame(DataType::Binary, json!(5)).unwrap_err();
    assert_eq!(err.to_string(), "the data is not a base64 string");
    for payload in [
        Payload::json(&json!([1, "a"])).unwrap(),
        Payload::text("t \" \u{e9}"),
        Payload::binary(vec![0, 255]),
    ] {
        let data: Value = serde_json::from_str(payload.to_frame_data().get()).unwrap();
        assert_eq!(
            Payload::from_frame(payload.data_type(), data).unwrap(),
            payload
        );
    }
    // JSON goes out byte for byte, as the sender wrote it.
    let exact = Payload::json_raw(&b"{ \"n\": 1.50 }"[..]).unwrap();
    let frame = ServerFrame::Message {
        from: MessageSource::Server,
        data: exact,
        sequence_id: None,
    };
    assert_eq!(
        serde_json::to_string(&frame).unwrap(),
        r#"{"type":"message","from":"server","dataType":"json","data":{ "n": 1.50 }}"#
    );
    assert_eq!(Subprotocol::Json.as_str(), JSON_SUBPROTOCOL);
    assert_eq!(JSON_SUBPROTOCOL, "json.webpubsub.azure.v1");
    assert_eq!(
        JSON_RELIABLE_SUBPROTOCOL,
        "json.reliable.webpubsub.azure.v1"
    );
}
