#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod events;
mod handler;
#[cfg(feature = "hyper")]
mod serve;

pub use events::{ConnectResponse, EventContext, EventHandler, UserEvent, UserEventResponse};
pub use handler::{AllowedOrigins, HandlerOptions, WebPubSubEventHandler, DEFAULT_MAX_BODY_BYTES};
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub use serve::{serve_hyper, serve_hyper_with, ServeOptions};
