//! The service client's one error type.

use std::error::Error as StdError;
use std::fmt;

use webpubsub_protocol::ServiceError;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument or option broke a rule; nothing was sent.
    InvalidInput,
    /// The service answered 401 or 403: the key, token or role is wrong.
    Authentication,
    /// The service answered 404 (for an operation where that is an error).
    NotFound,
    /// The service answered another non-success status.
    Service,
    /// The HTTP transport failed; see [`Error::transport_kind`].
    Transport,
    /// The per-try or overall timeout expired.
    Timeout,
    /// The Entra ID credential could not produce a token.
    Credential,
    /// A success response could not be decoded.
    Decode,
}

/// An error from [`crate::WebPubSubServiceClient`].
///
/// Check the kind with the `is_*` methods; service errors carry [`Error::status`],
/// [`Error::error_code`], [`Error::message`] and [`Error::raw_body`]. `Display` never contains a
/// key, a token or the cause's message (walk [`std::error::Error::source`] for that).
///
/// ```
/// # async fn demo(client: webpubsub::WebPubSubServiceClient) {
/// match client.add_connection_to_group("room", "no-such-connection").await {
///     Ok(()) => {}
///     Err(e) if e.is_not_found() => eprintln!("gone: {:?}", e.error_code()),
///     Err(e) => eprintln!("failed: {e}"),
/// }
/// # }
/// ```
pub struct Error {
    kind: ErrorKind,
    context: String,
    service: Option<Box<ServiceError>>,
    transport_kind: Option<webpubsub_transport::ErrorKind>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, context: impl Into<String>) -> Self {
        Self {
            kind,
            context: context.into(),
            service: None,
            transport_kind: None,
            source: None,
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    pub(crate) fn invalid_input(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        let source = source.into();
        // The protocol crate's validation messages name the field and rule and hold no secret.
        let context = format!("invalid input: {source}");
        Self::new(ErrorKind::InvalidInput, context).with_source(source)
    }

    pub(crate) fn transport(error: webpubsub_transport::Error) -> Self {
        let mut e = Self::new(ErrorKind::Transport, "the request could not be completed");
        e.transport_kind = Some(error.kind());
        e.with_source(error)
    }

    pub(crate) fn from_service(service: ServiceError) -> Self {
        let kind = match service.status {
            401 | 403 => ErrorKind::Authentication,
            404 => ErrorKind::NotFound,
            _ => ErrorKind::Service,
        };
        let mut e = Self::new(kind, service.to_string());
        e.service = Some(Box::new(service));
        e
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status, for errors the service answered.
    pub fn status(&self) -> Option<u16> {
        self.service.as_ref().map(|s| s.status)
    }

    /// The service's error code (`x-ms-error-code` or the body's `code`).
    pub fn error_code(&self) -> Option<&str> {
        self.service.as_ref().and_then(|s| s.code.as_deref())
    }

    /// The service's error message.
    pub fn message(&self) -> Option<&str> {
        self.service.as_ref().and_then(|s| s.message.as_deref())
    }

    /// The raw response body of a service error.
    pub fn raw_body(&self) -> Option<&[u8]> {
        self.service.as_ref().map(|s| s.raw_body.as_slice())
    }

    /// The service error, with its parsed detail.
    pub fn service_error(&self) -> Option<&ServiceError> {
        self.service.as_deref()
    }

    /// The transport failure kind, for [`ErrorKind::Transport`].
    pub fn transport_kind(&self) -> Option<webpubsub_transport::ErrorKind> {
        self.transport_kind
    }

    /// Invalid argument or option; nothing was sent.
    pub fn is_invalid_input(&self) -> bool {
        self.kind == ErrorKind::InvalidInput
    }

    /// 401 or 403 from the service.
    pub fn is_authentication(&self) -> bool {
        self.kind == ErrorKind::Authentication
    }

    /// 404 from the service.
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// Any status the service answered with (401, 403 and 404 included).
    pub fn is_service(&self) -> bool {
        self.service.is_some()
    }

    /// The transport failed.
    pub fn is_transport(&self) -> bool {
        self.kind == ErrorKind::Transport
    }

    /// A timeout expired (ours, or the transport's).
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
            || self.transport_kind.is_some_and(|k| {
                matches!(
                    k,
                    webpubsub_transport::ErrorKind::ConnectTimeout
                        | webpubsub_transport::ErrorKind::ResponseTimeout
                )
            })
    }

    /// The credential failed.
    pub fn is_credential(&self) -> bool {
        self.kind == ErrorKind::Credential
    }

    /// A success response could not be decoded.
    pub fn is_decode(&self) -> bool {
        self.kind == ErrorKind::Decode
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("context", &self.context);
        if let Some(service) = &self.service {
            d.field("status", &service.status)
                .field("code", &service.code)
                .field("message", &service.message);
        }
        if let Some(kind) = &self.transport_kind {
            d.field("transport_kind", kind);
        }
        if let Some(source) = &self.source {
            d.field("source", &source.to_string());
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

impl From<webpubsub_protocol::ValidationError> for Error {
    /// A rule broken by an argument (for `?` on [`crate::Message::json`] and friends).
    fn from(error: webpubsub_protocol::ValidationError) -> Self {
        Error::invalid_input(error)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
