//! One transport of a connection: a reader and a writer running side by side (a slow upstream
//! call or a client that stops reading never holds up the other half), keep-alive pings, and
//! what happens when the transport ends (the recovery window of a reliable session).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use webpubsub_protocol::frames::{
    close_reason, AckErrorName, MessageSource, ServerFrame, SystemEvent,
};

use super::events::{self, Subject, UserEventError};
use super::frames::{self, answer, invoke_failed, render, Job, Next, Sender};
use super::ClientContext;
use crate::state::{
    AfterTransport, ClientKind, NewConnection, Outbound, Publish, Resumed, Scope, State, Stop,
};

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// How a transport begins.
pub(crate) enum Start {
    New(String, NewConnection),
    /// A reliable client recovering its session.
    Resumed(String, Resumed),
    /// A recovery that cannot be honoured: closed with 1008.
    Refused,
}

/// How a transport ended.
enum End {
    /// The client sent a close frame with this code.
    ClientClosed(u16),
    /// The transport broke or ended without a close frame.
    Dropped,
    /// The client broke the protocol.
    Protocol(u16, &'static str),
    /// A queued close (REST close, shutdown) with this code and reason.
    Closed(u16, String),
    /// Stopped from outside (slow client, replay buffer full, recovery elsewhere).
    Stopped(Stop),
    /// Nothing heard for the keep-alive timeout.
    Silent,
    Shutdown,
}

/// The most frames written with one flush.
const WRITE_BATCH: usize = 64;
/// Frames read before the reader lets the writer run.
const READ_BATCH: u32 = 16;
/// Jobs queued for the event worker before reads wait for it.
const EVENT_QUEUE: usize = 256;
/// How long a parting close frame may take to write to a client that may not read.
const PARTING: Duration = Duration::from_secs(1);

fn close_frame(code: u16, reason: &str) -> WsMessage {
    WsMessage::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: close_reason(reason).to_owned().into(),
    }))
}

fn disconnected_frame(reason: &str) -> WsMessage {
    WsMessage::text(render(&ServerFrame::System(SystemEvent::Disconnected {
        message: Some(reason.to_owned()),
    })))
}

