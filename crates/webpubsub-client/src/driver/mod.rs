//! The connection task: one per started client. It opens connections, runs each one (frames in,
//! commands out, keep-alive, sequence acks), recovers a dropped reliable connection, and opens a
//! new one when recovery is impossible. It owns the socket and every pending answer; the client
//! handles talk to it through commands. The lifecycle is here; one connection's run is in
//! `session`, opening connections in `handshake`.

mod handshake;
mod session;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::SinkExt as _;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use webpubsub_protocol::frames::ClientFrame;
use webpubsub_protocol::Payload;

use self::handshake::{close, connect_new, open, recovery_url};
use crate::credential::ClientCredential;
use crate::error::Error;
use crate::events::{ClientEvent, ClientState};
use crate::options::WebPubSubClientOptions;
use crate::sequence::Sequence;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The close code that ends recovery: the service could not (or will not) recover the session.
const CLOSE_NOT_RECOVERABLE: u16 = 1008;

/// What the client handles and the connection task share.
pub(crate) struct Shared {
    pub(crate) options: WebPubSubClientOptions,
    pub(crate) credential: ClientCredential,
    pub(crate) state: watch::Sender<ClientState>,
    pub(crate) events: mpsc::Sender<ClientEvent>,
    pub(crate) next_ack_id: AtomicU64,
    /// The groups the application joined (rejoined after a reconnect).
    pub(crate) groups: Mutex<BTreeSet<String>>,
    /// The current connection's id and user.
    pub(crate) connection: Mutex<Option<(String, Option<String>)>>,
}

