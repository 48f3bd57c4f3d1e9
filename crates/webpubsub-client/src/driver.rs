//! The connection task: one per started client. It opens connections, runs each one (frames in,
//! commands out, keep-alive, sequence acks), recovers a dropped reliable connection, and opens a
//! new one when recovery is impossible. It owns the socket and every pending answer; the client
//! handles talk to it through commands.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{interval_at, sleep, sleep_until, timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use webpubsub_protocol::encoding::percent_encode;
use webpubsub_protocol::frames::{
    AckError, AckErrorName, ClientFrame, MessageSource, ServerFrame, Subprotocol, SystemEvent,
};
use webpubsub_protocol::validate::MAX_MESSAGE_BYTES;
use webpubsub_protocol::Payload;

use crate::credential::{without_query, ClientCredential};
use crate::error::{Error, ErrorKind};
use crate::events::{ClientEvent, ClientState, GroupMessage, ServerMessage};
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

impl Driver {
    /// Runs one connection until it drops or the client stops.
    async fn session(&mut self, live: &mut Live) -> Ended {
        let options = self.options().clone();
        let reliable = options.protocol.is_reliable();
        let now = Instant::now();
        let mut ping = interval_at(
            now + options.keep_alive_interval,
            options.keep_alive_interval,
        );
        let mut acks = interval_at(
            now + options.sequence_ack_interval,
            options.sequence_ack_interval,
        );
        let mut last_heard = now;
        loop {
            let silent_until = last_heard + options.keep_alive_timeout;
            tokio::select! {
                command = self.commands.recv() => {
                    let Some(command) = command else { return Ended::Stop(None) };
                    if let Err(ended) = self.command(live, command).await {
                        return ended;
                    }
                }
                frame = live.socket.next() => {
                    last_heard = Instant::now();
                    let frame = match frame {
                        Some(Ok(frame)) => frame,
                        Some(Err(e)) => return dropped(None, format!("the connection failed: {e}")),
                        None => return dropped(None, "the connection closed without a close frame".into()),
                    };
                    match frame {
                        Message::Text(text) => {
                            if let Err(ended) = self.frame(live, text.as_str()).await {
                                return ended;
                            }
                            if reliable && live.sequence.unacked() >= options.sequence_ack_burst {
                                if let Err(ended) = send_sequence_ack(live).await {
                                    return ended;
                                }
                            }
                        }
                        Message::Close(frame) => {
                            let (code, reason) = match frame {
                                Some(frame) => (Some(u16::from(frame.code)), frame.reason.to_string()),
                                None => (None, String::new()),
                            };
                            return Ended::Dropped { code, reason: format!("the service closed the connection: {reason}") };
                        }
                        Message::Binary(_) => tracing::warn!("ignored a binary frame on a JSON subprotocol"),
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
                _ = ping.tick() => {
                    if let Err(e) = live.socket.send(Message::text(frame_text(&ClientFrame::Ping))).await {
                        return dropped(None, format!("a keep-alive ping failed: {e}"));
                    }
                }
                _ = acks.tick(), if reliable => {
                    if live.sequence.unacked() > 0 {
                        if let Err(ended) = send_sequence_ack(live).await {
                            return ended;
                        }
                    }
                }
                () = sleep_until(silent_until) => {
                    return dropped(None, format!("nothing received for {:?}", options.keep_alive_timeout));
                }
            }
        }
    }

    /// Carries out one command on a live connection.
    async fn command(&mut self, live: &mut Live, command: Command) -> Result<(), Ended> {
        match command {
            Command::Stop { done } => Err(Ended::Stop(Some(done))),
            Command::Send { text, reply } => {
                let written = live.socket.send(Message::text(text)).await;
                match reply {
                    Reply::Ack { ack_id, reply } => {
                        self.pending.insert(ack_id, Pending::Caller(reply));
                    }
                    Reply::Written(reply) => {
                        let _ = reply.send(match &written {
                            Ok(()) => Ok(()),
                            Err(_) => Err(Error::connection_lost()),
                        });
                    }
                }
                written.map_err(|e| dropped(None, format!("a write failed: {e}")))
            }
            Command::Invoke {
                invocation_id,
                text,
                reply,
            } => {
                self.invocations.insert(invocation_id, reply);
                live.socket
                    .send(Message::text(text))
                    .await
                    .map_err(|e| dropped(None, format!("a write failed: {e}")))
            }
            Command::Cancel { invocation_id } => {
                if self.invocations.remove(&invocation_id).is_none() {
                    return Ok(());
                }
                let text = frame_text(&ClientFrame::CancelInvocation { invocation_id });
                live.socket
                    .send(Message::text(text))
                    .await
                    .map_err(|e| dropped(None, format!("a write failed: {e}")))
            }
        }
    }

    /// Handles one text frame from the service.
    async fn frame(&mut self, live: &mut Live, text: &str) -> Result<(), Ended> {
        let frame = match ServerFrame::from_json(text) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!(error = %e, "ignored a frame that is not JSON");
                return Ok(());
            }
        };
        match frame {
            ServerFrame::Message {
                from,
                data,
                sequence_id,
            } => {
                if let Some(id) = sequence_id {
                    if !live.sequence.accept(id) {
                        return Ok(()); // a replayed duplicate
                    }
                }
                let event = match from {
                    MessageSource::Group {
                        group,
                        from_user_id,
                    } => ClientEvent::GroupMessage(GroupMessage {
                        group,
                        from_user_id,
                        data,
                        sequence_id,
                    }),
                    MessageSource::Server => {
                        ClientEvent::ServerMessage(ServerMessage { data, sequence_id })
                    }
                };
                self.emit(event).await;
            }
            ServerFrame::Ack {
                ack_id,
                success,
                error,
            } => self.answer(ack_id, success, error).await,
            ServerFrame::System(SystemEvent::Connected {
                reconnection_token, ..
            }) => {
                // Sent again after a recovery: keep the (possibly new) token, no event.
                if reconnection_token.is_some() {
                    live.reconnection_token = reconnection_token;
                }
            }
            ServerFrame::System(SystemEvent::Disconnected { message }) => live.message = message,
            ServerFrame::InvokeResponse {
                invocation_id,
                success,
                data,
                error,
            } => {
                if let Some(reply) = self.invocations.remove(&invocation_id) {
                    let _ = reply.send(if success {
                        Ok(data)
                    } else {
                        let error = error.unwrap_or(AckError {
                            name: AckErrorName::InternalServerError,
                            message: None,
                        });
                        Err(Error::new(
                            ErrorKind::Invocation {
                                invocation_id,
                                name: error.name,
                                message: error.message,
                            },
                            "the invocation failed",
                        ))
                    });
                }
            }
            ServerFrame::Pong | ServerFrame::StreamClosed { .. } | ServerFrame::Unknown(_) => {}
        }
        Ok(())
    }

