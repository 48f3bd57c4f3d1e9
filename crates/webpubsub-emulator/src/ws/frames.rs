//! What a client's frame does: group operations and sends at once (acked through the outbound
//! queue), user events and invocations handed to the connection's event worker (in order,
//! without holding up reads).

use tokio_tungstenite::tungstenite::Message as WsMessage;
use webpubsub_protocol::frames::{AckError, AckErrorName, ClientFrame, MessageSource, ServerFrame};
use webpubsub_protocol::roles::Permission;
use webpubsub_protocol::validate;
use webpubsub_protocol::Payload;

use crate::state::{ClientKind, Connection, Hub, Outbound, Publish, Scope, State};

/// The connection a frame came from.
pub(crate) struct Sender<'a> {
    pub(crate) hub: &'a str,
    pub(crate) id: &'a str,
    pub(crate) kind: ClientKind,
    pub(crate) user_id: Option<&'a str>,
}

/// Work for the event worker: it calls the upstream handler.
#[derive(Debug)]
pub(crate) enum Job {
    /// `event`: reply (if any) then ack.
    Event {
        name: String,
        ack_id: Option<u64>,
        data: Payload,
    },
    /// `invoke`: one `invokeResponse`.
    Invoke {
        invocation_id: String,
        event: String,
        data: Payload,
    },
    /// A raw client's frame: the `message` event; its reply goes back to the client.
    Message(Payload),
}

