//! What the user implements ([`EventHandler`]) and the answers it gives.

use std::future::{ready, Future};

use webpubsub_protocol::events::{
    ConnectEventRequest, ConnectEventResponse, DisconnectedEventRequest, MqttConnectError,
};
use webpubsub_protocol::Payload;

use crate::context::EventContext;

/// The answer to `connect`: one model for WebSocket and MQTT clients.
///
/// ```
/// use webpubsub_handler::{ConnectEventResponse, ConnectResponse};
///
/// let plain = ConnectResponse::accept(); // 204
/// let with_overrides: ConnectResponse = ConnectEventResponse::default()
///     .with_user_id("alice")
///     .with_groups(["lobby"])
///     .into(); // 200 {"userId":"alice","groups":["lobby"]}
/// let refused = ConnectResponse::reject(401, "a name is required");
/// # let _ = (plain, with_overrides, refused);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectResponse {
    /// Let the client in, with the overrides set in the answer (none: answered `204`).
    Accept(ConnectEventResponse),
    /// Refuse the client: the service answers its upgrade with `status` (400, 401, 403, 500). An
    /// MQTT client gets the CONNACK code its protocol version has for `status`
    /// ([`webpubsub_protocol::events::mqtt_connect_code`]), with `reason`.
    Reject {
        /// A 4xx status (a 5xx is sent as given, and the service treats it as an error).
        status: u16,
        /// Why (a short text body; the MQTT reason string).
        reason: String,
    },
    /// Refuse an MQTT client with this exact CONNACK code (and user properties); the HTTP status
    /// follows from the code ([`MqttConnectError::status`]).
    RejectMqtt(MqttConnectError),
}

impl ConnectResponse {
    /// Accept with no overrides (answered `204`).
    pub fn accept() -> Self {
        ConnectResponse::Accept(ConnectEventResponse::default())
    }

    /// Refuse with `status` and `reason`.
    pub fn reject(status: u16, reason: impl Into<String>) -> Self {
        ConnectResponse::Reject {
            status,
            reason: reason.into(),
        }
    }
}

impl From<ConnectEventResponse> for ConnectResponse {
    fn from(response: ConnectEventResponse) -> Self {
        ConnectResponse::Accept(response)
    }
}

/// The answer to a user event.
#[derive(Debug, Clone, PartialEq)]
pub enum UserEventResponse {
    /// Nothing to send back (answered 204).
    Empty,
    /// Send this back to the connection.
    Reply(Payload),
    /// Fail the event with `status` (the service then drops the connection or nacks the event).
    Reject {
        /// The status.
        status: u16,
        /// Why.
        reason: String,
    },
}

/// A user event: `azure.webpubsub.user.<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserEvent {
    /// The event name (`message` for raw WebSocket clients).
    pub name: String,
    /// The data, typed by its content type.
    pub data: Payload,
}

/// Your application's answers to Web PubSub events. Every method has a default: accept
/// connects, ignore the rest. Write the methods as plain `async fn`s (no macro needed); the
/// futures they return must be `Send`, as a server runs them on any thread.
///
/// ```
/// use webpubsub_handler::{
///     ConnectEventRequest, ConnectEventResponse, ConnectResponse, ContentType, EventContext,
///     EventHandler, Payload, UserEvent, UserEventResponse,
/// };
///
/// struct Chat;
///
/// impl EventHandler for Chat {
///     async fn connect(&self, ctx: &mut EventContext, request: ConnectEventRequest) -> ConnectResponse {
///         match request.query.get("name").and_then(|v| v.first()) {
///             Some(name) => {
///                 ctx.set_state("name", name.clone());
///                 ConnectEventResponse::default().with_user_id(name).with_groups(["lobby"]).into()
///             }
///             None => ConnectResponse::reject(401, "a name is required"),
///         }
///     }
///
///     async fn group_joined(&self, ctx: &EventContext, group: &str) {
///         println!("{} joined {group}", ctx.connection_id);
///     }
///
///     async fn user_event(&self, ctx: &mut EventContext, event: UserEvent) -> UserEventResponse {
///         let name = ctx.state("name").and_then(|v| v.as_str()).unwrap_or("anonymous").to_owned();
///         match (event.data.content_type(), event.data.as_text()) {
///             (ContentType::Text, Some(text)) => UserEventResponse::Reply(Payload::text(format!("{name}: {text}"))),
///             _ => UserEventResponse::Empty,
///         }
///     }
/// }
/// ```
pub trait EventHandler: Send + Sync {
    /// A client wants to connect (blocking: the upgrade waits for this answer). MQTT clients'
    /// CONNECT fields are in `request.mqtt`.
    fn connect(
        &self,
        ctx: &mut EventContext,
        request: ConnectEventRequest,
    ) -> impl Future<Output = ConnectResponse> + Send {
        let _ = (ctx, request);
        ready(ConnectResponse::accept())
    }

    /// A client connected.
    fn connected(&self, ctx: &EventContext) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        ready(())
    }

    /// A client disconnected: the reason when there is one, and for MQTT clients the
    /// DISCONNECT packet and who ended the session.
    fn disconnected(
        &self,
        ctx: &EventContext,
        event: DisconnectedEventRequest,
    ) -> impl Future<Output = ()> + Send {
        let _ = (ctx, event);
        ready(())
    }

    /// The connection joined `group` (`azure.webpubsub.gp.joined`; sent when the hub's event
    /// handler settings subscribe to the `joined` system event).
    fn group_joined(&self, ctx: &EventContext, group: &str) -> impl Future<Output = ()> + Send {
        let _ = (ctx, group);
        ready(())
    }

    /// The connection left `group` (`azure.webpubsub.gp.left`).
    fn group_left(&self, ctx: &EventContext, group: &str) -> impl Future<Output = ()> + Send {
        let _ = (ctx, group);
        ready(())
    }

    /// A user event (blocking: the client's ack waits for this answer).
    fn user_event(
        &self,
        ctx: &mut EventContext,
        event: UserEvent,
    ) -> impl Future<Output = UserEventResponse> + Send {
        let _ = (ctx, event);
        ready(UserEventResponse::Empty)
    }
}
