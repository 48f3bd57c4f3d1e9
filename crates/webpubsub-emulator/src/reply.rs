//! HTTP answers in the service's shape, for the REST API and the WebSocket handshake alike.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::json;

pub(crate) type Reply = Response<Full<Bytes>>;

/// An empty answer with `code`.
pub(crate) fn status(code: u16) -> Reply {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}

/// The service's error shape: `{code, message}` body and `x-ms-error-code`.
pub(crate) fn error(code: u16, error_code: &str, message: impl Into<String>) -> Reply {
    let body = json!({"code": error_code, "message": message.into()}).to_string();
    let mut response = status(code);
    *response.body_mut() = Full::new(Bytes::from(body));
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = http::HeaderValue::from_str(error_code) {
        headers.insert("x-ms-error-code", value);
    }
    response
}

/// A `200` with a JSON body.
pub(crate) fn json_reply(value: serde_json::Value) -> Reply {
    let mut response = status(200);
    *response.body_mut() = Full::new(Bytes::from(value.to_string()));
    response.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
