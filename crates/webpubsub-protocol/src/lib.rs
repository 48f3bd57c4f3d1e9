#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client_protocol;
pub mod encoding;
pub mod events;
pub mod filter;
pub mod frames;
mod payload;
pub mod rest;
pub mod roles;
pub mod validate;

pub use client_protocol::{ClientProtocol, UnknownClientProtocol};
pub use payload::{ContentType, DataType, Payload, PayloadError};
pub use rest::API_VERSION;
pub use validate::{ValidationError, ValidationRule};
