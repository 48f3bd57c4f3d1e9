//! The JSON WebSocket subprotocols `json.webpubsub.azure.v1` and
//! `json.reliable.webpubsub.azure.v1`: the frames clients send and the frames the service sends
//! back, with derived serde. Decoding from text (data kept byte for byte, the one-pass path for
//! messages) is in `decode`.

mod decode;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::payload::{frame_data, Payload};

/// The plain JSON subprotocol.
pub const JSON_SUBPROTOCOL: &str = "json.webpubsub.azure.v1";
/// The reliable JSON subprotocol (sequence ids, acks, recovery).
pub const JSON_RELIABLE_SUBPROTOCOL: &str = "json.reliable.webpubsub.azure.v1";

/// A JSON subprotocol (`Sec-WebSocket-Protocol`). A connection without one is a raw client.
///
/// ```
/// use webpubsub_protocol::frames::Subprotocol;
///
/// assert_eq!(Subprotocol::from_name("json.reliable.webpubsub.azure.v1"), Some(Subprotocol::JsonReliable));
/// assert_eq!(Subprotocol::from_name("protobuf.webpubsub.azure.v1"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subprotocol {
    /// `json.webpubsub.azure.v1`.
    Json,
    /// `json.reliable.webpubsub.azure.v1`.
    JsonReliable,
}

impl Subprotocol {
    /// The `Sec-WebSocket-Protocol` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Subprotocol::Json => JSON_SUBPROTOCOL,
            Subprotocol::JsonReliable => JSON_RELIABLE_SUBPROTOCOL,
        }
    }

    /// The subprotocol named `name` (exactly), if it is one of the two.
    pub fn from_name(name: &str) -> Option<Self> {
        [Subprotocol::Json, Subprotocol::JsonReliable]
            .into_iter()
            .find(|p| p.as_str() == name)
    }

    /// Whether this is the reliable subprotocol.
    pub fn is_reliable(self) -> bool {
        self == Subprotocol::JsonReliable
    }
}

/// A frame a client sends.
///
/// Decoding never panics: an unknown `type`, or a known one with missing or wrongly typed fields,
/// becomes [`ClientFrame::Unknown`] with the whole frame kept.
///
/// ```
/// use webpubsub_protocol::frames::ClientFrame;
/// use webpubsub_protocol::Payload;
///
/// let frame: ClientFrame = serde_json::from_str(
///     r#"{"type":"sendToGroup","group":"g","ackId":3,"noEcho":true,"dataType":"text","data":"hi"}"#,
/// )?;
/// assert_eq!(frame, ClientFrame::SendToGroup {
///     group: "g".into(), ack_id: Some(3), no_echo: true, stream: None, data: Payload::text("hi"),
/// });
///
/// let unknown: ClientFrame = serde_json::from_str(r#"{"type":"setGroupState","group":"g","ackId":1}"#)?;
/// assert_eq!(unknown.type_name(), "setGroupState");
/// assert!(matches!(unknown, ClientFrame::Unknown(_)));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ClientFrame {
    /// `{"type":"joinGroup","group":..,"ackId":..}`
    JoinGroup {
        /// The group.
        group: String,
        /// Ack id; the service answers with an ack when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ack_id: Option<u64>,
    },
    /// `{"type":"leaveGroup","group":..,"ackId":..}`
    LeaveGroup {
        /// The group.
        group: String,
        /// Ack id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ack_id: Option<u64>,
    },
    /// `{"type":"sendToGroup","group":..,"ackId":..,"noEcho":..,"dataType":..,"data":..}`
    SendToGroup {
        /// The group.
        group: String,
        /// Ack id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ack_id: Option<u64>,
        /// Do not echo the message back to the sender.
        #[serde(default)]
        no_echo: bool,
        /// `stream: {streamId, idleTimeoutMs}`: the first message of a group stream (the JS
        /// client 1.1.0's `openGroupStream`), kept as sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream: Option<Value>,
        /// The content (`dataType` and `data`).
        #[serde(flatten, with = "frame_data")]
        data: Payload,
    },
    /// `{"type":"event","event":..,"ackId":..,"dataType":..,"data":..}`: a user event for the
    /// upstream handler.
    Event {
        /// The event name.
        event: String,
        /// Ack id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ack_id: Option<u64>,
        /// The content (`dataType` and `data`).
        #[serde(flatten, with = "frame_data")]
        data: Payload,
    },
    /// `{"type":"sequenceAck","sequenceId":..}` (reliable protocol).
    SequenceAck {
        /// The highest sequence id received in order.
        sequence_id: u64,
    },
    /// `{"type":"ping"}`
    Ping,
    /// `{"type":"invoke","invocationId":..,"target":"event","event":..,"dataType":..,"data":..}`:
    /// a user event whose reply comes back as [`ServerFrame::InvokeResponse`].
    Invoke {
        /// The client's id for this invocation, echoed in the response.
        invocation_id: String,
        /// What is invoked; `event` (an upstream user event) is the one target defined.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        /// The event name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event: Option<String>,
        /// The content, when the client sent one.
        #[serde(flatten, with = "frame_data::optional")]
        data: Option<Payload>,
    },
    /// `{"type":"cancelInvocation","invocationId":..}`: the client no longer waits.
    CancelInvocation {
        /// The invocation to cancel.
        invocation_id: String,
    },
    /// Any other frame, kept whole.
    #[serde(untagged)]
    Unknown(Value),
}

