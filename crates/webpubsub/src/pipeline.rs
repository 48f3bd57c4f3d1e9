//! The request pipeline: URL rewriting for a reverse proxy, headers, authentication per attempt,
//! retries with back-off, per-try and overall timeouts, and tracing.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::future::{Either, FutureExt as _};
use http::header::{
    HeaderMap, HeaderName, HeaderValue, InvalidHeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH,
    CONTENT_TYPE, USER_AGENT,
};
use http::{Method, Request, Response, StatusCode, Uri};
use ring::rand::{SecureRandom as _, SystemRandom};
use tokio::time::Instant;
use tracing::Instrument as _;
use webpubsub_auth::{
    AccessToken, Endpoint, RestTokenSigner, Scheme, TokenCredential, WEBPUBSUB_SCOPE,
};
use webpubsub_protocol::rest::{HttpRequestParts, OperationId, ServiceError};
use webpubsub_transport::HttpClient;

use crate::error::{Error, ErrorKind, Result};
use crate::options::{Credential, WebPubSubServiceClientOptions};
use crate::retry::{retry_delay, Outcome, RetryOptions};

/// Lifetime of the per-request JWT signed with an access key.
const REST_TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// The `User-Agent` of every request (a suffix from the options goes in front).
const USER_AGENT_VALUE: &str = concat!("azsdk-rust-webpubsub/", env!("CARGO_PKG_VERSION"));
/// The header that carries each request's id.
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");
/// Entra ID tokens are refreshed this long before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

enum Signer {
    /// The access key, prepared once for signing a token per attempt.
    Key(RestTokenSigner),
    Entra {
        credential: Arc<dyn TokenCredential>,
        /// Held across the fetch, so concurrent calls wait for one fetch instead of starting several.
        cached: tokio::sync::Mutex<Option<AccessToken>>,
    },
}

/// What one attempt decided.
enum Step {
    /// The call's result: a response (any status) or an error not worth retrying.
    Done(Result<Response<Bytes>>),
    /// Retry after this back-off.
    RetryAfter(Duration),
}

fn overall_timeout(limit: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("the call did not complete within {limit:?}"),
    )
}

/// The `Authorization` value of one attempt with an access key: a fresh JWT for `audience`.
fn key_authorization(signer: &RestTokenSigner, audience: &str) -> Result<HeaderValue> {
    let value = signer
        .sign_bearer(audience, SystemTime::now())
        .map_err(Error::invalid_input)?;
    // Moved into the header, not copied.
    sensitive(HeaderValue::try_from(value.into_exposed()))
}

/// The `Authorization` value with Entra ID: the cached token, or a new one when it is missing or
/// expires within [`REFRESH_MARGIN`].
async fn entra_authorization(
    credential: &dyn TokenCredential,
    cached: &tokio::sync::Mutex<Option<AccessToken>>,
) -> Result<HeaderValue> {
    let mut cached = cached.lock().await;
    if let Some(token) = cached.as_ref() {
        if !token.expires_within(REFRESH_MARGIN, SystemTime::now()) {
            return bearer(token.token.expose());
        }
    }
    let token = credential
        .get_token(&[WEBPUBSUB_SCOPE])
        .await
        .map_err(|e| {
            Error::new(
                ErrorKind::Credential,
                "the credential could not provide a token",
            )
            .with_source(e)
        })?;
    let value = bearer(token.token.expose());
    *cached = Some(token);
    value
}

/// `Bearer <token>`, marked sensitive.
fn bearer(token: &str) -> Result<HeaderValue> {
    let mut value = String::with_capacity(7 + token.len());
    value.push_str("Bearer ");
    value.push_str(token);
    sensitive(HeaderValue::try_from(value))
}

