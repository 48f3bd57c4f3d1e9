//! One opaque error type with a kind, `is_*()` checks that agree with it, and a source chain.
//! Nothing in it (kind, message, source) ever holds a client URL's query or an access token.

use std::fmt;

use webpubsub_protocol::frames::AckErrorName;
use webpubsub_protocol::ValidationError;

/// A boxed error from a URL provider or the network.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A group or event name the service would refuse (the source is the validation error).
    InvalidInput,
    /// The frame would be larger than the service takes from a client.
    MessageTooLarge {
        /// The frame's size in bytes.
        size: usize,
        /// The limit ([`crate::MAX_FRAME_BYTES`]).
        limit: usize,
    },
    /// The URL provider failed, or gave something that is not a WebSocket URL.
    Credential,
    /// The service refused the upgrade (`status`: 401 for a bad or expired token, 403, ...),
    /// did not echo the subprotocol, or closed before `connected`.
    Handshake {
        /// The HTTP status of a refused upgrade.
        status: Option<u16>,
        /// The close code, when it closed during the handshake.
        close_code: Option<u16>,
    },
    /// The TCP or TLS connection failed.
    Connect,
    /// The upgrade or the `connected` frame did not come within `connect_timeout`.
    ConnectTimeout,
    /// The client is not connected (stopped, or between connections) and the retries ran out.
    NotConnected,
    /// The connection dropped before the ack came, and the retries ran out.
    ConnectionLost,
    /// No ack within `ack_timeout`, on every attempt.
    AckTimeout {
        /// The operation's ack id (the service may still run it once).
        ack_id: u64,
    },
    /// The service answered the operation with an error ack.
    Ack {
        /// The operation's ack id.
        ack_id: u64,
        /// The error's name (`Forbidden`, `BadRequest`, `InternalServerError`, ...).
        name: AckErrorName,
        /// The service's message.
        message: Option<String>,
    },
    /// The invocation failed: the handler refused or the service could not reach it.
    Invocation {
        /// The invocation id.
        invocation_id: String,
        /// The error's name.
        name: AckErrorName,
        /// The service's message.
        message: Option<String>,
    },
    /// No reply to an invocation within `invoke_timeout` (it was cancelled).
    InvocationTimeout {
        /// The invocation id.
        invocation_id: String,
    },
}

/// An error of the client. Small (one pointer); [`Error::kind`] says what went wrong.
///
/// ```
/// # async fn demo(client: webpubsub_client::WebPubSubClient) {
/// match client.join_group("room").await {
///     Ok(_) => {}
///     Err(e) if e.is_forbidden() => eprintln!("this token may not join: {e}"),
///     Err(e) if e.is_timeout() => eprintln!("no answer: {e}"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    context: String,
    source: Option<BoxError>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, context: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                context: context.into(),
                source: None,
            }),
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    pub(crate) fn invalid(e: ValidationError) -> Self {
        Self::new(ErrorKind::InvalidInput, "invalid input").with_source(e)
    }

    pub(crate) fn credential(source: BoxError) -> Self {
        Self::new(ErrorKind::Credential, "the client URL provider failed").with_source(source)
    }

    pub(crate) fn not_connected() -> Self {
        Self::new(ErrorKind::NotConnected, "the client is not connected")
    }

    pub(crate) fn connection_lost() -> Self {
        Self::new(
            ErrorKind::ConnectionLost,
            "the connection dropped before the answer came",
        )
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The ack error name, for [`ErrorKind::Ack`] and [`ErrorKind::Invocation`].
    pub fn ack_error_name(&self) -> Option<&AckErrorName> {
        match &self.inner.kind {
            ErrorKind::Ack { name, .. } | ErrorKind::Invocation { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The HTTP status of a refused upgrade.
    pub fn status(&self) -> Option<u16> {
        match self.inner.kind {
            ErrorKind::Handshake { status, .. } => status,
            _ => None,
        }
    }

    /// The service answered `Forbidden` (the connection lacks the role).
    pub fn is_forbidden(&self) -> bool {
        self.ack_error_name() == Some(&AckErrorName::Forbidden)
    }

    /// An ack, connect or invocation timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::AckTimeout { .. }
                | ErrorKind::ConnectTimeout
                | ErrorKind::InvocationTimeout { .. }
        )
    }

    /// Bad input, refused before anything was sent.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::InvalidInput | ErrorKind::MessageTooLarge { .. }
        )
    }

    /// The upgrade was refused or broke off.
    pub fn is_handshake(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Handshake { .. })
    }

    /// Whether trying again (with the same ack id) may succeed: the operation may not have
    /// reached the service. Service answers, bad input and bad credentials are not.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::NotConnected
                | ErrorKind::ConnectionLost
                | ErrorKind::AckTimeout { .. }
                | ErrorKind::Connect
                | ErrorKind::ConnectTimeout
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            ErrorKind::MessageTooLarge { size, limit } => write!(
                f,
                "{}: the frame is {size} bytes, the service takes at most {limit}",
                self.inner.context
            )?,
            ErrorKind::Handshake { status, close_code } => {
                f.write_str(&self.inner.context)?;
                if let Some(status) = status {
                    write!(f, " (HTTP {status})")?;
                }
                if let Some(code) = close_code {
                    write!(f, " (close code {code})")?;
                }
            }
            ErrorKind::AckTimeout { ack_id } => {
                write!(f, "{} (ack id {ack_id})", self.inner.context)?
            }
            ErrorKind::Ack {
                ack_id,
                name,
                message,
            } => {
                write!(f, "{}: {name} (ack id {ack_id})", self.inner.context)?;
                if let Some(message) = message {
                    write!(f, ": {message}")?;
                }
            }
            ErrorKind::Invocation {
                invocation_id,
                name,
                message,
            } => {
                write!(
                    f,
                    "{}: {name} (invocation {invocation_id})",
                    self.inner.context
                )?;
                if let Some(message) = message {
                    write!(f, ": {message}")?;
                }
            }
            ErrorKind::InvocationTimeout { invocation_id } => {
                write!(f, "{} (invocation {invocation_id})", self.inner.context)?
            }
            _ => f.write_str(&self.inner.context)?,
        }
        if let Some(source) = &self.inner.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("context", &self.inner.context)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pointer_and_checks_agree_with_kinds() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
        let forbidden = Error::new(
            ErrorKind::Ack {
                ack_id: 3,
                name: AckErrorName::Forbidden,
                message: Some("no role".into()),
            },
            "join_group(\"room\") failed",
        );
        assert!(forbidden.is_forbidden() && !forbidden.is_retriable() && !forbidden.is_timeout());
        assert_eq!(
            forbidden.to_string(),
            "join_group(\"room\") failed: Forbidden (ack id 3): no role"
        );
        let timeout = Error::new(ErrorKind::AckTimeout { ack_id: 9 }, "no ack");
        assert!(timeout.is_timeout() && timeout.is_retriable());
        let refused = Error::new(
            ErrorKind::Handshake {
                status: Some(401),
                close_code: None,
            },
            "the service refused the upgrade",
        );
        assert_eq!(refused.status(), Some(401));
        assert!(refused.is_handshake() && !refused.is_retriable());
        assert_eq!(
            refused.to_string(),
            "the service refused the upgrade (HTTP 401)"
        );
        let invalid = Error::invalid(webpubsub_protocol::validate::group("").unwrap_err());
        assert!(invalid.is_invalid_input());
        assert!(std::error::Error::source(&invalid).is_some());
    }
}
