//! The request pipeline: URL rewriting for a reverse proxy, headers, authentication per attempt,
//! retries with back-off, per-try and overall timeouts, and tracing.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{Request, Response};
use ring::rand::{SecureRandom as _, SystemRandom};
use tracing::Instrument as _;
use webpubsub_auth::{
    rest_bearer_token, AccessKey, AccessToken, Endpoint, Scheme, TokenCredential, WEBPUBSUB_SCOPE,
};
use webpubsub_protocol::{HttpRequestParts, Method, ServiceError};
use webpubsub_transport::HttpClient;

use crate::error::{Error, ErrorKind, Result};
use crate::options::{Credential, WebPubSubServiceClientOptions};
use crate::retry::{retry_delay, Outcome, RetryOptions};

/// Lifetime of the per-request JWT signed with an access key.
const REST_TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// Entra ID tokens are refreshed this long before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

enum Signer {
    Key(AccessKey),
    Entra {
        credential: Arc<dyn TokenCredential>,
        /// Held across the fetch, so concurrent calls wait for one fetch instead of starting several.
        cached: tokio::sync::Mutex<Option<AccessToken>>,
    },
}

impl Signer {
    async fn authorization(&self, audience: &str) -> Result<HeaderValue> {
        let token = match self {
            Signer::Key(key) => {
                rest_bearer_token(key, audience, SystemTime::now(), REST_TOKEN_LIFETIME)
                    .map_err(Error::invalid_input)?
            }
            Signer::Entra { credential, cached } => {
                let mut cached = cached.lock().await;
                match cached.as_ref() {
                    Some(token) if !token.expires_within(REFRESH_MARGIN, SystemTime::now()) => {
                        token.token.clone()
                    }
                    _ => {
                        let token =
                            credential
                                .get_token(&[WEBPUBSUB_SCOPE])
                                .await
                                .map_err(|e| {
                                    Error::new(
                                        ErrorKind::Credential,
                                        "the credential could not provide a token",
                                    )
                                    .with_source(e)
                                })?;
                        *cached = Some(token.clone());
                        token.token
                    }
                }
            }
        };
        let mut value =
            HeaderValue::try_from(format!("Bearer {}", token.expose())).map_err(|_| {
                Error::new(
                    ErrorKind::Credential,
                    "the token is not a valid header value",
                )
            })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// Everything a request needs besides the operation; shared by every clone of a client.
pub(crate) struct Pipeline {
    pub(crate) endpoint: Endpoint,
    /// Where requests go: the reverse proxy, or the endpoint itself.
    request_origin: String,
    signer: Signer,
    transport: Arc<dyn HttpClient>,
    retry: RetryOptions,
    per_try_timeout: Option<Duration>,
    overall_timeout: Option<Duration>,
    user_agent: HeaderValue,
    pub(crate) api_version: String,
    random: SystemRandom,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("endpoint", &self.endpoint)
            .field("request_origin", &self.request_origin)
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    pub(crate) fn new(
        endpoint: Endpoint,
        credential: Credential,
        options: WebPubSubServiceClientOptions,
    ) -> Result<Self> {
        let insecure = |e: &Endpoint| e.scheme() == Scheme::Http;
        let signer = match credential {
            Credential::AccessKey(key) => Signer::Key(key),
            Credential::TokenCredential(credential) => {
                let proxy_insecure = options
                    .reverse_proxy_endpoint
                    .as_ref()
                    .is_some_and(insecure);
                if (insecure(&endpoint) || proxy_insecure)
                    && !options.allow_insecure_token_credential
                {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        "Entra ID bearer tokens are not sent over plain http; use https, or set \
                         allow_insecure_token_credential for local tests",
                    ));
                }
                Signer::Entra {
                    credential,
                    cached: tokio::sync::Mutex::new(None),
                }
            }
        };
        let transport = match options.transport {
            Some(transport) => transport,
            None => default_transport()?,
        };
        let mut agent = format!("azsdk-rust-webpubsub/{}", env!("CARGO_PKG_VERSION"));
        if let Some(suffix) = &options.user_agent_suffix {
            agent = format!("{suffix} {agent}");
        }
        let user_agent = HeaderValue::try_from(agent).map_err(|_| {
            Error::new(
                ErrorKind::InvalidInput,
                "the user agent suffix is not a valid header value",
            )
        })?;
        if options.api_version.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "the api-version must not be empty",
            ));
        }
        Ok(Self {
            request_origin: options
                .reverse_proxy_endpoint
                .as_ref()
                .unwrap_or(&endpoint)
                .as_str()
                .to_owned(),
            endpoint,
            signer,
            transport,
            retry: options.retry,
            per_try_timeout: options.per_try_timeout,
            overall_timeout: options.overall_timeout,
            user_agent,
            api_version: options.api_version,
            random: SystemRandom::new(),
        })
    }

    /// Sends a rendered request and returns the final response, whatever its status. Errors are
    /// transport failures, timeouts and credential failures.
    pub(crate) async fn send(&self, parts: HttpRequestParts, hub: &str) -> Result<Response<Bytes>> {
        let span =
            tracing::debug_span!("webpubsub.operation", operation = %parts.operation, hub = %hub);
        let run = self.send_with_retries(parts).instrument(span);
        match self.overall_timeout {
            Some(limit) => tokio::time::timeout(limit, run).await.map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!("the call did not complete within {limit:?}"),
                )
            })?,
            None => run.await,
        }
    }

    /// The URL a request goes to: the proxy's origin and prefix instead of the endpoint's.
    fn request_url(&self, service_url: &str) -> String {
        match service_url.strip_prefix(self.endpoint.as_str()) {
            Some(rest) => format!("{}{rest}", self.request_origin),
            None => service_url.to_owned(),
        }
    }

    fn build_request(&self, parts: &HttpRequestParts) -> Result<Request<Bytes>> {
        let url = self.request_url(&parts.url);
        let method = match parts.method {
            Method::Get => http::Method::GET,
            Method::Head => http::Method::HEAD,
            Method::Post => http::Method::POST,
            Method::Put => http::Method::PUT,
            Method::Delete => http::Method::DELETE,
        };
        let mut request = Request::builder()
            .method(method)
            .uri(url)
            .body(Bytes::from(parts.body.clone()))
            .map_err(|e| {
                Error::new(ErrorKind::InvalidInput, "the request URL is invalid").with_source(e)
            })?;
        let headers = request.headers_mut();
        headers.insert(USER_AGENT, self.user_agent.clone());
        if parts.method != Method::Head {
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        }
        if let Some(content_type) = parts.content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        headers.insert("x-ms-client-request-id", self.request_id());
        Ok(request)
    }

    async fn send_with_retries(&self, parts: HttpRequestParts) -> Result<Response<Bytes>> {
        let mut request = self.build_request(&parts)?;
        let path = request.uri().path().to_owned();
        let mut retry = 0;
        loop {
            request
                .headers_mut()
                .insert(AUTHORIZATION, self.signer.authorization(&parts.url).await?);
            let started = Instant::now();
            let attempt = self.transport.execute(&request);
            let result = match self.per_try_timeout {
                Some(limit) => match tokio::time::timeout(limit, attempt).await {
                    Ok(result) => result.map_err(Some),
                    Err(_) => Err(None),
                },
                None => attempt.await.map_err(Some),
            };
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let outcome = match &result {
                Ok(response) => {
                    tracing::debug!(attempt = retry + 1, status = response.status().as_u16(), elapsed_ms, %path, "response");
                    Outcome::Response(response)
                }
                Err(Some(error)) => {
                    tracing::debug!(attempt = retry + 1, error = %error, elapsed_ms, %path, "transport error");
                    Outcome::TransportError {
                        sent: error.request_sent(),
                    }
                }
                Err(None) => {
                    tracing::debug!(attempt = retry + 1, elapsed_ms, %path, "attempt timed out");
                    Outcome::Timeout
                }
            };
            let done = matches!(&result, Ok(response) if response.status().is_success());
            let delay = if done {
                None
            } else {
                retry_delay(
                    &self.retry,
                    parts.method,
                    &outcome,
                    retry,
                    SystemTime::now(),
                    self.unit_random(),
                )
            };
            let Some(delay) = delay else {
                return match result {
                    Ok(response) => Ok(response),
                    Err(Some(error)) => Err(Error::transport(error)),
                    Err(None) => Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "no response within the per-try timeout of {:?}",
                            self.per_try_timeout.unwrap_or_default()
                        ),
                    )),
                };
            };
            retry += 1;
            tracing::info!(retry, delay_ms = delay.as_millis() as u64, %path, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    fn unit_random(&self) -> f64 {
        let mut bytes = [0u8; 8];
        // SystemRandom only fails when the OS has no randomness; the jitter then is the midpoint.
        if self.random.fill(&mut bytes).is_err() {
            return 0.5;
        }
        (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A random (version 4) UUID for `x-ms-client-request-id`.
    fn request_id(&self) -> HeaderValue {
        let mut b = [0u8; 16];
        if self.random.fill(&mut b).is_err() {
            b = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
                .to_le_bytes();
        }
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        let id = format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        );
        HeaderValue::try_from(id)
            .unwrap_or_else(|_| HeaderValue::from_static("00000000-0000-4000-8000-000000000000"))
    }
}

/// Maps a non-success response to an error.
pub(crate) fn service_error(response: &Response<Bytes>) -> Error {
    let code = response
        .headers()
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok());
    Error::from_service(ServiceError::from_response(
        response.status().as_u16(),
        code,
        response.body(),
    ))
}

/// Passes a success response through; any other status becomes an error.
pub(crate) fn expect_success(response: Response<Bytes>) -> Result<Response<Bytes>> {
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(service_error(&response))
    }
}

#[cfg(feature = "hyper")]
fn default_transport() -> Result<Arc<dyn HttpClient>> {
    let client =
        webpubsub_transport::HyperClient::new(webpubsub_transport::HyperClientOptions::default())
            .map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                "the default HTTP client could not be built",
            )
            .with_source(e)
        })?;
    Ok(Arc::new(client))
}

#[cfg(not(feature = "hyper"))]
fn default_transport() -> Result<Arc<dyn HttpClient>> {
    Err(Error::new(
        ErrorKind::InvalidInput,
        "no transport: enable the `hyper` feature or set WebPubSubServiceClientOptions::transport",
    ))
}
