//! The framework-neutral core: one request in, one response out.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use webpubsub_auth::{verify_event_signature, AccessKey, ConnectionString};
use webpubsub_protocol::events::{
    combined_header, mqtt_connect_code, CloudEventHeaders, ConnectEventRequest, ConnectionState,
    DisconnectedEventRequest, EventType, GroupEventRequest, MqttConnectError,
    MqttConnectErrorResponse,
};
use webpubsub_protocol::{ContentType, Payload};

use crate::context::EventContext;
use crate::events::{ConnectResponse, EventHandler, UserEvent, UserEventResponse};

/// The largest event body accepted by default: 1 MiB plus room for the connect envelope.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024 + 64 * 1024;

/// Which service hosts may send events (`WebHook-Request-Origin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Any host (answers `WebHook-Allowed-Origin: *`).
    Any,
    /// Only these hosts, e.g. `contoso.webpubsub.azure.com` (case-insensitive).
    Hosts(Vec<String>),
}

/// How the handler checks requests.
#[derive(Clone)]
pub struct HandlerOptions {
    /// The access keys (primary and secondary) `ce-signature` is checked against.
    pub keys: Vec<AccessKey>,
    /// Check `ce-signature`. Default `true`; turn off only for local development.
    pub verify_signature: bool,
    /// Who may send events. Default [`AllowedOrigins::Any`].
    pub allowed_origins: AllowedOrigins,
    /// Larger bodies are refused with 413. Default [`DEFAULT_MAX_BODY_BYTES`].
    pub max_body_bytes: usize,
}

