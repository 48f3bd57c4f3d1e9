//! One logical connection: who it is, its groups, and the transport it is written through.
//!
//! Delivery never waits on a client: each transport has an outbound queue bounded in frames and
//! in bytes, and a client that lets either fill up is closed (`1008 SlowClient`) instead of
//! slowing everyone else down. Replies (acks, pongs) go through the same queue, so a client that
//! floods pings without reading is closed the same way.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use webpubsub_protocol::roles::Permission;

use super::replay::Replay;

/// Ack ids remembered per connection for `Duplicate` answers; the oldest are forgotten first.
pub(crate) const MAX_ACKED_IDS: usize = 65_536;

/// How a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientKind {
    /// No subprotocol (or a custom one): frames are the payloads.
    Raw,
    /// `json.webpubsub.azure.v1`.
    Json,
    /// `json.reliable.webpubsub.azure.v1`: data messages carry sequence ids.
    JsonReliable,
}

/// What the connection's writer sends.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// Shared between every receiver of a broadcast: cloning does not copy.
    Text(Utf8Bytes),
    Binary(bytes::Bytes),
    /// An ack: written after the emulator's ack delay, without holding back other frames.
    Ack(Utf8Bytes),
    /// Send `disconnected` (JSON kinds) and close with this code and reason.
    Close {
        code: u16,
        reason: String,
    },
}

impl Outbound {
    fn len(&self) -> usize {
        match self {
            Outbound::Text(t) | Outbound::Ack(t) => t.len(),
            Outbound::Binary(b) => b.len(),
            Outbound::Close { reason, .. } => reason.len(),
        }
    }
}

/// Why a transport was stopped from outside its task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Close with this code and reason.
    Close(u16, String),
    /// A recovery took the session over: drop the socket without a word.
    TakenOver,
}

/// The switch that stops a transport's task.
#[derive(Debug, Default)]
pub(crate) struct Kill {
    notify: Notify,
    reason: Mutex<Option<Stop>>,
}

impl Kill {
    /// Stops the transport (the first reason wins).
    pub(crate) fn stop(&self, stop: Stop) {
        let mut reason = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        if reason.is_none() {
            *reason = Some(stop);
        }
        self.notify.notify_one();
    }

    /// Waits until stopped; returns why.
    pub(crate) async fn stopped(&self) -> Stop {
        loop {
            if let Some(stop) = self
                .reason
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
            {
                return stop;
            }
            self.notify.notified().await;
        }
    }
}

/// The sending half of one WebSocket transport of a connection.
#[derive(Debug)]
pub(crate) struct Transport {
    sender: mpsc::Sender<Outbound>,
    queued_bytes: Arc<AtomicUsize>,
    max_bytes: usize,
    pub(crate) kill: Arc<Kill>,
    /// Which transport of the session this is (a recovery makes a new one).
    pub(crate) generation: u64,
}

/// The receiving half, owned by the connection task's writer.
pub(crate) struct TransportReceiver {
    receiver: mpsc::Receiver<Outbound>,
    queued_bytes: Arc<AtomicUsize>,
    pub(crate) kill: Arc<Kill>,
    pub(crate) generation: u64,
}

/// Queue limits per transport.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueueLimits {
    pub(crate) frames: usize,
    pub(crate) bytes: usize,
}

pub(crate) fn transport(limits: QueueLimits, generation: u64) -> (Transport, TransportReceiver) {
    let (sender, receiver) = mpsc::channel(limits.frames.max(1));
    let queued_bytes = Arc::new(AtomicUsize::new(0));
    let kill = Arc::new(Kill::default());
    (
        Transport {
            sender,
            queued_bytes: queued_bytes.clone(),
            max_bytes: limits.bytes,
            kill: kill.clone(),
            generation,
        },
        TransportReceiver {
            receiver,
            queued_bytes,
            kill,
            generation,
        },
    )
}

impl Transport {
    /// Queues `frame` without waiting; a full queue (frames or bytes) closes the slow client.
    pub(crate) fn push(&self, connection: &str, frame: Outbound) {
        let len = frame.len();
        let queued = self.queued_bytes.fetch_add(len, Ordering::Relaxed) + len;
        let full = queued > self.max_bytes && queued != len;
        if full || self.sender.try_send(frame).is_err() {
            self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            if !self.sender.is_closed() {
                tracing::warn!(connection, "outbound queue full: closing the slow client");
                self.kill.stop(Stop::Close(1008, "SlowClient".into()));
            }
        }
    }
}

