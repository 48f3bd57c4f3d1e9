//! What the client tells the application: its events (as a `Stream`) and its state.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use webpubsub_protocol::Payload;

use crate::error::Error;

/// Where the client is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Not started, or stopped.
    Stopped,
    /// Opening a connection (the first, or a replacement).
    Connecting,
    /// Connected: operations go out.
    Connected,
    /// A reliable connection dropped; the client is recovering it (nothing is lost, no
    /// `Connected` event follows).
    Recovering,
    /// The connection is lost for good; the client waits to open a new one.
    Disconnected,
}

/// A message the server sent (a REST send to all, a user or this connection, or an event
/// handler's reply).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServerMessage {
    /// The content.
    pub data: Payload,
    /// The sequence id (reliable protocol).
    pub sequence_id: Option<u64>,
}

/// A message sent to a group this connection is in.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GroupMessage {
    /// The group.
    pub group: String,
    /// The sending user, when a client with a user id sent it.
    pub from_user_id: Option<String>,
    /// The content.
    pub data: Payload,
    /// The sequence id (reliable protocol).
    pub sequence_id: Option<u64>,
}

/// Something that happened to the client.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A new connection is up (not sent again after a recovery: the connection is the same).
    Connected {
        /// The connection id.
        connection_id: String,
        /// The user id, when the token names one.
        user_id: Option<String>,
    },
    /// The connection is gone for good (it could not be recovered, or the client stopped).
    Disconnected {
        /// The connection, when there was one.
        connection_id: Option<String>,
        /// The WebSocket close code, when the service sent a close frame (1008: the session
        /// could not be recovered; 1000: stopped).
        code: Option<u16>,
        /// What the client saw: the close reason, or why it gave up (a timeout, a reset).
        reason: String,
        /// The service's `disconnected` message, when it sent one before closing.
        message: Option<String>,
    },
    /// The client stopped (by `stop()`, or because it may not reconnect).
    Stopped,
    /// A message from the server.
    ServerMessage(ServerMessage),
    /// A message to one of this connection's groups.
    GroupMessage(GroupMessage),
    /// After a reconnect, joining a group again failed.
    RejoinGroupFailed {
        /// The group.
        group: String,
        /// Why.
        error: Error,
    },
}

/// The client's events, in order. A [`futures_util::Stream`]; [`ClientEvents::next`] works
/// without importing anything. Ends when every handle of the client is dropped.
///
/// Reading it is what lets the client read its socket: when [`crate::WebPubSubClientOptions::event_buffer`]
/// events wait unread, the client waits too (nothing is dropped). Drop it if you do not read it.
#[derive(Debug)]
pub struct ClientEvents {
    pub(crate) receiver: mpsc::Receiver<ClientEvent>,
}

impl ClientEvents {
    /// The next event; `None` once the client is gone.
    pub async fn next(&mut self) -> Option<ClientEvent> {
        self.receiver.recv().await
    }
}

impl futures_util::Stream for ClientEvents {
    type Item = ClientEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ClientEvent>> {
        self.receiver.poll_recv(cx)
    }
}
