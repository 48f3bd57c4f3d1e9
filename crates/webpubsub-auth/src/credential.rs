//! Microsoft Entra ID credentials: the [`TokenCredential`] trait the service client uses.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::secret::Secret;

#[cfg(feature = "azure_core")]
mod azure_core_adapter;
#[cfg(feature = "azure_core")]
#[cfg_attr(docsrs, doc(cfg(feature = "azure_core")))]
pub use azure_core_adapter::AzureCoreCredential;

/// The OAuth scope of the Web PubSub data plane.
pub const WEBPUBSUB_SCOPE: &str = "https://webpubsub.azure.com/.default";

/// An Entra ID access token and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer token (redacted in `Debug`).
    pub token: Secret,
    /// When the token stops being valid.
    pub expires_at: SystemTime,
}

impl AccessToken {
    /// A token and its expiry.
    pub fn new(token: impl Into<Secret>, expires_at: SystemTime) -> Self {
        Self {
            token: token.into(),
            expires_at,
        }
    }

    /// Whether the token expires within `margin` of `now`; the service client refreshes tokens
    /// 5 minutes before they expire.
    pub fn expires_within(&self, margin: Duration, now: SystemTime) -> bool {
        now + margin >= self.expires_at
    }
}

/// A credential failed to produce a token.
#[derive(Debug)]
pub struct CredentialError {
    message: String,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl CredentialError {
    /// An error with a message (which must not contain secrets).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and the underlying cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for CredentialError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Something that produces Entra ID access tokens for a set of scopes.
///
/// The service client asks for [`WEBPUBSUB_SCOPE`], caches the token and refreshes it 5 minutes
/// before it expires. With the `azure_core` feature, [`AzureCoreCredential`] adapts any
/// `azure_core::credentials::TokenCredential` (for example from `azure_identity`).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use webpubsub_auth::{AccessToken, CredentialError, TokenCredential};
///
/// #[derive(Debug)]
/// struct FixedToken(&'static str);
///
/// #[async_trait::async_trait]
/// impl TokenCredential for FixedToken {
///     async fn get_token(&self, _scopes: &[&str]) -> Result<AccessToken, CredentialError> {
///         Ok(AccessToken::new(self.0, SystemTime::now() + Duration::from_secs(3600)))
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait TokenCredential: Send + Sync + fmt::Debug {
    /// Gets a token for `scopes`.
    ///
    /// # Errors
    /// A [`CredentialError`] when no token can be obtained.
    async fn get_token(&self, scopes: &[&str]) -> Result<AccessToken, CredentialError>;
}

#[async_trait::async_trait]
impl<T: TokenCredential + ?Sized> TokenCredential for Arc<T> {
    async fn get_token(&self, scopes: &[&str]) -> Result<AccessToken, CredentialError> {
        (**self).get_token(scopes).await
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// Polls a future that never waits on I/O to completion (no runtime needed).
    pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::block_on;
    use super::*;

    #[derive(Debug)]
    struct Fixed;

    #[async_trait::async_trait]
    impl TokenCredential for Fixed {
        async fn get_token(&self, scopes: &[&str]) -> Result<AccessToken, CredentialError> {
            if scopes == [WEBPUBSUB_SCOPE] {
                Ok(AccessToken::new(
                    "tok",
                    SystemTime::UNIX_EPOCH + Duration::from_secs(100),
                ))
            } else {
                Err(CredentialError::with_source(
                    "wrong scope",
                    std::io::Error::other("cause"),
                ))
            }
        }
    }

    #[test]
    fn trait_objects_and_arcs_work() {
        let credential: Arc<dyn TokenCredential> = Arc::new(Fixed);
        let token = block_on(credential.get_token(&[WEBPUBSUB_SCOPE])).unwrap();
        assert_eq!(token.token.expose(), "tok");
        assert!(!format!("{token:?}").contains("tok\""));
        assert!(token.expires_within(Duration::from_secs(300), SystemTime::UNIX_EPOCH));
        assert!(!token.expires_within(Duration::from_secs(99), SystemTime::UNIX_EPOCH));
        let err = block_on(credential.get_token(&["other"])).unwrap_err();
        assert_eq!(err.to_string(), "wrong scope");
        assert_eq!(err.source().unwrap().to_string(), "cause");
    }
}