impl TransportReceiver {
    /// The next queued frame.
    pub(crate) async fn recv(&mut self) -> Option<Outbound> {
        let frame = self.receiver.recv().await?;
        self.queued_bytes.fetch_sub(frame.len(), Ordering::Relaxed);
        Some(frame)
    }

    /// A queued frame, if one is ready.
    pub(crate) fn try_recv(&mut self) -> Option<Outbound> {
        let frame = self.receiver.try_recv().ok()?;
        self.queued_bytes.fetch_sub(frame.len(), Ordering::Relaxed);
        Some(frame)
    }
}

/// The ack ids that already succeeded, the newest [`MAX_ACKED_IDS`] of them.
#[derive(Debug, Default)]
pub(crate) struct AckedIds {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl AckedIds {
    pub(crate) fn contains(&self, id: u64) -> bool {
        self.set.contains(&id)
    }

    pub(crate) fn insert(&mut self, id: u64) {
        if self.set.insert(id) {
            self.order.push_back(id);
            if self.order.len() > MAX_ACKED_IDS {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }
}

/// A logical connection (for reliable clients it outlives a dropped transport).
pub(crate) struct Connection {
    pub(crate) id: String,
    pub(crate) user_id: Option<String>,
    pub(crate) kind: ClientKind,
    pub(crate) roles: Vec<String>,
    pub(crate) groups: BTreeSet<String>,
    /// Permissions granted by REST: `None` target for every group.
    pub(crate) granted: HashSet<(Permission, Option<String>)>,
    /// Permissions revoked by REST for one group, overriding a token role.
    pub(crate) revoked: HashSet<(Permission, String)>,
    pub(crate) acked: AckedIds,
    /// `None` while a reliable session waits for its client to recover.
    pub(crate) transport: Option<Transport>,
    /// The generation of the latest transport (a detached session's recovery window belongs
    /// to it).
    pub(crate) generation: u64,
    /// Reliable connections: the secret a recovering client presents.
    pub(crate) reconnection_token: Option<String>,
    pub(crate) replay: Replay,
    /// `ce-connectionState` for upstream events, as the handlers last set it.
    pub(crate) connection_state: Option<String>,
    /// The subprotocol, for `ce-subprotocol`.
    pub(crate) subprotocol: Option<String>,
    /// Raw `sendToGroup` mode: the group this client's frames go to, and whether they skip it.
    pub(crate) send_to_group: Option<(String, bool)>,
}

impl Connection {
    /// Queues a frame on the current transport (dropped while detached: data frames of reliable
    /// sessions are in the replay buffer).
    pub(crate) fn push(&self, frame: Outbound) {
        if let Some(transport) = &self.transport {
            transport.push(&self.id, frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acked_ids_are_bounded() {
        let mut acked = AckedIds::default();
        for id in 0..(MAX_ACKED_IDS as u64 + 10) {
            acked.insert(id);
        }
        assert_eq!(acked.len(), MAX_ACKED_IDS);
        assert!(!acked.contains(0) && acked.contains(MAX_ACKED_IDS as u64 + 9));
    }

    #[tokio::test]
    async fn a_queue_full_in_bytes_stops_the_transport() {
        let (sender, mut receiver) = transport(
            QueueLimits {
                frames: 100,
                bytes: 10,
            },
            0,
        );
        sender.push("c", Outbound::Text("123456".into()));
        sender.push("c", Outbound::Text("123456".into()));
        assert_eq!(
            receiver.kill.stopped().await,
            Stop::Close(1008, "SlowClient".into())
        );
        assert!(matches!(receiver.recv().await, Some(Outbound::Text(_))));
        assert!(
            receiver.try_recv().is_none(),
            "the second frame was refused"
        );
        // One frame larger than the byte bound still goes out when nothing else is queued.
        let (sender, mut receiver) = transport(
            QueueLimits {
                frames: 100,
                bytes: 4,
            },
            0,
        );
        sender.push("c", Outbound::Text("123456".into()));
        assert!(receiver.try_recv().is_some());
    }
}
