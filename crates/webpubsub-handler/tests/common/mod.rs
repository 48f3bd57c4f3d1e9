//! Requests as the service sends them, shared by the handler's tests.
#![allow(dead_code)] // each test file uses its own part

use bytes::Bytes;
use http::Request;
use webpubsub_auth::{event_signature, AccessKey};

pub(crate) const PRIMARY: &str = "primary-key";
pub(crate) const SECONDARY: &str = "secondary-key";

pub(crate) fn keys() -> Vec<AccessKey> {
    vec![AccessKey::new(PRIMARY), AccessKey::new(SECONDARY)]
}

/// A request with the header set the service sends.
pub(crate) fn event(
    ce_type: &str,
    event_name: &str,
    content_type: &str,
    _body: impl Into<Bytes>,
) -> http::request::Builder {
    let connection = "conn1";
    Request::post("/eventhandler")
        .header("Content-Type", content_type)
        .header("WebHook-Request-Origin", "xxx.webpubsub.azure.com")
        .header("ce-specversion", "1.0")
        .header("ce-type", ce_type)
        .header("ce-source", format!("/hubs/chat/client/{connection}"))
        .header("ce-id", "1")
        .header("ce-time", "2021-01-01T00:00:00Z")
        .header("ce-signature", event_signature(connection, &keys()))
        .header("ce-userId", "user1")
        .header("ce-connectionId", connection)
        .header("ce-hub", "chat")
        .header("ce-eventName", event_name)
        .header("ce-awpsversion", "1.0")
}

pub(crate) fn with_body(builder: http::request::Builder, body: impl Into<Bytes>) -> Request<Bytes> {
    builder.body(body.into()).unwrap()
}
