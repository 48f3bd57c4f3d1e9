//! Plugs any `azure_core::credentials::TokenCredential` (such as `azure_identity`'s) in.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{AccessToken, CredentialError, TokenCredential};

/// Adapts an `azure_core` credential to this crate's [`TokenCredential`].
///
/// ```no_run
/// # use std::sync::Arc;
/// # fn demo(credential: Arc<dyn azure_core::credentials::TokenCredential>) {
/// use webpubsub_auth::AzureCoreCredential;
///
/// // e.g. credential = azure_identity::DeveloperToolsCredential::new(None)?
/// let credential = AzureCoreCredential::new(credential);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AzureCoreCredential(Arc<dyn azure_core::credentials::TokenCredential>);

impl AzureCoreCredential {
    /// Wraps an `azure_core` credential.
    pub fn new(credential: Arc<dyn azure_core::credentials::TokenCredential>) -> Self {
        Self(credential)
    }
}

#[async_trait::async_trait]
impl TokenCredential for AzureCoreCredential {
    async fn get_token(&self, scopes: &[&str]) -> Result<AccessToken, CredentialError> {
        let token = self
            .0
            .get_token(scopes, None)
            .await
            .map_err(|e| CredentialError::with_source("the azure_core credential failed", e))?;
        let seconds = token.expires_on.unix_timestamp();
        let expires_at = u64::try_from(seconds)
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Ok(AccessToken::new(token.token.secret(), expires_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::test_support::block_on;
    use crate::credential::WEBPUBSUB_SCOPE;
    use azure_core::credentials::{AccessToken as AzAccessToken, TokenRequestOptions};
    use azure_core::time::OffsetDateTime;

    #[derive(Debug)]
    struct Fake;

    #[async_trait::async_trait]
    impl azure_core::credentials::TokenCredential for Fake {
        async fn get_token(
            &self,
            scopes: &[&str],
            _options: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AzAccessToken> {
            if scopes != [WEBPUBSUB_SCOPE] {
                return Err(azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    "unexpected scope",
                ));
            }
            Ok(AzAccessToken::new(
                "entra-token",
                OffsetDateTime::from_unix_timestamp(2_000_000_000).unwrap(),
            ))
        }
    }

    #[test]
    fn adapts_tokens_and_errors() {
        let credential = AzureCoreCredential::new(Arc::new(Fake));
        let token = block_on(credential.get_token(&[WEBPUBSUB_SCOPE])).unwrap();
        assert_eq!(token.token.expose(), "entra-token");
        assert_eq!(
            token.expires_at,
            SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000)
        );
        let err = block_on(credential.get_token(&["x"])).unwrap_err();
        assert!(std::error::Error::source(&err).is_some());
    }
}
