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

#[test]
fn json_data_reaches_the_payload_byte_for_byte() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    for data in [
        "123456789012345678901234567890",
        "1e999999",
        r#""\ud800 lone""#,
        r#"{"a" : [1, 2.50, -0]}"#,
        deep.as_str(),
    ] {
        let text =
            format!(r#"{{"type":"event","event":"e","ackId":1,"dataType":"json","data":{data}}}"#);
        let frame = ClientFrame::from_json(&text).unwrap();
        let ClientFrame::Event {
            data: payload,
            ack_id,
            ..
        } = frame
        else {
            panic!("{data}: {frame:?}")
        };
        assert_eq!(ack_id, Some(1));
        assert_eq!(
            payload.content_type(),
            webpubsub_protocol::ContentType::Json,
            "{data}"
        );
        assert_eq!(payload.as_text(), Some(data), "kept as written");
        // And written into a server frame unchanged.
        let out = serde_json::to_string(&ServerFrame::Message {
            from: MessageSource::Server,
            data: payload.clone(),
            sequence_id: None,
        })
        .unwrap();
        assert!(out.contains(data), "{out}");
        let back = ServerFrame::from_json(&out).unwrap();
        assert!(matches!(back, ServerFrame::Message { data: ref d, .. } if d == &payload));
    }
    // Text and binary data, and frames without data, decode as before.
    let text = r#"{"type":"sendToGroup","group":"g","dataType":"text","data":"hi"}"#;
    assert_eq!(
        ClientFrame::from_json(text).unwrap(),
        serde_json::from_str(text).unwrap()
    );
    assert_eq!(
        ClientFrame::from_json(r#"{"type":"ping"}"#).unwrap(),
        ClientFrame::Ping
    );
    assert!(ClientFrame::from_json("not json").is_err());
}

#[test]
fn invocations_round_trip_with_and_without_data() {
    let frame: ClientFrame = serde_json::from_str(
        r#"{"type":"invoke","invocationId":"7","target":"event","event":"add","dataType":"text","data":"1+1"}"#,
    )
    .unwrap();
    assert_eq!(
        frame,
        ClientFrame::Invoke {
            invocation_id: "7".into(),
            target: Some("event".into()),
            event: Some("add".into()),
            data: Some(Payload::text("1+1")),
        }
    );
    let bare: ClientFrame =
        serde_json::from_str(r#"{"type":"invoke","invocationId":"8","event":"ping"}"#).unwrap();
    assert!(matches!(bare, ClientFrame::Invoke { data: None, .. }));

    let ok = ServerFrame::InvokeResponse {
        invocation_id: "7".into(),
        success: true,
        data: Some(Payload::text("2")),
        error: None,
    };
    let text = serde_json::to_string(&ok).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        serde_json::json!({"type":"invokeResponse","invocationId":"7","success":true,"dataType":"text","data":"2"})
    );
    assert_eq!(serde_json::from_str::<ServerFrame>(&text).unwrap(), ok);
    let failed = ServerFrame::InvokeResponse {
        invocation_id: "8".into(),
        success: false,
        data: None,
        error: Some(AckError {
            name: AckErrorName::BadRequest,
            message: Some("no".into()),
        }),
    };
    let text = serde_json::to_string(&failed).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        serde_json::json!({"type":"invokeResponse","invocationId":"8","success":false,"error":{"name":"BadRequest","message":"no"}})
    );
}

#[test]
fn close_reasons_are_cut_on_a_character_boundary() {
    let reason = format!("a{}", "€".repeat(60));
    let cut = close_reason(&reason);
    assert!(cut.len() <= MAX_CLOSE_REASON_BYTES && reason.starts_with(cut));
    assert_eq!(cut.len(), 1 + 3 * 40);
}

#[test]
fn message_frames_decode_the_same_in_one_pass_as_the_general_path_would() {
    use webpubsub_protocol::frames::{MessageSource, ServerFrame};
    use webpubsub_protocol::Payload;
    let cases: [(&str, ServerFrame); 5] = [
        (
            r#"{"sequenceId":7,"type":"message","from":"group","group":"g","fromUserId":"u","dataType":"json","data":{"n":123456789012345678901234567890,"s":"\u00e9"}}"#,
            ServerFrame::Message {
                from: MessageSource::Group {
                    group: "g".into(),
                    from_user_id: Some("u".into()),
                },
                data: Payload::json_raw(r#"{"n":123456789012345678901234567890,"s":"\u00e9"}"#)
                    .unwrap(),
                sequence_id: Some(7),
            },
        ),
        (
            r#"{"type":"message","from":"server","dataType":"text","data":"line\nbreak \"quoted\" \u00e9"}"#,
            ServerFrame::Message {
                from: MessageSource::Server,
                data: Payload::text("line\nbreak \"quoted\" é"),
                sequence_id: None,
            },
        ),
        (
            r#"{"type":"message","from":"group","group":"g","fromUserId":null,"dataType":"binary","data":"AAH/","extra":[1,2]}"#,
            ServerFrame::Message {
                from: MessageSource::Group {
                    group: "g".into(),
                    from_user_id: None,
                },
                data: Payload::binary(vec![0, 1, 255]),
                sequence_id: None,
            },
        ),
        // No dataType: JSON.
        (
            r#"{"type":"message","from":"server","data":[1,2]}"#,
            ServerFrame::Message {
                from: MessageSource::Server,
                data: Payload::json_raw("[1,2]").unwrap(),
                sequence_id: None,
            },
        ),
        (
            r#"{"type":"ack","ackId":3,"success":true}"#,
            ServerFrame::Ack {
                ack_id: 3,
                success: true,
                error: None,
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(ServerFrame::from_json(text).unwrap(), expected, "{text}");
    }
    // Malformed messages are not half-decoded: they stay whole, as unknown frames.
    for text in [
        r#"{"type":"message","from":"server","dataType":"text","data":1}"#,
        r#"{"type":"message","from":"group","dataType":"text","data":"no group"}"#,
        r#"{"type":"message","from":"server","dataType":"json","data":null}"#,
    ] {
        assert!(
            matches!(
                ServerFrame::from_json(text).unwrap(),
                ServerFrame::Unknown(_)
            ),
            "{text}"
        );
    }
}
