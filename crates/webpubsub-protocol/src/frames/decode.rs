//! Decoding frames from text: JSON `data` kept byte for byte, and the frequent `message` frame
//! in a single borrowed pass.

use serde::Deserialize;

use super::{ClientFrame, MessageSource, ServerFrame};
use crate::payload::Payload;

/// Decodes a frame whose JSON `data` is kept byte for byte: numbers beyond 64 bits,
/// `1e999999`, lone surrogate escapes or deep nesting, which no `serde_json::Value` holds exactly,
/// reach the payload as written. Other frames decode as with `serde_json::from_str`.
fn from_json_keeping_data<T: serde::de::DeserializeOwned>(
    text: &str,
    payload_of: impl FnOnce(&mut T) -> Option<&mut Payload>,
) -> Result<T, serde_json::Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RawData<'a> {
        #[serde(default)]
        data_type: Option<crate::DataType>,
        #[serde(borrow, default)]
        data: Option<&'a serde_json::value::RawValue>,
    }
    let raw = match serde_json::from_str::<RawData<'_>>(text) {
        Ok(RawData {
            data_type: None | Some(crate::DataType::Json),
            data: Some(raw),
        }) => raw.get(),
        _ => return serde_json::from_str(text),
    };
    // `raw` borrows from `text`: its offset tells where `data` sits.
    let start = raw.as_ptr() as usize - text.as_ptr() as usize;
    let end = start + raw.len();
    let placeholder = format!("{}0{}", &text[..start], &text[end..]);
    let mut frame: T = serde_json::from_str(&placeholder)?;
    if let Some(payload) = payload_of(&mut frame) {
        if payload.content_type() == crate::ContentType::Json {
            *payload = Payload::json_raw(bytes::Bytes::copy_from_slice(raw.as_bytes()))
                .map_err(serde::de::Error::custom)?;
        }
    }
    Ok(frame)
}

impl ClientFrame {
    /// Decodes a frame, keeping JSON `data` byte for byte (see the type's docs).
    ///
    /// ```
    /// use webpubsub_protocol::frames::ClientFrame;
    ///
    /// let text = r#"{"type":"sendToGroup","group":"g","data":{"n":123456789012345678901234567890}}"#;
    /// let ClientFrame::SendToGroup { data, .. } = ClientFrame::from_json(text)? else { panic!() };
    /// assert_eq!(data.as_text(), Some(r#"{"n":123456789012345678901234567890}"#));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    ///
    /// # Errors
    /// When `text` is not JSON.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        from_json_keeping_data(text, |frame| match frame {
            ClientFrame::SendToGroup { data, .. } | ClientFrame::Event { data, .. } => Some(data),
            ClientFrame::Invoke { data, .. } => data.as_mut(),
            _ => None,
        })
    }
}

/// A `message` frame's fields, borrowed from the text: one pass, `data` left raw.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FlatMessage<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    from: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    from_user_id: Option<String>,
    #[serde(default)]
    data_type: Option<crate::DataType>,
    #[serde(borrow, default)]
    data: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    sequence_id: Option<u64>,
}

/// The common case, a well-formed `message` frame, decoded in one pass; `None` for anything
/// else (which takes the general path).
fn message_in_one_pass(text: &str) -> Option<ServerFrame> {
    let flat: FlatMessage<'_> = serde_json::from_str(text).ok()?;
    if flat.kind != "message" {
        return None;
    }
    let from = match flat.from.as_deref()? {
        "group" => MessageSource::Group {
            group: flat.group?,
            from_user_id: flat.from_user_id,
        },
        "server" => MessageSource::Server,
        _ => return None,
    };
    let data = Payload::from_frame_raw(flat.data_type.unwrap_or_default(), flat.data?).ok()?;
    Some(ServerFrame::Message {
        from,
        data,
        sequence_id: flat.sequence_id,
    })
}

impl ServerFrame {
    /// Decodes a frame, keeping JSON `data` byte for byte (numbers beyond 64 bits and the
    /// like reach the payload as the service wrote them). A well-formed `message` frame, the
    /// one that comes by the thousand, is decoded in a single pass.
    ///
    /// # Errors
    /// When `text` is not JSON.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        if let Some(message) = message_in_one_pass(text) {
            return Ok(message);
        }
        from_json_keeping_data(text, |frame| match frame {
            ServerFrame::Message { data, .. } => Some(data),
            ServerFrame::InvokeResponse { data, .. } => data.as_mut(),
            _ => None,
        })
    }
}
