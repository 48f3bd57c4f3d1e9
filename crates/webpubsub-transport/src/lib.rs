#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
#[cfg(feature = "hyper")]
mod hyper_client;
#[cfg(feature = "test-util")]
pub mod test_util;

use std::fmt;

use bytes::Bytes;
use http::{Request, Response};

pub use error::{Error, ErrorKind};
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub use hyper_client::{HyperClient, HyperClientOptions};

/// Sends one fully buffered HTTP request and returns the fully read response.
///
/// The request is **borrowed** so a retry policy can send it again; implementations clone what
/// they need (a `Bytes` body clones without copying). Only `http` and `bytes` types appear here,
/// so any HTTP stack can sit behind it.
///
/// # Errors
///
/// Return an [`Error`] of the right [`ErrorKind`]: the service client's retry policy resends a
/// non-idempotent request (a POST send) only when [`Error::request_sent`] is `false`, that is for
/// [`ErrorKind::Connect`], [`ErrorKind::ConnectTimeout`], [`ErrorKind::Tls`] and
/// [`ErrorKind::InvalidRequest`]. When unsure, say the request may have been sent.
///
/// Hold implementations as `Arc<dyn HttpClient>`; calling `execute` through the `Arc` derefs to
/// the implementation (there is deliberately no blanket impl for `Arc<T>`, which would box the
/// request future twice).
///
/// ```
/// use bytes::Bytes;
/// use http::{Request, Response};
/// use webpubsub_transport::{Error, HttpClient};
///
/// /// A client that answers every request with 202.
/// #[derive(Debug)]
/// struct Accepting;
///
/// #[async_trait::async_trait]
/// impl HttpClient for Accepting {
///     async fn execute(&self, _request: &Request<Bytes>) -> Result<Response<Bytes>, Error> {
///         Ok(Response::builder().status(202).body(Bytes::new()).expect("valid response"))
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait HttpClient: Send + Sync + fmt::Debug {
    /// Sends `request` and reads the whole response.
    async fn execute(&self, request: &Request<Bytes>) -> Result<Response<Bytes>, Error>;
}