impl fmt::Debug for HandlerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerOptions")
            .field("keys", &self.keys.len())
            .field("verify_signature", &self.verify_signature)
            .field("allowed_origins", &self.allowed_origins)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl HandlerOptions {
    /// Signatures checked against `keys`, any origin, the default size cap.
    pub fn new(keys: impl IntoIterator<Item = AccessKey>) -> Self {
        Self {
            keys: keys.into_iter().collect(),
            verify_signature: true,
            allowed_origins: AllowedOrigins::Any,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// The key of a connection string.
    ///
    /// # Errors
    /// The connection string's parse error.
    pub fn from_connection_string(
        connection_string: &str,
    ) -> Result<Self, webpubsub_auth::ConnectionStringError> {
        let cs = ConnectionString::parse(connection_string)?;
        Ok(Self::new([cs.access_key().clone()]))
    }
}

/// Serves the Web PubSub CloudEvents protocol for one hub, dispatching to an [`EventHandler`].
///
/// ```
/// # async fn demo() {
/// use bytes::Bytes;
/// use webpubsub_handler::{EventHandler, HandlerOptions, WebPubSubEventHandler};
///
/// struct Defaults;
/// impl EventHandler for Defaults {}
///
/// let options = HandlerOptions::from_connection_string("Endpoint=https://contoso.webpubsub.azure.com;AccessKey=k").unwrap();
/// let handler = WebPubSubEventHandler::new("chat", options, Defaults);
/// let validation = http::Request::options("/eventhandler")
///     .header("WebHook-Request-Origin", "contoso.webpubsub.azure.com")
///     .body(Bytes::new())
///     .unwrap();
/// let response = handler.handle(validation).await;
/// assert_eq!(response.headers()["WebHook-Allowed-Origin"], "*");
/// # }
/// ```
pub struct WebPubSubEventHandler<H> {
    hub: String,
    options: HandlerOptions,
    handler: H,
}

impl<H> fmt::Debug for WebPubSubEventHandler<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebPubSubEventHandler")
            .field("hub", &self.hub)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn reply(status: u16, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut response = Response::new(body.into());
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}

/// Refuses a request, logging why (the reason is also the text body).
fn refuse(status: u16, reason: &str) -> Response<Bytes> {
    tracing::warn!(status, reason, "refused a Web PubSub event request");
    let mut response = reply(status, Bytes::from(reason.to_owned()));
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl<H: EventHandler> WebPubSubEventHandler<H> {
    /// A handler for `hub` (matched case-insensitively).
    pub fn new(hub: impl Into<String>, options: HandlerOptions, handler: H) -> Self {
        Self {
            hub: hub.into(),
            options,
            handler,
        }
    }

    /// The hub.
    pub fn hub(&self) -> &str {
        &self.hub
    }

    /// Your [`EventHandler`].
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The body size cap.
    pub fn max_body_bytes(&self) -> usize {
        self.options.max_body_bytes
    }

    /// Answers one request: `OPTIONS` abuse-protection validation or a `POST` event.
    pub async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        let (parts, body) = request.into_parts();
        match parts.method {
            Method::OPTIONS | Method::GET => self.validate(&parts.headers),
            Method::POST => self.event(&parts.headers, body).await,
            _ => refuse(405, "only OPTIONS and POST are served"),
        }
    }

    /// The requested origins this handler allows.
    fn allowed<'o>(&self, requested: &'o str) -> Vec<&'o str> {
        let requested = requested
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty());
        match &self.options.allowed_origins {
            AllowedOrigins::Any => requested.collect(),
            AllowedOrigins::Hosts(hosts) => requested
                .filter(|o| hosts.iter().any(|h| h.eq_ignore_ascii_case(o)))
                .collect(),
        }
    }

    fn validate(&self, headers: &HeaderMap) -> Response<Bytes> {
        let Some(requested) = combined_header(headers, "webhook-request-origin") else {
            return refuse(400, "the WebHook-Request-Origin header is missing");
        };
        let allowed = self.allowed(&requested);
        let value = match &self.options.allowed_origins {
            AllowedOrigins::Any => "*".to_owned(),
            AllowedOrigins::Hosts(_) if allowed.is_empty() => {
                return refuse(403, "the requesting origin is not allowed")
            }
            AllowedOrigins::Hosts(_) => allowed.join(", "),
        };
        let mut response = reply(200, Bytes::new());
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert("WebHook-Allowed-Origin", value);
        }
        response
    }

    async fn event(&self, headers: &HeaderMap, body: Bytes) -> Response<Bytes> {
        if body.len() > self.options.max_body_bytes {
            return refuse(413, "the event body is too large");
        }
        let ce = match CloudEventHeaders::from_headers(headers) {
            Ok(ce) => ce,
            Err(e) => return refuse(400, &format!("not a Web PubSub event: {e}")),
        };
        if !ce.hub.eq_ignore_ascii_case(&self.hub) {
            return refuse(400, "the event is for another hub");
        }
        let origin = combined_header(headers, "webhook-request-origin");
        if let AllowedOrigins::Hosts(_) = self.options.allowed_origins {
            if origin.as_deref().is_none_or(|o| self.allowed(o).is_empty()) {
                return refuse(403, "the requesting origin is not allowed");
            }
        }
        if self.options.verify_signature {
            let signature = ce.signature.as_deref().unwrap_or("");
            if let Err(e) = verify_event_signature(signature, &ce.connection_id, &self.options.keys)
            {
                return refuse(401, &format!("ce-signature rejected: {e}"));
            }
        }
        let state = match ce
            .connection_state
            .as_deref()
            .map(ConnectionState::from_header)
        {
            None => ConnectionState::default(),
            Some(Ok(state)) => state,
            Some(Err(_)) => {
                tracing::warn!(connection = %ce.connection_id, "ce-connectionState is not base64 JSON; starting empty");
                ConnectionState::default()
            }
        };
        let mut ctx = EventContext::new(&ce, origin, state);
        let content_type = combined_header(headers, "content-type").unwrap_or_default();
        let mut response = match &ce.event_type {
            EventType::Connect => {
                let request: ConnectEventRequest = match serde_json::from_slice(&body) {
                    Ok(request) => request,
                    Err(e) => return refuse(400, &format!("the connect body is not valid: {e}")),
                };
                let mqtt_version = ctx
                    .is_mqtt()
                    .then(|| request.mqtt.as_ref().map_or(0, |m| m.protocol_version));
                match self.handler.connect(&mut ctx, request).await {
                    ConnectResponse::Accept(answer) if answer.is_empty() => {
                        reply(204, Bytes::new())
                    }
                    ConnectResponse::Accept(answer) => json_reply(200, &answer),
                    ConnectResponse::Reject { status, reason } => match mqtt_version {
                        None => refuse(status, &reason),
                        Some(version) => mqtt_refusal(
                            status,
                            MqttConnectError {
                                code: mqtt_connect_code(status, version),
                                reason: Some(reason),
                                user_properties: Vec::new(),
                            },
                        ),
                    },
                    ConnectResponse::RejectMqtt(error) => mqtt_refusal(error.status(), error),
                }
            }
            EventType::Connected => {
                self.handler.connected(&ctx).await;
                reply(200, Bytes::new())
            }
            EventType::Disconnected => {
                // Lenient: a disconnected event is a notification, and a body that does not
                // parse still tells which connection ended.
                let event =
                    serde_json::from_slice::<DisconnectedEventRequest>(&body).unwrap_or_default();
                self.handler.disconnected(&ctx, event).await;
                reply(200, Bytes::new())
            }
            EventType::GroupJoined | EventType::GroupLeft => {
                let group = match serde_json::from_slice::<GroupEventRequest>(&body) {
                    Ok(event) => event.group,
                    Err(e) => {
                        return refuse(400, &format!("the group event body is not valid: {e}"))
                    }
                };
                if ce.event_type == EventType::GroupJoined {
                    self.handler.group_joined(&ctx, &group).await;
                } else {
                    self.handler.group_left(&ctx, &group).await;
                }
                reply(200, Bytes::new())
            }
            EventType::User(name) => {
                let Ok(data) = Payload::from_content_type(&content_type, body.clone()) else {
                    return refuse(
                        400,
                        "the user event's content type or body is not json, text or binary",
                    );
                };
                match self
                    .handler
                    .user_event(
                        &mut ctx,
                        UserEvent {
                            name: name.clone(),
                            data,
                        },
                    )
                    .await
                {
                    UserEventResponse::Empty => reply(204, Bytes::new()),
                    UserEventResponse::Reply(payload) => payload_reply(payload),
                    UserEventResponse::Reject { status, reason } => refuse(status, &reason),
                }
            }
        };
        if ce.event_type.is_blocking() {
            if let Some(state) = ctx.changed_state() {
                if let Ok(value) = HeaderValue::from_str(&state.to_header()) {
                    response.headers_mut().insert("ce-connectionState", value);
                }
            }
        }
        response
    }
}

fn json_reply(status: u16, body: &impl serde::Serialize) -> Response<Bytes> {
    let body = serde_json::to_vec(body).unwrap_or_default();
    let mut response = reply(status, body);
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// An MQTT client's refused connect: `{"mqtt":{"code":..,"reason":..}}` with `status`.
fn mqtt_refusal(status: u16, error: MqttConnectError) -> Response<Bytes> {
    tracing::warn!(status, code = error.code, "refused an MQTT connect");
    json_reply(status, &MqttConnectErrorResponse { mqtt: error })
}

fn payload_reply(payload: Payload) -> Response<Bytes> {
    let content_type = match payload.content_type() {
        ContentType::Json => "application/json; charset=utf-8",
        ContentType::Text => "text/plain; charset=utf-8",
        ContentType::Binary => "application/octet-stream",
    };
    let mut response = reply(200, payload.into_body());
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    response
}
