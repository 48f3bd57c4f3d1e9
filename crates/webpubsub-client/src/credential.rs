//! Where the client's URL comes from: fixed, or asked for before every new connection (so an
//! expired token is replaced by a fresh one when the client reconnects).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use webpubsub_auth::{ClientAccessTokenOptions, ConnectionString};

use crate::error::{BoxError, Error};

type UrlFuture = Pin<Box<dyn Future<Output = Result<String, BoxError>> + Send>>;

#[derive(Clone)]
enum Source {
    Url(Arc<str>),
    Provider(Arc<dyn Fn() -> UrlFuture + Send + Sync>),
}

/// The client access URL: fixed, or from an async provider called for every new connection
/// (recoveries reuse the connection's URL, as the service expects).
///
/// ```
/// use webpubsub_client::ClientCredential;
///
/// let fixed = ClientCredential::from_url("wss://contoso.webpubsub.azure.com/client/hubs/chat?access_token=ey...");
/// // Never shows the token:
/// assert_eq!(format!("{fixed:?}"), "ClientCredential::Url(\"wss://contoso.webpubsub.azure.com/client/hubs/chat\")");
///
/// // A negotiate endpoint, your service client, anything async:
/// let provider = ClientCredential::from_provider(|| async {
///     Ok::<_, std::io::Error>("ws://localhost:8080/client/hubs/chat?access_token=ey...".to_owned())
/// });
/// # let _ = provider;
/// ```
///
/// With the service client of the `webpubsub` crate, a provider mints a fresh token per
/// connection:
///
/// ```ignore
/// let service = webpubsub::WebPubSubServiceClient::from_connection_string(&cs, "chat", None)?;
/// let credential = ClientCredential::from_provider(move || {
///     let service = service.clone();
///     async move { Ok::<_, webpubsub::Error>(service.get_client_access_token(None).await?.url) }
/// });
/// ```
#[derive(Clone)]
pub struct ClientCredential {
    source: Source,
}

impl ClientCredential {
    /// A fixed URL (`wss://host/client/hubs/{hub}?access_token=...`).
    pub fn from_url(url: impl Into<String>) -> Self {
        Self {
            source: Source::Url(url.into().into()),
        }
    }

    /// A provider called before every new connection (not before recoveries).
    pub fn from_provider<F, Fut, E>(provider: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let provider = Arc::new(move || {
            let url = provider();
            Box::pin(async move { url.await.map_err(Into::into) }) as UrlFuture
        });
        Self {
            source: Source::Provider(provider),
        }
    }

    /// Mints a fresh client token for `hub` with the connection string's key before every new
    /// connection: no service round trip, and tokens never go stale across reconnects.
    ///
    /// ```
    /// use webpubsub_auth::{ClientAccessTokenOptions, ConnectionString};
    /// use webpubsub_client::ClientCredential;
    ///
    /// let cs: ConnectionString = "Endpoint=http://localhost:8080;AccessKey=k".parse()?;
    /// let credential = ClientCredential::from_connection_string(cs, "chat", ClientAccessTokenOptions::default().user_id("alice"));
    /// # let _ = credential;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_connection_string(
        connection_string: ConnectionString,
        hub: impl Into<String>,
        options: ClientAccessTokenOptions,
    ) -> Self {
        let (connection_string, hub, options) = (
            Arc::new(connection_string),
            Arc::<str>::from(hub.into()),
            Arc::new(options),
        );
        Self::from_provider(move || {
            let minted = connection_string
                .client_access_token(&hub, &options)
                .map(|token| token.url);
            async move { minted }
        })
    }

    /// The URL for a new connection.
    pub(crate) async fn url(&self) -> Result<String, Error> {
        match &self.source {
            Source::Url(url) => Ok(url.to_string()),
            Source::Provider(provider) => provider().await.map_err(Error::credential),
        }
    }
}

impl From<&str> for ClientCredential {
    fn from(url: &str) -> Self {
        Self::from_url(url)
    }
}

impl From<String> for ClientCredential {
    fn from(url: String) -> Self {
        Self::from_url(url)
    }
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Url(url) => f
                .debug_tuple("ClientCredential::Url")
                .field(&without_query(url))
                .finish(),
            Source::Provider(_) => f.write_str("ClientCredential::Provider"),
        }
    }
}

/// `url` without its query (where the access token is): what logs and errors may show.
pub(crate) fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}
