//! The client handle: start and stop, and the operations, each checked before it is sent,
//! retried with the same ack id, and bounded in time.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{sleep, timeout};
use webpubsub_protocol::frames::ClientFrame;
use webpubsub_protocol::validate::{self, MAX_MESSAGE_BYTES};
use webpubsub_protocol::Payload;

use crate::credential::ClientCredential;
use crate::driver::{self, frame_text, Command, Reply, Shared};
use crate::error::{Error, ErrorKind};
use crate::events::{ClientEvents, ClientState};
use crate::options::{SendEventOptions, SendToGroupOptions, WebPubSubClientOptions};

/// The largest frame the client sends: the service's limit for a client message.
pub const MAX_FRAME_BYTES: usize = MAX_MESSAGE_BYTES;

/// What an acked operation's ack said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AckResult {
    /// The ack id (`None` for fire-and-forget sends).
    pub ack_id: Option<u64>,
    /// The service had already run this ack id (a retry of one that succeeded): success.
    pub duplicated: bool,
}

/// The reply to [`WebPubSubClient::invoke_event`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InvokeResult {
    /// The invocation id.
    pub invocation_id: String,
    /// The event handler's reply, when it sent one.
    pub data: Option<Payload>,
}

/// A Web PubSub WebSocket client. Cheap to clone (one `Arc`); every clone drives the same
/// connection, which closes (with 1000) when the last clone is dropped or [`Self::stop`] is
/// called.
///
/// ```no_run
/// # async fn demo() -> Result<(), webpubsub_client::Error> {
/// use webpubsub_client::{ClientEvent, WebPubSubClient, WebPubSubClientOptions};
/// use webpubsub_protocol::Payload;
///
/// let url = std::env::var("WEBPUBSUB_CLIENT_URL").unwrap();
/// let (client, mut events) = WebPubSubClient::new(url, WebPubSubClientOptions::default());
/// client.start().await?;
/// client.join_group("room").await?;
/// client.send_to_group("room", Payload::text("hello"), None).await?;
/// while let Some(event) = events.next().await {
///     if let ClientEvent::GroupMessage(message) = event {
///         println!("{}: {:?}", message.group, message.data.as_text());
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WebPubSubClient {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    /// The running connection task's command channel.
    commands: Mutex<Option<mpsc::Sender<Command>>>,
    /// Serialises `start` and `stop`.
    lifecycle: tokio::sync::Mutex<()>,
    next_invocation: AtomicU64,
}

impl fmt::Debug for WebPubSubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebPubSubClient")
            .field("credential", &self.inner.shared.credential)
            .field("protocol", &self.inner.shared.options.protocol)
            .field("state", &self.state())
            .field("connection_id", &self.connection_id())
            .finish_non_exhaustive()
    }
}

impl WebPubSubClient {
    /// A client for `credential` (a client access URL, or a provider of fresh ones) and its
    /// event stream. Nothing connects until [`Self::start`].
    pub fn new(
        credential: impl Into<ClientCredential>,
        options: WebPubSubClientOptions,
    ) -> (Self, ClientEvents) {
        let (events, receiver) = mpsc::channel(options.event_buffer.max(1));
        let (state, _) = watch::channel(ClientState::Stopped);
        let shared = Arc::new(Shared {
            options,
            credential: credential.into(),
            state,
            events,
            next_ack_id: AtomicU64::new(1),
            groups: Mutex::default(),
            connection: Mutex::default(),
        });
        let client = Self {
            inner: Arc::new(Inner {
                shared,
                commands: Mutex::new(None),
                lifecycle: tokio::sync::Mutex::new(()),
                next_invocation: AtomicU64::new(1),
            }),
        };
        (client, ClientEvents { receiver })
    }