pub(crate) async fn run(
    ctx: Arc<ClientContext>,
    ws: Socket,
    hub: String,
    kind: ClientKind,
    start: Start,
) {
    let state = ctx.state.clone();
    let (mut sink, mut stream) = ws.split();
    let (id, user_id, mut transport, first) = match start {
        Start::Refused => {
            let refusal = close_frame(1008, "the connection cannot be recovered");
            let _ = tokio::time::timeout(PARTING, sink.send(refusal)).await;
            return;
        }
        Start::New(id, new) => {
            let user_id = new.user_id.clone();
            let token = new.reconnection_token.clone();
            let transport = state.connect(&hub, &id, new);
            let mut first = Vec::new();
            if kind != ClientKind::Raw {
                first.push(WsMessage::text(render(&ServerFrame::System(
                    SystemEvent::Connected {
                        user_id: user_id.clone(),
                        connection_id: id.clone(),
                        reconnection_token: token,
                    },
                ))));
            }
            let who = Subject {
                hub: &hub,
                connection_id: &id,
                user_id: user_id.as_deref(),
            };
            events::connected(ctx.upstream.as_ref(), &state, &who);
            (id, user_id, transport, first)
        }
        Start::Resumed(id, resumed) => {
            let first = resumed.replay.into_iter().map(WsMessage::Text).collect();
            (id, resumed.user_id, resumed.transport, first)
        }
    };
    let generation = transport.generation;
    let kill = transport.kill.clone();
    tracing::debug!(%hub, connection = %id, ?kind, generation, "transport open");

    let timings = ctx.timings;
    let epoch = Instant::now();
    let last_heard = AtomicU64::new(0);
    let heard = || last_heard.store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    let quiet = || {
        Duration::from_millis(
            (epoch.elapsed().as_millis() as u64).saturating_sub(last_heard.load(Ordering::Relaxed)),
        )
    };
    let from = Sender {
        hub: &hub,
        id: &id,
        kind,
        user_id: user_id.as_deref(),
    };

    let reader = async {
        let mut worker: Option<mpsc::Sender<Job>> = None;
        let mut read = 0u32;
        loop {
            // Frames already buffered are read without waiting: let the writer (same task) drain
            // this client's replies now and then, or a pipelining client fills its own queue.
            read = read.wrapping_add(1);
            if read.is_multiple_of(READ_BATCH) {
                tokio::task::yield_now().await;
            }
            let incoming = stream.next().await;
            heard();
            let message = match incoming {
                Some(Ok(WsMessage::Close(frame))) => {
                    return End::ClientClosed(frame.map_or(1005, |f| u16::from(f.code)))
                }
                Some(Ok(message)) => message,
                Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => {
                    return End::Protocol(1009, "the message is larger than 1 MiB")
                }
                _ => return End::Dropped,
            };
            match frames::handle(&state, &from, message) {
                Next::Continue => {}
                Next::Close(code, reason) => return End::Protocol(code, reason),
                Next::Work(job) => {
                    let worker = worker.get_or_insert_with(|| {
                        spawn_worker(ctx.clone(), hub.clone(), id.clone(), user_id.clone())
                    });
                    if worker.send(job).await.is_err() {
                        return End::Dropped;
                    }
                }
            }
        }
    };

    let mut shutdown = ctx.shutdown.clone();
    let writer = async {
        if write_all(&mut sink, first).await.is_err() {
            return End::Dropped;
        }
        let mut acks: VecDeque<(Instant, Utf8Bytes)> = VecDeque::new();
        let mut keep_alive = tokio::time::interval_at(
            tokio::time::Instant::now() + timings.keep_alive_interval,
            timings.keep_alive_interval,
        );
        loop {
            let ack_due = acks.front().map(|(due, _)| *due);
            let written = tokio::select! {
                out = transport.recv() => {
                    let Some(first) = out else { return End::Dropped };
                    // Take what else is queued (up to a batch of frames to write; acks only move
                    // to their timer) and write it with one flush: under fan-out load that is one
                    // system call for many frames.
                    let mut batch = Vec::with_capacity(WRITE_BATCH);
                    let mut next = Some(first);
                    while let Some(frame) = next.take() {
                        match frame {
                            Outbound::Text(text) => batch.push(WsMessage::Text(text)),
                            Outbound::Binary(data) => batch.push(WsMessage::Binary(data)),
                            Outbound::Ack(text) => {
                                acks.push_back((Instant::now() + timings.ack_delay, text));
                            }
                            // What was queued before it still goes out; the close is the
                            // parting's (below).
                            Outbound::Close { code, reason } => {
                                let _ = write_all(&mut sink, batch).await;
                                return End::Closed(code, reason);
                            }
                        }
                        if batch.len() < WRITE_BATCH {
                            next = transport.try_recv();
                        }
                    }
                    write_all(&mut sink, batch).await
                }
                () = sleep_until(ack_due) => {
                    let now = Instant::now();
                    let mut due = Vec::new();
                    while acks.front().is_some_and(|(at, _)| *at <= now) {
                        if let Some((_, text)) = acks.pop_front() {
                            due.push(WsMessage::Text(text));
                        }
                    }
                    write_all(&mut sink, due).await
                }
                _ = keep_alive.tick() => {
                    let quiet = quiet();
                    if quiet >= timings.keep_alive_timeout {
                        return End::Silent;
                    }
                    if quiet >= timings.keep_alive_interval {
                        sink.send(WsMessage::Ping(Default::default())).await
                    } else {
                        Ok(())
                    }
                }
            };
            if written.is_err() {
                return End::Dropped;
            }
        }
    };

    let end = tokio::select! {
        end = reader => end,
        end = writer => end,
        stop = kill.stopped() => End::Stopped(stop),
        _ = shutdown.changed() => End::Shutdown,
    };

    let reliable = kind == ClientKind::JsonReliable;
    let parting = |code: u16, reason: &str| {
        let mut messages = Vec::new();
        if kind != ClientKind::Raw {
            messages.push(disconnected_frame(reason));
        }
        messages.push(close_frame(code, reason));
        messages
    };
    let (recoverable, reason, goodbye) = match end {
        End::ClientClosed(code) => (code != 1000, None, Vec::new()),
        End::Dropped => (
            true,
            Some("the connection was dropped".to_owned()),
            Vec::new(),
        ),
        End::Silent => (
            true,
            Some("no frame or pong within the keep-alive timeout".to_owned()),
            vec![close_frame(1001, "KeepAliveTimeout")],
        ),
        End::Protocol(code, reason) => (
            false,
            Some(reason.to_owned()),
            vec![close_frame(code, reason)],
        ),
        End::Closed(code, reason) => {
            let goodbye = parting(code, &reason);
            (false, Some(reason), goodbye)
        }
        End::Stopped(Stop::TakenOver) => {
            tracing::debug!(%hub, connection = %id, generation, "transport taken over by a recovery");
            return;
        }
        End::Stopped(Stop::Close(code, reason)) => {
            let goodbye = parting(code, &reason);
            (false, Some(reason), goodbye)
        }
        End::Shutdown => (
            false,
            Some("ServiceShutdown".to_owned()),
            parting(1001, "ServiceShutdown"),
        ),
    };
    let farewell = async {
        write_all(&mut sink, goodbye).await?;
        sink.close().await
    };
    let _ = tokio::time::timeout(PARTING, farewell).await;

    match state.transport_ended(&hub, &id, generation, reliable && recoverable, reason) {
        AfterTransport::Detached => {
            tracing::debug!(%hub, connection = %id, "waiting for recovery");
            let window = timings.recovery_window;
            tokio::spawn(async move {
                tokio::time::sleep(window).await;
                state.expire(&hub, &id, generation);
            });
        }
        AfterTransport::Ended => tracing::debug!(%hub, connection = %id, "disconnected"),
        AfterTransport::TakenOver => {}
    }
}

