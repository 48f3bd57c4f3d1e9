//! The JSON WebSocket subprotocols `json.webpubsub.azure.v1` and
//! `json.reliable.webpubsub.azure.v1`: what clients send and what the service sends back.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use thiserror::Error;

/// The plain JSON subprotocol.
pub const JSON_SUBPROTOCOL: &str = "json.webpubsub.azure.v1";
/// The reliable JSON subprotocol (sequence ids, acks, recovery).
pub const JSON_RELIABLE_SUBPROTOCOL: &str = "json.reliable.webpubsub.azure.v1";

/// How `data` is encoded in a frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// Any JSON value.
    #[default]
    Json,
    /// A string.
    Text,
    /// Base64 of the bytes.
    Binary,
    /// Base64 of protobuf bytes.
    Protobuf,
}

/// A decoded payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A JSON value.
    Json(Value),
    /// Text.
    Text(String),
    /// Bytes (from `binary` or `protobuf`).
    Binary(Vec<u8>),
}

/// `data` does not match its `dataType`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`data` does not match dataType `{data_type}`: {reason}")]
pub struct PayloadError {
    data_type: &'static str,
    reason: &'static str,
}

impl DataType {
    fn name(self) -> &'static str {
        match self {
            DataType::Json => "json",
            DataType::Text => "text",
            DataType::Binary => "binary",
            DataType::Protobuf => "protobuf",
        }
    }

    /// Decodes `data` according to this type.
    ///
    /// ```
    /// use webpubsub_protocol::{DataType, Payload};
    ///
    /// assert_eq!(DataType::Binary.decode(&"AAE=".into())?, Payload::Binary(vec![0, 1]));
    /// assert!(DataType::Text.decode(&serde_json::json!(1)).is_err());
    /// # Ok::<(), webpubsub_protocol::PayloadError>(())
    /// ```
    ///
    /// # Errors
    /// A [`PayloadError`] when `data` is not of the declared type (or `null` for json).
    pub fn decode(self, data: &Value) -> Result<Payload, PayloadError> {
        let error = |reason| PayloadError {
            data_type: self.name(),
            reason,
        };
        match (self, data) {
            (DataType::Json, Value::Null) => Err(error("null is not allowed")),
            (DataType::Json, value) => Ok(Payload::Json(value.clone())),
            (DataType::Text, Value::String(s)) => Ok(Payload::Text(s.clone())),
            (DataType::Text, _) => Err(error("expected a string")),
            (DataType::Binary | DataType::Protobuf, Value::String(s)) => STANDARD
                .decode(s)
                .map(Payload::Binary)
                .map_err(|_| error("expected base64")),
            (DataType::Binary | DataType::Protobuf, _) => Err(error("expected a base64 string")),
        }
    }
}

impl Payload {
    /// The same content as a REST [`crate::Message`]: JSON, text or binary.
    pub fn into_message(self) -> crate::Message {
        match self {
            Payload::Json(v) => crate::Message::from(v),
            Payload::Text(t) => crate::Message::text(t),
            Payload::Binary(b) => crate::Message::binary(b),
        }
    }

    /// The `dataType` and `data` to put in a frame.
    pub fn encode(&self) -> (DataType, Value) {
        match self {
            Payload::Json(v) => (DataType::Json, v.clone()),
            Payload::Text(s) => (DataType::Text, Value::String(s.clone())),
            Payload::Binary(b) => (DataType::Binary, Value::String(STANDARD.encode(b))),
        }
    }
}

