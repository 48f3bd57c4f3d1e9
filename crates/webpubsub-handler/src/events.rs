//! What the user implements ([`EventHandler`]) and the values it sees and returns.

use webpubsub_protocol::events::{ConnectEventRequest, ConnectionState};
use webpubsub_protocol::Payload;

/// The attributes of one event, and the connection state the handler may change.
#[derive(Debug, Clone)]
pub struct EventContext {
    /// The hub.
    pub hub: String,
    /// The connection.
    pub connection_id: String,
    /// The user, when the connection has one.
    pub user_id: Option<String>,
    /// `connect`, `connected`, `disconnected` or the user event's name.
    pub event_name: String,
    /// The connection's subprotocol, when it has one.
    pub subprotocol: Option<String>,
    /// The service host that sent the event (`WebHook-Request-Origin`).
    pub origin: Option<String>,
    state: ConnectionState,
    state_changed: bool,
}

impl EventContext {
    pub(crate) fn new(
        headers: &webpubsub_protocol::events::CloudEventHeaders,
        origin: Option<String>,
        state: ConnectionState,
    ) -> Self {
        Self {
            hub: headers.hub.clone(),
            connection_id: headers.connection_id.clone(),
            user_id: headers.user_id.clone(),
            event_name: headers.event_name.clone(),
            subprotocol: headers.subprotocol.clone(),
            origin,
            state,
            state_changed: false,
        }
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

/// The answer to `connect`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectResponse {
    /// Let the client in, with optional overrides (`None`: keep what the token says).
    Accept {
        /// Use this user id.
        user_id: Option<String>,
        /// Join these groups.
        groups: Option<Vec<String>>,
        /// Grant these roles.
        roles: Option<Vec<String>>,
        /// Answer the upgrade with this subprotocol (one the client offered).
        subprotocol: Option<String>,
    },
    /// Refuse the client: the service answers its upgrade with `status` (400, 401, 403, ...).
    Reject {
        /// A 4xx status (a 5xx is sent as given, and the service treats it as an error).
        status: u16,
        /// Why (a short text body).
        reason: String,
    },
}

impl ConnectResponse {
    /// Accept with no overrides (answered 204).
    pub fn accept() -> Self {
        ConnectResponse::Accept {
            user_id: None,
            groups: None,
            roles: None,
            subprotocol: None,
        }
    }

    /// Refuse with `status` and `reason`.
    pub fn reject(status: u16, reason: impl Into<String>) -> Self {
        ConnectResponse::Reject {
            status,
            reason: reason.into(),
        }
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
/// connects, ignore the rest.
///
/// ```
/// use webpubsub_handler::{ConnectResponse, EventContext, EventHandler, UserEvent, UserEventResponse};
/// use webpubsub_protocol::events::ConnectEventRequest;
/// use webpubsub_protocol::{ContentType, Payload};
///
/// struct Chat;
///
/// #[async_trait::async_trait]
/// impl EventHandler for Chat {
///     async fn connect(&self, ctx: &mut EventContext, request: ConnectEventRequest) -> ConnectResponse {
///         match request.query.get("name").and_then(|v| v.first()) {
///             Some(name) => {
///                 ctx.set_state("name", name.clone());
///                 ConnectResponse::Accept { user_id: Some(name.clone()), groups: Some(vec!["lobby".into()]), roles: None, subprotocol: None }
///             }
///             None => ConnectResponse::reject(401, "a name is required"),
///         }
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
#[async_trait::async_trait]
pub trait EventHandler: Send + Sync {
    /// A client wants to connect (blocking: the upgrade waits for this answer).
    async fn connect(
        &self,
        ctx: &mut EventContext,
        request: ConnectEventRequest,
    ) -> ConnectResponse {
        let _ = (ctx, request);
        ConnectResponse::accept()
    }

    /// A client connected.
    async fn connected(&self, ctx: &EventContext) {
        let _ = ctx;
    }

    /// A client disconnected, with the reason when there is one.
    async fn disconnected(&self, ctx: &EventContext, reason: Option<String>) {
        let _ = (ctx, reason);
    }

    /// A user event (blocking: the client's ack waits for this answer).
    async fn user_event(&self, ctx: &mut EventContext, event: UserEvent) -> UserEventResponse {
        let _ = (ctx, event);
        UserEventResponse::Empty
    }
}
