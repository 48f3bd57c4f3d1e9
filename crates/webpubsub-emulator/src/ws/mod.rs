//! WebSocket clients: `handshake` (token or recovery check, subprotocol, the blocking `connect`
//! event, the upgrade), `connection` (one task per transport: a reader and a writer that never
//! wait on each other, keep-alive, the recovery window), `frames` (what each client frame does)
//! and `events` (the upstream events of a connection).

mod connection;
pub(crate) mod events;
mod frames;
mod handshake;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub(crate) use self::handshake::upgrade;
use crate::state::State;
use crate::tokens::Verifier;
use crate::upstream::Upstream;

/// Timings of client connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientTimings {
    /// A WebSocket ping goes to a connection that has been quiet this long.
    pub(crate) keep_alive_interval: Duration,
    /// A connection that has sent nothing (not even a pong) for this long is closed.
    pub(crate) keep_alive_timeout: Duration,
    /// How long a dropped reliable session waits for its client to recover.
    pub(crate) recovery_window: Duration,
    /// How long acks wait before they go out (other frames do not wait behind them).
    pub(crate) ack_delay: Duration,
}

/// What an upgrade needs.
pub(crate) struct ClientContext {
    pub(crate) state: Arc<State>,
    pub(crate) verifier: Verifier,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// The application's event handlers, when any are configured.
    pub(crate) upstream: Option<Arc<Upstream>>,
    pub(crate) timings: ClientTimings,
}
