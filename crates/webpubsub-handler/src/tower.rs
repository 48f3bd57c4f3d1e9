//! The handler as a `tower::Service`, so axum (`route_service`) and any tower stack mount it.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;

use crate::body;
use crate::events::EventHandler;
use crate::handler::WebPubSubEventHandler;

/// A [`WebPubSubEventHandler`] as a `tower::Service<http::Request<B>>` for any body type `B`:
/// the body is read up to the handler's cap (a declared or actual length over it is answered
/// 413, never turned into an empty body), then answered. Cloning is cheap (one `Arc`).
///
/// Time limits belong to the server or a tower layer (for example tower-http's `TimeoutLayer`);
/// `serve_hyper` sets its own.
///
/// ```
/// use webpubsub_handler::{EventHandler, EventHandlerService, HandlerOptions, WebPubSubEventHandler};
///
/// struct App;
/// impl EventHandler for App {}
///
/// let options = HandlerOptions::from_connection_string("Endpoint=https://contoso.webpubsub.azure.com;AccessKey=k").unwrap();
/// let service: EventHandlerService<App> = WebPubSubEventHandler::new("chat", options, App).into_service();
/// // axum: Router::new().route_service("/eventhandler", service)
/// # let _ = service;
/// ```
pub struct EventHandlerService<H> {
    handler: Arc<WebPubSubEventHandler<H>>,
}

impl<H> EventHandlerService<H> {
    /// A service answering with `handler`.
    pub fn new(handler: Arc<WebPubSubEventHandler<H>>) -> Self {
        Self { handler }
    }

    /// The handler.
    pub fn handler(&self) -> &Arc<WebPubSubEventHandler<H>> {
        &self.handler
    }
}

impl<H> Clone for EventHandlerService<H> {
    fn clone(&self) -> Self {
        Self {
            handler: self.handler.clone(),
        }
    }
}

impl<H> fmt::Debug for EventHandlerService<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventHandlerService")
            .field("handler", &self.handler)
            .finish()
    }
}

impl<H: EventHandler> WebPubSubEventHandler<H> {
    /// This handler as a `tower::Service` ([`EventHandlerService`]).
    pub fn into_service(self) -> EventHandlerService<H> {
        EventHandlerService::new(Arc::new(self))
    }
}

impl<H, B> tower_service::Service<http::Request<B>> for EventHandlerService<H>
where
    H: EventHandler + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let handler = self.handler.clone();
        Box::pin(async move {
            let response = match body::read(handler.max_body_bytes(), request).await {
                Ok(request) => handler.handle(request).await,
                Err(refused) => refused,
            };
            Ok(response.map(Full::new))
        })
    }
}