impl ClientFrame {
    /// The frame's `type` (for [`ClientFrame::Unknown`], the one it carries, or `""`).
    pub fn type_name(&self) -> &str {
        match self {
            ClientFrame::JoinGroup { .. } => "joinGroup",
            ClientFrame::LeaveGroup { .. } => "leaveGroup",
            ClientFrame::SendToGroup { .. } => "sendToGroup",
            ClientFrame::Event { .. } => "event",
            ClientFrame::SequenceAck { .. } => "sequenceAck",
            ClientFrame::Ping => "ping",
            ClientFrame::Invoke { .. } => "invoke",
            ClientFrame::CancelInvocation { .. } => "cancelInvocation",
            ClientFrame::Unknown(raw) => raw.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }

    /// Whether `name` is the `type` of a frame this model knows (so an [`ClientFrame::Unknown`]
    /// with it is a malformed known frame, not an unsupported one).
    pub fn is_known_type(name: &str) -> bool {
        matches!(
            name,
            "joinGroup"
                | "leaveGroup"
                | "sendToGroup"
                | "event"
                | "sequenceAck"
                | "ping"
                | "invoke"
                | "cancelInvocation"
        )
    }

    /// The frame's `ackId`, also for unknown frames that carry one.
    pub fn ack_id(&self) -> Option<u64> {
        match self {
            ClientFrame::JoinGroup { ack_id, .. }
            | ClientFrame::LeaveGroup { ack_id, .. }
            | ClientFrame::SendToGroup { ack_id, .. }
            | ClientFrame::Event { ack_id, .. } => *ack_id,
            ClientFrame::SequenceAck { .. }
            | ClientFrame::Ping
            | ClientFrame::Invoke { .. }
            | ClientFrame::CancelInvocation { .. } => None,
            ClientFrame::Unknown(raw) => raw.get("ackId").and_then(Value::as_u64),
        }
    }
}

/// The error name of a failed ack.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AckErrorName {
    /// The ackId already succeeded; clients treat this as success.
    Duplicate,
    /// The connection lacks the role or permission.
    Forbidden,
    /// The service (or the upstream handler) failed.
    InternalServerError,
    /// The request was invalid.
    BadRequest,
    /// Any other name.
    Other(String),
}

impl AckErrorName {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            AckErrorName::Duplicate => "Duplicate",
            AckErrorName::Forbidden => "Forbidden",
            AckErrorName::InternalServerError => "InternalServerError",
            AckErrorName::BadRequest => "BadRequest",
            AckErrorName::Other(name) => name,
        }
    }
}

impl fmt::Display for AckErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AckErrorName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AckErrorName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(match name.as_str() {
            "Duplicate" => AckErrorName::Duplicate,
            "Forbidden" => AckErrorName::Forbidden,
            "InternalServerError" => AckErrorName::InternalServerError,
            "BadRequest" => AckErrorName::BadRequest,
            _ => AckErrorName::Other(name),
        })
    }
}

