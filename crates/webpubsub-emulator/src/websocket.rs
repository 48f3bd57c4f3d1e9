//! WebSocket clients: the upgrade (token check before it), the JSON subprotocols and raw clients.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;
use webpubsub_protocol::{
    parse_query, validate_group, AckError, AckErrorName, ClientMessage, DataType, Message,
    MessageSource, Permission, ServerMessage, JSON_RELIABLE_SUBPROTOCOL, JSON_SUBPROTOCOL,
    MAX_MESSAGE_BYTES,
};

use crate::rest::{error, Reply};
use crate::state::{ClientKind, NewConnection, Outbound, Resumed, State};
use crate::tokens::Verifier;

/// What an upgrade needs.
pub(crate) struct ClientContext {
    pub(crate) state: Arc<State>,
    pub(crate) verifier: Verifier,
    pub(crate) shutdown: watch::Receiver<bool>,
}

fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
}

/// Answers a `/client/...` request: 401 before the upgrade for a bad token, then 101.
pub(crate) fn upgrade(
    ctx: Arc<ClientContext>,
    mut request: Request<Incoming>,
    host: &str,
    hub: String,
) -> Reply {
    let headers = request.headers();
    let is_upgrade = headers
        .get("upgrade")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(key) = headers.get("sec-websocket-key").filter(|_| is_upgrade) else {
        return error(
            400,
            "Error.BadRequest",
            "a WebSocket upgrade request is required",
        );
    };
    let query = parse_query(request.uri().query().unwrap_or(""));
    let token = query
        .iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.clone())
        .or_else(|| {
            headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_owned)
        });
    let Some(token) = token else {
        return error(401, "Error.Unauthorized", "an access token is required");
    };
    let claims = match ctx.verifier.client(&token, host, &hub) {
        Ok(verified) => verified.claims,
        Err(e) => return error(401, "Error.Unauthorized", e.to_string()),
    };
    let find = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let recovering = find("awps_connection_id")
        .map(|id| (id, find("awps_reconnection_token").unwrap_or_default()));
    let offered: Vec<String> = headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let (kind, chosen) = match offered
        .iter()
        .find(|p| p.as_str() == JSON_RELIABLE_SUBPROTOCOL || p.as_str() == JSON_SUBPROTOCOL)
    {
        Some(p) if p == JSON_RELIABLE_SUBPROTOCOL => (ClientKind::JsonReliable, Some(p.clone())),
        Some(p) => (ClientKind::Json, Some(p.clone())),
        None => (ClientKind::Raw, None),
    };

    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let out = response.headers_mut();
    out.insert("connection", HeaderValue::from_static("Upgrade"));
    out.insert("upgrade", HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        out.insert("sec-websocket-accept", accept);
    }
    if let Some(protocol) = &chosen {
        if let Ok(value) = HeaderValue::from_str(protocol) {
            out.insert("sec-websocket-protocol", value);
        }
    }

    let new = NewConnection {
        user_id: claims.subject.filter(|s| !s.is_empty()),
        kind,
        roles: claims.roles,
        groups: claims.groups,
        reconnection_token: (kind == ClientKind::JsonReliable)
            .then(|| ctx.state.reconnection_token()),
    };
    tokio::spawn(async move {
        let upgraded = match hyper::upgrade::on(&mut request).await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!(error = %e, "the upgrade did not complete");
                return;
            }
        };
        let ws = WebSocketStream::from_raw_socket(
            TokioIo::new(upgraded),
            Role::Server,
            Some(websocket_config()),
        )
        .await;
        let start = match recovering {
            None => Start::New(new),
            Some((id, token)) => match ctx.state.resume(&hub, &id, &token) {
                Some(resumed) => Start::Resumed(id, resumed),
                None => {
                    // Unknown, expired or not recoverable: say so the way the service does, and
                    // the client starts a new connection.
                    let mut ws = ws;
                    let _ = ws
                        .close(Some(CloseFrame {
                            code: CloseCode::Policy,
                            reason: "the connection cannot be recovered".into(),
                        }))
                        .await;
                    return;
                }
            },
        };
        run(ctx, ws, hub, kind, start).await;
    });
    response
}

fn frame(message: &ServerMessage) -> WsMessage {
    WsMessage::text(serde_json::to_string(message).unwrap_or_default())
}

fn ack(ack_id: u64, error: Option<(AckErrorName, String)>) -> ServerMessage {
    ServerMessage::Ack {
        ack_id,
        success: error.is_none(),
        error: error.map(|(name, message)| AckError {
            name,
            message: Some(message),
        }),
    }
}

