//! Opening connections: the upgrade (with the subprotocol and TLS), the `connected` frame, the
//! recovery URL, and the closing handshake.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use webpubsub_protocol::encoding::percent_encode;
use webpubsub_protocol::frames::{ServerFrame, Subprotocol, SystemEvent};
use webpubsub_protocol::validate::MAX_MESSAGE_BYTES;

use super::{Live, Socket};
use crate::credential::{without_query, ClientCredential};
use crate::error::{Error, ErrorKind};
use crate::options::WebPubSubClientOptions;
use crate::sequence::Sequence;

/// Closes with 1000 (the service ends the session for good) and waits briefly for the reply.
pub(super) async fn close(socket: &mut Socket) {
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
pub(super) fn recovery_url(url: &str, connection_id: &str, token: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}awps_connection_id={}&awps_reconnection_token={}",
        percent_encode(connection_id),
        percent_encode(token)
    )
}

/// A new connection: a URL from the credential, the upgrade, and the `connected` frame, all
/// within `connect_timeout`.
pub(super) async fn connect_new(
    credential: &ClientCredential,
    options: &WebPubSubClientOptions,
) -> Result<Live, Error> {
    // The provider is inside the time limit too: one that never answers must not hang start().
    let provider = timeout(options.connect_timeout, credential.url())
        .await
        .map_err(|_| {
            Error::new(
                ErrorKind::ConnectTimeout,
                format!(
                    "the client URL provider gave no URL within {:?}",
                    options.connect_timeout
                ),
            )
        })?;
    let started = tokio::time::Instant::now();
    let url = provider?;
    let left = options.connect_timeout.saturating_sub(started.elapsed());
    let attempt = async {
        let mut socket = open(&url, options.protocol, options.tls_config.as_ref()).await?;
        let connected = await_connected(&mut socket).await?;
        Ok::<_, Error>((socket, connected))
    };
    let (socket, (connection_id, user_id, reconnection_token)) =
        timeout(left, attempt).await.map_err(|_| {
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
pub(super) async fn open(
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

pub(super) fn handshake_error(e: WsError, protocol: Subprotocol) -> Error {
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
pub(super) async fn await_connected(
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
