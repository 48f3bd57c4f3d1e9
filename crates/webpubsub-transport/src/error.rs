//! The transport error: what happened, and whether the request may have reached the server.

use std::error::Error as StdError;
use std::fmt;
#[cfg(feature = "hyper")]
use std::time::Duration;

/// What kind of failure a transport [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No connection could be made (refused, unreachable, DNS). The request was never sent.
    Connect,
    /// Connecting took longer than the connect timeout. The request was never sent.
    ConnectTimeout,
    /// The TLS handshake failed (untrusted certificate, wrong name, protocol). Never sent.
    Tls,
    /// The response did not arrive within the response timeout. The request may have been
    /// processed.
    ResponseTimeout,
    /// The connection broke after the request was (possibly) written. It may have been processed.
    ConnectionBroken,
    /// The response body was larger than the configured cap.
    ResponseTooLarge,
    /// The request could not be sent as given (bad URL, unsupported scheme). Never sent.
    InvalidRequest,
    /// Anything else.
    Other,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Connect => "could not connect",
            ErrorKind::ConnectTimeout => "timed out while connecting",
            ErrorKind::Tls => "the TLS handshake failed",
            ErrorKind::ResponseTimeout => "timed out waiting for the response",
            ErrorKind::ConnectionBroken => "the connection broke after the request was sent",
            ErrorKind::ResponseTooLarge => "the response body is larger than the limit",
            ErrorKind::InvalidRequest => "the request is invalid",
            ErrorKind::Other => "the HTTP request failed",
        }
    }
}

/// A transport failure.
///
/// [`Error::request_sent`] tells retry logic whether a non-idempotent request (a POST send) is safe
/// to resend: only when it provably never left. The message never contains the URL, whose query may
/// hold an `access_token`.
///
/// ```
/// use webpubsub_transport::{Error, ErrorKind};
///
/// let err = Error::new(ErrorKind::Connect);
/// assert!(err.is_connect());
/// assert!(!err.request_sent());
/// assert_eq!(err.to_string(), "could not connect");
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    detail: Option<String>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            detail: None,
            source: None,
        }
    }

    /// An error of `kind` caused by `source`.
    pub fn with_source(
        kind: ErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            detail: None,
            source: Some(source.into()),
        }
    }

    /// Adds a short detail to the message (must not contain secrets or URLs).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    #[cfg(feature = "hyper")]
    pub(crate) fn response_timeout(after: Duration) -> Self {
        Self::new(ErrorKind::ResponseTimeout).with_detail(format!("after {after:?}"))
    }

    #[cfg(feature = "hyper")]
    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(ErrorKind::ResponseTooLarge).with_detail(format!("limit {limit} bytes"))
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the request may have reached the server. `false` only when it provably did not
    /// (connect failure, connect timeout, TLS failure, invalid request).
    pub fn request_sent(&self) -> bool {
        !matches!(
            self.kind,
            ErrorKind::Connect
                | ErrorKind::ConnectTimeout
                | ErrorKind::Tls
                | ErrorKind::InvalidRequest
        )
    }

    /// Whether no connection could be made (including a connect timeout and TLS failure).
    pub fn is_connect(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Connect | ErrorKind::ConnectTimeout | ErrorKind::Tls
        )
    }

    /// Whether a timeout (connect or response) expired.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::ConnectTimeout | ErrorKind::ResponseTimeout
        )
    }
}

impl fmt::Display for Error {
    /// The kind and detail only; the cause is available through `source()` (never repeated here).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.describe())?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_sent_is_false_only_when_provably_not_sent() {
        use ErrorKind::*;
        for (kind, sent) in [
            (Connect, false),
            (ConnectTimeout, false),
            (Tls, false),
            (InvalidRequest, false),
            (ResponseTimeout, true),
            (ConnectionBroken, true),
            (ResponseTooLarge, true),
            (Other, true),
        ] {
            assert_eq!(Error::new(kind).request_sent(), sent, "{kind:?}");
        }
        assert!(Error::new(ConnectTimeout).is_timeout() && Error::new(ConnectTimeout).is_connect());
        assert!(
            Error::new(ResponseTimeout).is_timeout() && !Error::new(ResponseTimeout).is_connect()
        );
    }

    #[test]
    fn display_does_not_repeat_the_source() {
        let err = Error::with_source(ErrorKind::Tls, std::io::Error::other("bad certificate"))
            .with_detail("handshake");
        assert_eq!(err.to_string(), "the TLS handshake failed (handshake)");
        assert_eq!(err.source().unwrap().to_string(), "bad certificate");
    }
}
