//! Test doubles for code that takes an [`HttpClient`]. **Do not enable `test-util` in production.**
//!
//! - [`MockHttpClient`]: answers with a closure.
//! - [`CaptureClient`]: records every request and answers with a closure (default 200).
//! - [`ReplayClient`]: serves a fixed list of responses and checks the requests match.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};

use crate::{Error, ErrorKind, HttpClient};

type Responder = dyn Fn(&Request<Bytes>) -> Result<Response<Bytes>, Error> + Send + Sync;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A response with `status` and `body`.
pub fn response(status: u16, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut response = Response::new(body.into());
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}

/// An [`HttpClient`] that answers every request with a closure.
///
/// ```
/// use webpubsub_transport::test_util::{response, MockHttpClient};
///
/// let client = MockHttpClient::new(|request| Ok(response(if request.method() == "HEAD" { 404 } else { 202 }, "")));
/// ```
#[derive(Clone)]
pub struct MockHttpClient {
    responder: Arc<Responder>,
}

impl MockHttpClient {
    /// A client answering with `responder`.
    pub fn new(
        responder: impl Fn(&Request<Bytes>) -> Result<Response<Bytes>, Error> + Send + Sync + 'static,
    ) -> Self {
        Self {
            responder: Arc::new(responder),
        }
    }
}

impl fmt::Debug for MockHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockHttpClient").finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl HttpClient for MockHttpClient {
    async fn execute(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, Error> {
        (self.responder)(request)
    }
}

/// A copy of a request a test double received.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedRequest {
    /// The method.
    pub method: Method,
    /// The full URI.
    pub uri: Uri,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl CapturedRequest {
    fn of(request: &Request<Bytes>) -> Self {
        Self {
            method: request.method().clone(),
            uri: request.uri().clone(),
            headers: request.headers().clone(),
            body: request.body().clone(),
        }
    }

    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Records every request and answers with a closure (200 with an empty body by default).
///
/// ```
/// # async fn demo() {
/// use bytes::Bytes;
/// use webpubsub_transport::HttpClient;
/// use webpubsub_transport::test_util::CaptureClient;
///
/// let client = CaptureClient::new();
/// let request = http::Request::post("http://localhost/x").body(Bytes::from("hi")).unwrap();
/// client.execute(&request).await.unwrap();
/// assert_eq!(client.requests()[0].body, "hi");
/// # }
/// ```
#[derive(Clone)]
pub struct CaptureClient {
    requests: Arc<Mutex<Vec<CapturedRequest>>>,
    responder: Arc<Responder>,
}

impl Default for CaptureClient {
    fn default() -> Self {
        Self::new()
    }
}

impl CaptureClient {
    /// Answers 200 with an empty body.
    pub fn new() -> Self {
        Self::with_responder(|_| Ok(response(200, "")))
    }

    /// Answers with `responder`.
    pub fn with_responder(
        responder: impl Fn(&Request<Bytes>) -> Result<Response<Bytes>, Error> + Send + Sync + 'static,
    ) -> Self {
        Self {
            requests: Arc::default(),
            responder: Arc::new(responder),
        }
    }

    /// Everything received so far, in order.
    pub fn requests(&self) -> Vec<CapturedRequest> {
        lock(&self.requests).clone()
    }

    /// The last request received. Panics when there is none (a test helper).
    pub fn last(&self) -> CapturedRequest {
        lock(&self.requests)
            .last()
            .cloned()
            .expect("CaptureClient received no request")
    }
}

impl fmt::Debug for CaptureClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureClient")
            .field("requests", &lock(&self.requests).len())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl HttpClient for CaptureClient {
    async fn execute(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, Error> {
        lock(&self.requests).push(CapturedRequest::of(request));
        (self.responder)(request)
    }
}

/// One expected request and the answer to give.
#[derive(Debug)]
pub struct ReplayEvent {
    expected: CapturedRequest,
    answer: Result<Response<Bytes>, Error>,
}

impl ReplayEvent {
    /// Expect `request`, answer `response`.
    pub fn new(request: Request<Bytes>, response: Response<Bytes>) -> Self {
        Self {
            expected: CapturedRequest::of(&request),
            answer: Ok(response),
        }
    }

    /// Expect `request`, fail with `error`.
    pub fn failing(request: Request<Bytes>, error: Error) -> Self {
        Self {
            expected: CapturedRequest::of(&request),
            answer: Err(error),
        }
    }
}

/// Serves a fixed list of answers in order and records what it received, so a test can check
/// the requests matched with [`ReplayClient::assert_requests_match`].
#[derive(Debug, Clone)]
pub struct ReplayClient {
    events: Arc<Mutex<VecDeque<ReplayEvent>>>,
    expected: Arc<Vec<CapturedRequest>>,
    actual: Arc<Mutex<Vec<CapturedRequest>>>,
}

impl ReplayClient {
    /// A client replaying `events`.
    pub fn new(events: Vec<ReplayEvent>) -> Self {
        let expected = events.iter().map(|e| e.expected.clone()).collect();
        Self {
            events: Arc::new(Mutex::new(events.into())),
            expected: Arc::new(expected),
            actual: Arc::default(),
        }
    }

    /// The requests received so far.
    pub fn actual_requests(&self) -> Vec<CapturedRequest> {
        lock(&self.actual).clone()
    }

    /// Panics unless exactly the expected requests arrived, in order, with equal method, URI, body
    /// and headers (except `ignore_headers`, e.g. `authorization` or `x-ms-client-request-id`).
    pub fn assert_requests_match(&self, ignore_headers: &[&str]) {
        let actual = lock(&self.actual);
        assert_eq!(actual.len(), self.expected.len(), "number of requests");
        let strip = |r: &CapturedRequest| {
            let mut r = r.clone();
            for name in ignore_headers {
                r.headers.remove(*name);
            }
            r
        };
        for (index, (actual, expected)) in actual.iter().zip(self.expected.iter()).enumerate() {
            assert_eq!(strip(actual), strip(expected), "request {index}");
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for ReplayClient {
    async fn execute(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, Error> {
        lock(&self.actual).push(CapturedRequest::of(request));
        match lock(&self.events).pop_front() {
            Some(event) => event.answer,
            None => {
                Err(Error::new(ErrorKind::Other)
                    .with_detail("the replay client has no more responses"))
            }
        }
    }
}
