//! `WebPubSubServiceClient`: construction, hub scoping and client access tokens.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::future::Either;
use http::Response;
use webpubsub_auth::{
    client_access_token, AccessKey, ClientAccessToken, ClientProtocol, ConnectionString, Endpoint,
};
use webpubsub_protocol::{
    validate_hub, ClientTokenResponse, ClientType, GenerateClientToken, Operation, Target,
};

use crate::error::{Error, ErrorKind, Result};
use crate::options::{Credential, WebPubSubServiceClientOptions};
use crate::pipeline::{expect_success, Pipeline};

/// The client of one hub of a Web PubSub service.
///
/// Cheap to clone and safe to share across tasks: clones share the credential, token cache and
/// connection pool. [`WebPubSubServiceClient::with_hub`] addresses another hub with the same
/// credential and pool.
///
/// ```no_run
/// use webpubsub::{Message, WebPubSubServiceClient};
///
/// # async fn demo() -> Result<(), webpubsub::Error> {
/// let client = WebPubSubServiceClient::from_connection_string(
///     "Endpoint=https://contoso.webpubsub.azure.com;AccessKey=<key>;Version=1.0;",
///     "chat",
/// )?;
/// client.send_to_all(Message::text("hello, everyone"), None).await?;
/// client.group("room-1").send(Message::json(&serde_json::json!({"from": "server"}))?, None).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WebPubSubServiceClient {
    /// One reference count for a clone to bump, however much the client holds.
    inner: Arc<HubScoped>,
}

/// What a client is: the shared pipeline (endpoint, credential, transport, options) and a hub.
struct HubScoped {
    pipeline: Arc<Pipeline>,
    hub: String,
}

impl fmt::Debug for WebPubSubServiceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebPubSubServiceClient")
            .field("endpoint", &self.pipeline().endpoint)
            .field("hub", &self.hub())
            .field("credential", &self.pipeline().credential)
            .finish()
    }
}

/// What to put in a client access token (see
/// [`WebPubSubServiceClient::get_client_access_token`]): the same options `webpubsub-auth` signs
/// with, so tokens minted either way carry the same claims.
pub type ClientAccessTokenOptions = webpubsub_auth::ClientTokenOptions;

impl WebPubSubServiceClient {
    /// A client from a connection string, with default options.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a bad connection string (the message never contains the
    /// key) or hub name.
    pub fn from_connection_string(connection_string: &str, hub: &str) -> Result<Self> {
        Self::from_connection_string_with_options(
            connection_string,
            hub,
            WebPubSubServiceClientOptions::default(),
        )
    }

    /// A client from a connection string.
    ///
    /// # Errors
    /// See [`WebPubSubServiceClient::from_connection_string`].
    pub fn from_connection_string_with_options(
        connection_string: &str,
        hub: &str,
        options: WebPubSubServiceClientOptions,
    ) -> Result<Self> {
        let (endpoint, key) = ConnectionString::parse(connection_string)
            .map_err(Error::invalid_input)?
            .into_parts();
        Self::new(endpoint, hub, key, options)
    }

    /// A client for `endpoint` and `hub` with an access key or an Entra ID credential.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # fn demo(entra: Arc<dyn webpubsub::TokenCredential>) -> Result<(), webpubsub::Error> {
    /// use webpubsub::{Endpoint, WebPubSubServiceClient, WebPubSubServiceClientOptions};
    ///
    /// let endpoint = Endpoint::parse("https://contoso.webpubsub.azure.com").expect("valid");
    /// let client = WebPubSubServiceClient::new(endpoint, "chat", entra, WebPubSubServiceClientOptions::default())?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a bad hub name, an Entra ID credential over plain http
    /// (unless allowed), or no transport.
    pub fn new(
        endpoint: Endpoint,
        hub: &str,
        credential: impl Into<Credential>,
        options: WebPubSubServiceClientOptions,
    ) -> Result<Self> {
        validate_hub(hub).map_err(Error::invalid_input)?;
        let pipeline = Pipeline::new(endpoint, credential.into(), options)?;
        Ok(Self {
            inner: Arc::new(HubScoped {
                pipeline: Arc::new(pipeline),
                hub: hub.to_owned(),
            }),
        })
    }