/// The `error` of a failed ack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckError {
    /// The error name.
    pub name: AckErrorName,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where a `message` frame came from (`from` and its fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "from",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum MessageSource {
    /// Sent to a group (by a client or the REST API).
    Group {
        /// The group.
        group: String,
        /// The sending user, when a client with a user id sent it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_user_id: Option<String>,
    },
    /// Sent by the server (REST send or an upstream event response).
    Server,
}

/// The `event` of a `system` frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "event",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum SystemEvent {
    /// `connected`: the first frame of a connection.
    Connected {
        /// The user id (`null` for anonymous connections, always written).
        #[serde(default)]
        user_id: Option<String>,
        /// The connection id.
        connection_id: String,
        /// The reconnection token (reliable protocol only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reconnection_token: Option<String>,
    },
    /// `disconnected`: sent before a service-side close.
    Disconnected {
        /// The reason.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

/// A frame the service sends.
///
/// ```
/// use webpubsub_protocol::frames::{MessageSource, ServerFrame};
/// use webpubsub_protocol::Payload;
///
/// let frame = ServerFrame::Message {
///     from: MessageSource::Server,
///     data: Payload::text("Hello"),
///     sequence_id: Some(6),
/// };
/// assert_eq!(
///     serde_json::to_string(&frame)?,
///     r#"{"type":"message","from":"server","dataType":"text","data":"Hello","sequenceId":6}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ServerFrame {
    /// `{"type":"system","event":..,...}`
    System(SystemEvent),
    /// `{"type":"ack","ackId":..,"success":..,"error":..}`
    Ack {
        /// The ack id being answered.
        ack_id: u64,
        /// Whether the request succeeded.
        success: bool,
        /// Why it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<AckError>,
    },
    /// `{"type":"message","from":"group"|"server",...}`
    Message {
        /// Group or server.
        #[serde(flatten)]
        from: MessageSource,
        /// The content (`dataType` and `data`).
        #[serde(flatten, with = "frame_data")]
        data: Payload,
        /// The sequence id (reliable protocol only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sequence_id: Option<u64>,
    },
    /// `{"type":"pong"}`
    Pong,
    /// `{"type":"streamClosed","streamId":..,"error":..}`: a group stream ended (or was refused).
    StreamClosed {
        /// The stream.
        stream_id: String,
        /// Why, when it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<AckError>,
    },
    /// `{"type":"invokeResponse","invocationId":..,"success":..,"dataType":..,"data":..,"error":..}`.
    InvokeResponse {
        /// The client's invocation id.
        invocation_id: String,
        /// Whether the invocation succeeded.
        success: bool,
        /// The handler's reply, when it had one.
        #[serde(flatten, with = "frame_data::optional")]
        data: Option<Payload>,
        /// Why it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<AckError>,
    },
    /// Any other frame, kept whole.
    #[serde(untagged)]
    Unknown(Value),
}

/// The longest close reason a WebSocket close frame carries, in bytes (RFC 6455 §5.5: 125 bytes of
/// payload, two of them the code).
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

/// `reason` cut to [`MAX_CLOSE_REASON_BYTES`] on a character boundary, so the close frame stays
/// valid UTF-8.
///
/// ```
/// use webpubsub_protocol::frames::close_reason;
///
/// assert_eq!(close_reason("bye"), "bye");
/// let long = "é".repeat(100); // 200 bytes
/// assert_eq!(close_reason(&long).len(), 122);
/// ```
pub fn close_reason(reason: &str) -> &str {
    if reason.len() <= MAX_CLOSE_REASON_BYTES {
        return reason;
    }
    let mut end = MAX_CLOSE_REASON_BYTES;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// Whether `name` is one of the service's binary (protobuf) subprotocols, which a JSON-only
/// implementation must refuse rather than accept as a custom one.
pub fn is_protobuf_subprotocol(name: &str) -> bool {
    matches!(
        name,
        "protobuf.webpubsub.azure.v1" | "protobuf.reliable.webpubsub.azure.v1"
    )
}