/// What handling one frame asks the connection to do.
enum Next {
    Reply(Option<ServerMessage>),
    Close(CloseCode, &'static str),
}

/// How a connection task begins.
enum Start {
    New(NewConnection),
    /// A reliable client recovering its session.
    Resumed(String, Resumed),
}

/// How a connection task ended.
enum End {
    /// The client sent a close frame with this code.
    ClientClosed(u16),
    /// The transport broke or ended without a close frame.
    Dropped,
    /// We closed it (REST close, slow client, protocol error, shutdown).
    ServerClosed,
}

/// How long a dropped reliable session waits for its client to recover.
const RECOVERY_WINDOW: std::time::Duration = std::time::Duration::from_secs(30);

async fn run(
    ctx: Arc<ClientContext>,
    ws: WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>,
    hub: String,
    kind: ClientKind,
    start: Start,
) {
    let state = ctx.state.clone();
    let (mut sink, mut stream) = ws.split();
    let (id, user_id, mut outbound, kill) = match start {
        Start::New(new) => {
            let id = state.connection_id();
            let user_id = new.user_id.clone();
            let token = new.reconnection_token.clone();
            let (outbound, kill) = state.connect(&hub, &id, new);
            if kind != ClientKind::Raw {
                let connected = ServerMessage::Connected {
                    user_id: user_id.clone(),
                    connection_id: id.clone(),
                    reconnection_token: token,
                };
                if sink.send(frame(&connected)).await.is_err() {
                    state.disconnect(&hub, &id);
                    return;
                }
            }
            (id, user_id, outbound, kill)
        }
        Start::Resumed(id, resumed) => {
            for text in resumed.replay {
                if sink.send(WsMessage::text(text)).await.is_err() {
                    break;
                }
            }
            (id, resumed.user_id, resumed.outbound, resumed.kill)
        }
    };
    let mut shutdown = ctx.shutdown.clone();
    tracing::debug!(%hub, connection = %id, ?kind, "connected");

    let close = |code: CloseCode, reason: String| {
        WsMessage::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }))
    };
    let end = loop {
        tokio::select! {
            incoming = stream.next() => {
                let next = match incoming {
                    Some(Ok(WsMessage::Close(frame))) => break End::ClientClosed(frame.map_or(1005, |f| u16::from(f.code))),
                    Some(Ok(message)) => handle(&state, &hub, &id, kind, user_id.as_deref(), message),
                    Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => Next::Close(CloseCode::Size, "the message is larger than 1 MiB"),
                    _ => break End::Dropped,
                };
                match next {
                    Next::Reply(Some(reply)) => {
                        if sink.send(frame(&reply)).await.is_err() {
                            break End::Dropped;
                        }
                    }
                    Next::Reply(None) => {}
                    Next::Close(code, reason) => {
                        let _ = sink.send(close(code, reason.into())).await;
                        break End::ServerClosed;
                    }
                }
            }
            out = outbound.recv() => {
                let data = match out {
                    Some(Outbound::Text(text)) => WsMessage::text(text),
                    Some(Outbound::Binary(data)) => WsMessage::binary(data),
                    Some(Outbound::Close { code, reason }) => {
                        if kind != ClientKind::Raw {
                            let _ = sink.send(frame(&ServerMessage::Disconnected { message: Some(reason.clone()) })).await;
                        }
                        let reason: String = reason.chars().take(120).collect();
                        let _ = sink.send(close(CloseCode::from(code), reason)).await;
                        break End::ServerClosed;
                    }
                    None => break End::ServerClosed,
                };
                // A client that stops reading blocks this write; the kill switch still ends it
                // (the frame and the close handshake are abandoned).
                tokio::select! {
                    result = sink.send(data) => if result.is_err() { break End::Dropped; },
                    () = kill.notified() => break End::ServerClosed,
                }
            }
            () = kill.notified() => {
                let _ = sink.send(close(CloseCode::Policy, "SlowClient".into())).await;
                break End::ServerClosed;
            }
            _ = shutdown.changed() => {
                let _ = sink.send(close(CloseCode::Away, "ServiceShutdown".into())).await;
                break End::ServerClosed;
            }
        }
    };
    // A reliable session survives a dropped transport (or a close other than 1000) for the
    // recovery window; everything else ends here.
    let recoverable = kind == ClientKind::JsonReliable
        && match end {
            End::Dropped => true,
            End::ClientClosed(code) => code != 1000,
            End::ServerClosed => false,
        };
    if recoverable && state.detach(&hub, &id, outbound) {
        tracing::debug!(%hub, connection = %id, "waiting for recovery");
        let state = state.clone();
        tokio::spawn(async move {
            tokio::time::sleep(RECOVERY_WINDOW).await;
            state.expire(&hub, &id);
        });
        return;
    }
    state.disconnect(&hub, &id);
    tracing::debug!(%hub, connection = %id, "disconnected");
}

