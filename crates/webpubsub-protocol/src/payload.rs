//! Content: the one type for what a message carries, whichever way it travels (a REST send, a
//! subprotocol frame, a CloudEvents user event, a raw WebSocket frame).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::validate::{ValidationError, ValidationRule, MAX_MESSAGE_BYTES};

/// The `Content-Type` of a payload, one of the three the service accepts.
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

    /// The subprotocol `dataType` of this content.
    pub fn data_type(self) -> DataType {
        match self {
            ContentType::Json => DataType::Json,
            ContentType::Text => DataType::Text,
            ContentType::Binary => DataType::Binary,
        }
    }
}

/// How `data` is encoded in a subprotocol frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// Any JSON value.
    #[default]
    Json,
    /// A string.
    Text,
    /// Base64 of the bytes.
    Binary,
    /// Base64 of protobuf bytes.
    Protobuf,
}

impl DataType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Json => "json",
            DataType::Text => "text",
            DataType::Binary => "binary",
            DataType::Protobuf => "protobuf",
        }
    }
}

/// Content that does not match what it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the data is not {expected}")]
pub struct PayloadError {
    expected: &'static str,
}

impl PayloadError {
    fn new(expected: &'static str) -> Self {
        Self { expected }
    }
}

/// A payload: JSON, text or binary, with its bytes.
///
/// A string sent with [`Payload::json`] is a JSON string (`"hi"`, quoted); a string sent with
/// [`Payload::text`] is text (`hi`). Both official SDKs JSON-quote plain strings by default; here
/// you always say which you mean.
///
/// ```
/// use webpubsub_protocol::{ContentType, Payload};
///
/// let json = Payload::json(&serde_json::json!({"text": "hi"}))?;
/// assert_eq!(json.content_type(), ContentType::Json);
/// assert_eq!(json.body(), br#"{"text":"hi"}"#);
///
/// assert_eq!(Payload::json(&"hi")?.body(), br#""hi""#);
/// assert_eq!(Payload::text("hi").as_text(), Some("hi"));
/// assert_eq!(Payload::binary(vec![0, 1]).content_type(), ContentType::Binary);
/// assert!(Payload::json_raw(b"{not json".to_vec()).is_err());
/// # Ok::<(), webpubsub_protocol::ValidationError>(())
/// ```
///
/// The body is a [`Bytes`], so cloning a payload (to send it again, or to several targets) does
/// not copy it. JSON and text bodies are always valid UTF-8, JSON bodies always valid JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Payload {
    content_type: ContentType,
    body: Bytes,
}

impl Payload {
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

    /// A body with its `Content-Type` header (a REST send or a CloudEvents user event), checked:
    /// JSON must parse, text must be UTF-8.
    ///
    /// ```
    /// use webpubsub_protocol::Payload;
    ///
    /// let text = Payload::from_content_type("text/plain; charset=utf-8", "hi".into())?;
    /// assert_eq!(text, Payload::text("hi"));
    /// assert!(Payload::from_content_type("image/png", "x".into()).is_err());
    /// # Ok::<(), webpubsub_protocol::PayloadError>(())
    /// ```
    ///
    /// # Errors
    /// A [`PayloadError`] for another content type or a body that is not what it claims.
    pub fn from_content_type(content_type: &str, body: Bytes) -> Result<Self, PayloadError> {
        match ContentType::from_header(content_type) {
            Some(ContentType::Json) => {
                Self::json_raw(body).map_err(|_| PayloadError::new("valid JSON"))
            }
            Some(ContentType::Text) => match std::str::from_utf8(&body) {
                Ok(_) => Ok(Self {
                    content_type: ContentType::Text,
                    body,
                }),
                Err(_) => Err(PayloadError::new("UTF-8 text")),
            },
            Some(ContentType::Binary) => Ok(Self::binary(body)),
            None => Err(PayloadError::new(
                "application/json, text/plain or application/octet-stream",
            )),
        }
    }

    /// The content type.
    pub fn content_type(&self) -> ContentType {
        self.content_type
    }

    /// The subprotocol `dataType` this payload is sent with.
    pub fn data_type(&self) -> DataType {
        self.content_type.data_type()
    }

    /// The body bytes (for JSON, the JSON text).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text, for JSON and text payloads (always UTF-8); `None` for binary.
    pub fn as_text(&self) -> Option<&str> {
        match self.content_type {
            ContentType::Binary => None,
            ContentType::Json | ContentType::Text => std::str::from_utf8(&self.body).ok(),
        }
    }

    /// Deserialises a JSON payload.
    ///
    /// # Errors
    /// A [`PayloadError`] when the payload is not JSON or not a `T`.
    pub fn to_json<'a, T: Deserialize<'a>>(&'a self) -> Result<T, PayloadError> {
        match self.content_type {
            ContentType::Json => {
                serde_json::from_slice(&self.body).map_err(|_| PayloadError::new("the JSON type"))
            }
            _ => Err(PayloadError::new("JSON")),
        }
    }

