#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cloud_events;
mod encoding;
mod filter;
mod rest;
mod subprotocol;
mod validate;

pub use cloud_events::{
    user_event_body, user_event_payload, ClientCertificate, CloudEventError, CloudEventHeaders,
    ConnectEventRequest, ConnectEventResponse, ConnectionState, DisconnectedEventRequest,
    EventType,
};
pub use encoding::{parse_query, percent_decode, percent_encode};
pub use filter::{
    CompareOp, ConnectionInfo, EvalError, Expr, Filter, FilterParseError, Function, Identifier,
    Operand,
};
pub use rest::*;
pub use subprotocol::{
    AckError, AckErrorName, ClientMessage, DataType, MessageSource, Payload, PayloadError,
    ServerMessage, JSON_RELIABLE_SUBPROTOCOL, JSON_SUBPROTOCOL,
};
pub use validate::{
    validate_group, validate_hub, validate_message_ttl, validate_non_empty, ValidationError,
    ValidationRule, MAX_GROUP_LENGTH, MAX_MESSAGE_BYTES, MAX_MESSAGE_TTL_SECONDS, MAX_PAGE_SIZE,
};