impl Shared {
    pub(crate) fn next_ack_id(&self) -> u64 {
        self.next_ack_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn groups(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_connection(&self, connection: Option<(String, Option<String>)>) {
        *self.connection.lock().unwrap_or_else(|p| p.into_inner()) = connection;
    }
}

/// What a client handle asks of the connection task.
pub(crate) enum Command {
    /// Write a frame; answer when it is acked (or written, without an ack id).
    Send { text: String, reply: Reply },
    /// Write an invocation; answer with its response.
    Invoke {
        invocation_id: String,
        text: String,
        reply: oneshot::Sender<Result<Option<Payload>, Error>>,
    },
    /// The caller stopped waiting for an invocation.
    Cancel { invocation_id: String },
    /// Close with 1000 and stop.
    Stop { done: oneshot::Sender<()> },
}

/// How a sent frame is answered.
pub(crate) enum Reply {
    /// By the service's ack: `Ok(true)` for a duplicate (it already succeeded).
    Ack {
        ack_id: u64,
        reply: oneshot::Sender<Result<bool, Error>>,
    },
    /// Once written.
    Written(oneshot::Sender<Result<(), Error>>),
}

enum Pending {
    Caller(oneshot::Sender<Result<bool, Error>>),
    Rejoin(String),
}

/// One logical connection: its socket (replaced by recoveries) and what identifies it.
struct Live {
    socket: Socket,
    url: String,
    connection_id: String,
    user_id: Option<String>,
    reconnection_token: Option<String>,
    sequence: Sequence,
    /// The service's `disconnected` message, when one came.
    message: Option<String>,
}

/// How a connection's run ended.
enum Ended {
    Stop(Option<oneshot::Sender<()>>),
    Dropped { code: Option<u16>, reason: String },
}

struct Driver {
    shared: Arc<Shared>,
    commands: mpsc::Receiver<Command>,
    pending: HashMap<u64, Pending>,
    invocations: HashMap<String, oneshot::Sender<Result<Option<Payload>, Error>>>,
}

/// Runs a started client until it stops; `started` gets the first connection's outcome.
pub(crate) async fn run(
    shared: Arc<Shared>,
    commands: mpsc::Receiver<Command>,
    started: oneshot::Sender<Result<(), Error>>,
) {
    let mut driver = Driver {
        shared,
        commands,
        pending: HashMap::new(),
        invocations: HashMap::new(),
    };
    let done = driver.main(started).await;
    driver.fail_pending(Error::not_connected);
    driver.shared.set_connection(None);
    driver.shared.state.send_replace(ClientState::Stopped);
    let _ = driver.shared.events.send(ClientEvent::Stopped).await;
    if let Some(done) = done {
        let _ = done.send(());
    }
}

impl Driver {
    fn options(&self) -> &WebPubSubClientOptions {
        &self.shared.options
    }

    fn set_state(&self, state: ClientState) {
        self.shared.state.send_replace(state);
    }

    async fn emit(&self, event: ClientEvent) {
        // A dropped event stream means nobody listens: not an error.
        let _ = self.shared.events.send(event).await;
    }

    /// The whole life of a started client; returns who asked it to stop.
    async fn main(
        &mut self,
        started: oneshot::Sender<Result<(), Error>>,
    ) -> Option<oneshot::Sender<()>> {
        self.set_state(ClientState::Connecting);
        let (credential, options) = (self.shared.credential.clone(), self.options().clone());
        let mut live = match self.serve_while(connect_new(&credential, &options)).await {
            Err(stop) => {
                self.set_state(ClientState::Stopped);
                let _ = started.send(Err(Error::not_connected()));
                return stop;
            }
            Ok(Err(e)) => {
                self.set_state(ClientState::Stopped);
                let _ = started.send(Err(e));
                return None;
            }
            Ok(Ok(live)) => live,
        };
        self.connected(&mut live, false).await;
        let _ = started.send(Ok(()));
        loop {
            let (code, reason) = match self.session(&mut live).await {
                Ended::Stop(done) => {
                    close(&mut live.socket).await;
                    self.fail_pending(Error::not_connected);
                    self.disconnected(&mut live, Some(1000), "stopped".into())
                        .await;
                    return done;
                }
                Ended::Dropped { code, reason } => (code, reason),
            };
            self.fail_pending(Error::connection_lost);
            let recoverable = self.options().protocol.is_reliable()
                && live.reconnection_token.is_some()
                && code != Some(CLOSE_NOT_RECOVERABLE);
            if recoverable {
                tracing::debug!(connection = %live.connection_id, ?code, %reason, "recovering");
                self.set_state(ClientState::Recovering);
                match self.recover(&live).await {
                    Err(stop) => {
                        self.disconnected(&mut live, code, reason).await;
                        return stop;
                    }
                    Ok(Some(socket)) => {
                        live.socket = socket;
                        self.set_state(ClientState::Connected);
                        continue;
                    }
                    Ok(None) => {}
                }
            }
            self.disconnected(&mut live, code, reason).await;
            if !self.options().auto_reconnect {
                return None;
            }
            match self.reconnect().await {
                Ok(new) => {
                    live = new;
                    self.connected(&mut live, true).await;
                }
                Err(stop) => return stop,
            }
        }
    }

    /// A new connection is up: tell the application, and after a reconnect join its groups
    /// again (a failure is reported as [`ClientEvent::RejoinGroupFailed`]).
    async fn connected(&mut self, live: &mut Live, rejoin: bool) {
        self.shared
            .set_connection(Some((live.connection_id.clone(), live.user_id.clone())));
        self.set_state(ClientState::Connected);
        self.emit(ClientEvent::Connected {
            connection_id: live.connection_id.clone(),
            user_id: live.user_id.clone(),
        })
        .await;
        if !(rejoin && self.options().auto_rejoin_groups) {
            return;
        }
        let groups: Vec<String> = self.shared.groups().iter().cloned().collect();
        for group in groups {
            let ack_id = self.shared.next_ack_id();
            let text = frame_text(&ClientFrame::JoinGroup {
                group: group.clone(),
                ack_id: Some(ack_id),
            });
            self.pending.insert(ack_id, Pending::Rejoin(group));
            // A failed write shows up as a dropped connection when the session reads next.
            let _ = live.socket.send(Message::text(text)).await;
        }
    }

    async fn disconnected(&mut self, live: &mut Live, code: Option<u16>, reason: String) {
        self.shared.set_connection(None);
        self.emit(ClientEvent::Disconnected {
            connection_id: Some(live.connection_id.clone()),
            code,
            reason,
            message: live.message.take(),
        })
        .await;
    }

    /// Answers every waiting caller with `error` (their operations may be retried with the same
    /// ack ids).
    fn fail_pending(&mut self, error: fn() -> Error) {
        for (_, pending) in self.pending.drain() {
            if let Pending::Caller(reply) = pending {
                let _ = reply.send(Err(error()));
            }
        }
        for (_, reply) in self.invocations.drain() {
            let _ = reply.send(Err(error()));
        }
    }

    /// Drives `work` while answering commands as "not connected"; `Err` when asked to stop
    /// (or when every client handle is gone).
    async fn serve_while<T>(
        &mut self,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, Option<oneshot::Sender<()>>> {
        let mut work = std::pin::pin!(work);
        loop {
            tokio::select! {
                output = &mut work => return Ok(output),
                command = self.commands.recv() => match command {
                    None => return Err(None),
                    Some(Command::Stop { done }) => return Err(Some(done)),
                    Some(Command::Send { reply, .. }) => refuse(reply),
                    Some(Command::Invoke { reply, .. }) => {
                        let _ = reply.send(Err(Error::not_connected()));
                    }
                    Some(Command::Cancel { .. }) => {}
                },
            }
        }
    }

    /// Recovers `live`'s session within the recovery window: `Ok(Some(socket))` recovered,
    /// `Ok(None)` gave up.
    async fn recover(
        &mut self,
        live: &Live,
    ) -> Result<Option<Socket>, Option<oneshot::Sender<()>>> {
        let Some(token) = &live.reconnection_token else {
            return Ok(None);
        };
        let url = recovery_url(&live.url, &live.connection_id, token);
        let deadline = Instant::now() + self.options().recovery_window;
        let (protocol, connect_timeout, pause) = (
            self.options().protocol,
            self.options().connect_timeout,
            self.options().recovery_retry_delay,
        );
        let tls = self.options().tls_config.clone();
        let mut attempt = 0u32;
        loop {
            if attempt > 0 {
                self.serve_while(sleep(pause)).await?;
            }
            attempt += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::debug!(connection = %live.connection_id, attempt, "recovery window over");
                return Ok(None);
            }
            let opened = timeout(
                connect_timeout.min(left),
                open(&url, protocol, tls.as_ref()),
            );
            match self.serve_while(opened).await? {
                Ok(Ok(socket)) => return Ok(Some(socket)),
                Ok(Err(e)) => tracing::debug!(attempt, error = %e, "recovery attempt failed"),
                Err(_) => tracing::debug!(attempt, "recovery attempt timed out"),
            }
        }
    }

    /// Opens a new connection (fresh URL from the credential), retrying per policy.
    async fn reconnect(&mut self) -> Result<Live, Option<oneshot::Sender<()>>> {
        let policy = self.options().reconnect_retry;
        let mut retry = 0u32;
        loop {
            self.set_state(ClientState::Disconnected);
            if retry > 0 {
                if !policy.allows(retry) {
                    tracing::warn!(retries = retry - 1, "giving up reconnecting");
                    return Err(None);
                }
                self.serve_while(sleep(policy.delay_before(retry))).await?;
            }
            retry = retry.saturating_add(1);
            self.set_state(ClientState::Connecting);
            let credential = self.shared.credential.clone();
            let options = self.options().clone();
            match self.serve_while(connect_new(&credential, &options)).await? {
                Ok(live) => return Ok(live),
                Err(e) => tracing::warn!(error = %e, retry, "reconnecting failed"),
            }
        }
    }
}

fn dropped(code: Option<u16>, reason: String) -> Ended {
    Ended::Dropped { code, reason }
}

fn refuse(reply: Reply) {
    match reply {
        Reply::Ack { reply, .. } => {
            let _ = reply.send(Err(Error::not_connected()));
        }
        Reply::Written(reply) => {
            let _ = reply.send(Err(Error::not_connected()));
        }
    }
}

/// A client frame as JSON text (the frames' serialisation cannot fail).
pub(crate) fn frame_text(frame: &ClientFrame) -> String {
    serde_json::to_string(frame).unwrap_or_default()
}

async fn send_sequence_ack(live: &mut Live) -> Result<(), Ended> {
    let sequence_id = live.sequence.received();
    let text = frame_text(&ClientFrame::SequenceAck { sequence_id });
    live.socket
        .send(Message::text(text))
        .await
        .map_err(|e| dropped(None, format!("a sequence ack failed: {e}")))?;
    live.sequence.acked(sequence_id);
    Ok(())
}
