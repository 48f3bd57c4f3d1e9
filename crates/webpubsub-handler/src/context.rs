//! What a handler knows about one event: its `ce-*` attributes and the connection's state.

use webpubsub_protocol::events::{CloudEventHeaders, ConnectionState};

/// The attributes of one event (every `ce-*` header the service sends), and the connection state
/// the handler may change.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EventContext {
    /// The hub (`ce-hub`).
    pub hub: String,
    /// The connection (`ce-connectionId`).
    pub connection_id: String,
    /// The user, when the connection has one (`ce-userId`).
    pub user_id: Option<String>,
    /// `connect`, `connected`, `disconnected`, `joined`, `left` or the user event's name
    /// (`ce-eventName`).
    pub event_name: String,
    /// The connection's subprotocol, when it has one (`ce-subprotocol`).
    pub subprotocol: Option<String>,
    /// The event's id (`ce-id`): unique per event, so a retried delivery can be recognised.
    pub id: String,
    /// When the service sent the event (`ce-time`, RFC 3339), when it says.
    pub time: Option<String>,
    /// `ce-source`: `/hubs/{hub}/client/{connectionId}`.
    pub source: String,
    /// `ce-specversion` (`1.0`).
    pub spec_version: String,
    /// `ce-awpsversion` (`1.0`).
    pub awps_version: String,
    /// `ce-signature` as sent (already verified unless verification is off).
    pub signature: Option<String>,
    /// The network connection under an MQTT session (`ce-physicalConnectionId`).
    pub physical_connection_id: Option<String>,
    /// The MQTT session (`ce-sessionId`).
    pub session_id: Option<String>,
    /// The service host that sent the event (`WebHook-Request-Origin`).
    pub origin: Option<String>,
    mqtt: bool,
    state: ConnectionState,
    state_changed: bool,
}

impl EventContext {
    pub(crate) fn new(
        headers: &CloudEventHeaders,
        origin: Option<String>,
        state: ConnectionState,
    ) -> Self {
        Self {
            hub: headers.hub.clone(),
            connection_id: headers.connection_id.clone(),
            user_id: headers.user_id.clone(),
            event_name: headers.event_name.clone(),
            subprotocol: headers.subprotocol.clone(),
            id: headers.id.clone(),
            time: headers.time.clone(),
            source: headers.source.clone(),
            spec_version: headers.spec_version.clone(),
            awps_version: headers.awps_version.clone(),
            signature: headers.signature.clone(),
            physical_connection_id: headers.physical_connection_id.clone(),
            session_id: headers.session_id.clone(),
            mqtt: headers.is_mqtt(),
            origin,
            state,
            state_changed: false,
        }
    }

    /// Whether the client is an MQTT client (its subprotocol names `mqtt` and the service sent a
    /// physical connection id). Refusals of its `connect` are answered with MQTT codes.
    pub fn is_mqtt(&self) -> bool {
        self.mqtt
    }

    /// A value of the connection's state (kept by the service in `ce-connectionState`).
    pub fn state(&self, key: &str) -> Option<&serde_json::Value> {
        self.state.get(key)
    }

    /// Sets a state value; the service keeps it for the connection's later events. Only the
    /// answers to `connect` and user events can change the state.
    pub fn set_state(&mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) {
        self.state.set(key, value);
        self.state_changed = true;
    }

    /// Removes a state value.
    pub fn remove_state(&mut self, key: &str) {
        if self.state.remove(key).is_some() {
            self.state_changed = true;
        }
    }

    pub(crate) fn changed_state(&self) -> Option<&ConnectionState> {
        self.state_changed.then_some(&self.state)
    }
}