/// What the reader does after a frame.
#[derive(Debug)]
pub(crate) enum Next {
    Continue,
    Work(Job),
    Close(u16, &'static str),
}

pub(crate) fn ack_frame(ack_id: u64, error: Option<(AckErrorName, String)>) -> Outbound {
    let frame = ServerFrame::Ack {
        ack_id,
        success: error.is_none(),
        error: error.map(|(name, message)| AckError {
            name,
            message: Some(message),
        }),
    };
    Outbound::Ack(render(&frame).into())
}

/// Acks `ack_id` with `result`, remembering a success so a repeat is answered `Duplicate`.
pub(crate) fn answer(
    connection: &mut Connection,
    ack_id: u64,
    result: Result<(), (AckErrorName, String)>,
) {
    if result.is_ok() {
        connection.acked.insert(ack_id);
    }
    connection.push(ack_frame(ack_id, result.err()));
}

/// When `ack_id` already succeeded, answers `Duplicate` (without running the frame again).
fn answered_before(connection: &Connection, ack_id: u64) -> bool {
    let repeat = connection.acked.contains(ack_id);
    if repeat {
        let message = format!("Message with ack-id: {ack_id} has been processed");
        connection.push(ack_frame(ack_id, Some((AckErrorName::Duplicate, message))));
    }
    repeat
}

pub(crate) fn render(frame: &ServerFrame) -> String {
    serde_json::to_string(frame).expect("a server frame serialises")
}

/// Handles one frame from the client.
pub(crate) fn handle(state: &State, from: &Sender<'_>, message: WsMessage) -> Next {
    let text = match (from.kind, message) {
        (
            _,
            WsMessage::Close(_) | WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_),
        ) => return Next::Continue,
        (ClientKind::Raw, frame) => {
            let message = match frame {
                WsMessage::Text(text) => Payload::text(text.as_str()),
                WsMessage::Binary(data) => Payload::binary(data),
                _ => return Next::Continue,
            };
            return raw_message(state, from, message);
        }
        (_, WsMessage::Binary(_)) => {
            return Next::Close(1003, "the JSON subprotocol requires text frames")
        }
        (_, WsMessage::Text(text)) => text,
    };
    let Ok(parsed) = ClientFrame::from_json(text.as_str()) else {
        return Next::Close(1007, "not a valid JSON protocol message");
    };
    let ack = |ack_id: Option<u64>, result: Result<(), (AckErrorName, String)>| {
        if let Some(ack_id) = ack_id {
            state.with_connection(from.hub, from.id, |c| answer(c, ack_id, result));
        }
        Next::Continue
    };
    // A group operation, its duplicate check and its ack: one lock round trip.
    let group_op = |ack_id: Option<u64>,
                    group: &str,
                    permission: Permission,
                    verb: &str,
                    op: &dyn Fn(&mut Hub)| {
        state.with_hub_of(from.hub, from.id, |hub| {
            let Some(c) = hub.connections.get(from.id) else {
                return;
            };
            if ack_id.is_some_and(|a| answered_before(c, a)) {
                return;
            }
            let result = check(c.may(permission, group), group, verb);
            if result.is_ok() {
                op(hub);
            }
            if let (Some(a), Some(c)) = (ack_id, hub.connections.get_mut(from.id)) {
                answer(c, a, result);
            }
        });
        Next::Continue
    };
    // A repeat of an ack id that already succeeded is answered `Duplicate` without running again.
    let ack_id = match &parsed {
        ClientFrame::Unknown(_)
        | ClientFrame::JoinGroup { .. }
        | ClientFrame::LeaveGroup { .. }
        | ClientFrame::SendToGroup { stream: None, .. } => None,
        known => known.ack_id(),
    };
    if let Some(a) = ack_id {
        if state
            .with_connection(from.hub, from.id, |c| answered_before(c, a))
            .unwrap_or(false)
        {
            return Next::Continue;
        }
    }
    match parsed {
        ClientFrame::JoinGroup { group, ack_id } => {
            group_op(ack_id, &group, Permission::JoinLeaveGroup, "join", &|hub| {
                hub.join(from.id, &group);
            })
        }
        ClientFrame::LeaveGroup { group, ack_id } => group_op(
            ack_id,
            &group,
            Permission::JoinLeaveGroup,
            "leave",
            &|hub| hub.leave(from.id, Some(&group)),
        ),
        ClientFrame::SendToGroup {
            stream: Some(stream),
            ack_id,
            ..
        } => {
            if let Some(stream_id) = stream.get("streamId").and_then(|v| v.as_str()) {
                stream_closed(state, from, stream_id);
            }
            ack(ack_id, Err((AckErrorName::BadRequest, NO_STREAMS.into())))
        }
        ClientFrame::SendToGroup {
            group,
            ack_id,
            no_echo,
            stream: None,
            data,
        } => {
            let source = MessageSource::Group {
                group: group.clone(),
                from_user_id: from.user_id.map(str::to_owned),
            };
            let me = [from.id.to_owned()];
            let publish = Publish {
                scope: Scope::Group(&group),
                excluded: if no_echo { &me } else { &[] },
                filter: None,
                source: &source,
                message: &data,
                ttl_seconds: None,
            };
            group_op(ack_id, &group, Permission::SendToGroup, "send to", &|hub| {
                hub.publish(&publish)
            })
        }
        ClientFrame::Event {
            event,
            ack_id,
            data,
        } => match validate::event_name(&event) {
            Ok(()) => Next::Work(Job::Event {
                name: event,
                ack_id,
                data,
            }),
            Err(e) => ack(ack_id, Err((AckErrorName::BadRequest, e.to_string()))),
        },
        ClientFrame::Invoke {
            invocation_id,
            target,
            event,
            data,
        } => {
            let refuse = |message: String| {
                invoke_failed(
                    state,
                    from,
                    invocation_id.clone(),
                    AckErrorName::BadRequest,
                    message,
                );
                Next::Continue
            };
            if target.as_deref().is_some_and(|t| t != "event") {
                return refuse("only the `event` invocation target is supported".into());
            }
            let Some(event) = event else {
                return refuse("an invocation needs an `event`".into());
            };
            if let Err(e) = validate::event_name(&event) {
                return refuse(e.to_string());
            }
            Next::Work(Job::Invoke {
                invocation_id,
                event,
                data: data.unwrap_or_else(|| Payload::text("")),
            })
        }
        ClientFrame::CancelInvocation { .. } => Next::Continue,
        ClientFrame::SequenceAck { sequence_id } => {
            state.with_connection(from.hub, from.id, |c| c.replay.acknowledge(sequence_id));
            Next::Continue
        }
        ClientFrame::Ping => {
            state.push(
                from.hub,
                from.id,
                Outbound::Text(render(&ServerFrame::Pong).into()),
            );
            Next::Continue
        }
        // A frame of a type we do not speak, or a known type with bad fields: answered
        // BadRequest when it has an ackId (or an invocationId), ignored otherwise.
        unknown @ ClientFrame::Unknown(_) => {
            let reason = if ClientFrame::is_known_type(unknown.type_name()) {
                "the message is not valid"
            } else {
                "the emulator does not support this message type"
            };
            if let ClientFrame::Unknown(raw) = &unknown {
                // streamData / streamEnd of a group stream: the stream is closed at once.
                if let Some(stream_id) = raw.get("streamId").and_then(|v| v.as_str()) {
                    stream_closed(state, from, stream_id);
                    return Next::Continue;
                }
                if let Some(invocation_id) = raw.get("invocationId").and_then(|v| v.as_str()) {
                    let name = AckErrorName::BadRequest;
                    invoke_failed(state, from, invocation_id.to_owned(), name, reason.into());
                    return Next::Continue;
                }
            }
            match unknown.ack_id() {
                Some(a) => ack(Some(a), Err((AckErrorName::BadRequest, reason.into()))),
                None => Next::Continue,
            }
        }
    }
}

