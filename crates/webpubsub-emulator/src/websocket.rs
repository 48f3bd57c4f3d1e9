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
use webpubsub_protocol::encoding::parse_query;
use webpubsub_protocol::events::{ConnectEventRequest, ConnectEventResponse, EventType};
use webpubsub_protocol::frames::{
    AckError, AckErrorName, ClientFrame, MessageSource, ServerFrame, Subprotocol, SystemEvent,
};
use webpubsub_protocol::roles::Permission;
use webpubsub_protocol::validate::{self, MAX_MESSAGE_BYTES};
use webpubsub_protocol::{ContentType, Payload};

use crate::rest::{error, Reply};
use crate::state::{ClientKind, NewConnection, Outbound, Resumed, State};
use crate::tokens::Verifier;
use crate::upstream::{Event, Upstream};

/// What an upgrade needs.
pub(crate) struct ClientContext {
    pub(crate) state: Arc<State>,
    pub(crate) verifier: Verifier,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// The application's event handlers, when any are configured.
    pub(crate) upstream: Option<Arc<Upstream>>,
}

/// Sends `connected` or `disconnected` upstream without waiting for the answer.
fn notify(
    ctx: &ClientContext,
    hub: &str,
    id: &str,
    user_id: Option<&str>,
    event_type: EventType,
    body: &'static str,
    reason: Option<String>,
) {
    let Some(upstream) = ctx.upstream.clone() else {
        return;
    };
    if upstream.handler(hub, &event_type).is_none() {
        return;
    }
    let (subprotocol, connection_state) = ctx
        .state
        .with_connection(hub, id, |c| (c.subprotocol, c.connection_state.clone()))
        .unwrap_or((None, None));
    let (hub, id, user_id) = (hub.to_owned(), id.to_owned(), user_id.map(str::to_owned));
    let body = match reason {
        Some(reason) => Bytes::from(serde_json::json!({ "reason": reason }).to_string()),
        None => Bytes::from_static(body.as_bytes()),
    };
    tokio::spawn(async move {
        let Some(handler) = upstream.handler(&hub, &event_type) else {
            return;
        };
        // Not waited for by anyone: a few bounded retries when the handler is unreachable or
        // answers 5xx, then give up (the event is logged by the upstream call).
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
            }
            let event = Event {
                hub: &hub,
                connection_id: &id,
                user_id: user_id.as_deref(),
                subprotocol,
                connection_state: connection_state.clone(),
            };
            match upstream
                .call(
                    handler,
                    event_type.clone(),
                    event,
                    "application/json; charset=utf-8",
                    body.clone(),
                )
                .await
            {
                Ok(answer) if answer.status < 500 => return,
                Err(crate::upstream::UpstreamError::NotValidated) => return,
                _ => {}
            }
        }
    });
}

/// A blocking user event: `Ok(Some(reply))` when the handler answered with a body, `Ok(None)`
/// without one, `Err(())` when there is no handler or it failed.
async fn user_event(
    ctx: &ClientContext,
    hub: &str,
    id: &str,
    user_id: Option<&str>,
    name: &str,
    message: Payload,
) -> Result<Option<Payload>, ()> {
    let upstream = ctx.upstream.as_ref().ok_or(())?;
    let event_type = EventType::User(name.to_owned());
    let handler = upstream.handler(hub, &event_type).ok_or(())?;
    let (subprotocol, connection_state) = ctx
        .state
        .with_connection(hub, id, |c| (c.subprotocol, c.connection_state.clone()))
        .unwrap_or((None, None));
    let event = Event {
        hub,
        connection_id: id,
        user_id,
        subprotocol,
        connection_state,
    };
    let content_type = message.content_type().as_str();
    let answer = upstream
        .call(
            handler,
            event_type,
            event,
            content_type,
            message.into_body(),
        )
        .await
        .map_err(drop)?;
    if !(200..300).contains(&answer.status) {
        return Err(());
    }
    if let Some(state) = answer.connection_state {
        ctx.state
            .with_connection(hub, id, |c| c.connection_state = Some(state));
    }
    if answer.body.is_empty() {
        return Ok(None);
    }
    // A reply without a known content type is text, as the service treats it.
    let reply = match answer
        .content_type
        .as_deref()
        .and_then(ContentType::from_header)
    {
        Some(ContentType::Json) => Payload::json_raw(answer.body).map_err(drop)?,
        Some(ContentType::Binary) => Payload::binary(answer.body),
        _ => Payload::text(String::from_utf8_lossy(&answer.body)),
    };
    Ok(Some(reply))
}

fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
        .read_buffer_size(2 * 1024)
        .write_buffer_size(16 * 1024)
}

/// Answers a `/client/...` request: 401 before the upgrade for a bad token, then 101.
pub(crate) async fn upgrade(
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
    let accept = derive_accept_key(key.as_bytes());
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
    let mut chosen = offered
        .iter()
        .find(|p| Subprotocol::from_name(p).is_some())
        .cloned();

    let id = ctx.state.connection_id();
    let mut new = NewConnection {
        user_id: claims.subject.clone().filter(|s| !s.is_empty()),
        kind: ClientKind::Raw,
        roles: claims.roles.clone(),
        groups: claims.groups.clone(),
        reconnection_token: None,
        connection_state: None,
        send_to_group: find("webpubsub_mode")
            .filter(|m| m.eq_ignore_ascii_case("sendToGroup"))
            .and_then(|_| find("group"))
            .filter(|g| validate::group(g).is_ok()),
    };
    // The blocking `connect` event, before the upgrade: its answer may override the user, groups,
    // roles and subprotocol, or refuse the client.
    if let (None, Some(upstream)) = (&recovering, &ctx.upstream) {
        if let Some(handler) = upstream.handler(&hub, &EventType::Connect) {
            let body = connect_body(&claims, &query, headers, &offered);
            let event = Event {
                hub: &hub,
                connection_id: &id,
                user_id: new.user_id.as_deref(),
                subprotocol: None,
                connection_state: None,
            };
            match upstream
                .call(
                    handler,
                    EventType::Connect,
                    event,
                    "application/json; charset=utf-8",
                    body,
                )
                .await
            {
                Ok(answer) if (200..300).contains(&answer.status) => {
                    if !answer.body.is_empty() {
                        let Ok(overrides) =
                            serde_json::from_slice::<ConnectEventResponse>(&answer.body)
                        else {
                            return error(
                                500,
                                "Error.InternalServerError",
                                "the connect handler answered invalid JSON",
                            );
                        };
                        if let Some(user) = overrides.user_id.filter(|u| !u.is_empty()) {
                            new.user_id = Some(user);
                        }
                        new.groups.extend(overrides.groups.unwrap_or_default());
                        new.roles.extend(overrides.roles.unwrap_or_default());
                        if let Some(protocol) = overrides.subprotocol {
                            chosen = offered.iter().find(|p| **p == protocol).cloned().or(chosen);
                        }
                    }
                    new.connection_state = answer.connection_state;
                }
                Ok(answer) if (400..500).contains(&answer.status) => {
                    let reason = String::from_utf8_lossy(&answer.body).into_owned();
                    return error(answer.status, "Error.Unauthorized", reason);
                }
                _ => {
                    return error(
                        500,
                        "Error.InternalServerError",
                        "the connect handler failed",
                    )
                }
            }
        }
    }
    let kind = match chosen.as_deref().and_then(Subprotocol::from_name) {
        Some(Subprotocol::JsonReliable) => ClientKind::JsonReliable,
        Some(Subprotocol::Json) => ClientKind::Json,
        None => ClientKind::Raw,
    };
    new.kind = kind;
    new.reconnection_token =
        (kind == ClientKind::JsonReliable).then(|| ctx.state.reconnection_token());

    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let out = response.headers_mut();
    out.insert("connection", HeaderValue::from_static("Upgrade"));
    out.insert("upgrade", HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        out.insert("sec-websocket-accept", accept);
    }
    if let Some(protocol) = chosen.as_deref().filter(|_| kind != ClientKind::Raw) {
        if let Ok(value) = HeaderValue::from_str(protocol) {
            out.insert("sec-websocket-protocol", value);
        }
    }

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
            None => Start::New(id, new),
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

/// The `connect` event body: claims, query and headers as lists of strings (without the token).
fn connect_body(
    claims: &webpubsub_auth::Claims,
    query: &[(String, String)],
    headers: &http::HeaderMap,
    offered: &[String],
) -> Bytes {
    let mut claim_map: std::collections::BTreeMap<String, Vec<String>> =
        std::collections::BTreeMap::new();
    claim_map.insert("aud".into(), claims.audiences.clone());
    if let Some(sub) = &claims.subject {
        claim_map.insert("sub".into(), vec![sub.clone()]);
    }
    for (name, value) in [
        ("iat", claims.issued_at),
        ("exp", claims.expires_at),
        ("nbf", claims.not_before),
    ] {
        if let Some(value) = value {
            claim_map.insert(name.into(), vec![value.to_string()]);
        }
    }
    if !claims.roles.is_empty() {
        claim_map.insert("role".into(), claims.roles.clone());
    }
    if !claims.groups.is_empty() {
        claim_map.insert("webpubsub.group".into(), claims.groups.clone());
    }
    for (name, value) in &claims.other {
        let value = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        claim_map.entry(name.clone()).or_default().push(value);
    }
    let mut query_map: std::collections::BTreeMap<String, Vec<String>> =
        std::collections::BTreeMap::new();
    for (k, v) in query.iter().filter(|(k, _)| k != "access_token") {
        query_map.entry(k.clone()).or_default().push(v.clone());
    }
    let mut header_map: std::collections::BTreeMap<String, Vec<String>> =
        std::collections::BTreeMap::new();
    for (name, value) in headers
        .iter()
        .filter(|(n, _)| *n != http::header::AUTHORIZATION)
    {
        if let Ok(value) = value.to_str() {
            header_map
                .entry(name.as_str().to_owned())
                .or_default()
                .push(value.to_owned());
        }
    }
    let body = ConnectEventRequest {
        claims: claim_map,
        query: query_map,
        headers: header_map,
        subprotocols: offered.to_vec(),
        client_certificates: Vec::new(),
        mqtt: None,
    };
    Bytes::from(serde_json::to_vec(&body).expect("a connect event body serialises"))
}

fn frame(message: &ServerFrame) -> WsMessage {
    WsMessage::text(serde_json::to_string(message).expect("a server frame serialises"))
}

fn ack(ack_id: u64, error: Option<(AckErrorName, String)>) -> ServerFrame {
    ServerFrame::Ack {
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
    Reply(Option<ServerFrame>),
    Close(CloseCode, &'static str),
}

/// How a connection task begins.
enum Start {
    New(String, NewConnection),
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

/// Acks wait this long before they go out. On loopback an ack can arrive before
/// `azure-messaging-webpubsubclient` 1.1.0 starts waiting for it (it sends, then waits on a
/// condition variable without re-checking), and the client then sits out its 30 s ack timeout.
/// The real service's network latency hides that race; this delay stands in for it.
const ACK_DELAY: std::time::Duration = std::time::Duration::from_millis(5);

/// The most frames written with one flush.
const WRITE_BATCH: usize = 64;

/// Writes queued frames and flushes once; `Ok(true)` when one of them closed the connection.
async fn write_batch<S>(
    sink: &mut S,
    kind: ClientKind,
    batch: Vec<Outbound>,
) -> Result<bool, tokio_tungstenite::tungstenite::Error>
where
    S: futures_util::Sink<WsMessage, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    for queued in batch {
        match queued {
            Outbound::Text(text) => sink.feed(WsMessage::Text(text)).await?,
            Outbound::Binary(data) => sink.feed(WsMessage::Binary(data)).await?,
            Outbound::Close { code, reason } => {
                if kind != ClientKind::Raw {
                    sink.feed(frame(&ServerFrame::System(SystemEvent::Disconnected {
                        message: Some(reason.clone()),
                    })))
                    .await?;
                }
                let reason: String = reason.chars().take(120).collect();
                let close = WsMessage::Close(Some(CloseFrame {
                    code: CloseCode::from(code),
                    reason: reason.into(),
                }));
                let _ = sink.send(close).await;
                return Ok(true);
            }
        }
    }
    sink.flush().await?;
    Ok(false)
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
        Start::New(id, new) => {
            let user_id = new.user_id.clone();
            let token = new.reconnection_token.clone();
            let (outbound, kill) = state.connect(&hub, &id, new);
            if kind != ClientKind::Raw {
                let connected = ServerFrame::System(SystemEvent::Connected {
                    user_id: user_id.clone(),
                    connection_id: id.clone(),
                    reconnection_token: token,
                });
                if sink.send(frame(&connected)).await.is_err() {
                    state.disconnect(&hub, &id);
                    return;
                }
            }
            notify(
                &ctx,
                &hub,
                &id,
                user_id.as_deref(),
                EventType::Connected,
                "{}",
                None,
            );
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
                    Some(Ok(WsMessage::Close(frame))) => {
                        // Answer the client's close (tungstenite queued the reply) before leaving.
                        let _ = sink.close().await;
                        break End::ClientClosed(frame.map_or(1005, |f| u16::from(f.code)));
                    }
                    Some(Ok(message)) => handle(&ctx, &hub, &id, kind, user_id.as_deref(), message).await,
                    Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => Next::Close(CloseCode::Size, "the message is larger than 1 MiB"),
                    _ => break End::Dropped,
                };
                match next {
                    Next::Reply(Some(reply)) => {
                        if matches!(reply, ServerFrame::Ack { .. }) {
                            tokio::time::sleep(ACK_DELAY).await;
                        }
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
                let Some(first) = out else { break End::ServerClosed };
                // Take what else is queued (up to a batch) and write it with one flush: under
                // fan-out load that is one system call for many frames.
                let mut batch = vec![first];
                while batch.len() < WRITE_BATCH {
                    match outbound.try_recv() {
                        Ok(frame) => batch.push(frame),
                        Err(_) => break,
                    }
                }
                // A client that stops reading blocks these writes; the kill switch still ends it
                // (the frames and the close handshake are abandoned).
                let written = tokio::select! {
                    written = write_batch(&mut sink, kind, batch) => written,
                    () = kill.notified() => break End::ServerClosed,
                };
                match written {
                    Ok(false) => {}
                    Ok(true) => break End::ServerClosed,
                    Err(_) => break End::Dropped,
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
    let reason = match end {
        End::ClientClosed(_) => None,
        End::Dropped => Some("the connection was dropped".to_owned()),
        End::ServerClosed => Some("closed by the service".to_owned()),
    };
    notify(
        &ctx,
        &hub,
        &id,
        user_id.as_deref(),
        EventType::Disconnected,
        "{}",
        reason,
    );
    state.disconnect(&hub, &id);
    tracing::debug!(%hub, connection = %id, "disconnected");
}

async fn handle(
    ctx: &ClientContext,
    hub: &str,
    id: &str,
    kind: ClientKind,
    user_id: Option<&str>,
    message: WsMessage,
) -> Next {
    let state = ctx.state.as_ref();
    let text = match (kind, message) {
        (_, WsMessage::Close(_))
        | (_, WsMessage::Ping(_))
        | (_, WsMessage::Pong(_))
        | (_, WsMessage::Frame(_)) => return Next::Reply(None),
        // Raw clients' frames become `message` user events; with no event handler the service
        // drops the connection.
        (ClientKind::Raw, frame) => {
            let message = match frame {
                WsMessage::Text(text) => Payload::text(text.as_str()),
                WsMessage::Binary(data) => Payload::binary(data),
                _ => return Next::Reply(None),
            };
            // `webpubsub_mode=sendToGroup`: every frame is a message to the group.
            if let Some(group) = state
                .with_connection(hub, id, |c| c.send_to_group.clone())
                .flatten()
            {
                if !state.may(hub, id, Permission::SendToGroup, &group) {
                    return Next::Close(
                        CloseCode::Policy,
                        "Forbidden: no permission to send to the group",
                    );
                }
                publish(state, hub, &group, user_id, &message, None);
                return Next::Reply(None);
            }
            return match user_event(ctx, hub, id, user_id, "message", message).await {
                Ok(Some(reply)) => {
                    ctx.state
                        .deliver(hub, &[id.to_owned()], &MessageSource::Server, &reply, None);
                    Next::Reply(None)
                }
                Ok(None) => Next::Reply(None),
                Err(()) => Next::Close(CloseCode::Error, "the message event was not handled"),
            };
        }
        (_, WsMessage::Binary(_)) => {
            return Next::Close(
                CloseCode::Unsupported,
                "the JSON subprotocol requires text frames",
            )
        }
        (_, WsMessage::Text(text)) => text,
    };
    let Ok(parsed) = serde_json::from_str::<ClientFrame>(text.as_str()) else {
        return Next::Close(CloseCode::Invalid, "not a valid JSON protocol message");
    };
    let answered = |ack_id: Option<u64>, result: Result<(), (AckErrorName, String)>| {
        let ack_id = ack_id?;
        if result.is_ok() {
            state.with_connection(hub, id, |c| c.acked.insert(ack_id));
        }
        Some(ack(ack_id, result.err()))
    };
    // A repeat of an ack id that already succeeded is answered `Duplicate` without running again.
    let ack_id = match &parsed {
        ClientFrame::Unknown(_) => None,
        known => known.ack_id(),
    };
    if let Some(a) = ack_id.filter(|a| {
        state
            .with_connection(hub, id, |c| c.acked.contains(a))
            .unwrap_or(false)
    }) {
        let message = format!("Message with ack-id: {a} has been processed");
        return Next::Reply(Some(ack(a, Some((AckErrorName::Duplicate, message)))));
    }
    match parsed {
        ClientFrame::JoinGroup { group, ack_id } => {
            let result =
                check(state, hub, id, Permission::JoinLeaveGroup, &group, "join").map(|()| {
                    state.join(hub, id, &group);
                });
            Next::Reply(answered(ack_id, result))
        }
        ClientFrame::LeaveGroup { group, ack_id } => {
            let result =
                check(state, hub, id, Permission::JoinLeaveGroup, &group, "leave").map(|()| {
                    state.leave(hub, id, Some(&group));
                });
            Next::Reply(answered(ack_id, result))
        }
        ClientFrame::SendToGroup {
            group,
            ack_id,
            no_echo,
            data,
        } => {
            let result = check(state, hub, id, Permission::SendToGroup, &group, "send to")
                .map(|()| publish(state, hub, &group, user_id, &data, no_echo.then_some(id)));
            Next::Reply(answered(ack_id, result))
        }
        ClientFrame::Event {
            event,
            ack_id,
            data: message,
        } => {
            // The reply (if any) goes out before the ack: both through the connection's queue.
            let result = match user_event(ctx, hub, id, user_id, &event, message).await {
                Ok(reply) => {
                    if let Some(reply) = reply {
                        state.deliver(hub, &[id.to_owned()], &MessageSource::Server, &reply, None);
                    }
                    Ok(())
                }
                Err(()) => Err((
                    AckErrorName::InternalServerError,
                    "the event was not handled".to_owned(),
                )),
            };
            // Through the queue, after the reply (if any); delayed like every ack.
            if let Some(ack) = answered(ack_id, result) {
                tokio::time::sleep(ACK_DELAY).await;
                state.send_text(
                    hub,
                    id,
                    serde_json::to_string(&ack).expect("an ack serialises"),
                );
            }
            Next::Reply(None)
        }
        ClientFrame::SequenceAck { sequence_id } => {
            state.with_connection(hub, id, |c| c.acknowledge(sequence_id));
            Next::Reply(None)
        }
        ClientFrame::Ping => Next::Reply(Some(ServerFrame::Pong)),
        // A frame of a type we do not speak, or a known type with bad fields: answered
        // BadRequest when it has an ackId, ignored otherwise.
        unknown @ ClientFrame::Unknown(_) => {
            let reason = if ClientFrame::is_known_type(unknown.type_name()) {
                "the message is not valid"
            } else {
                "unsupported message type"
            };
            Next::Reply(
                unknown
                    .ack_id()
                    .map(|a| ack(a, Some((AckErrorName::BadRequest, reason.into())))),
            )
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
    validate::group(group).map_err(|e| (AckErrorName::BadRequest, e.to_string()))?;
    if state.may(hub, id, permission, group) {
        Ok(())
    } else {
        Err((
            AckErrorName::Forbidden,
            format!("The client does not have permission to {verb} group '{group}'."),
        ))
    }
}

/// Delivers a client's message to every member of `group` (but `skip`, for `noEcho`).
fn publish(
    state: &State,
    hub: &str,
    group: &str,
    user_id: Option<&str>,
    message: &Payload,
    skip: Option<&str>,
) {
    let members: Vec<String> = state
        .members(hub, group)
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    let source = MessageSource::Group {
        group: group.to_owned(),
        from_user_id: user_id.map(str::to_owned),
    };
    state.deliver(hub, &members, &source, message, skip);
}
