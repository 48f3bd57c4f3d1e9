//! The chat app server behind `examples/examples/chat.rs`, on axum: a page, a negotiate endpoint
//! that mints client URLs, and the Web PubSub event handler (mounted as a tower service) that
//! publishes what users say.

use std::net::SocketAddr;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use axum::Router;
use http::{StatusCode, Uri};
use tokio::net::TcpListener;
use webpubsub::{ClientAccessTokenOptions, Payload, Role, WebPubSubServiceClient};
use webpubsub_emulator::{Emulator, EventHandlerSettings};
use webpubsub_handler::{
    ConnectEventRequest, ConnectEventResponse, ConnectResponse, EventContext, EventHandler,
    HandlerOptions, UserEvent, UserEventResponse, WebPubSubEventHandler,
};

const PAGE: &str = include_str!("chat.html");
/// The hub the chat uses.
pub const HUB: &str = "chat";
/// The group everyone joins.
pub const ROOM: &str = "room";

/// The events of the chat: everyone joins the room; what a user says is published to it.
struct ChatEvents {
    service: WebPubSubServiceClient,
}

impl EventHandler for ChatEvents {
    async fn connect(
        &self,
        _ctx: &mut EventContext,
        _request: ConnectEventRequest,
    ) -> ConnectResponse {
        ConnectEventResponse::default().with_groups([ROOM]).into()
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
    let events = WebPubSubEventHandler::new(
        HUB,
        HandlerOptions::from_connection_string(&connection_string)?,
        ChatEvents {
            service: service.clone(),
        },
    );
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/negotiate", get(negotiate))
        // The event handler is a tower service: oversized bodies are answered 413 by it.
        .route_service("/eventhandler", events.into_service())
        .with_state(service);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(ChatServer { addr, emulator })
}

/// `GET /negotiate?name=<user>`: a client URL for the user, allowed to join and leave the room.
async fn negotiate(State(service): State<WebPubSubServiceClient>, uri: Uri) -> Response {
    let name = webpubsub_protocol::encoding::parse_query(uri.query().unwrap_or(""))
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
        Ok(token) => Json(serde_json::json!({ "url": token.url })).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