const NO_STREAMS: &str = "the emulator does not support group streams";

/// `streamClosed` with the reason the emulator refuses group streams.
fn stream_closed(state: &State, from: &Sender<'_>, stream_id: &str) {
    let frame = ServerFrame::StreamClosed {
        stream_id: stream_id.to_owned(),
        error: Some(AckError {
            name: AckErrorName::BadRequest,
            message: Some(NO_STREAMS.into()),
        }),
    };
    state.push(from.hub, from.id, Outbound::Text(render(&frame).into()));
}

/// An `invokeResponse` that reports a failure.
pub(crate) fn invoke_failed(
    state: &State,
    from: &Sender<'_>,
    invocation_id: String,
    name: AckErrorName,
    message: String,
) {
    let frame = ServerFrame::InvokeResponse {
        invocation_id,
        success: false,
        data: None,
        error: Some(AckError {
            name,
            message: Some(message),
        }),
    };
    state.push(from.hub, from.id, Outbound::Text(render(&frame).into()));
}

/// A raw client's frame: to its group in `sendToGroup` mode, else the `message` event.
fn raw_message(state: &State, from: &Sender<'_>, message: Payload) -> Next {
    let mode = state
        .with_connection(from.hub, from.id, |c| {
            c.send_to_group
                .clone()
                .map(|(group, no_echo)| (c.may(Permission::SendToGroup, &group), group, no_echo))
        })
        .flatten();
    match mode {
        Some((false, _, _)) => Next::Close(1008, "Forbidden: no permission to send to the group"),
        Some((true, group, no_echo)) => {
            publish_to_group(state, from, &group, &message, no_echo);
            Next::Continue
        }
        None => Next::Work(Job::Message(message)),
    }
}

fn check(allowed: bool, group: &str, verb: &str) -> Result<(), (AckErrorName, String)> {
    validate::group(group).map_err(|e| (AckErrorName::BadRequest, e.to_string()))?;
    if allowed {
        Ok(())
    } else {
        Err((
            AckErrorName::Forbidden,
            format!("The client does not have permission to {verb} group '{group}'."),
        ))
    }
}

/// A client's message to every member of `group` (but itself with `noEcho`).
fn publish_to_group(
    state: &State,
    from: &Sender<'_>,
    group: &str,
    message: &Payload,
    no_echo: bool,
) {
    let source = MessageSource::Group {
        group: group.to_owned(),
        from_user_id: from.user_id.map(str::to_owned),
    };
    let me = [from.id.to_owned()];
    state.publish(
        from.hub,
        &Publish {
            scope: Scope::Group(group),
            excluded: if no_echo { &me } else { &[] },
            filter: None,
            source: &source,
            message,
            ttl_seconds: None,
        },
    );
}