    async fn answer(&mut self, ack_id: u64, success: bool, error: Option<AckError>) {
        let Some(pending) = self.pending.remove(&ack_id) else {
            return; // an ack nobody waits for any more (timed out)
        };
        let result = match (success, error) {
            (true, _) => Ok(false),
            (
                false,
                Some(AckError {
                    name: AckErrorName::Duplicate,
                    ..
                }),
            ) => Ok(true),
            (false, error) => {
                let error = error.unwrap_or(AckError {
                    name: AckErrorName::InternalServerError,
                    message: None,
                });
                Err(Error::new(
                    ErrorKind::Ack {
                        ack_id,
                        name: error.name,
                        message: error.message,
                    },
                    "the service refused the operation",
                ))
            }
        };
        match pending {
            Pending::Caller(reply) => {
                let _ = reply.send(result);
            }
            Pending::Rejoin(group) => {
                if let Err(error) = result {
                    tracing::warn!(%group, %error, "rejoining a group failed");
                    self.emit(ClientEvent::RejoinGroupFailed { group, error })
                        .await;
                }
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

/// Closes with 1000 (the service ends the session for good) and waits briefly for the reply.
async fn close(socket: &mut Socket) {
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    if socket.close(Some(frame)).await.is_ok() {
        let _ = timeout(Duration::from_secs(1), async {
            while let Some(Ok(_)) = socket.next().await {}
        })
        .await;
    }
}

/// The URL that recovers a session: the connection's own URL (its token is not checked again)
/// with the connection id and reconnection token.
fn recovery_url(url: &str, connection_id: &str, token: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}awps_connection_id={}&awps_reconnection_token={}",
        percent_encode(connection_id),
        percent_encode(token)
    )
}

/// A new connection: a URL from the credential, the upgrade, and the `connected` frame, all
/// within `connect_timeout`.
async fn connect_new(
    credential: &ClientCredential,
    options: &WebPubSubClientOptions,
) -> Result<Live, Error> {
    let url = credential.url().await?;
    let attempt = async {
        let mut socket = open(&url, options.protocol, options.tls_config.as_ref()).await?;
        let connected = await_connected(&mut socket).await?;
        Ok::<_, Error>((socket, connected))
    };
    let (socket, (connection_id, user_id, reconnection_token)) =
        timeout(options.connect_timeout, attempt)
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::ConnectTimeout,
                    format!(
                        "no connection to {} within {:?}",
                        without_query(&url),
                        options.connect_timeout
                    ),
                )
            })??;
    tracing::debug!(%connection_id, endpoint = %without_query(&url), "connected");
    Ok(Live {
        socket,
        url,
        connection_id,
        user_id,
        reconnection_token,
        sequence: Sequence::default(),
        message: None,
    })
}

