//! `WebPubSubServiceClient`: construction, hub scoping and client access tokens.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::Either;
use webpubsub_auth::{
    client_access_token, unverified_expiry, AccessKey, ClientAccessToken, ClientAccessTokenOptions,
    ConnectionString, Endpoint,
};
use webpubsub_protocol::rest::{ClientTokenResponse, GenerateClientToken, Operation, Target};
use webpubsub_protocol::validate;

use crate::error::{Error, ErrorKind, Result};
use crate::options::{Credential, WebPubSubServiceClientOptions};
use crate::pipeline::{expect_success, Answer, Pipeline};

/// The client of one hub of a Web PubSub service.
///
/// Cheap to clone and safe to share across tasks: clones share the credential, token cache and
/// connection pool. [`WebPubSubServiceClient::with_hub`] addresses another hub with the same
/// credential and pool.
///
/// ```no_run
/// use webpubsub::{Payload, WebPubSubServiceClient};
///
/// # async fn demo() -> Result<(), webpubsub::Error> {
/// let client = WebPubSubServiceClient::from_connection_string(
///     "Endpoint=https://contoso.webpubsub.azure.com;AccessKey=<key>;Version=1.0;",
///     "chat",
///     None,
/// )?;
/// client.send_to_all(Payload::text("hello, everyone"), None).await?;
/// client.group("room-1").send(Payload::json(&serde_json::json!({"from": "server"}))?, None).await?;
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

impl WebPubSubServiceClient {
    /// A client from a connection string.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a bad connection string (the message never contains the
    /// key) or hub name.
    pub fn from_connection_string(
        connection_string: &str,
        hub: &str,
        options: Option<WebPubSubServiceClientOptions>,
    ) -> Result<Self> {
        let (endpoint, key) = ConnectionString::parse(connection_string)?.into_parts();
        Self::new(endpoint, hub, key, options)
    }

    /// A client for `endpoint` and `hub` with an access key or an Entra ID credential.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # fn demo(entra: Arc<dyn webpubsub::TokenCredential>) -> Result<(), webpubsub::Error> {
    /// use webpubsub::{Endpoint, WebPubSubServiceClient};
    ///
    /// let endpoint = Endpoint::parse("https://contoso.webpubsub.azure.com")?;
    /// let client = WebPubSubServiceClient::new(endpoint, "chat", entra, None)?;
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
        options: Option<WebPubSubServiceClientOptions>,
    ) -> Result<Self> {
        validate::hub(hub)?;
        let pipeline = Pipeline::new(endpoint, credential.into(), options.unwrap_or_default())?;
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
        validate::hub(hub)?;
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
    ) -> impl Future<Output = Result<Answer>> + Send + '_ {
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
    pub fn get_client_access_token(
        &self,
        options: Option<ClientAccessTokenOptions>,
    ) -> impl Future<Output = Result<ClientAccessToken>> + Send + '_ {
        let options = options.unwrap_or_default();
        let endpoint = &self.pipeline().endpoint;
        match &self.pipeline().credential {
            Credential::AccessKey(key) => Either::Left(std::future::ready(sign_locally(
                endpoint,
                key,
                self.hub(),
                options,
            ))),
            Credential::TokenCredential(_) => Either::Right(self.generate_client_token(options)),
        }
    }

    /// The Entra ID path: the service mints the token (`:generateToken`).
    async fn generate_client_token(
        &self,
        options: ClientAccessTokenOptions,
    ) -> Result<ClientAccessToken> {
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
            client_type: options.protocol,
        };
        let issued = SystemTime::now();
        let response = expect_success(self.call(&request).await?)?;
        let body: ClientTokenResponse = serde_json::from_slice(response.body()).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                "the generateToken response is not {\"token\": ...}",
            )
            .with_source(e)
        })?;
        let base_url = format!(
            "{}{}{}",
            self.pipeline().endpoint.websocket_origin(),
            options.protocol.path_prefix(),
            self.hub()
        );
        // The token's own `exp` (the service decides), the requested lifetime if it has none.
        let expires_at =
            unverified_expiry(&body.token).unwrap_or(issued + Duration::from_secs(minutes * 60));
        Ok(ClientAccessToken {
            url: format!("{base_url}?access_token={}", body.token),
            token: body.token,
            base_url,
            expires_at,
        })
    }
}

fn sign_locally(
    endpoint: &Endpoint,
    key: &AccessKey,
    hub: &str,
    options: ClientAccessTokenOptions,
) -> Result<ClientAccessToken> {
    Ok(client_access_token(
        endpoint,
        key,
        hub,
        &options,
        SystemTime::now(),
    )?)
}