fn sensitive(value: std::result::Result<HeaderValue, InvalidHeaderValue>) -> Result<HeaderValue> {
    let mut value = value.map_err(|_| {
        Error::new(
            ErrorKind::Credential,
            "the token is not a valid header value",
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Everything a request needs besides the operation; shared by every clone of a client.
pub(crate) struct Pipeline {
    pub(crate) endpoint: Endpoint,
    /// Kept for minting client access tokens; requests are signed by `signer`.
    pub(crate) credential: Credential,
    /// Where requests go: the reverse proxy's origin and path prefix; `None` for the endpoint.
    proxy_origin: Option<String>,
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
            .field("proxy_origin", &self.proxy_origin)
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
        let signer = match &credential {
            Credential::AccessKey(key) => Signer::Key(
                RestTokenSigner::new(key, REST_TOKEN_LIFETIME).map_err(Error::invalid_input)?,
            ),
            Credential::TokenCredential(token_credential) => {
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
                    credential: token_credential.clone(),
                    cached: tokio::sync::Mutex::new(None),
                }
            }
        };
        let transport = match options.transport {
            Some(transport) => transport,
            None => default_transport()?,
        };
        let user_agent = match &options.user_agent_suffix {
            // Static: cloning it per request touches no shared counter.
            None => HeaderValue::from_static(USER_AGENT_VALUE),
            // The suffix goes in front: `my-app/1.2 azsdk-rust-webpubsub/0.1.0`.
            Some(suffix) => {
                HeaderValue::try_from(format!("{suffix} {USER_AGENT_VALUE}")).map_err(|_| {
                    Error::new(
                        ErrorKind::InvalidInput,
                        "the user agent suffix is not a valid header value",
                    )
                })?
            }
        };
        if options.api_version.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "the api-version must not be empty",
            ));
        }
        Ok(Self {
            proxy_origin: options
                .reverse_proxy_endpoint
                .as_ref()
                .map(|proxy| proxy.as_str().to_owned())
                .filter(|proxy| proxy != endpoint.as_str()),
            endpoint,
            credential,
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
    ///
    /// Not an `async fn`: the span is entered only when something records it, and the returned
    /// future holds the attempts' state once (an `async fn` keeps its arguments for the whole
    /// call, and wrapping the attempts in another `async` block would keep them twice).
    pub(crate) fn send(
        &self,
        parts: HttpRequestParts,
        hub: &str,
    ) -> impl Future<Output = Result<Answer>> + Send + '_ {
        let operation = parts.operation;
        let span = tracing::debug_span!("webpubsub.operation", operation = %operation, hub = %hub);
        let run = self.send_with_retries(parts).map(move |result| {
            result.map(|response| Answer {
                operation,
                response,
            })
        });
        if span.is_disabled() {
            Either::Left(run)
        } else {
            Either::Right(run.instrument(span))
        }
    }

    /// The request for `parts`, and the service URL (the audience of its tokens): the rendered
    /// path and query joined to the endpoint, and to the proxy when there is one. Without a proxy
    /// the URI is parsed from the service URL's own buffer, not a copy.
    fn build_request(&self, parts: HttpRequestParts) -> Result<(Request<Bytes>, Bytes)> {
        let invalid = |e: http::uri::InvalidUri| {
            Error::new(ErrorKind::InvalidInput, "the request URL is invalid").with_source(e)
        };
        let service_url = Bytes::from(parts.url(self.endpoint.as_str()));
        let uri = match &self.proxy_origin {
            Some(proxy) => Uri::try_from(parts.url(proxy)).map_err(invalid)?,
            None => Uri::from_maybe_shared(service_url.clone()).map_err(invalid)?,
        };
        // Room for these and Authorization (four to six); `HeaderMap` rounds 6 up to 8 slots.
        // Not more: the next size (16 slots, 12 entries) is over 1 KiB, which the system
        // allocator serves from its slow path instead of its per-thread cache.
        let mut headers = HeaderMap::with_capacity(6);
        headers.insert(USER_AGENT, self.user_agent.clone());
        // Only GET (list) and generateToken answer with a body worth negotiating.
        if parts.method == Method::GET || parts.operation == OperationId::GenerateClientToken {
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        }
        match parts.content_type {
            Some(content_type) => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            // RFC 9110: a request that has no body but whose method defines one says so; front
            // ends answer 411 without it (both official SDKs send it).
            None if [Method::POST, Method::PUT, Method::DELETE].contains(&parts.method) => {
                headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
            }
            None => {}
        }
        headers.insert(CLIENT_REQUEST_ID, self.request_id());
        let mut request = Request::new(parts.body);
        *request.method_mut() = parts.method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        Ok((request, service_url))
    }

    /// The attempts of one call, with the back-off sleeps between them.
    async fn send_with_retries(&self, parts: HttpRequestParts) -> Result<Response<Bytes>> {
        // Counted from the first poll, not from when the future was made.
        let deadline = self
            .overall_timeout
            .map(|limit| (Instant::now() + limit, limit));
        let operation = parts.operation;
        let (mut request, service_url) = self.build_request(parts)?;
        // Rendered from a `String`, so always UTF-8.
        let audience = std::str::from_utf8(&service_url)
            .map_err(|_| Error::new(ErrorKind::InvalidInput, "the request URL is not UTF-8"))?;
        let mut retry = 0;
        loop {
            // The attempt's state (timer, response) ends before the back-off sleep starts, so
            // the two share space in this future.
            let delay = match self
                .attempt(&mut request, audience, operation, deadline, retry)
                .await
            {
                Step::Done(result) => return result,
                Step::RetryAfter(delay) => delay,
            };
            retry += 1;
            tracing::info!(
                retry,
                delay_ms = delay.as_millis() as u64,
                path = request.uri().path(),
                "retrying"
            );
            let wake = Instant::now() + delay;
            match deadline {
                Some((end, limit)) if wake >= end => {
                    tokio::time::sleep_until(end).await;
                    return Err(overall_timeout(limit));
                }
                _ => tokio::time::sleep_until(wake).await,
            }
        }
    }

    /// One attempt: authenticate, send under one timer (the per-try limit or the overall
    /// deadline, whichever comes first), and decide whether to retry.
    async fn attempt(
        &self,
        request: &mut Request<Bytes>,
        audience: &str,
        operation: OperationId,
        deadline: Option<(Instant, Duration)>,
        retry: u32,
    ) -> Step {
        let authorization = match &self.signer {
            Signer::Key(signer) => key_authorization(signer, audience),
            // Boxed: the lock and the credential's future would otherwise grow every call's state.
            Signer::Entra { credential, cached } => {
                Box::pin(entra_authorization(credential.as_ref(), cached)).await
            }
        };
        match authorization {
            Ok(value) => request.headers_mut().insert(AUTHORIZATION, value),
            Err(error) => return Step::Done(Err(error)),
        };
        let started = Instant::now();
        let per_try = self.per_try_timeout.map(|limit| started + limit);
        let attempt_deadline = match (per_try, deadline) {
            (Some(a), Some((b, _))) => Some(a.min(b)),
            (a, b) => a.or(b.map(|(b, _)| b)),
        };
        let attempt = self.transport.execute(request);
        let result = match attempt_deadline {
            Some(at) => match tokio::time::timeout_at(at, attempt).await {
                Ok(result) => result.map_err(Some),
                Err(_) => match deadline {
                    Some((end, limit)) if Instant::now() >= end => {
                        return Step::Done(Err(overall_timeout(limit)))
                    }
                    _ => Err(None),
                },
            },
            None => attempt.await.map_err(Some),
        };
        // Read the clock only for an event something records.
        let elapsed_ms = || started.elapsed().as_millis() as u64;
        let outcome = match &result {
            Ok(response) => {
                tracing::debug!(
                    attempt = retry + 1,
                    status = response.status().as_u16(),
                    elapsed_ms = elapsed_ms(),
                    path = request.uri().path(),
                    "response"
                );
                Outcome::Response(response)
            }
            Err(Some(error)) => {
                tracing::debug!(attempt = retry + 1, error = %error, elapsed_ms = elapsed_ms(), path = request.uri().path(), "transport error");
                Outcome::TransportError {
                    sent: error.request_sent(),
                }
            }
            Err(None) => {
                tracing::debug!(
                    attempt = retry + 1,
                    elapsed_ms = elapsed_ms(),
                    path = request.uri().path(),
                    "attempt timed out"
                );
                Outcome::Timeout
            }
        };
        if let (Ok(response), Signer::Entra { cached, .. }) = (&result, &self.signer) {
            if response.status() == StatusCode::UNAUTHORIZED {
                // The service no longer takes the cached token (revoked, or its clock disagrees):
                // the next attempt or call fetches a new one.
                cached.lock().await.take();
            }
        }
        let done = matches!(&result, Ok(response) if operation.is_success(response.status()));
        let delay = if done {
            None
        } else {
            retry_delay(
                &self.retry,
                request.method(),
                &outcome,
                retry,
                SystemTime::now(),
                self.unit_random(),
            )
        };
        if let Some(delay) = delay {
            return Step::RetryAfter(delay);
        }
        Step::Done(match result {
            Ok(response) => Ok(response),
            Err(Some(error)) => Err(Error::transport(error)),
            Err(None) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "no response within the per-try timeout of {:?}",
                    self.per_try_timeout.unwrap_or_default()
                ),
            )),
        })
    }

    fn unit_random(&self) -> f64 {
        // SystemRandom only fails when the OS has no randomness; the jitter then is the midpoint.
        random_u64(&self.random).map_or(0.5, |r| (r >> 11) as f64 / (1u64 << 53) as f64)
    }

    /// A unique version-4 UUID for `x-ms-client-request-id`, without a system call or a counter
    /// shared between threads (ids need to be unique, not secret).
    fn request_id(&self) -> HeaderValue {
        let (high, low) = next_request_id_bits(&self.random);
        let bits = (u128::from(high) << 64) | u128::from(low);
        let id = uuid::Builder::from_random_bytes(bits.to_be_bytes()).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        HeaderValue::from_bytes(id.hyphenated().encode_lower(&mut text).as_bytes())
            .expect("a UUID is a valid header value")
    }
}