/// The WebSocket upgrade with `protocol` (tungstenite checks that the service echoes it).
async fn open(
    url: &str,
    protocol: Subprotocol,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> Result<Socket, Error> {
    let mut request = url.into_client_request().map_err(|e| {
        Error::new(
            ErrorKind::Credential,
            "the client URL is not a WebSocket URL",
        )
        .with_source(e)
    })?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        tokio_tungstenite::tungstenite::http::HeaderValue::from_static(protocol.as_str()),
    );
    // Frames from the service up to the service's own limit, with room for the envelope.
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES * 2 + 64 * 1024))
        .max_frame_size(Some(MAX_MESSAGE_BYTES * 2 + 64 * 1024));
    // Boxed: the handshake's future is large (its buffers), and it is awaited once.
    let connector = tls.map(|tls| tokio_tungstenite::Connector::Rustls(tls.clone()));
    let (socket, _) = Box::pin(tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(config),
        true,
        connector,
    ))
    .await
    .map_err(|e| handshake_error(e, protocol))?;
    Ok(socket)
}

fn handshake_error(e: WsError, protocol: Subprotocol) -> Error {
    match e {
        WsError::Http(response) => Error::new(
            ErrorKind::Handshake {
                status: Some(response.status().as_u16()),
                close_code: None,
            },
            "the service refused the upgrade",
        ),
        WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(e)) => Error::new(
            ErrorKind::Handshake {
                status: None,
                close_code: None,
            },
            format!(
                "the service did not answer with the {} subprotocol",
                protocol.as_str()
            ),
        )
        .with_source(e),
        WsError::Io(e) => Error::new(ErrorKind::Connect, "could not connect").with_source(e),
        WsError::Tls(e) => {
            Error::new(ErrorKind::Connect, "the TLS handshake failed").with_source(e)
        }
        WsError::Url(e) => Error::new(
            ErrorKind::Credential,
            "the client URL is not a WebSocket URL",
        )
        .with_source(e),
        other => Error::new(
            ErrorKind::Handshake {
                status: None,
                close_code: None,
            },
            "the connection broke off during the upgrade",
        )
        .with_source(other),
    }
}

/// Reads until the `connected` frame: (connection id, user id, reconnection token).
async fn await_connected(
    socket: &mut Socket,
) -> Result<(String, Option<String>, Option<String>), Error> {
    loop {
        let frame = socket.next().await;
        match frame {
            Some(Ok(Message::Text(text))) => {
                if let Ok(ServerFrame::System(SystemEvent::Connected {
                    connection_id,
                    user_id,
                    reconnection_token,
                })) = ServerFrame::from_json(text.as_str())
                {
                    return Ok((connection_id, user_id, reconnection_token));
                }
            }
            Some(Ok(Message::Close(frame))) => {
                let code = frame.as_ref().map(|f| u16::from(f.code));
                let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                return Err(Error::new(
                    ErrorKind::Handshake {
                        status: None,
                        close_code: code,
                    },
                    format!("the service closed the connection before `connected`: {reason}"),
                ));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                return Err(Error::new(
                    ErrorKind::Handshake {
                        status: None,
                        close_code: None,
                    },
                    "the connection broke off before `connected`",
                )
                .with_source(e))
            }
            None => {
                return Err(Error::new(
                    ErrorKind::Handshake {
                        status: None,
                        close_code: None,
                    },
                    "the connection closed before `connected`",
                ))
            }
        }
    }
}
