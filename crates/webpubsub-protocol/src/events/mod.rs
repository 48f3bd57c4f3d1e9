//! The CloudEvents (HTTP binary mode) upstream protocol: the `ce-*` headers (here), the JSON
//! bodies of system events and their answers (`bodies`), and the MQTT parts of them (`mqtt`). A
//! user event's body is a [`crate::Payload`] ([`crate::Payload::from_content_type`] reads one).

mod bodies;
mod mqtt;

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};
use thiserror::Error;

pub use self::bodies::{
    ClientCertificate, ConnectEventRequest, ConnectEventResponse, DisconnectedEventRequest,
    GroupEventRequest,
};
pub use self::mqtt::{
    mqtt_connect_code, status_for_mqtt_connect_code, MqttConnectError, MqttConnectErrorResponse,
    MqttConnectProperties, MqttConnectResponseProperties, MqttDisconnectPacket,
    MqttDisconnectedProperties, MqttUserProperty,
};

/// The kind of event, from `ce-type`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventType {
    /// `azure.webpubsub.sys.connect` (blocking, before the upgrade).
    Connect,
    /// `azure.webpubsub.sys.connected`.
    Connected,
    /// `azure.webpubsub.sys.disconnected`.
    Disconnected,
    /// `azure.webpubsub.gp.joined`: the connection joined a group (body [`GroupEventRequest`]).
    GroupJoined,
    /// `azure.webpubsub.gp.left`: the connection left a group (body [`GroupEventRequest`]).
    GroupLeft,
    /// `azure.webpubsub.user.<name>`.
    User(String),
}

impl EventType {
    /// The `ce-type` value.
    pub fn ce_type(&self) -> String {
        match self {
            EventType::Connect => "azure.webpubsub.sys.connect".into(),
            EventType::Connected => "azure.webpubsub.sys.connected".into(),
            EventType::Disconnected => "azure.webpubsub.sys.disconnected".into(),
            EventType::GroupJoined => "azure.webpubsub.gp.joined".into(),
            EventType::GroupLeft => "azure.webpubsub.gp.left".into(),
            EventType::User(name) => format!("azure.webpubsub.user.{name}"),
        }
    }

    /// The `ce-eventName` value (also the name an event handler's `systemEvents` lists).
    pub fn event_name(&self) -> &str {
        match self {
            EventType::Connect => "connect",
            EventType::Connected => "connected",
            EventType::Disconnected => "disconnected",
            EventType::GroupJoined => "joined",
            EventType::GroupLeft => "left",
            EventType::User(name) => name,
        }
    }

    /// Parses a `ce-type` value.
    pub fn from_ce_type(value: &str) -> Option<Self> {
        match value {
            "azure.webpubsub.sys.connect" => Some(EventType::Connect),
            "azure.webpubsub.sys.connected" => Some(EventType::Connected),
            "azure.webpubsub.sys.disconnected" => Some(EventType::Disconnected),
            "azure.webpubsub.gp.joined" => Some(EventType::GroupJoined),
            "azure.webpubsub.gp.left" => Some(EventType::GroupLeft),
            _ => value
                .strip_prefix("azure.webpubsub.user.")
                .filter(|name| !name.is_empty())
                .map(|name| EventType::User(name.to_owned())),
        }
    }

    /// Whether the service waits for the answer (connect and user events); the others are
    /// notifications.
    pub fn is_blocking(&self) -> bool {
        matches!(self, EventType::Connect | EventType::User(_))
    }
}

/// A required `ce-*` header is missing or invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CloudEventError {
    /// A required header is missing.
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    /// `ce-type` is not a Web PubSub event type.
    #[error("ce-type is not a Web PubSub event type")]
    UnknownType,
    /// A value cannot be sent as a header value (it holds a line break, say).
    #[error("the {0} value cannot be a header value")]
    InvalidHeaderValue(&'static str),
    /// `ce-connectionState` is not base64 of a JSON object.
    #[error("ce-connectionState is not base64-encoded JSON")]
    InvalidConnectionState,
}