/// A frame a client sends.
///
/// Decoding never panics: an unknown `type` becomes [`ClientMessage::Unknown`], and a known type
/// with missing or wrongly typed fields is a serde error.
///
/// ```
/// use webpubsub_protocol::{ClientMessage, DataType};
///
/// let frame: ClientMessage = serde_json::from_str(
///     r#"{"type":"sendToGroup","group":"g","ackId":3,"noEcho":true,"dataType":"text","data":"hi"}"#,
/// )?;
/// assert!(matches!(frame, ClientMessage::SendToGroup { ref group, ack_id: Some(3), no_echo: true, data_type: DataType::Text, .. } if group == "g"));
///
/// let unknown: ClientMessage = serde_json::from_str(r#"{"type":"invoke","invocationId":"1"}"#)?;
/// assert!(matches!(unknown, ClientMessage::Unknown { ref kind, .. } if kind == "invoke"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// `{"type":"joinGroup","group":..,"ackId":..}`
    JoinGroup {
        /// The group.
        group: String,
        /// Ack id; the service answers with an ack when present.
        ack_id: Option<u64>,
    },
    /// `{"type":"leaveGroup","group":..,"ackId":..}`
    LeaveGroup {
        /// The group.
        group: String,
        /// Ack id.
        ack_id: Option<u64>,
    },
    /// `{"type":"sendToGroup",...}`
    SendToGroup {
        /// The group.
        group: String,
        /// Ack id.
        ack_id: Option<u64>,
        /// Do not echo the message back to the sender.
        no_echo: bool,
        /// How `data` is encoded (default json).
        data_type: DataType,
        /// The data.
        data: Value,
    },
    /// `{"type":"event","event":..,...}`: a user event for the upstream handler.
    Event {
        /// The event name.
        event: String,
        /// Ack id.
        ack_id: Option<u64>,
        /// How `data` is encoded.
        data_type: DataType,
        /// The data.
        data: Value,
    },
    /// `{"type":"sequenceAck","sequenceId":..}` (reliable protocol).
    SequenceAck {
        /// The highest sequence id received in order.
        sequence_id: u64,
    },
    /// `{"type":"ping"}`
    Ping,
    /// Any other `type`, kept whole.
    Unknown {
        /// The `type` value (empty when missing).
        kind: String,
        /// The whole frame.
        raw: Value,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupFrame {
    group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ack_id: Option<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendToGroupFrame {
    group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ack_id: Option<u64>,
    #[serde(default)]
    no_echo: bool,
    #[serde(default)]
    data_type: DataType,
    #[serde(default)]
    data: Value,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventFrame {
    event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ack_id: Option<u64>,
    #[serde(default)]
    data_type: DataType,
    #[serde(default)]
    data: Value,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SequenceAckFrame {
    sequence_id: u64,
}

/// Serialises `body` with `"type"` first, then its fields in declaration order.
fn with_type<S: Serializer, T: Serialize>(
    serializer: S,
    kind: &str,
    body: &T,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Tagged<'a, T> {
        #[serde(rename = "type")]
        kind: &'a str,
        #[serde(flatten)]
        body: &'a T,
    }
    Tagged { kind, body }.serialize(serializer)
}

#[derive(Serialize)]
struct Empty {}

fn take_type(value: &Value) -> String {
    value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl Serialize for ClientMessage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ClientMessage::JoinGroup { group, ack_id } => with_type(
                serializer,
                "joinGroup",
                &GroupFrame {
                    group: group.clone(),
                    ack_id: *ack_id,
                },
            ),
            ClientMessage::LeaveGroup { group, ack_id } => with_type(
                serializer,
                "leaveGroup",
                &GroupFrame {
                    group: group.clone(),
                    ack_id: *ack_id,
                },
            ),
            ClientMessage::SendToGroup {
                group,
                ack_id,
                no_echo,
                data_type,
                data,
            } => with_type(
                serializer,
                "sendToGroup",
                &SendToGroupFrame {
                    group: group.clone(),
                    ack_id: *ack_id,
                    no_echo: *no_echo,
                    data_type: *data_type,
                    data: data.clone(),
                },
            ),
            ClientMessage::Event {
                event,
                ack_id,
                data_type,
                data,
            } => with_type(
                serializer,
                "event",
                &EventFrame {
                    event: event.clone(),
                    ack_id: *ack_id,
                    data_type: *data_type,
                    data: data.clone(),
                },
            ),
            ClientMessage::SequenceAck { sequence_id } => with_type(
                serializer,
                "sequenceAck",
                &SequenceAckFrame {
                    sequence_id: *sequence_id,
                },
            ),
            ClientMessage::Ping => with_type(serializer, "ping", &Empty {}),
            ClientMessage::Unknown { raw, .. } => raw.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ClientMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if !value.is_object() {
            return Err(D::Error::custom("a frame must be a JSON object"));
        }
        let kind = take_type(&value);
        let parse = |v: Value| -> Result<ClientMessage, D::Error> {
            Ok(match kind.as_str() {
                "joinGroup" | "leaveGroup" => {
                    let f: GroupFrame = serde_json::from_value(v).map_err(D::Error::custom)?;
                    if kind == "joinGroup" {
                        ClientMessage::JoinGroup {
                            group: f.group,
                            ack_id: f.ack_id,
                        }
                    } else {
                        ClientMessage::LeaveGroup {
                            group: f.group,
                            ack_id: f.ack_id,
                        }
                    }
                }
                "sendToGroup" => {
                    let f: SendToGroupFrame =
                        serde_json::from_value(v).map_err(D::Error::custom)?;
                    ClientMessage::SendToGroup {
                        group: f.group,
                        ack_id: f.ack_id,
                        no_echo: f.no_echo,
                        data_type: f.data_type,
                        data: f.data,
                    }
                }
                "event" => {
                    let f: EventFrame = serde_json::from_value(v).map_err(D::Error::custom)?;
                    ClientMessage::Event {
                        event: f.event,
                        ack_id: f.ack_id,
                        data_type: f.data_type,
                        data: f.data,
                    }
                }
                "sequenceAck" => {
                    let f: SequenceAckFrame =
                        serde_json::from_value(v).map_err(D::Error::custom)?;
                    ClientMessage::SequenceAck {
                        sequence_id: f.sequence_id,
                    }
                }
                "ping" => ClientMessage::Ping,
                _ => ClientMessage::Unknown {
                    kind: kind.clone(),
                    raw: v,
                },
            })
        };
        parse(value)
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

/// Where a `message` frame came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageSource {
    /// Sent to a group (by a client or the REST API).
    Group {
        /// The group.
        group: String,
        /// The sending user, when a client with a user id sent it.
        from_user_id: Option<String>,
    },
    /// Sent by the server (REST send or an upstream event response).
    Server,
}

/// A frame the service sends.
///
/// ```
/// use webpubsub_protocol::{ServerMessage, MessageSource, DataType};
///
/// let frame = ServerMessage::Message {
///     source: MessageSource::Server,
///     data_type: DataType::Text,
///     data: "Hello".into(),
///     sequence_id: Some(6),
/// };
/// assert_eq!(
///     serde_json::to_string(&frame)?,
///     r#"{"type":"message","from":"server","dataType":"text","data":"Hello","sequenceId":6}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// `{"type":"system","event":"connected",...}`: the first frame.
    Connected {
        /// The user id (`null` for anonymous connections).
        user_id: Option<String>,
        /// The connection id.
        connection_id: String,
        /// The reconnection token (reliable protocol only).
        reconnection_token: Option<String>,
    },
    /// `{"type":"system","event":"disconnected","message":..}`: sent before a service-side close.
    Disconnected {
        /// The reason.
        message: Option<String>,
    },
    /// `{"type":"ack","ackId":..,"success":..,"error":..}`
    Ack {
        /// The ack id being answered.
        ack_id: u64,
        /// Whether the request succeeded.
        success: bool,
        /// Why it failed.
        error: Option<AckError>,
    },
    /// `{"type":"message","from":"group"|"server",...}`
    Message {
        /// Group or server.
        source: MessageSource,
        /// How `data` is encoded.
        data_type: DataType,
        /// The data.
        data: Value,
        /// The sequence id (reliable protocol only).
        sequence_id: Option<u64>,
    },
    /// `{"type":"pong"}`
    Pong,
    /// Any other frame, kept whole.
    Unknown {
        /// The `type` value (empty when missing).
        kind: String,
        /// The whole frame.
        raw: Value,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SystemFrame {
    event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reconnection_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AckFrame {
    ack_id: u64,
    success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<AckError>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageFrame {
    from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from_user_id: Option<String>,
    #[serde(default)]
    data_type: DataType,
    #[serde(default)]
    data: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sequence_id: Option<u64>,
}

impl Serialize for ServerMessage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ServerMessage::Connected {
                user_id,
                connection_id,
                reconnection_token,
            } => {
                // userId is always present, null for anonymous connections, as the service writes it.
                #[derive(Serialize)]
                #[serde(rename_all = "camelCase")]
                struct ConnectedFrame<'a> {
                    event: &'a str,
                    user_id: &'a Option<String>,
                    connection_id: &'a str,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    reconnection_token: &'a Option<String>,
                }
                with_type(
                    serializer,
                    "system",
                    &ConnectedFrame {
                        event: "connected",
                        user_id,
                        connection_id,
                        reconnection_token,
                    },
                )
            }
            ServerMessage::Disconnected { message } => with_type(
                serializer,
                "system",
                &SystemFrame {
                    event: "disconnected".into(),
                    connection_id: None,
                    reconnection_token: None,
                    message: message.clone(),
                },
            ),
            ServerMessage::Ack {
                ack_id,
                success,
                error,
            } => with_type(
                serializer,
                "ack",
                &AckFrame {
                    ack_id: *ack_id,
                    success: *success,
                    error: error.clone(),
                },
            ),
            ServerMessage::Message {
                source,
                data_type,
                data,
                sequence_id,
            } => {
                let (from, group, from_user_id) = match source {
                    MessageSource::Group {
                        group,
                        from_user_id,
                    } => ("group", Some(group.clone()), from_user_id.clone()),
                    MessageSource::Server => ("server", None, None),
                };
                with_type(
                    serializer,
                    "message",
                    &MessageFrame {
                        from: from.into(),
                        group,
                        from_user_id,
                        data_type: *data_type,
                        data: data.clone(),
                        sequence_id: *sequence_id,
                    },
                )
            }
            ServerMessage::Pong => with_type(serializer, "pong", &Empty {}),
            ServerMessage::Unknown { raw, .. } => raw.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ServerMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if !value.is_object() {
            return Err(D::Error::custom("a frame must be a JSON object"));
        }
        let kind = take_type(&value);
        Ok(match kind.as_str() {
            "system" => {
                let user_id = value
                    .get("userId")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let f: SystemFrame =
                    serde_json::from_value(value.clone()).map_err(D::Error::custom)?;
                match f.event.as_str() {
                    "connected" => ServerMessage::Connected {
                        user_id,
                        connection_id: f
                            .connection_id
                            .ok_or_else(|| D::Error::missing_field("connectionId"))?,
                        reconnection_token: f.reconnection_token,
                    },
                    "disconnected" => ServerMessage::Disconnected { message: f.message },
                    _ => ServerMessage::Unknown { kind, raw: value },
                }
            }
            "ack" => {
                let f: AckFrame = serde_json::from_value(value).map_err(D::Error::custom)?;
                ServerMessage::Ack {
                    ack_id: f.ack_id,
                    success: f.success,
                    error: f.error,
                }
            }
            "message" => {
                let f: MessageFrame = serde_json::from_value(value).map_err(D::Error::custom)?;
                let source = match f.from.as_str() {
                    "group" => MessageSource::Group {
                        group: f.group.ok_or_else(|| D::Error::missing_field("group"))?,
                        from_user_id: f.from_user_id,
                    },
                    "server" => MessageSource::Server,
                    other => {
                        return Err(D::Error::custom(format!(
                            "unknown message source `{other}`"
                        )))
                    }
                };
                ServerMessage::Message {
                    source,
                    data_type: f.data_type,
                    data: f.data,
                    sequence_id: f.sequence_id,
                }
            }
            "pong" => ServerMessage::Pong,
            _ => ServerMessage::Unknown { kind, raw: value },
        })
    }
}