    /// Connects, and returns once the service's `connected` frame arrived (within
    /// `connect_timeout`). Does nothing when already started.
    ///
    /// # Errors
    /// The first connection's failure: [`ErrorKind::Credential`] (the provider failed),
    /// [`ErrorKind::Handshake`] (401 or 403 at the upgrade, a subprotocol the service did not
    /// echo, a close before `connected`), [`ErrorKind::Connect`], [`ErrorKind::ConnectTimeout`].
    /// Later connections are retried by the client itself.
    pub async fn start(&self) -> Result<(), Error> {
        let _lifecycle = self.inner.lifecycle.lock().await;
        if self.sender().is_some_and(|s| !s.is_closed()) {
            return Ok(());
        }
        let (commands, receiver) = mpsc::channel(256);
        let (started, outcome) = oneshot::channel();
        tokio::spawn(driver::run(self.inner.shared.clone(), receiver, started));
        *self.commands() = Some(commands);
        match outcome.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                *self.commands() = None;
                Err(e)
            }
            Err(_) => {
                *self.commands() = None;
                Err(Error::not_connected())
            }
        }
    }

    /// Closes the connection with 1000 (the service ends the session: no recovery) and waits
    /// until the client stopped ([`crate::ClientEvent::Stopped`]). Operations waiting for acks
    /// fail. The client can be started again.
    pub async fn stop(&self) {
        let _lifecycle = self.inner.lifecycle.lock().await;
        let Some(commands) = self.commands().take() else {
            return;
        };
        let (done, stopped) = oneshot::channel();
        if commands.send(Command::Stop { done }).await.is_ok() {
            let _ = stopped.await;
        }
    }

    /// The client's state now.
    pub fn state(&self) -> ClientState {
        *self.inner.shared.state.borrow()
    }

    /// Watches the state (for example to wait until it is [`ClientState::Connected`]).
    pub fn state_changes(&self) -> watch::Receiver<ClientState> {
        self.inner.shared.state.subscribe()
    }

    /// The current connection's id.
    pub fn connection_id(&self) -> Option<String> {
        self.inner
            .shared
            .connection
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(id, _)| id.clone())
    }

    /// The groups this client joined (and rejoins after a reconnect).
    pub fn groups(&self) -> Vec<String> {
        self.inner.shared.groups().iter().cloned().collect()
    }

    /// Joins `group` (needs the `webpubsub.joinLeaveGroup` role, or its group form).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a name the service refuses; [`ErrorKind::Ack`] with
    /// `Forbidden` without the role; [`ErrorKind::AckTimeout`], [`ErrorKind::NotConnected`] or
    /// [`ErrorKind::ConnectionLost`] once the retries ran out.
    pub async fn join_group(&self, group: &str) -> Result<AckResult, Error> {
        self.membership(group, true).await
    }

    /// Leaves `group`.
    ///
    /// # Errors
    /// As [`Self::join_group`].
    pub async fn leave_group(&self, group: &str) -> Result<AckResult, Error> {
        self.membership(group, false).await
    }

    /// Joins or leaves `group`, and remembers which (for rejoining) once the service agreed.
    async fn membership(&self, group: &str, join: bool) -> Result<AckResult, Error> {
        validate::group(group).map_err(Error::invalid)?;
        let ack_id = self.inner.shared.next_ack_id();
        let frame = if join {
            ClientFrame::JoinGroup {
                group: group.to_owned(),
                ack_id: Some(ack_id),
            }
        } else {
            ClientFrame::LeaveGroup {
                group: group.to_owned(),
                ack_id: Some(ack_id),
            }
        };
        let result = self.acked(ack_id, encode(&frame)?, Idempotent::Yes).await?;
        let mut groups = self.inner.shared.groups();
        if join {
            groups.insert(group.to_owned());
        } else {
            groups.remove(group);
        }
        Ok(result)
    }

    /// Sends `data` to `group` (needs the `webpubsub.sendToGroup` role, or its group form).
    ///
    /// # Errors
    /// As [`Self::join_group`], and [`ErrorKind::MessageTooLarge`] for a frame over
    /// [`MAX_FRAME_BYTES`].
    pub async fn send_to_group(
        &self,
        group: &str,
        data: Payload,
        options: Option<SendToGroupOptions>,
    ) -> Result<AckResult, Error> {
        validate::group(group).map_err(Error::invalid)?;
        let options = options.unwrap_or_default();
        let ack_id = self.ack_id_for(options.fire_and_forget, options.ack_id);
        let frame = ClientFrame::SendToGroup {
            group: group.to_owned(),
            ack_id,
            no_echo: options.no_echo,
            stream: None,
            data,
        };
        self.send_frame(ack_id, encode(&frame)?).await
    }

    /// Sends the user event `event` to the hub's event handler.
    ///
    /// # Errors
    /// As [`Self::send_to_group`]; the ack fails when the handler refuses or is unreachable.
    pub async fn send_event(
        &self,
        event: &str,
        data: Payload,
        options: Option<SendEventOptions>,
    ) -> Result<AckResult, Error> {
        validate::event_name(event).map_err(Error::invalid)?;
        let options = options.unwrap_or_default();
        let ack_id = self.ack_id_for(options.fire_and_forget, options.ack_id);
        let frame = ClientFrame::Event {
            event: event.to_owned(),
            ack_id,
            data,
        };
        self.send_frame(ack_id, encode(&frame)?).await
    }

    /// Invokes the user event `event` and returns the handler's reply, within
    /// `invoke_timeout`. Dropping the future, or the timeout, cancels the invocation
    /// (`cancelInvocation`). Not retried: the handler may not be idempotent.
    ///
    /// # Errors
    /// [`ErrorKind::Invocation`] when the handler refused or failed,
    /// [`ErrorKind::InvocationTimeout`], [`ErrorKind::NotConnected`],
    /// [`ErrorKind::ConnectionLost`], and bad input as [`Self::send_event`].
    pub async fn invoke_event(&self, event: &str, data: Payload) -> Result<InvokeResult, Error> {
        validate::event_name(event).map_err(Error::invalid)?;
        let invocation_id = format!(
            "{}",
            self.inner
                .next_invocation
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let frame = ClientFrame::Invoke {
            invocation_id: invocation_id.clone(),
            target: Some("event".into()),
            event: Some(event.to_owned()),
            data: Some(data),
        };
        let text = encode(&frame)?;
        let (reply, answer) = oneshot::channel();
        self.command(Command::Invoke {
            invocation_id: invocation_id.clone(),
            text,
            reply,
        })
        .await?;
        let mut guard = CancelOnDrop {
            commands: self.sender(),
            invocation_id: Some(invocation_id.clone()),
        };
        let outcome = timeout(self.inner.shared.options.invoke_timeout, answer).await;
        match outcome {
            Ok(Ok(result)) => {
                guard.invocation_id = None;
                result.map(|data| InvokeResult {
                    invocation_id,
                    data,
                })
            }
            Ok(Err(_)) => {
                guard.invocation_id = None;
                Err(Error::connection_lost())
            }
            Err(_) => Err(Error::new(
                ErrorKind::InvocationTimeout { invocation_id },
                "no reply to the invocation in time",
            )),
        }
    }

    /// The ack id of a send: none for fire-and-forget, the caller's, or the next one.
    fn ack_id_for(&self, fire_and_forget: bool, chosen: Option<u64>) -> Option<u64> {
        (!fire_and_forget).then(|| chosen.unwrap_or_else(|| self.inner.shared.next_ack_id()))
    }

    fn commands(&self) -> std::sync::MutexGuard<'_, Option<mpsc::Sender<Command>>> {
        self.inner
            .commands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn sender(&self) -> Option<mpsc::Sender<Command>> {
        self.commands().clone()
    }

    async fn command(&self, command: Command) -> Result<(), Error> {
        let sender = self.sender().ok_or_else(Error::not_connected)?;
        sender
            .send(command)
            .await
            .map_err(|_| Error::not_connected())
    }

    async fn send_frame(&self, ack_id: Option<u64>, text: String) -> Result<AckResult, Error> {
        match ack_id {
            Some(ack_id) => self.acked(ack_id, text, Idempotent::No).await,
            None => {
                let (reply, written) = oneshot::channel();
                self.command(Command::Send {
                    text,
                    reply: Reply::Written(reply),
                })
                .await?;
                written.await.map_err(|_| Error::connection_lost())??;
                Ok(AckResult {
                    ack_id: None,
                    duplicated: false,
                })
            }
        }
    }

    /// Sends `text` and waits for its ack, retrying with the same ack id per `message_retry`
    /// while the failure is one a retry can cure. The service de-duplicates ack ids per
    /// connection (recoveries included), so an operation that is not idempotent is retried only
    /// on the connection its earlier attempts may have reached: once that connection is
    /// replaced, it fails with [`ErrorKind::ConnectionLost`] rather than risk running twice.
    async fn acked(
        &self,
        ack_id: u64,
        text: String,
        idempotent: Idempotent,
    ) -> Result<AckResult, Error> {
        let options = &self.inner.shared.options;
        let mut retry = 0u32;
        // The connection an attempt was written on (it may have run there).
        let mut reached: Option<String> = None;
        loop {
            let connection = self.connection_id();
            if let (Idempotent::No, Some(reached), Some(now)) = (idempotent, &reached, &connection)
            {
                if reached != now {
                    return Err(Error::new(
                        ErrorKind::ConnectionLost,
                        format!(
                            "the connection was replaced while ack id {ack_id} was unanswered; it may have run once, so it is not sent again"
                        ),
                    ));
                }
            }
            let attempt = self
                .attempt(ack_id, text.clone(), options.ack_timeout)
                .await;
            match attempt {
                Ok(duplicated) => {
                    return Ok(AckResult {
                        ack_id: Some(ack_id),
                        duplicated,
                    })
                }
                Err(e) if e.is_retriable() && options.message_retry.allows(retry + 1) => {
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionLost | ErrorKind::AckTimeout { .. }
                    ) {
                        reached = reached.or(connection);
                    }
                    retry += 1;
                    tracing::debug!(ack_id, retry, error = %e, "retrying");
                    sleep(options.message_retry.delay_before(retry)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn attempt(
        &self,
        ack_id: u64,
        text: String,
        ack_timeout: std::time::Duration,
    ) -> Result<bool, Error> {
        let (reply, ack) = oneshot::channel();
        self.command(Command::Send {
            text,
            reply: Reply::Ack { ack_id, reply },
        })
        .await?;
        match timeout(ack_timeout, ack).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(Error::connection_lost()),
            Err(_) => Err(Error::new(
                ErrorKind::AckTimeout { ack_id },
                format!("no ack within {ack_timeout:?}"),
            )),
        }
    }
}

/// Whether running an operation twice is harmless (joining and leaving are; sending is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idempotent {
    Yes,
    No,
}

/// Sends `cancelInvocation` when an invocation's caller stops waiting.
struct CancelOnDrop {
    commands: Option<mpsc::Sender<Command>>,
    invocation_id: Option<String>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let (Some(commands), Some(invocation_id)) = (&self.commands, self.invocation_id.take()) {
            let _ = commands.try_send(Command::Cancel { invocation_id });
        }
    }
}

/// A frame as text, refused when over [`MAX_FRAME_BYTES`].
fn encode(frame: &ClientFrame) -> Result<String, Error> {
    let text = frame_text(frame);
    if text.len() > MAX_FRAME_BYTES {
        return Err(Error::new(
            ErrorKind::MessageTooLarge {
                size: text.len(),
                limit: MAX_FRAME_BYTES,
            },
            "the message is too large",
        ));
    }
    Ok(text)
}
