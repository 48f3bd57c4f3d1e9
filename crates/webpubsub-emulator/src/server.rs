//! The HTTP server: accepts connections, routes `/api/...` to REST and `/client/...` to WebSocket.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use webpubsub_protocol::encoding::{parse_query, percent_decode};
use webpubsub_protocol::validate::{self, MAX_MESSAGE_BYTES};

use crate::reply::{error, Reply};
use crate::rest::{self, HttpCall, RestContext};
use crate::ws::{self, ClientContext};

pub(crate) struct Server {
    pub(crate) rest: RestContext,
    pub(crate) clients: Arc<ClientContext>,
    /// How long a client has to send a request head, and then its body.
    pub(crate) request_timeout: Duration,
}

/// Accept errors (file descriptors used up) wait this long first, doubling up to a second.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Serves until `shutdown` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    server: Arc<Server>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => {
                        backoff = ACCEPT_BACKOFF_MIN;
                        accepted
                    }
                    Err(e) => {
                        // Out of file descriptors (or another transient failure): accepting
                        // again at once would spin; wait, and let connections finish.
                        tracing::warn!(error = %e, retry_in = ?backoff, "accept failed");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let server = server.clone();
                let request_timeout = server.request_timeout;
                let local = stream.local_addr().ok();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let server = server.clone();
                        async move { Ok::<_, Infallible>(route(&server, request, local).await) }
                    });
                    let connection = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(request_timeout)
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades();
                    if let Err(e) = connection.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
}

async fn route(server: &Server, request: Request<Incoming>, local: Option<SocketAddr>) -> Reply {
    let host = request
        .headers()
        .get("host")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| local.map(|a| a.to_string()))
        .unwrap_or_default();
    let path = request.uri().path().to_owned();
    if path.starts_with("/api/") {
        let (parts, body) = request.into_parts();
        // A little over 1 MiB: the message limit itself is checked (413) by the send operations.
        let limit = MAX_MESSAGE_BYTES + 64 * 1024;
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return error(
                413,
                "Error.PayloadTooLarge",
                "the request body is too large",
            );
        }
        let collect = Limited::new(body, limit).collect();
        let body = match tokio::time::timeout(server.request_timeout, collect).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(_)) => {
                return error(
                    413,
                    "Error.PayloadTooLarge",
                    "the request body is too large",
                )
            }
            Err(_) => {
                return error(
                    408,
                    "Error.RequestTimeout",
                    "the request body did not arrive in time",
                )
            }
        };
        let request = HttpCall {
            method: &parts.method,
            host: &host,
            path: &path,
            query: parts.uri.query(),
            headers: &parts.headers,
            body,
        };
        return rest::handle(&server.rest, request);
    }
    if let Some(rest) = path.strip_prefix("/client") {
        // `/client/hubs/{hub}` or `/client/?hub={hub}`.
        let hub = match rest
            .trim_start_matches('/')
            .split('/')
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["hubs", hub] => percent_decode(hub, false),
            [""] | [] => parse_query(request.uri().query().unwrap_or(""))
                .into_iter()
                .find(|(k, _)| k == "hub")
                .map(|(_, v)| v),
            _ => None,
        };
        return match hub {
            Some(hub) if validate::hub(&hub).is_ok() => {
                ws::upgrade(server.clients.clone(), request, &host, hub).await
            }
            _ => error(404, "Error.NotFound", "expected /client/hubs/{hub}"),
        };
    }
    error(
        404,
        "Error.NotFound",
        "the emulator serves /api/... and /client/hubs/{hub}",
    )
}
