//! Serving a handler with hyper.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::events::EventHandler;
use crate::handler::WebPubSubEventHandler;

/// Serves `handler` on every connection `listener` accepts, over HTTP/1.1, until the task is
/// dropped. Bodies over the handler's cap are refused with 413 before they are read whole.
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
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let handler = handler.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let response =
                        match Limited::new(body, handler.max_body_bytes()).collect().await {
                            Ok(body) => {
                                handler
                                    .handle(http::Request::from_parts(parts, body.to_bytes()))
                                    .await
                            }
                            Err(_) => {
                                let mut response = http::Response::new(Bytes::from_static(
                                    b"the event body is too large",
                                ));
                                *response.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
                                response
                            }
                        };
                    Ok::<_, Infallible>(response.map(Full::new))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
