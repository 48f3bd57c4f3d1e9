//! The default [`HttpClient`]: hyper 1 with hyper-util's pooled client, rustls (ring) for TLS.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, HOST};
use http::{Request, Response};
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body as _, Incoming};
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
            // Without a pool timer, pool idle timeouts silently never fire. (hyper's own timer,
            // `.timer()`, serves HTTP/2 keep-alive pings, which are not enabled; every request
            // would clone it.)
            builder
                .pool_timer(TokioTimer::new())
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

    /// Sends one request and reads the whole response.
    ///
    /// Every byte of this future's state is moved when the caller boxes it, so it holds as little
    /// as possible: hyper-util's (boxed) response future, then the response head and a small body
    /// reader. The request is handed to hyper-util before the future is made (an `async fn` would
    /// keep its argument's bytes in the state for the whole call). An empty body is not read.
    fn send(
        &self,
        request: hyper::Request<Full<Bytes>>,
    ) -> impl Future<Output = Result<Response<Bytes>, Error>> + Send + 'static {
        let pending = if request.uri().scheme() == Some(&http::uri::Scheme::HTTPS) {
            self.https.request(request)
        } else {
            self.http.request(request)
        };
        let limit = self.max_response_bytes;
        async move {
            let response = pending.await.map_err(classify_request_error)?;
            let (parts, body) = response.into_parts();
            let body = if body.is_end_stream() {
                Bytes::new()
            } else {
                read_body(body, limit).await?
            };
            Ok(Response::from_parts(parts, body))
        }
    }
}

/// Reads a response body of at most `limit` bytes. A body that arrives in one frame (the usual
/// case for a small JSON answer) is returned as is, without a copy.
async fn read_body(mut body: Incoming, limit: usize) -> Result<Bytes, Error> {
    // hyper knows a Content-Length body's exact size (and enforces it while reading).
    let declared = body.size_hint().exact();
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(Error::too_large(limit));
    }
    let broken = |e: hyper::Error| {
        Error::with_source(ErrorKind::ConnectionBroken, e).with_detail("while reading the response")
    };
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(broken)?.into_data() else {
            continue; // trailers carry nothing the caller reads
        };
        let read = first.as_ref().map_or(0, Bytes::len) + joined.len() + data.len();
        if read > limit {
            return Err(Error::too_large(limit));
        }
        match first.take() {
            None if joined.is_empty() => first = Some(data),
            earlier => {
                if let Some(earlier) = earlier {
                    let expected = declared.map_or(0, |len| len as usize).max(read);
                    joined.reserve(expected);
                    joined.extend_from_slice(&earlier);
                }
                joined.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(joined)))
}

/// The hyper request for a borrowed one: hyper takes ownership, so the parts are cloned (the
/// method, URI, header values and body are reference-counted or inline; the header map is new).
fn outgoing_request(request: &Request<Bytes>) -> Result<hyper::Request<Full<Bytes>>, Error> {
    let uri = request.uri();
    let plain = match uri.scheme_str() {
        Some("http") => true,
        Some("https") => false,
        _ => return Err(invalid_url()),
    };
    let Some(authority) = uri.authority() else {
        return Err(invalid_url());
    };
    let source = request.headers();
    // Room for the two headers hyper adds to an HTTP/1.1 request (Host, Content-Length), so
    // neither makes the map grow. (Up to 6 this is one 8-slot map of about 600 bytes, small
    // enough for the allocator's per-thread cache.)
    let mut headers = HeaderMap::with_capacity(source.len() + 2);
    for (name, value) in source {
        headers.append(name.clone(), value.clone());
    }
    // Plain http is always HTTP/1.1 here, which needs a Host header; hyper-util would add it by
    // formatting the authority into a new string and growing the map. Writing it while the map is
    // built costs one small copy. (Over TLS the connection may be HTTP/2, which must not get one.)
    if plain && !headers.contains_key(HOST) {
        if let Some(host) = host_header(uri.port_u16(), authority.as_str()) {
            headers.insert(HOST, host);
        }
    }
    let mut outgoing = hyper::Request::new(Full::new(request.body().clone()));
    *outgoing.method_mut() = request.method().clone();
    *outgoing.uri_mut() = uri.clone();
    *outgoing.headers_mut() = headers;
    Ok(outgoing)
}

/// The Host header of a plain-http authority, or `None` to leave it to hyper-util (an authority
/// with user info, or the default port, which Host leaves out).
fn host_header(port: Option<u16>, authority: &str) -> Option<HeaderValue> {
    if authority.contains('@') || port == Some(80) {
        return None;
    }
    HeaderValue::from_str(authority).ok()
}

fn invalid_url() -> Error {
    Error::new(ErrorKind::InvalidRequest).with_detail("the URL must be absolute http or https")
}

#[async_trait::async_trait]
impl HttpClient for HyperClient {
    async fn execute(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, Error> {
        let outgoing = outgoing_request(request)?;
        match self.response_timeout {
            None => self.send(outgoing).await,
            // Boxed so the timer's state does not grow the future of every untimed request.
            Some(limit) => Box::pin(tokio::time::timeout(limit, self.send(outgoing)))
                .await
                .map_err(|_| Error::response_timeout(limit))?,
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

#[cfg(test)]
mod tests {
    use super::host_header;

    #[test]
    fn host_header_is_written_only_when_it_equals_the_authority() {
        assert_eq!(
            host_header(Some(8080), "127.0.0.1:8080").unwrap(),
            "127.0.0.1:8080"
        );
        assert_eq!(host_header(None, "localhost").unwrap(), "localhost");
        // Left to hyper-util, which drops the default port and the user info.
        assert!(host_header(Some(80), "example.com:80").is_none());
        assert!(host_header(None, "user:secret@example.com").is_none());
    }
}