fn handle(
    state: &State,
    hub: &str,
    id: &str,
    kind: ClientKind,
    user_id: Option<&str>,
    message: WsMessage,
) -> Next {
    let text = match (kind, message) {
        (_, WsMessage::Close(_))
        | (_, WsMessage::Ping(_))
        | (_, WsMessage::Pong(_))
        | (_, WsMessage::Frame(_)) => return Next::Reply(None),
        // Raw clients' frames become `message` user events; with no event handler the service
        // drops the connection.
        (ClientKind::Raw, _) => {
            return Next::Close(
                CloseCode::Error,
                "no event handler is configured for message events",
            )
        }
        (_, WsMessage::Binary(_)) => {
            return Next::Close(
                CloseCode::Unsupported,
                "the JSON subprotocol requires text frames",
            )
        }
        (_, WsMessage::Text(text)) => text,
    };
    let parsed: ClientMessage = match serde_json::from_str(text.as_str()) {
        Ok(message) => message,
        Err(_) => {
            // Known type with bad fields and an ackId: answer BadRequest; otherwise close.
            let ack_id = serde_json::from_str::<serde_json::Value>(text.as_str())
                .ok()
                .and_then(|v| v.get("ackId").and_then(serde_json::Value::as_u64));
            return match ack_id {
                Some(ack_id) => Next::Reply(Some(ack(
                    ack_id,
                    Some((AckErrorName::BadRequest, "the message is not valid".into())),
                ))),
                None => Next::Close(CloseCode::Invalid, "not a valid JSON protocol message"),
            };
        }
    };
    let answered = |ack_id: Option<u64>, result: Result<(), (AckErrorName, String)>| {
        let ack_id = ack_id?;
        if result.is_ok() {
            state.with_connection(hub, id, |c| c.acked.insert(ack_id));
        }
        Some(ack(ack_id, result.err()))
    };
    let duplicate = |ack_id: Option<u64>| {
        ack_id
            .filter(|a| {
                state
                    .with_connection(hub, id, |c| c.acked.contains(a))
                    .unwrap_or(false)
            })
            .map(|a| {
                ack(
                    a,
                    Some((
                        AckErrorName::Duplicate,
                        format!("Message with ack-id: {a} has been processed"),
                    )),
                )
            })
    };
    match parsed {
        ClientMessage::JoinGroup { group, ack_id }
        | ClientMessage::LeaveGroup { group, ack_id }
            if duplicate(ack_id).is_some() =>
        {
            let _ = group;
            Next::Reply(duplicate(ack_id))
        }
        ClientMessage::JoinGroup { group, ack_id } => {
            let result =
                check(state, hub, id, Permission::JoinLeaveGroup, &group, "join").map(|()| {
                    state.join(hub, id, &group);
                });
            Next::Reply(answered(ack_id, result))
        }
        ClientMessage::LeaveGroup { group, ack_id } => {
            let result =
                check(state, hub, id, Permission::JoinLeaveGroup, &group, "leave").map(|()| {
                    state.leave(hub, id, Some(&group));
                });
            Next::Reply(answered(ack_id, result))
        }
        ClientMessage::SendToGroup { ack_id, .. } if duplicate(ack_id).is_some() => {
            Next::Reply(duplicate(ack_id))
        }
        ClientMessage::SendToGroup {
            group,
            ack_id,
            no_echo,
            data_type,
            data,
        } => {
            let result = check(state, hub, id, Permission::SendToGroup, &group, "send to")
                .and_then(|()| {
                    let payload = to_message(data_type, &data)?;
                    let members: Vec<String> = state
                        .members(hub, &group)
                        .into_iter()
                        .map(|(m, _)| m)
                        .collect();
                    let source = MessageSource::Group {
                        group: group.clone(),
                        from_user_id: user_id.map(str::to_owned),
                    };
                    state.deliver(hub, &members, &source, &payload, no_echo.then_some(id));
                    Ok(())
                });
            Next::Reply(answered(ack_id, result))
        }
        ClientMessage::Event {
            ack_id,
            data_type,
            data,
            ..
        } => {
            let result = to_message(data_type, &data).and_then(|_| {
                Err((
                    AckErrorName::InternalServerError,
                    "no event handler is configured".to_owned(),
                ))
            });
            Next::Reply(answered(ack_id, result))
        }
        ClientMessage::SequenceAck { sequence_id } => {
            state.with_connection(hub, id, |c| c.acknowledge(sequence_id));
            Next::Reply(None)
        }
        ClientMessage::Ping => Next::Reply(Some(ServerMessage::Pong)),
        ClientMessage::Unknown { raw, .. } => {
            let ack_id = raw.get("ackId").and_then(serde_json::Value::as_u64);
            Next::Reply(ack_id.map(|a| {
                ack(
                    a,
                    Some((AckErrorName::BadRequest, "unsupported message type".into())),
                )
            }))
        }
    }
}

fn check(
    state: &State,
    hub: &str,
    id: &str,
    permission: Permission,
    group: &str,
    verb: &str,
) -> Result<(), (AckErrorName, String)> {
    validate_group(group).map_err(|e| (AckErrorName::BadRequest, e.to_string()))?;
    if state.may(hub, id, permission, group) {
        Ok(())
    } else {
        Err((
            AckErrorName::Forbidden,
            format!("The client does not have permission to {verb} group '{group}'."),
        ))
    }
}

/// A client frame's data as a message.
fn to_message(
    data_type: DataType,
    data: &serde_json::Value,
) -> Result<Message, (AckErrorName, String)> {
    let decoded = data_type
        .decode(data)
        .map_err(|e| (AckErrorName::BadRequest, e.to_string()))?;
    Ok(decoded.into_message())
}