/// The `ce-*` attributes of an event request.
///
/// ```
/// use webpubsub_protocol::events::{CloudEventHeaders, EventType};
///
/// let headers = CloudEventHeaders::new(EventType::Connected, "chat", "conn1", "1")
///     .with_user_id("alice")
///     .with_signature("sha256=abc");
/// let rendered = headers.to_headers()?;
/// assert_eq!(rendered["ce-type"], "azure.webpubsub.sys.connected");
///
/// let parsed = CloudEventHeaders::from_headers(&rendered)?;
/// assert_eq!(parsed, headers);
/// # Ok::<(), webpubsub_protocol::events::CloudEventError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloudEventHeaders {
    /// `ce-specversion` (`1.0`).
    pub spec_version: String,
    /// `ce-type`.
    pub event_type: EventType,
    /// `ce-source`: `/hubs/{hub}/client/{connectionId}`.
    pub source: String,
    /// `ce-id`.
    pub id: String,
    /// `ce-time` (RFC 3339), when present.
    pub time: Option<String>,
    /// `ce-hub`.
    pub hub: String,
    /// `ce-connectionId`.
    pub connection_id: String,
    /// `ce-userId`, omitted for anonymous connections.
    pub user_id: Option<String>,
    /// `ce-eventName`.
    pub event_name: String,
    /// `ce-subprotocol`, when the connection has one.
    pub subprotocol: Option<String>,
    /// `ce-connectionState`: the opaque state set by an earlier response.
    pub connection_state: Option<String>,
    /// `ce-signature`: `sha256=<hex>` entries joined by `,`.
    pub signature: Option<String>,
    /// `ce-awpsversion` (`1.0`).
    pub awps_version: String,
    /// `ce-physicalConnectionId`: the network connection under an MQTT session.
    pub physical_connection_id: Option<String>,
    /// `ce-sessionId`: the MQTT session.
    pub session_id: Option<String>,
}

impl CloudEventHeaders {
    /// Headers for an event of `event_type` on `connection_id` in `hub`, with id `id`.
    pub fn new(event_type: EventType, hub: &str, connection_id: &str, id: &str) -> Self {
        Self {
            spec_version: "1.0".into(),
            source: format!("/hubs/{hub}/client/{connection_id}"),
            event_name: event_type.event_name().to_owned(),
            event_type,
            id: id.into(),
            time: None,
            hub: hub.into(),
            connection_id: connection_id.into(),
            user_id: None,
            subprotocol: None,
            connection_state: None,
            signature: None,
            awps_version: "1.0".into(),
            physical_connection_id: None,
            session_id: None,
        }
    }

    /// Whether the event is about an MQTT client: `ce-subprotocol` names `mqtt` and
    /// `ce-physicalConnectionId` is present (as the service and the express handler decide).
    pub fn is_mqtt(&self) -> bool {
        self.physical_connection_id.is_some()
            && self
                .subprotocol
                .as_deref()
                .is_some_and(|s| s.to_ascii_lowercase().contains("mqtt"))
    }

    /// Sets `ce-physicalConnectionId` and `ce-sessionId` (an MQTT client).
    pub fn with_mqtt(
        mut self,
        physical_connection_id: impl Into<String>,
        session_id: Option<String>,
    ) -> Self {
        self.physical_connection_id = Some(physical_connection_id.into());
        self.session_id = session_id;
        self
    }

    /// Sets `ce-userId`.
    pub fn with_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets `ce-signature`.
    pub fn with_signature(mut self, signature: impl Into<String>) -> Self {
        self.signature = Some(signature.into());
        self
    }

    /// Sets `ce-subprotocol`.
    pub fn with_subprotocol(mut self, subprotocol: impl Into<String>) -> Self {
        self.subprotocol = Some(subprotocol.into());
        self
    }

    /// Sets `ce-time`.
    pub fn with_time(mut self, time: impl Into<String>) -> Self {
        self.time = Some(time.into());
        self
    }

    /// Sets `ce-connectionState`.
    pub fn with_connection_state(mut self, state: impl Into<String>) -> Self {
        self.connection_state = Some(state.into());
        self
    }

