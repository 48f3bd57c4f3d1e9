//! The chat app server behind `examples/examples/chat.rs`: a page, a negotiate endpoint that
//! mints client URLs, and the Web PubSub event handler that publishes what users say.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use webpubsub::{ClientAccessTokenOptions, Payload, Role, WebPubSubServiceClient};
use webpubsub_emulator::{Emulator, EventHandlerSettings};
use webpubsub_handler::{
    ConnectResponse, EventContext, EventHandler, HandlerOptions, UserEvent, UserEventResponse,
    WebPubSubEventHandler,
};
use webpubsub_protocol::events::ConnectEventRequest;

const PAGE: &str = include_str!("chat.html");
/// The hub the chat uses.
pub const HUB: &str = "chat";
/// The group everyone joins.
pub const ROOM: &str = "room";

/// The events of the chat: everyone joins the room; what a user says is published to it.
struct ChatEvents {
    service: WebPubSubServiceClient,
}

#[async_trait::async_trait]
impl EventHandler for ChatEvents {
    async fn connect(
        &self,
        _ctx: &mut EventContext,
        _request: ConnectEventRequest,
    ) -> ConnectResponse {
        ConnectResponse::Accept {
            user_id: None,
            groups: Some(vec![ROOM.into()]),
            roles: None,
            subprotocol: None,
        }
    }

    async fn user_event(&self, ctx: &mut EventContext, event: UserEvent) -> UserEventResponse {
        let (webpubsub::ContentType::Text, Some(text)) =
            (event.data.content_type(), event.data.as_text())
        else {
            return UserEventResponse::Reject {
                status: 400,
                reason: "send text".into(),
            };
        };
        let from = ctx.user_id.clone().unwrap_or_else(|| "anonymous".into());
        let published = match Payload::json(&serde_json::json!({ "from": from, "text": text })) {
            Ok(message) => self.service.group(ROOM).send(message, None).await,
            Err(e) => Err(e.into()),
        };
        match published {
            Ok(()) => UserEventResponse::Empty,
            Err(e) => UserEventResponse::Reject {
                status: 500,
                reason: e.to_string(),
            },
        }
    }
}

/// A running chat: the app server's address and, when it runs on one, the embedded emulator.
#[derive(Debug)]
pub struct ChatServer {
    /// Where the page is served.
    pub addr: SocketAddr,
    /// The embedded emulator, when no connection string was given.
    pub emulator: Option<Emulator>,
}

/// Starts the app server on `127.0.0.1:port` (0 for a free port), on a real service when
/// `connection_string` is given (its event handler must then point at this server's
/// `/eventhandler`), else on an embedded emulator configured to call it.
///
/// # Errors
/// Binding or service-client errors.
pub async fn start(
    port: u16,
    connection_string: Option<String>,
) -> Result<ChatServer, Box<dyn std::error::Error + Send + Sync>> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let (connection_string, emulator) = match connection_string {
        Some(cs) => (cs, None),
        None => {
            let emulator = Emulator::builder()
                .event_handler(
                    HUB,
                    EventHandlerSettings {
                        url_template: format!("http://{addr}/eventhandler"),
                        user_event_pattern: "message".into(),
                        system_events: vec!["connect".into()],
                    },
                )
                .start()
                .await?;
            (emulator.connection_string(), Some(emulator))
        }
    };
    let service = WebPubSubServiceClient::from_connection_string(&connection_string, HUB, None)?;
    let events = Arc::new(WebPubSubEventHandler::new(
        HUB,
        HandlerOptions::from_connection_string(&connection_string)?,
        ChatEvents {
            service: service.clone(),
        },
    ));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (service, events) = (service.clone(), events.clone());
            tokio::spawn(async move {
                let handle = service_fn(move |request| {
                    let (service, events) = (service.clone(), events.clone());
                    async move {
                        Ok::<_, Infallible>(route(&service, &events, request).await.map(Full::new))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), handle)
                    .await;
            });
        }
    });
    Ok(ChatServer { addr, emulator })
}

fn respond(
    status: u16,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> http::Response<Bytes> {
    let mut response = http::Response::new(body.into());
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert("content-type", http::HeaderValue::from_static(content_type));
    response
}

async fn route(
    service: &WebPubSubServiceClient,
    events: &WebPubSubEventHandler<ChatEvents>,
    request: hyper::Request<hyper::body::Incoming>,
) -> http::Response<Bytes> {
    let path = request.uri().path().to_owned();
    match path.as_str() {
        "/" => respond(200, "text/html; charset=utf-8", PAGE),
        "/negotiate" => {
            let name =
                webpubsub_protocol::encoding::parse_query(request.uri().query().unwrap_or(""))
                    .into_iter()
                    .find(|(k, _)| k == "name")
                    .map(|(_, v)| v)
                    .filter(|v| !v.trim().is_empty())
                    .unwrap_or_else(|| "guest".into());
            let options = ClientAccessTokenOptions {
                user_id: Some(name),
                roles: vec![Role::join_leave_group_named(ROOM)],
                ..Default::default()
            };
            match service.get_client_access_token(Some(options)).await {
                Ok(token) => respond(
                    200,
                    "application/json",
                    serde_json::json!({ "url": token.url }).to_string(),
                ),
                Err(e) => respond(500, "text/plain", e.to_string()),
            }
        }
        "/eventhandler" => {
            let (parts, body) = request.into_parts();
            match Limited::new(body, events.max_body_bytes()).collect().await {
                Ok(body) => {
                    events
                        .handle(http::Request::from_parts(parts, body.to_bytes()))
                        .await
                }
                Err(_) => respond(413, "text/plain", "too large"),
            }
        }
        _ => respond(404, "text/plain", "not found"),
    }
}