/// Writes `messages` with one flush.
async fn write_all<S>(sink: &mut S, messages: Vec<WsMessage>) -> Result<(), WsError>
where
    S: futures_util::Sink<WsMessage, Error = WsError> + Unpin,
{
    for message in messages {
        sink.feed(message).await?;
    }
    sink.flush().await
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due.into()).await,
        None => std::future::pending().await,
    }
}

/// The connection's event worker: upstream calls in the order the client sent them, answered
/// through the connection's current transport (after a recovery too).
fn spawn_worker(
    ctx: Arc<ClientContext>,
    hub: String,
    id: String,
    user_id: Option<String>,
) -> mpsc::Sender<Job> {
    let (sender, mut jobs) = mpsc::channel::<Job>(EVENT_QUEUE);
    tokio::spawn(async move {
        let state: &State = &ctx.state;
        let who = Subject {
            hub: &hub,
            connection_id: &id,
            user_id: user_id.as_deref(),
        };
        let from = Sender {
            hub: &hub,
            id: &id,
            kind: ClientKind::Raw,
            user_id: user_id.as_deref(),
        };
        let reply_to_client = |reply| {
            state.publish(
                &hub,
                &Publish {
                    scope: Scope::Connection(&id),
                    excluded: &[],
                    filter: None,
                    source: &MessageSource::Server,
                    message: &reply,
                    ttl_seconds: None,
                },
            )
        };
        while let Some(job) = jobs.recv().await {
            match job {
                Job::Event { name, ack_id, data } => {
                    let result =
                        events::user_event(ctx.upstream.as_ref(), state, &who, &name, data).await;
                    // The reply (if any) goes out before the ack, both through the queue.
                    let result = match result {
                        Ok(reply) => {
                            if let Some(reply) = reply {
                                reply_to_client(reply);
                            }
                            Ok(())
                        }
                        Err(UserEventError::NoHandler) => {
                            Err(format!("no event handler takes the event `{name}`"))
                        }
                        Err(UserEventError::Failed(why)) => Err(why),
                    };
                    if let Some(ack_id) = ack_id {
                        let result = result.map_err(|why| (AckErrorName::InternalServerError, why));
                        state.with_connection(&hub, &id, |c| answer(c, ack_id, result));
                    }
                }
                Job::Invoke {
                    invocation_id,
                    event,
                    data,
                } => {
                    match events::user_event(ctx.upstream.as_ref(), state, &who, &event, data).await
                    {
                        Ok(reply) => {
                            let frame = ServerFrame::InvokeResponse {
                                invocation_id,
                                success: true,
                                data: reply,
                                error: None,
                            };
                            state.push(&hub, &id, Outbound::Text(render(&frame).into()));
                        }
                        Err(UserEventError::NoHandler) => invoke_failed(
                            state,
                            &from,
                            invocation_id,
                            AckErrorName::InternalServerError,
                            format!("no event handler takes the event `{event}`"),
                        ),
                        Err(UserEventError::Failed(why)) => invoke_failed(
                            state,
                            &from,
                            invocation_id,
                            AckErrorName::InternalServerError,
                            why,
                        ),
                    }
                }
                Job::Message(message) => {
                    match events::user_event(ctx.upstream.as_ref(), state, &who, "message", message)
                        .await
                    {
                        Ok(Some(reply)) => reply_to_client(reply),
                        Ok(None) => {}
                        // With no handler, or a failed one, the service drops the connection.
                        Err(_) => {
                            state.with_connection(&hub, &id, |c| {
                                if let Some(t) = &c.transport {
                                    t.kill.stop(Stop::Close(
                                        1011,
                                        "the message event was not handled".into(),
                                    ));
                                }
                            });
                        }
                    }
                }
            }
        }
    });
    sender
}
