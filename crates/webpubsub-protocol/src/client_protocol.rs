//! Which client endpoint a connection uses: the WebSocket default, MQTT or Socket.IO. One type for
//! the token audience path, the REST `clientType` and the name users type.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Which client endpoint a token is for; each has its own URL path and audience.
///
/// Parsing is case-insensitive and rejects unknown names (the JS SDK silently falls back to the
/// default path for `"MQTT"`).
///
/// ```
/// use webpubsub_protocol::ClientProtocol;
///
/// assert_eq!("MQTT".parse::<ClientProtocol>()?, ClientProtocol::Mqtt);
/// assert_eq!(ClientProtocol::SocketIo.path_prefix(), "/clients/socketio/hubs/");
/// assert!("mqt".parse::<ClientProtocol>().is_err());
/// # Ok::<(), webpubsub_protocol::UnknownClientProtocol>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ClientProtocol {
    /// WebSocket clients: `/client/hubs/{hub}`.
    #[default]
    Default,
    /// MQTT clients: `/clients/mqtt/hubs/{hub}`.
    Mqtt,
    /// Socket.IO clients: `/clients/socketio/hubs/{hub}`.
    SocketIo,
}

impl ClientProtocol {
    /// Every protocol.
    pub const ALL: [ClientProtocol; 3] = [Self::Default, Self::Mqtt, Self::SocketIo];

    /// The audience and URL path before the hub name.
    pub fn path_prefix(self) -> &'static str {
        match self {
            ClientProtocol::Default => "/client/hubs/",
            ClientProtocol::Mqtt => "/clients/mqtt/hubs/",
            ClientProtocol::SocketIo => "/clients/socketio/hubs/",
        }
    }

    /// The REST `clientType` value: `Default`, `MQTT` or `SocketIO` (api-version 2024-12-01
    /// accepts only the first two).
    pub fn client_type(self) -> &'static str {
        match self {
            ClientProtocol::Default => "Default",
            ClientProtocol::Mqtt => "MQTT",
            ClientProtocol::SocketIo => "SocketIO",
        }
    }
}

impl fmt::Display for ClientProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.client_type())
    }
}

/// The error for a client protocol name that is not `default`, `mqtt` or `socketio`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown client protocol (expected default, mqtt or socketio)")]
pub struct UnknownClientProtocol;

impl FromStr for ClientProtocol {
    type Err = UnknownClientProtocol;

    /// `default`, `mqtt`, `socketio` (or `socket.io`), case-insensitive: the names users type and
    /// the REST `clientType` values.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "default" => Ok(Self::Default),
            "mqtt" => Ok(Self::Mqtt),
            "socketio" | "socket.io" => Ok(Self::SocketIo),
            _ => Err(UnknownClientProtocol),
        }
    }
}