thread_local! {
    /// This thread's request-id state: a random seed (drawn once per thread) and a counter.
    static REQUEST_IDS: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

/// 128 well-mixed bits, unique per thread (random seed) and per call (counter).
fn next_request_id_bits(random: &SystemRandom) -> (u64, u64) {
    REQUEST_IDS.with(|state| {
        let (seed, n) = state.get().unwrap_or_else(|| {
            // Without OS randomness, the time and the thread's stack address still differ.
            let fallback = || {
                let local = 0u8;
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos() as u64
                    ^ (&local as *const u8 as u64).rotate_left(32)
            };
            (random_u64(random).unwrap_or_else(fallback), 0)
        });
        state.set(Some((seed, n.wrapping_add(1))));
        let high = splitmix64(seed ^ n.rotate_left(32));
        (high, splitmix64(high ^ n))
    })
}

fn random_u64(random: &SystemRandom) -> Option<u64> {
    let mut bytes = [0u8; 8];
    random.fill(&mut bytes).ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// SplitMix64: a fast, well-mixed 64-bit permutation.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Maps a response that is not a success to an error, with its headers (request ids).
pub(crate) fn service_error(response: &Response<Bytes>) -> Error {
    let code = response
        .headers()
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok());
    Error::from_service(
        ServiceError::from_response(response.status().as_u16(), code, response.body()),
        response.headers().clone(),
    )
}

/// A call's final response: its operation's success status passes (the operation table's, see
/// `OperationId::is_success`), any other becomes an error.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) operation: OperationId,
    pub(crate) response: Response<Bytes>,
}

/// Passes the operation's success response through; any other status becomes an error.
pub(crate) fn expect_success(answer: Answer) -> Result<Response<Bytes>> {
    if answer.operation.is_success(answer.response.status()) {
        Ok(answer.response)
    } else {
        Err(service_error(&answer.response))
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
