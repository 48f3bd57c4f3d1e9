//! Serving a handler with hyper, safe to face the internet: request heads and bodies time out, a
//! declared body over the cap is refused at once, accept errors (no file descriptors left) back
//! off instead of spinning, and a shutdown finishes the requests in flight.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::body;
use crate::events::EventHandler;
use crate::handler::WebPubSubEventHandler;

/// How [`serve_hyper_with`] treats its connections.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServeOptions {
    /// How long a client has to send a request head, and then its body; a slow client is cut
    /// off (408 for a body) instead of holding a connection forever. Default 30 s.
    pub request_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Accept errors wait this long first, doubling up to a second.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Serves `handler` on every connection `listener` accepts, over HTTP/1.1, with the default
/// [`ServeOptions`], until the task is dropped. Bodies over the handler's cap are refused with
/// 413 before they are read whole.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use std::sync::Arc;
/// use webpubsub_handler::{serve_hyper, EventHandler, HandlerOptions, WebPubSubEventHandler};
///
/// struct App;
/// impl EventHandler for App {}
///
/// let options = HandlerOptions::from_connection_string(&std::env::var("WEBPUBSUB_CONNECTION_STRING").unwrap()).unwrap();
/// let handler = Arc::new(WebPubSubEventHandler::new("chat", options, App));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// serve_hyper(listener, handler).await;
/// # Ok(()) }
/// ```
pub async fn serve_hyper<H: EventHandler + 'static>(
    listener: TcpListener,
    handler: Arc<WebPubSubEventHandler<H>>,
) {
    serve_hyper_with(
        listener,
        handler,
        ServeOptions::default(),
        std::future::pending(),
    )
    .await;
}

/// [`serve_hyper`] with options, until `shutdown` completes: then it stops accepting, lets the
/// requests in flight finish (idle keep-alive connections close), and returns.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use std::sync::Arc;
/// use webpubsub_handler::{serve_hyper_with, EventHandler, HandlerOptions, ServeOptions, WebPubSubEventHandler};
///
/// struct App;
/// impl EventHandler for App {}
///
/// let options = HandlerOptions::from_connection_string(&std::env::var("WEBPUBSUB_CONNECTION_STRING").unwrap()).unwrap();
/// let handler = Arc::new(WebPubSubEventHandler::new("chat", options, App));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// // ... later, from anywhere: `stop.send(())` (or wire Ctrl-C to it).
/// # drop(stop);
/// serve_hyper_with(listener, handler, ServeOptions::default(), async { let _ = stopped.await; }).await;
/// # Ok(()) }
/// ```
pub async fn serve_hyper_with<H: EventHandler + 'static>(
    listener: TcpListener,
    handler: Arc<WebPubSubEventHandler<H>>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff = ACCEPT_BACKOFF_MIN;
                stream
            }
            Err(_) => {
                // Out of file descriptors (or another transient failure): accepting again at
                // once would spin a core; wait, and let connections finish.
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                continue;
            }
        };
        let handler = handler.clone();
        let timeout = options.request_timeout;
        let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let handler = handler.clone();
            async move { Ok::<_, Infallible>(respond(&handler, request, timeout).await.map(Full::new)) }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn respond<H: EventHandler>(
    handler: &WebPubSubEventHandler<H>,
    request: hyper::Request<hyper::body::Incoming>,
    timeout: Duration,
) -> http::Response<Bytes> {
    match tokio::time::timeout(timeout, body::read(handler.max_body_bytes(), request)).await {
        Ok(Ok(request)) => handler.handle(request).await,
        Ok(Err(refused)) => refused,
        Err(_) => body::answer(
            http::StatusCode::REQUEST_TIMEOUT,
            "the event body did not arrive in time",
        ),
    }
}
