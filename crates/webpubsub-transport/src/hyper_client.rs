//! The default [`HttpClient`]: hyper 1 with hyper-util's pooled client, rustls (ring) for TLS.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::error::{Error, ErrorKind};
use crate::HttpClient;

/// Settings of [`HyperClient`], with documented defaults.
///
/// ```
/// use std::time::Duration;
/// use webpubsub_transport::HyperClientOptions;
///
/// let options = HyperClientOptions {
///     response_timeout: Some(Duration::from_secs(30)),
///     ..Default::default()
/// };
/// assert_eq!(options.connect_timeout, Some(Duration::from_secs(10)));
/// ```
#[derive(Clone)]
pub struct HyperClientOptions {
    /// Time allowed to open a TCP connection. Default 10 s.
    pub connect_timeout: Option<Duration>,
    /// Time allowed from sending the request to reading the whole response (including connecting
    /// when no pooled connection is free). Default `None`: the `webpubsub` service client bounds
    /// every attempt with its own per-try timeout, so a second timer here would only cost time.
    /// Set it when you use the transport on its own.
    pub response_timeout: Option<Duration>,
    /// How long an idle pooled connection is kept. Default 90 s.
    pub pool_idle_timeout: Option<Duration>,
    /// Idle connections kept per host. Default unbounded, as in hyper (idle ones close after
    /// `pool_idle_timeout`).
    pub pool_max_idle_per_host: usize,
    /// The largest response body read; a larger one is an [`ErrorKind::ResponseTooLarge`].
    /// Default 16 MiB.
    pub max_response_bytes: usize,
    /// Offer HTTP/2 by ALPN on TLS connections (HTTP/1.1 is always available). Default `true`.
    pub http2: bool,
    /// Trust the Mozilla root set shipped by `webpki-roots`. Default `true`.
    pub webpki_roots: bool,
    /// Trust the platform's native roots too (feature `native-roots`). Default `false`.
    pub native_roots: bool,
    /// Extra trusted roots, DER-encoded (e.g. a test CA). Default none.
    pub extra_roots_der: Vec<Vec<u8>>,
}

impl Default for HyperClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Some(Duration::from_secs(10)),
            response_timeout: None,
            pool_idle_timeout: Some(Duration::from_secs(90)),
            pool_max_idle_per_host: usize::MAX,
            max_response_bytes: 16 * 1024 * 1024,
            http2: true,
            webpki_roots: true,
            native_roots: false,
            extra_roots_der: Vec::new(),
        }
    }
}

impl fmt::Debug for HyperClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperClientOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("http2", &self.http2)
            .field("webpki_roots", &self.webpki_roots)
            .field("native_roots", &self.native_roots)
            .field("extra_roots", &self.extra_roots_der.len())
            .finish()
    }
}

/// The default transport: a pooled hyper client with keep-alive, HTTP/2 by ALPN, `TCP_NODELAY`,
/// connect and response timeouts, and a response size cap.
///
/// Cheap to clone (clones share the pool). Create it inside the tokio runtime that uses it:
/// **one pooled client must not be shared across several tokio runtimes** (for example a `static`
/// client used by several `#[tokio::test]`s): pooled connections are bound to the runtime that
/// opened them, and requests on them hang or fail once that runtime shuts down (hyper#2312,
/// reqwest#1148). Give each runtime its own client.
///
/// ```no_run
/// # async fn demo() -> Result<(), webpubsub_transport::Error> {
/// use bytes::Bytes;
/// use webpubsub_transport::{HttpClient, HyperClient, HyperClientOptions};
///
/// let client = HyperClient::new(HyperClientOptions::default())?;
/// let request = http::Request::get("https://example.com/").body(Bytes::new()).unwrap();
/// let response = client.execute(&request).await?;
/// println!("{}", response.status());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct HyperClient {
    /// Plain `http://`: the TCP stream directly, without the TLS wrapper's per-I/O cost.
    http: Client<HttpConnector, Full<Bytes>>,
    /// `https://`.
    https: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    response_timeout: Option<Duration>,
    max_response_bytes: usize,
}

impl fmt::Debug for HyperClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperClient")
            .field("response_timeout", &self.response_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl HyperClient {
    /// Builds a client. Call it inside a tokio runtime's context when requests will be sent.
    ///
    /// # Errors
    /// [`ErrorKind::Tls`] when an extra root is not a valid DER certificate or no root is trusted.
    pub fn new(options: HyperClientOptions) -> Result<Self, Error> {
        let tls = tls_config(&options)?;
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(options.connect_timeout);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only();
        let https = if options.http2 {
            https.enable_all_versions().wrap_connector(tcp.clone())
        } else {
            https.enable_http1().wrap_connector(tcp.clone())
        };
        let builder = {
            let mut builder = Client::builder(TokioExecutor::new());
            // Without a timer, pool idle timeouts silently never fire.
            builder
                .pool_timer(TokioTimer::new())
                .timer(TokioTimer::new())
                .pool_idle_timeout(options.pool_idle_timeout)
                .pool_max_idle_per_host(options.pool_max_idle_per_host);
            builder
        };
        Ok(Self {
            http: builder.build(tcp),
            https: builder.build(https),
            response_timeout: options.response_timeout,
            max_response_bytes: options.max_response_bytes,
        })
    }

    async fn send(&self, request: hyper::Request<Full<Bytes>>) -> Result<Response<Bytes>, Error> {
        let response = if request.uri().scheme() == Some(&http::uri::Scheme::HTTPS) {
            self.https.request(request).await
        } else {
            self.http.request(request).await
        }
        .map_err(classify_request_error)?;
        let (parts, body) = response.into_parts();
        // hyper knows a Content-Length body's exact size; no header lookup needed.
        let declared = hyper::body::Body::size_hint(&body).exact();
        let body = match declared {
            Some(0) => Bytes::new(),
            Some(len) if len > self.max_response_bytes as u64 => {
                return Err(Error::too_large(self.max_response_bytes))
            }
            // The length is known and within the cap: hyper enforces it while reading.
            Some(_) => body
                .collect()
                .await
                .map_err(|e| {
                    Error::with_source(ErrorKind::ConnectionBroken, e)
                        .with_detail("while reading the response")
                })?
                .to_bytes(),
            None => Limited::new(body, self.max_response_bytes)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<LengthLimitError>().is_some() {
                        Error::too_large(self.max_response_bytes)
                    } else {
                        Error::with_source(ErrorKind::ConnectionBroken, e)
                            .with_detail("while reading the response")
                    }
                })?
                .to_bytes(),
        };
        Ok(Response::from_parts(parts, body))
    }
}

