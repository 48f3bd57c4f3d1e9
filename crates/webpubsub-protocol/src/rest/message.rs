//! Message payloads for the `:send` operations.

use bytes::Bytes;
use serde::Serialize;

use crate::validate::{ValidationError, ValidationRule, MAX_MESSAGE_BYTES};

/// The `Content-Type` of a message, one of the three the service accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// `application/json`: JSON clients get `dataType: json`, raw clients a text frame.
    Json,
    /// `text/plain`: JSON clients get `dataType: text`, raw clients a text frame.
    Text,
    /// `application/octet-stream`: JSON clients get base64 `dataType: binary`, raw clients a binary frame.
    Binary,
}

impl ContentType {
    /// The MIME type.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Json => "application/json",
            ContentType::Text => "text/plain",
            ContentType::Binary => "application/octet-stream",
        }
    }

    /// Parses a `Content-Type` header by its media type only (parameters such as
    /// `; charset=utf-8` are ignored, case-insensitive). `None` for any other type.
    ///
    /// ```
    /// use webpubsub_protocol::ContentType;
    ///
    /// assert_eq!(ContentType::from_header("Text/Plain; charset=utf-8"), Some(ContentType::Text));
    /// assert_eq!(ContentType::from_header("image/png"), None);
    /// ```
    pub fn from_header(header: &str) -> Option<Self> {
        let media = header.split(';').next().unwrap_or("").trim();
        [ContentType::Json, ContentType::Text, ContentType::Binary]
            .into_iter()
            .find(|c| media.eq_ignore_ascii_case(c.as_str()))
    }
}

/// A message to send, with an explicit content type.
///
/// A string sent with [`Message::json`] is a JSON string (`"hi"`, quoted); a string sent with
/// [`Message::text`] is text (`hi`). Both official SDKs JSON-quote plain strings by default; here
/// you always say which you mean.
///
/// ```
/// use webpubsub_protocol::{ContentType, Message};
///
/// let json = Message::json(&serde_json::json!({"text": "hi"}))?;
/// assert_eq!(json.content_type(), ContentType::Json);
/// assert_eq!(json.body(), br#"{"text":"hi"}"#);
///
/// assert_eq!(Message::json(&"hi")?.body(), br#""hi""#);
/// assert_eq!(Message::text("hi").body(), b"hi");
/// assert_eq!(Message::binary(vec![0, 1]).content_type(), ContentType::Binary);
/// assert!(Message::json_raw(b"{not json".to_vec()).is_err());
/// # Ok::<(), webpubsub_protocol::ValidationError>(())
/// ```
///
/// The body is a [`Bytes`], so cloning a message (to send it again, or to several targets) does
/// not copy it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    content_type: ContentType,
    body: Bytes,
}

impl Message {
    /// Serialises `value` as JSON.
    ///
    /// # Errors
    /// A [`ValidationError`] (field `message`, rule `Json`) when `value` cannot be serialised.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, ValidationError> {
        let body = serde_json::to_vec(value)
            .map_err(|_| ValidationError::new("message", ValidationRule::Json))?;
        Ok(Self {
            content_type: ContentType::Json,
            body: body.into(),
        })
    }

    /// Already-serialised JSON, checked to be valid JSON.
    ///
    /// # Errors
    /// A [`ValidationError`] (field `message`, rule `Json`) when the bytes are not JSON.
    pub fn json_raw(body: impl Into<Bytes>) -> Result<Self, ValidationError> {
        let body = body.into();
        serde_json::from_slice::<serde::de::IgnoredAny>(&body)
            .map_err(|_| ValidationError::new("message", ValidationRule::Json))?;
        Ok(Self {
            content_type: ContentType::Json,
            body,
        })
    }

    /// Plain text (`text/plain`).
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            content_type: ContentType::Text,
            body: Bytes::from(text.into()),
        }
    }

    /// Binary data (`application/octet-stream`).
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self {
            content_type: ContentType::Binary,
            body: data.into(),
        }
    }

    /// The content type.
    pub fn content_type(&self) -> ContentType {
        self.content_type
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Takes the body.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// Checks the 1 MiB limit.
    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        if self.body.len() > MAX_MESSAGE_BYTES {
            Err(ValidationError::new(
                "message",
                ValidationRule::MaxBytes(MAX_MESSAGE_BYTES),
            ))
        } else {
            Ok(())
        }
    }
}

impl From<&str> for Message {
    /// Text, never JSON: `Message::from("hi")` sends `hi`.
    fn from(text: &str) -> Self {
        Self::text(text)
    }
}

impl From<String> for Message {
    /// Text, never JSON.
    fn from(text: String) -> Self {
        Self::text(text)
    }
}

impl From<Vec<u8>> for Message {
    /// Binary.
    fn from(data: Vec<u8>) -> Self {
        Self::binary(data)
    }
}

impl From<Bytes> for Message {
    /// Binary.
    fn from(data: Bytes) -> Self {
        Self::binary(data)
    }
}

impl From<serde_json::Value> for Message {
    /// JSON.
    fn from(value: serde_json::Value) -> Self {
        Self {
            content_type: ContentType::Json,
            body: Bytes::from(value.to_string()),
        }
    }
}
