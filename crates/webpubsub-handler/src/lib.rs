#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "hyper", feature = "tower"))]
mod body;
mod context;
mod events;
mod handler;
#[cfg(feature = "hyper")]
mod serve;
#[cfg(feature = "tower")]
mod tower;

pub use context::EventContext;
pub use events::{ConnectResponse, EventHandler, UserEvent, UserEventResponse};
pub use handler::{AllowedOrigins, HandlerOptions, WebPubSubEventHandler, DEFAULT_MAX_BODY_BYTES};
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub use serve::{serve_hyper, serve_hyper_with, ServeOptions};
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use tower::EventHandlerService;
/// The upstream protocol's types a handler author meets, so this crate is the one dependency.
pub use webpubsub_protocol::events::{
    ClientCertificate, ConnectEventRequest, ConnectEventResponse, DisconnectedEventRequest,
    MqttConnectError, MqttConnectProperties, MqttDisconnectPacket, MqttDisconnectedProperties,
    MqttUserProperty,
};
pub use webpubsub_protocol::{ContentType, Payload};
