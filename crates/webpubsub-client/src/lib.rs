#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod credential;
mod driver;
mod error;
mod events;
mod options;
mod sequence;

pub use client::{AckResult, InvokeResult, WebPubSubClient, MAX_FRAME_BYTES};
pub use credential::ClientCredential;
pub use error::{BoxError, Error, ErrorKind};
pub use events::{ClientEvent, ClientEvents, ClientState, GroupMessage, ServerMessage};
pub use options::{
    RetryMode, RetryOptions, SendEventOptions, SendToGroupOptions, WebPubSubClientOptions,
};
/// The TLS library, for [`WebPubSubClientOptions::tls_config`].
pub use rustls;
/// The content of messages, and the subprotocols.
pub use webpubsub_protocol::{frames::Subprotocol, ContentType, Payload};
