//! The MQTT parts of the upstream protocol: the CONNECT fields a `connect` event carries, the
//! CONNACK properties and failure codes an answer carries, the DISCONNECT packet of a
//! `disconnected` event, and how HTTP statuses and MQTT codes map onto each other (as the service
//! and `@azure/web-pubsub-express` 1.1.0 map them).

use std::fmt;

use serde::{Deserialize, Serialize};

/// An MQTT 5 user property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MqttUserProperty {
    /// The name.
    pub name: String,
    /// The value.
    pub value: String,
}

impl MqttUserProperty {
    /// A property `name` = `value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// The fields of an MQTT CONNECT packet, in a `connect` event. `Debug` never shows the password.
///
/// ```
/// use webpubsub_protocol::events::ConnectEventRequest;
///
/// let body = r#"{"claims":{},"query":{},"headers":{},"subprotocols":["mqtt"],
///   "mqtt":{"protocolVersion":5,"username":"dev","password":"s3cret",
///           "userProperties":[{"name":"site","value":"a"}]}}"#;
/// let connect: ConnectEventRequest = serde_json::from_str(body)?;
/// let mqtt = connect.mqtt.unwrap();
/// assert_eq!(mqtt.protocol_version, 5);
/// assert_eq!(mqtt.password.as_deref(), Some("s3cret"));
/// assert!(!format!("{mqtt:?}").contains("s3cret"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MqttConnectProperties {
    /// 4 for MQTT 3.1.1, 5 for MQTT 5.0.
    pub protocol_version: u8,
    /// The user name field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The password field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// User properties (MQTT 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_properties: Vec<MqttUserProperty>,
}

impl fmt::Debug for MqttConnectProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MqttConnectProperties")
            .field("protocol_version", &self.protocol_version)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("user_properties", &self.user_properties)
            .finish()
    }
}

/// CONNACK properties in the answer accepting an MQTT `connect`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MqttConnectResponseProperties {
    /// User properties (MQTT 5 only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_properties: Vec<MqttUserProperty>,
}

/// An MQTT connect failure: the CONNACK code the client gets, with a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MqttConnectError {
    /// An MQTT 3.1.1 return code (1..=5) or an MQTT 5 reason code (0x80 and up).
    pub code: u8,
    /// Why (MQTT 5 sends it to the client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// User properties (MQTT 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_properties: Vec<MqttUserProperty>,
}

impl MqttConnectError {
    /// The HTTP status the answer carries ([`status_for_mqtt_connect_code`]).
    pub fn status(&self) -> u16 {
        status_for_mqtt_connect_code(self.code)
    }
}

/// The JSON body of a refused MQTT `connect`: `{"mqtt":{"code":..,"reason":..}}`.
///
/// ```
/// use webpubsub_protocol::events::{MqttConnectError, MqttConnectErrorResponse};
///
/// let body = MqttConnectErrorResponse {
///     mqtt: MqttConnectError { code: 135, reason: Some("no".into()), user_properties: vec![] },
/// };
/// assert_eq!(serde_json::to_string(&body)?, r#"{"mqtt":{"code":135,"reason":"no"}}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MqttConnectErrorResponse {
    /// The failure.
    pub mqtt: MqttConnectError,
}

/// The DISCONNECT packet of an MQTT session that ended.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MqttDisconnectPacket {
    /// The MQTT 5 disconnect reason code (0: normal disconnection).
    pub code: u8,
    /// User properties (MQTT 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_properties: Vec<MqttUserProperty>,
}

/// The MQTT part of a `disconnected` event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MqttDisconnectedProperties {
    /// The DISCONNECT packet.
    pub disconnect_packet: MqttDisconnectPacket,
    /// Whether the client ended the session (rather than the service).
    #[serde(default)]
    pub initiated_by_client: bool,
}

/// The CONNACK code for refusing an MQTT `connect` with an HTTP `status`: MQTT 3.1.1
/// (`protocol_version` 4) gets 4 for 400, 5 for 401 and 3 otherwise; MQTT 5 gets 134 for 400, 135
/// for 401 and 128 otherwise; another version gets 1 (unacceptable protocol version).
///
/// ```
/// use webpubsub_protocol::events::mqtt_connect_code;
///
/// assert_eq!(mqtt_connect_code(401, 5), 135);
/// assert_eq!(mqtt_connect_code(400, 4), 4);
/// assert_eq!(mqtt_connect_code(500, 5), 128);
/// ```
pub fn mqtt_connect_code(status: u16, protocol_version: u8) -> u8 {
    match (protocol_version, status) {
        (4, 400) => 4,
        (4, 401) => 5,
        (4, _) => 3,
        (5, 400) => 134,
        (5, 401) => 135,
        (5, _) => 128,
        _ => 1,
    }
}

/// The HTTP status of an answer refusing an MQTT `connect` with CONNACK `code`, as the service
/// reads it back: 401 for bad credentials or not authorized, 400 for malformed or unsupported
/// requests, 429 for quota and rate limits, 403 for banned, 503 for MQTT 3.1.1's server
/// unavailable, 500 otherwise.
///
/// ```
/// use webpubsub_protocol::events::status_for_mqtt_connect_code;
///
/// assert_eq!(status_for_mqtt_connect_code(135), 401);
/// assert_eq!(status_for_mqtt_connect_code(151), 429);
/// assert_eq!(status_for_mqtt_connect_code(3), 503);
/// ```
pub fn status_for_mqtt_connect_code(code: u8) -> u16 {
    match code {
        1 | 2 => 400,
        3 => 503,
        4 | 5 | 134 | 135 => 401,
        129 | 131 | 132 | 133 | 140 | 144 | 149 | 153 | 154 | 155 => 400,
        151 | 159 => 429,
        138 => 403,
        _ => 500,
    }
}