#[async_trait::async_trait]
impl HttpClient for HyperClient {
    async fn execute(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, Error> {
        let uri = request.uri();
        let scheme_ok = matches!(uri.scheme_str(), Some("http") | Some("https"));
        if !scheme_ok || uri.authority().is_none() {
            return Err(Error::new(ErrorKind::InvalidRequest)
                .with_detail("the URL must be absolute http or https"));
        }
        let mut outgoing = hyper::Request::new(Full::new(request.body().clone()));
        *outgoing.method_mut() = request.method().clone();
        *outgoing.uri_mut() = uri.clone();
        *outgoing.headers_mut() = request.headers().clone();
        let send = self.send(outgoing);
        match self.response_timeout {
            Some(limit) => tokio::time::timeout(limit, send)
                .await
                .map_err(|_| Error::response_timeout(limit))?,
            None => send.await,
        }
    }
}

fn tls_config(options: &HyperClientOptions) -> Result<rustls::ClientConfig, Error> {
    let tls_error = |detail: &str| Error::new(ErrorKind::Tls).with_detail(detail.to_owned());
    let mut roots = rustls::RootCertStore::empty();
    if options.webpki_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    if options.native_roots {
        add_native_roots(&mut roots)?;
    }
    for der in &options.extra_roots_der {
        roots
            .add(rustls::pki_types::CertificateDer::from(der.clone()))
            .map_err(|e| {
                Error::with_source(ErrorKind::Tls, e)
                    .with_detail("an extra root is not a valid certificate")
            })?;
    }
    if roots.is_empty() {
        return Err(tls_error("no trusted root certificates"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::with_source(ErrorKind::Tls, e))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(feature = "native-roots")]
fn add_native_roots(roots: &mut rustls::RootCertStore) -> Result<(), Error> {
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if added == 0 && !native.errors.is_empty() {
        return Err(
            Error::new(ErrorKind::Tls).with_detail("no platform root certificate could be loaded")
        );
    }
    Ok(())
}

#[cfg(not(feature = "native-roots"))]
fn add_native_roots(_roots: &mut rustls::RootCertStore) -> Result<(), Error> {
    Err(Error::new(ErrorKind::Tls).with_detail("native_roots needs the `native-roots` feature"))
}

/// Walks an error's source chain.
fn chain<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |e: &&'a (dyn StdError + 'static)| {
        (*e).source()
    })
}

/// Whether `pred` holds for `error`, anything in its source chain, or any error wrapped inside an
/// `io::Error` on the way (`io::Error::source` skips the wrapped error itself).
fn any_cause(
    error: &(dyn StdError + 'static),
    pred: &dyn Fn(&(dyn StdError + 'static)) -> bool,
) -> bool {
    chain(error).any(|e| {
        pred(e)
            || e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| any_cause(inner, pred))
    })
}

fn is_tls(error: &(dyn StdError + 'static)) -> bool {
    any_cause(error, &|e| e.downcast_ref::<rustls::Error>().is_some())
}

fn is_timed_out(error: &(dyn StdError + 'static)) -> bool {
    any_cause(error, &|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    })
}

fn has_io_error(error: &(dyn StdError + 'static)) -> bool {
    any_cause(error, &|e| e.downcast_ref::<std::io::Error>().is_some())
}

/// Maps hyper-util's error to a kind that says whether the request may have been sent.
fn classify_request_error(error: hyper_util::client::legacy::Error) -> Error {
    let kind = if error.is_connect() {
        if is_tls(&error) {
            ErrorKind::Tls
        } else if is_timed_out(&error) {
            ErrorKind::ConnectTimeout
        } else {
            ErrorKind::Connect
        }
    } else {
        let hyper_error = chain(&error).find_map(|e| e.downcast_ref::<hyper::Error>());
        match hyper_error {
            Some(e) if e.is_user() => ErrorKind::InvalidRequest,
            Some(e) if e.is_incomplete_message() || e.is_canceled() || e.is_closed() => {
                ErrorKind::ConnectionBroken
            }
            _ if has_io_error(&error) => ErrorKind::ConnectionBroken,
            _ => ErrorKind::Other,
        }
    };
    Error::with_source(kind, error)
}