    /// The `ce-*` headers of this event, for a request to an event handler.
    ///
    /// # Errors
    /// [`CloudEventError::InvalidHeaderValue`] when a value cannot be a header value (a line
    /// break, say).
    pub fn to_headers(&self) -> Result<HeaderMap, CloudEventError> {
        let fields: [(&'static str, Option<&str>); 15] = [
            ("ce-specversion", Some(&self.spec_version)),
            ("ce-type", None),
            ("ce-source", Some(&self.source)),
            ("ce-id", Some(&self.id)),
            ("ce-time", self.time.as_deref()),
            ("ce-signature", self.signature.as_deref()),
            ("ce-userid", self.user_id.as_deref()),
            ("ce-connectionid", Some(&self.connection_id)),
            ("ce-hub", Some(&self.hub)),
            ("ce-eventname", Some(&self.event_name)),
            ("ce-subprotocol", self.subprotocol.as_deref()),
            ("ce-connectionstate", self.connection_state.as_deref()),
            (
                "ce-physicalconnectionid",
                self.physical_connection_id.as_deref(),
            ),
            ("ce-sessionid", self.session_id.as_deref()),
            ("ce-awpsversion", Some(&self.awps_version)),
        ];
        let ce_type = self.event_type.ce_type();
        let mut headers = HeaderMap::with_capacity(fields.len());
        for (name, value) in fields {
            let value = match (name, value) {
                ("ce-type", _) => ce_type.as_str(),
                (_, Some(value)) => value,
                (_, None) => continue,
            };
            let value = HeaderValue::from_bytes(value.as_bytes())
                .map_err(|_| CloudEventError::InvalidHeaderValue(name))?;
            headers.insert(HeaderName::from_static(name), value);
        }
        Ok(headers)
    }

    /// Reads the `ce-*` headers of an event request (names case-insensitive; a header sent more
    /// than once is its values joined with `,`, as HTTP combines them).
    ///
    /// # Errors
    /// [`CloudEventError::MissingHeader`] for a missing `ce-type`, `ce-hub`, `ce-connectionId` or
    /// `ce-awpsversion`; [`CloudEventError::UnknownType`] for another `ce-type`.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, CloudEventError> {
        let required = |name: &'static str| {
            combined_header(headers, name).ok_or(CloudEventError::MissingHeader(name))
        };
        let optional = |name: &str| combined_header(headers, name);
        let event_type =
            EventType::from_ce_type(&required("ce-type")?).ok_or(CloudEventError::UnknownType)?;
        Ok(Self {
            spec_version: optional("ce-specversion").unwrap_or_else(|| "1.0".into()),
            event_name: optional("ce-eventName")
                .unwrap_or_else(|| event_type.event_name().to_owned()),
            event_type,
            source: optional("ce-source").unwrap_or_default(),
            id: optional("ce-id").unwrap_or_default(),
            time: optional("ce-time"),
            hub: required("ce-hub")?,
            connection_id: required("ce-connectionId")?,
            user_id: optional("ce-userId").filter(|u| !u.is_empty()),
            subprotocol: optional("ce-subprotocol").filter(|s| !s.is_empty()),
            connection_state: optional("ce-connectionState").filter(|s| !s.is_empty()),
            signature: optional("ce-signature"),
            awps_version: required("ce-awpsversion")?,
            physical_connection_id: optional("ce-physicalConnectionId"),
            session_id: optional("ce-sessionId"),
        })
    }
}

/// A header's value as one string: a header sent more than once is its values joined with `,`, as
/// HTTP combines them (RFC 9110, section 5.3); values that are not text are skipped. `None` when
/// absent.
///
/// ```
/// use http::HeaderMap;
/// use webpubsub_protocol::events::combined_header;
///
/// let mut headers = HeaderMap::new();
/// headers.append("ce-signature", "sha256=a".parse().unwrap());
/// headers.append("ce-signature", "sha256=b".parse().unwrap());
/// assert_eq!(combined_header(&headers, "ce-signature").as_deref(), Some("sha256=a,sha256=b"));
/// assert_eq!(combined_header(&headers, "ce-id"), None);
/// ```
pub fn combined_header(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// Connection state carried in `ce-connectionState`: base64 of a JSON object, as the JS express
/// handler writes it, so both interoperate.
///
/// ```
/// use webpubsub_protocol::events::ConnectionState;
///
/// let mut state = ConnectionState::default();
/// state.set("room", "lobby");
/// let header = state.to_header();
/// let back = ConnectionState::from_header(&header)?;
/// assert_eq!(back.get("room"), Some(&serde_json::json!("lobby")));
/// # Ok::<(), webpubsub_protocol::events::CloudEventError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConnectionState(Map<String, Value>);

impl ConnectionState {
    /// Decodes a `ce-connectionState` header.
    ///
    /// # Errors
    /// [`CloudEventError::InvalidConnectionState`] when it is not base64 of a JSON object.
    pub fn from_header(header: &str) -> Result<Self, CloudEventError> {
        let bytes = STANDARD
            .decode(header.trim())
            .map_err(|_| CloudEventError::InvalidConnectionState)?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            _ => Err(CloudEventError::InvalidConnectionState),
        }
    }

    /// Encodes the state for the `ce-connectionState` response header.
    pub fn to_header(&self) -> String {
        STANDARD.encode(Value::Object(self.0.clone()).to_string())
    }

    /// A value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// Sets a value.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.0.insert(key.into(), value.into());
    }

    /// Removes a value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key)
    }

    /// All values.
    pub fn values(&self) -> &Map<String, Value> {
        &self.0
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ce_type())
    }
}
