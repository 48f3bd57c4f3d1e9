//! Client options and the credential the client signs with.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use webpubsub_auth::{AccessKey, Endpoint, TokenCredential};
use webpubsub_transport::HttpClient;

use crate::retry::RetryOptions;

/// How the client authenticates.
#[derive(Clone)]
pub enum Credential {
    /// An access key: every request carries a fresh HS256 JWT whose audience is its exact URL.
    AccessKey(AccessKey),
    /// Microsoft Entra ID: tokens for `https://webpubsub.azure.com/.default`, cached and refreshed
    /// 5 minutes before they expire.
    TokenCredential(Arc<dyn TokenCredential>),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::AccessKey(key) => f.debug_tuple("AccessKey").field(key).finish(),
            Credential::TokenCredential(c) => f.debug_tuple("TokenCredential").field(c).finish(),
        }
    }
}

impl From<AccessKey> for Credential {
    fn from(key: AccessKey) -> Self {
        Credential::AccessKey(key)
    }
}

impl From<Arc<dyn TokenCredential>> for Credential {
    fn from(credential: Arc<dyn TokenCredential>) -> Self {
        Credential::TokenCredential(credential)
    }
}

/// Options of [`crate::WebPubSubServiceClient`], with documented defaults.
///
/// ```
/// use std::time::Duration;
/// use webpubsub::{RetryOptions, WebPubSubServiceClientOptions};
///
/// let options = WebPubSubServiceClientOptions {
///     per_try_timeout: Some(Duration::from_secs(10)),
///     retry: RetryOptions { max_retries: 5, ..Default::default() },
///     user_agent_suffix: Some("my-app/1.2".into()),
///     ..Default::default()
/// };
/// ```
#[derive(Clone)]
pub struct WebPubSubServiceClientOptions {
    /// The `api-version` sent with every request. Default `2024-12-01`.
    pub api_version: String,
    /// Send requests to this endpoint instead (an API Management gateway, say). Its scheme, host,
    /// port and path prefix replace the service endpoint's; tokens keep the service URL as their
    /// audience. Client access URLs still use the service endpoint. Default none.
    pub reverse_proxy_endpoint: Option<Endpoint>,
    /// Retries. Default [`RetryOptions::default`]: 3 retries, safe for sends.
    pub retry: RetryOptions,
    /// Time allowed for one attempt, response read included. Default 30 s.
    pub per_try_timeout: Option<Duration>,
    /// Time allowed for a whole call, retries and back-off included. Default 120 s.
    pub overall_timeout: Option<Duration>,
    /// Put in front of the `User-Agent` (e.g. `my-app/1.2` gives
    /// `my-app/1.2 azsdk-rust-webpubsub/<version>`). Default none.
    pub user_agent_suffix: Option<String>,
    /// The HTTP client. Default a new `HyperClient` (feature `hyper`).
    pub transport: Option<Arc<dyn HttpClient>>,
    /// Send Entra ID bearer tokens over plain `http://` (local tests only). Default `false`.
    pub allow_insecure_token_credential: bool,
}

impl Default for WebPubSubServiceClientOptions {
    fn default() -> Self {
        Self {
            api_version: webpubsub_protocol::API_VERSION.to_owned(),
            reverse_proxy_endpoint: None,
            retry: RetryOptions::default(),
            per_try_timeout: Some(Duration::from_secs(30)),
            overall_timeout: Some(Duration::from_secs(120)),
            user_agent_suffix: None,
            transport: None,
            allow_insecure_token_credential: false,
        }
    }
}

impl fmt::Debug for WebPubSubServiceClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebPubSubServiceClientOptions")
            .field("api_version", &self.api_version)
            .field("reverse_proxy_endpoint", &self.reverse_proxy_endpoint)
            .field("retry", &self.retry)
            .field("per_try_timeout", &self.per_try_timeout)
            .field("overall_timeout", &self.overall_timeout)
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("transport", &self.transport)
            .field(
                "allow_insecure_token_credential",
                &self.allow_insecure_token_credential,
            )
            .finish()
    }
}