    /// Takes the body.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// Decodes a frame's `data` according to its `dataType` (base64 for binary and protobuf).
    ///
    /// ```
    /// use webpubsub_protocol::{DataType, Payload};
    ///
    /// assert_eq!(Payload::from_frame(DataType::Binary, "AAE=".into())?, Payload::binary(vec![0, 1]));
    /// assert!(Payload::from_frame(DataType::Text, serde_json::json!(1)).is_err());
    /// # Ok::<(), webpubsub_protocol::PayloadError>(())
    /// ```
    ///
    /// # Errors
    /// A [`PayloadError`] when `data` is not of the declared type (or `null` for json).
    pub fn from_frame(data_type: DataType, data: serde_json::Value) -> Result<Self, PayloadError> {
        use serde_json::Value;
        match (data_type, data) {
            (DataType::Json, Value::Null) => Err(PayloadError::new("a JSON value other than null")),
            (DataType::Json, value) => Ok(Self {
                content_type: ContentType::Json,
                body: Bytes::from(value.to_string()),
            }),
            (DataType::Text, Value::String(s)) => Ok(Self::text(s)),
            (DataType::Text, _) => Err(PayloadError::new("a string")),
            (DataType::Binary | DataType::Protobuf, Value::String(s)) => STANDARD
                .decode(s)
                .map(Self::binary)
                .map_err(|_| PayloadError::new("base64")),
            (DataType::Binary | DataType::Protobuf, _) => Err(PayloadError::new("a base64 string")),
        }
    }

    /// [`Payload::from_frame`] from the raw JSON of `data`, without building a
    /// `serde_json::Value`: JSON is kept byte for byte.
    pub(crate) fn from_frame_raw(
        data_type: DataType,
        raw: &serde_json::value::RawValue,
    ) -> Result<Self, PayloadError> {
        let text = raw.get();
        match data_type {
            DataType::Json if text == "null" => {
                Err(PayloadError::new("a JSON value other than null"))
            }
            DataType::Json => Ok(Self {
                content_type: ContentType::Json,
                body: Bytes::copy_from_slice(text.as_bytes()),
            }),
            DataType::Text => serde_json::from_str::<String>(text)
                .map(Self::text)
                .map_err(|_| PayloadError::new("a string")),
            DataType::Binary | DataType::Protobuf => {
                let encoded = serde_json::from_str::<String>(text)
                    .map_err(|_| PayloadError::new("a base64 string"))?;
                STANDARD
                    .decode(encoded)
                    .map(Self::binary)
                    .map_err(|_| PayloadError::new("base64"))
            }
        }
    }

    /// The frame's `data`: the JSON itself (byte for byte), a JSON string, or base64.
    pub fn to_frame_data(&self) -> Box<serde_json::value::RawValue> {
        let text = match self.content_type {
            ContentType::Json => String::from_utf8_lossy(&self.body).into_owned(),
            ContentType::Text => {
                serde_json::to_string(self.as_text().expect("text payloads are UTF-8"))
                    .expect("a string serialises")
            }
            ContentType::Binary => format!("\"{}\"", STANDARD.encode(&self.body)),
        };
        serde_json::value::RawValue::from_string(text).expect("the payload's data is JSON")
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

impl From<&str> for Payload {
    /// Text, never JSON: `Payload::from("hi")` sends `hi`.
    fn from(text: &str) -> Self {
        Self::text(text)
    }
}

impl From<String> for Payload {
    /// Text, never JSON.
    fn from(text: String) -> Self {
        Self::text(text)
    }
}

impl From<Vec<u8>> for Payload {
    /// Binary.
    fn from(data: Vec<u8>) -> Self {
        Self::binary(data)
    }
}

impl From<Bytes> for Payload {
    /// Binary.
    fn from(data: Bytes) -> Self {
        Self::binary(data)
    }
}

impl From<serde_json::Value> for Payload {
    /// JSON.
    fn from(value: serde_json::Value) -> Self {
        Self {
            content_type: ContentType::Json,
            body: Bytes::from(value.to_string()),
        }
    }
}

/// `dataType` and `data` as two fields of a frame, read and written as a [`Payload`]
/// (`#[serde(flatten, with = "frame_data")]`).
pub(crate) mod frame_data {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{DataType, Payload};

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out {
        data_type: DataType,
        data: Box<serde_json::value::RawValue>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct In {
        #[serde(default)]
        data_type: DataType,
        #[serde(default)]
        data: serde_json::Value,
    }

    pub(crate) fn serialize<S: Serializer>(payload: &Payload, s: S) -> Result<S::Ok, S::Error> {
        Out {
            data_type: payload.data_type(),
            data: payload.to_frame_data(),
        }
        .serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Payload, D::Error> {
        let raw = In::deserialize(d)?;
        Payload::from_frame(raw.data_type, raw.data).map_err(D::Error::custom)
    }

    /// `dataType` and `data` when present (invocations may carry none).
    pub(crate) mod optional {
        use serde::de::Error as _;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        use super::{DataType, Out, Payload};

        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct MaybeIn {
            #[serde(default)]
            data_type: Option<DataType>,
            #[serde(default)]
            data: Option<serde_json::Value>,
        }

        pub(crate) fn serialize<S: Serializer>(
            payload: &Option<Payload>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match payload {
                Some(payload) => Out {
                    data_type: payload.data_type(),
                    data: payload.to_frame_data(),
                }
                .serialize(s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Payload>, D::Error> {
            let raw = MaybeIn::deserialize(d)?;
            match (raw.data_type, raw.data) {
                (_, None) => Ok(None),
                (data_type, Some(data)) => Payload::from_frame(data_type.unwrap_or_default(), data)
                    .map(Some)
                    .map_err(D::Error::custom),
            }
        }
    }
}
