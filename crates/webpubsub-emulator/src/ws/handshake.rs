//! The upgrade: a recovery (`awps_connection_id` + `awps_reconnection_token`, checked first; the
//! access token is ignored) or a token check, the subprotocol, and the blocking `connect` event,
//! all answered before the `101`.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use webpubsub_protocol::encoding::parse_query;
use webpubsub_protocol::events::{ConnectEventRequest, ConnectEventResponse, EventType};
use webpubsub_protocol::frames::{is_protobuf_subprotocol, Subprotocol};
use webpubsub_protocol::validate::{self, MAX_MESSAGE_BYTES};

use super::connection::{self, Start};
use super::ClientContext;
use crate::reply::{error, Reply};
use crate::state::{ClientKind, NewConnection};
use crate::upstream::Event;

fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
        .read_buffer_size(2 * 1024)
        .write_buffer_size(16 * 1024)
}

/// The kind of client a subprotocol makes.
fn kind_of(subprotocol: Option<&str>) -> ClientKind {
    match subprotocol.and_then(Subprotocol::from_name) {
        Some(Subprotocol::JsonReliable) => ClientKind::JsonReliable,
        Some(Subprotocol::Json) => ClientKind::Json,
        None => ClientKind::Raw,
    }
}

/// Answers a `/client/...` request: 400/401/403 before the upgrade, then 101.
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
    let find = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let offered: Vec<String> = headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let known = offered
        .iter()
        .find(|p| Subprotocol::from_name(p).is_some())
        .cloned();

    // A recovery is checked by its connection id and reconnection token only: the documented
    // recovery URL has no access token, and the one a client appends may have expired.
    if let Some(id) = find("awps_connection_id") {
        let token = find("awps_reconnection_token").unwrap_or_default();
        let response = switching(&accept, known.as_deref());
        tokio::spawn(async move {
            let Some(ws) = upgraded(&mut request).await else {
                return;
            };
            let start = match ctx.state.resume(&hub, &id, &token) {
                Some(resumed) => Start::Resumed(id, resumed),
                // Unknown, expired or not recoverable: say so the way the service does (1008),
                // and the client starts a new connection.
                None => Start::Refused,
            };
            connection::run(ctx, ws, hub, ClientKind::JsonReliable, start).await;
        });
        return response;
    }

    let token = find("access_token").or_else(|| {
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
    if let Some(e) = claims.groups.iter().find_map(|g| validate::group(g).err()) {
        let reason = e.to_string();
        return error(
            400,
            "Error.BadRequest",
            format!("the token's webpubsub.group: {reason}"),
        );
    }
    let send_to_group = match find("webpubsub_mode") {
        None => None,
        Some(mode) if mode.eq_ignore_ascii_case("sendToGroup") => {
            let group = find("group").unwrap_or_default();
            if let Err(e) = validate::group(&group) {
                return error(
                    400,
                    "Error.BadRequest",
                    format!("webpubsub_mode=sendToGroup: {e}"),
                );
            }
            let no_echo = find("noEcho").is_some_and(|v| v.eq_ignore_ascii_case("true"));
            Some((group, no_echo))
        }
        Some(mode) => {
            return error(
                400,
                "Error.BadRequest",
                format!("unknown webpubsub_mode `{mode}`: the one mode is sendToGroup"),
            )
        }
    };

    let id = ctx.state.connection_id();
    let mut chosen = known;
    let mut new = NewConnection {
        user_id: claims.subject.clone().filter(|s| !s.is_empty()),
        kind: ClientKind::Raw,
        subprotocol: None,
        roles: claims.roles.clone(),
        groups: claims.groups.clone(),
        reconnection_token: None,
        connection_state: None,
        send_to_group,
    };
    // The blocking `connect` event, before the upgrade: its answer may set the user, groups,
    // roles and subprotocol, or refuse the client.
    let handler = ctx
        .upstream
        .as_ref()
        .and_then(|u| u.handler(&hub, &EventType::Connect).map(|h| (u, h)));
    if let Some((upstream, handler)) = handler {
        let body = connect_body(&claims, &query, headers, &offered);
        let event = Event {
            hub: &hub,
            connection_id: &id,
            user_id: new.user_id.as_deref(),
            subprotocol: None,
            connection_state: None,
        };
        let content_type = "application/json; charset=utf-8";
        match upstream
            .call(handler, EventType::Connect, event, content_type, body)
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
                        if !offered.contains(&protocol) {
                            return error(
                                500,
                                "Error.InternalServerError",
                                format!("the connect handler chose subprotocol `{protocol}`, which the client did not offer"),
                            );
                        }
                        chosen = Some(protocol);
                    }
                }
                new.connection_state = answer.connection_state;
            }
            Ok(answer) if (400..500).contains(&answer.status) => {
                let reason = String::from_utf8_lossy(&answer.body).into_owned();
                let code = if answer.status == 403 {
                    "Error.Forbidden"
                } else {
                    "Error.Unauthorized"
                };
                return error(answer.status, code, reason);
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
    if let Some(protocol) = chosen.as_deref().filter(|p| is_protobuf_subprotocol(p)) {
        return error(
            400,
            "Error.BadRequest",
            format!("the emulator does not speak `{protocol}`"),
        );
    }
    if chosen.is_none() && !offered.is_empty() {
        return error(
            400,
            "Error.BadRequest",
            format!(
                "none of the offered subprotocols ({}) is spoken here: offer {} or {}, or choose one in the connect handler",
                offered.join(", "),
                Subprotocol::Json.as_str(),
                Subprotocol::JsonReliable.as_str()
            ),
        );
    }
    if let Some(bad) = new.groups.iter().find(|g| validate::group(g).is_err()) {
        return error(
            500,
            "Error.InternalServerError",
            format!("the connect handler chose an invalid group `{bad}`"),
        );
    }
    let kind = kind_of(chosen.as_deref());
    new.kind = kind;
    new.subprotocol = chosen.clone().filter(|_| kind != ClientKind::Raw);
    new.reconnection_token =
        (kind == ClientKind::JsonReliable).then(|| ctx.state.reconnection_token());

    let response = switching(&accept, chosen.as_deref());
    tokio::spawn(async move {
        let Some(ws) = upgraded(&mut request).await else {
            return;
        };
        connection::run(ctx, ws, hub, kind, Start::New(id, new)).await;
    });
    response
}

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

async fn upgraded(request: &mut Request<Incoming>) -> Option<Socket> {
    match hyper::upgrade::on(request).await {
        Ok(upgraded) => Some(
            WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                Some(websocket_config()),
            )
            .await,
        ),
        Err(e) => {
            tracing::debug!(error = %e, "the upgrade did not complete");
            None
        }
    }
}

/// The `101` answer, echoing the chosen subprotocol.
fn switching(accept: &str, subprotocol: Option<&str>) -> Reply {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let out = response.headers_mut();
    out.insert("connection", HeaderValue::from_static("Upgrade"));
    out.insert("upgrade", HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(accept) {
        out.insert("sec-websocket-accept", accept);
    }
    if let Some(value) = subprotocol.and_then(|p| HeaderValue::from_str(p).ok()) {
        out.insert("sec-websocket-protocol", value);
    }
    response
}

/// The `connect` event body: claims, query and headers as lists of strings (without the token).
fn connect_body(
    claims: &webpubsub_auth::Claims,
    query: &[(String, String)],
    headers: &http::HeaderMap,
    offered: &[String],
) -> Bytes {
    let mut claim_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
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
    let mut query_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in query.iter().filter(|(k, _)| k != "access_token") {
        query_map.entry(k.clone()).or_default().push(v.clone());
    }
    let mut header_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
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
