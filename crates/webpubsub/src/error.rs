//! The service client's one error type: opaque, one pointer wide, with a kind that every `is_*`
//! check agrees with.

use std::error::Error as StdError;
use std::fmt;

use http::HeaderMap;
use webpubsub_protocol::rest::ServiceError;

/// What kind of failure an [`Error`] is. Each `Error::is_*` check is exactly one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument or option broke a rule; nothing was sent.
    InvalidInput,
    /// The service answered 401 or 403: the key, token or role is wrong.
    Authentication,
    /// The service answered 404 (for an operation where that is an error).
    NotFound,
    /// The service answered another status that is not the operation's success.
    Service,
    /// The request could not be completed: connection refused or reset, TLS, a bad response.
    Transport,
    /// A timeout expired: the per-try or overall timeout, or the transport's connect or response
    /// timeout.
    Timeout,
    /// The Entra ID credential could not produce a token.
    Credential,
    /// A success response could not be decoded.
    Decode,
}

type BoxError = Box<dyn StdError + Send + Sync>;

struct Inner {
    kind: ErrorKind,
    context: String,
    service: Option<ServiceError>,
    headers: Option<HeaderMap>,
    source: Option<BoxError>,
}

/// An error from [`crate::WebPubSubServiceClient`].
///
/// Check the kind with [`Error::kind`] or the `is_*` methods (they agree). Errors the service
/// answered carry [`Error::status`], [`Error::error_code`], [`Error::message`],
/// [`Error::raw_body`], the response headers and the request ids to quote in a support case.
/// `Display` never contains a key, a token or the cause's message (walk
/// [`std::error::Error::source`] for that).
///
/// ```
/// # async fn demo(client: webpubsub::WebPubSubServiceClient) {
/// match client.add_connection_to_group("room", "no-such-connection", None).await {
///     Ok(()) => {}
///     Err(e) if e.is_not_found() => eprintln!("gone: {:?} (request {:?})", e.error_code(), e.request_id()),
///     Err(e) => eprintln!("failed: {e}"),
/// }
/// # }
/// ```
pub struct Error {
    inner: Box<Inner>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, context: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                context: context.into(),
                service: None,
                headers: None,
                source: None,
            }),
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    pub(crate) fn invalid_input(source: impl Into<BoxError>) -> Self {
        let source = source.into();
        // The rules' messages name the field and rule and hold no secret.
        let context = format!("invalid input: {source}");
        Self::new(ErrorKind::InvalidInput, context).with_source(source)
    }

    pub(crate) fn transport(error: webpubsub_transport::Error) -> Self {
        use webpubsub_transport::ErrorKind as T;
        let (kind, context) = match error.kind() {
            T::ConnectTimeout => (ErrorKind::Timeout, "the connection timed out"),
            T::ResponseTimeout => (ErrorKind::Timeout, "the response timed out"),
            _ => (ErrorKind::Transport, "the request could not be completed"),
        };
        Self::new(kind, context).with_source(error)
    }

    pub(crate) fn from_service(service: ServiceError, headers: HeaderMap) -> Self {
        let kind = match service.status {
            401 | 403 => ErrorKind::Authentication,
            404 => ErrorKind::NotFound,
            _ => ErrorKind::Service,
        };
        let mut e = Self::new(kind, service.to_string());
        e.inner.service = Some(service);
        e.inner.headers = Some(headers);
        e
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status, for errors the service answered.
    pub fn status(&self) -> Option<u16> {
        self.inner.service.as_ref().map(|s| s.status)
    }

    /// The service's error code (`x-ms-error-code` or the body's `code`).
    pub fn error_code(&self) -> Option<&str> {
        self.inner.service.as_ref().and_then(|s| s.code.as_deref())
    }

    /// The service's error message.
    pub fn message(&self) -> Option<&str> {
        self.inner
            .service
            .as_ref()
            .and_then(|s| s.message.as_deref())
    }

    /// The raw response body of a service error.
    pub fn raw_body(&self) -> Option<&[u8]> {
        self.inner.service.as_ref().map(|s| s.raw_body.as_slice())
    }

    /// The service error, with its parsed detail.
    pub fn service_error(&self) -> Option<&ServiceError> {
        self.inner.service.as_ref()
    }

    /// The response headers of a service error.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.inner.headers.as_ref()
    }

    /// The service's `x-ms-request-id` of the failed request.
    pub fn request_id(&self) -> Option<&str> {
        self.header("x-ms-request-id")
    }

    /// The `x-ms-client-request-id` the client sent (the service echoes it).
    pub fn client_request_id(&self) -> Option<&str> {
        self.header("x-ms-client-request-id")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers()?.get(name)?.to_str().ok()
    }

    /// [`ErrorKind::InvalidInput`]: nothing was sent.
    pub fn is_invalid_input(&self) -> bool {
        self.kind() == ErrorKind::InvalidInput
    }

    /// [`ErrorKind::Authentication`]: 401 or 403.
    pub fn is_authentication(&self) -> bool {
        self.kind() == ErrorKind::Authentication
    }

    /// [`ErrorKind::NotFound`]: 404.
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }

    /// [`ErrorKind::Service`]: another status. (Every error the service answered, 401, 403 and
    /// 404 included, has a [`Error::status`].)
    pub fn is_service(&self) -> bool {
        self.kind() == ErrorKind::Service
    }

    /// [`ErrorKind::Transport`].
    pub fn is_transport(&self) -> bool {
        self.kind() == ErrorKind::Transport
    }

    /// [`ErrorKind::Timeout`]: ours or the transport's.
    pub fn is_timeout(&self) -> bool {
        self.kind() == ErrorKind::Timeout
    }

    /// [`ErrorKind::Credential`].
    pub fn is_credential(&self) -> bool {
        self.kind() == ErrorKind::Credential
    }

    /// [`ErrorKind::Decode`].
    pub fn is_decode(&self) -> bool {
        self.kind() == ErrorKind::Decode
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.context)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &inner.kind)
            .field("context", &inner.context);
        if let Some(service) = &inner.service {
            d.field("status", &service.status)
                .field("code", &service.code)
                .field("message", &service.message)
                .field("request_id", &self.request_id());
        }
        if let Some(source) = &inner.source {
            d.field("source", &source.to_string());
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

impl From<webpubsub_protocol::ValidationError> for Error {
    /// A rule broken by an argument (for `?` on [`crate::Payload::json`] and friends).
    fn from(error: webpubsub_protocol::ValidationError) -> Self {
        Error::invalid_input(error)
    }
}

impl From<webpubsub_auth::EndpointError> for Error {
    /// A bad endpoint URL (for `?` on [`crate::Endpoint::parse`]).
    fn from(error: webpubsub_auth::EndpointError) -> Self {
        Error::invalid_input(error)
    }
}

impl From<webpubsub_auth::ConnectionStringError> for Error {
    /// A bad connection string (the message never contains the key).
    fn from(error: webpubsub_auth::ConnectionStringError) -> Self {
        Error::invalid_input(error)
    }
}

impl From<webpubsub_auth::TokenError> for Error {
    /// A client access token that could not be minted.
    fn from(error: webpubsub_auth::TokenError) -> Self {
        Error::invalid_input(error)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
        assert_eq!(
            std::mem::size_of::<Result<()>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn every_check_agrees_with_the_kind() {
        let service = |status| {
            Error::from_service(
                ServiceError::from_response(status, None, b""),
                HeaderMap::new(),
            )
        };
        let errors = [
            Error::new(ErrorKind::InvalidInput, ""),
            service(401),
            service(404),
            service(500),
            Error::new(ErrorKind::Transport, ""),
            Error::new(ErrorKind::Timeout, ""),
            Error::new(ErrorKind::Credential, ""),
            Error::new(ErrorKind::Decode, ""),
        ];
        for e in &errors {
            let checks = [
                (e.is_invalid_input(), ErrorKind::InvalidInput),
                (e.is_authentication(), ErrorKind::Authentication),
                (e.is_not_found(), ErrorKind::NotFound),
                (e.is_service(), ErrorKind::Service),
                (e.is_transport(), ErrorKind::Transport),
                (e.is_timeout(), ErrorKind::Timeout),
                (e.is_credential(), ErrorKind::Credential),
                (e.is_decode(), ErrorKind::Decode),
            ];
            for (check, kind) in checks {
                assert_eq!(check, e.kind() == kind, "{e:?} vs {kind:?}");
            }
            assert_eq!(checks.iter().filter(|(c, _)| *c).count(), 1, "{e:?}");
        }
    }

    #[test]
    fn service_errors_keep_the_request_ids() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-request-id", "r-1".parse().unwrap());
        headers.insert("x-ms-client-request-id", "c-1".parse().unwrap());
        let e = Error::from_service(ServiceError::from_response(500, None, b"{}"), headers);
        assert_eq!(e.request_id(), Some("r-1"));
        assert_eq!(e.client_request_id(), Some("c-1"));
        assert_eq!(e.status(), Some(500));
    }
}
