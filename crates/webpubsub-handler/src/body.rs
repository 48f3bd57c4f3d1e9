//! Reading a streamed request body under the handler's size cap, for the servers built on
//! `WebPubSubEventHandler::handle`: a declared length over the cap is refused before a byte is
//! read, a body that grows past it is cut off at the cap.

use bytes::Bytes;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

pub(crate) fn answer(status: http::StatusCode, text: &'static str) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from_static(text.as_bytes()));
    *response.status_mut() = status;
    response
}

fn too_large() -> http::Response<Bytes> {
    answer(
        http::StatusCode::PAYLOAD_TOO_LARGE,
        "the event body is too large",
    )
}

/// Reads `request`'s body, at most `cap` bytes; `Err` is the refusal to send (413 or 400).
pub(crate) async fn read<B>(
    cap: usize,
    request: http::Request<B>,
) -> Result<http::Request<Bytes>, http::Response<Bytes>>
where
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    match Limited::new(body, cap).collect().await {
        Ok(body) => Ok(http::Request::from_parts(parts, body.to_bytes())),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => Err(answer(
            http::StatusCode::BAD_REQUEST,
            "the event body could not be read",
        )),
    }
}