    /// The same client for another hub (credential, token cache and connections are shared).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a bad hub name.
    pub fn with_hub(&self, hub: &str) -> Result<Self> {
        validate_hub(hub).map_err(Error::invalid_input)?;
        Ok(Self {
            inner: Arc::new(HubScoped {
                pipeline: self.inner.pipeline.clone(),
                hub: hub.to_owned(),
            }),
        })
    }

    /// The hub.
    pub fn hub(&self) -> &str {
        &self.inner.hub
    }

    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The service endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.pipeline().endpoint
    }

    /// The api-version sent with every request.
    pub fn api_version(&self) -> &str {
        &self.pipeline().api_version
    }

    pub(crate) fn target(&self) -> Target<'_> {
        Target {
            endpoint: self.pipeline().endpoint.as_str(),
            hub: self.hub(),
            api_version: &self.pipeline().api_version,
        }
    }

    /// Renders and sends an operation, returning the final response whatever its status.
    ///
    /// Renders before returning, so the future holds the request, not the operation.
    pub(crate) fn call(
        &self,
        operation: &impl Operation,
    ) -> impl Future<Output = Result<Response<Bytes>>> + Send + '_ {
        match operation.render(self.target()) {
            Ok(parts) => Either::Left(self.pipeline().send(parts, self.hub())),
            Err(e) => Either::Right(std::future::ready(Err(Error::invalid_input(e)))),
        }
    }

    /// Mints a client access token and the URLs a WebSocket client connects with.
    ///
    /// With an access key the token is signed locally (no request). With Entra ID the service
    /// mints it (`:generateToken`), and the URLs are built the same way. The URLs always use the
    /// service endpoint, never the reverse proxy.
    ///
    /// ```no_run
    /// # async fn demo(client: webpubsub::WebPubSubServiceClient) -> Result<(), webpubsub::Error> {
    /// use webpubsub::{ClientAccessTokenOptions, Role};
    ///
    /// let token = client
    ///     .get_client_access_token(Some(ClientAccessTokenOptions {
    ///         user_id: Some("alice".into()),
    ///         roles: vec![Role::join_leave_group_named("room-1")],
    ///         ..Default::default()
    ///     }))
    ///     .await?;
    /// println!("connect to {} (expires {:?})", token.base_url, token.expires_at);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for invalid options; service and transport errors with Entra ID.
    pub async fn get_client_access_token(
        &self,
        options: Option<ClientAccessTokenOptions>,
    ) -> Result<ClientAccessToken> {
        let options = options.unwrap_or_default();
        let endpoint = &self.pipeline().endpoint;
        match &self.pipeline().credential {
            Credential::AccessKey(key) => sign_locally(endpoint, key, self.hub(), options),
            Credential::TokenCredential(_) => {
                let minutes = options.expires_after.as_secs().div_ceil(60).max(1);
                let request = GenerateClientToken {
                    user_id: options.user_id.clone(),
                    roles: options
                        .roles
                        .iter()
                        .map(|r| r.as_str().to_owned())
                        .collect(),
                    minutes_to_expire: u32::try_from(minutes).unwrap_or(u32::MAX),
                    groups: options.groups.clone(),
                    client_type: match options.protocol {
                        ClientProtocol::Default => ClientType::Default,
                        ClientProtocol::Mqtt => ClientType::Mqtt,
                        ClientProtocol::SocketIo => ClientType::SocketIo,
                    },
                };
                let issued = SystemTime::now();
                let response = expect_success(self.call(&request).await?)?;
                let body: ClientTokenResponse =
                    serde_json::from_slice(response.body()).map_err(|e| {
                        Error::new(
                            ErrorKind::Decode,
                            "the generateToken response is not {\"token\": ...}",
                        )
                        .with_source(e)
                    })?;
                let base_url = format!(
                    "{}{}{}",
                    endpoint.websocket_origin(),
                    options.protocol.path_prefix(),
                    self.hub()
                );
                Ok(ClientAccessToken {
                    url: format!("{base_url}?access_token={}", body.token),
                    token: body.token,
                    base_url,
                    expires_at: issued + Duration::from_secs(minutes * 60),
                })
            }
        }
    }
}

fn sign_locally(
    endpoint: &Endpoint,
    key: &AccessKey,
    hub: &str,
    options: ClientAccessTokenOptions,
) -> Result<ClientAccessToken> {
    client_access_token(endpoint, key, hub, &options, SystemTime::now())
        .map_err(Error::invalid_input)
}
