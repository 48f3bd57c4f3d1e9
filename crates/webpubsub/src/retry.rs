//! When to retry, and how long to wait.
//!
//! **Why sends are not retried blindly.** Sends and closes are POSTs, and the service does not
//! de-duplicate them: resending a send that the service already processed delivers the message
//! twice. So by default a POST is retried only when it provably never left (the connection could
//! not be made, or TLS failed) or when the service said it did not process it (429, 503).
//! Idempotent operations (HEAD, GET, PUT, DELETE) are also retried on timeouts, broken
//! connections and 408, 500, 502 and 504. [`RetryOptions::retry_non_idempotent`] opts into more.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::Method;
use http::{HeaderMap, Response, StatusCode};

/// Statuses worth retrying: 408, 429, 500, 502, 503, 504.
pub const RETRYABLE_STATUSES: [u16; 6] = [408, 429, 500, 502, 503, 504];

/// Which non-idempotent requests (POST: sends, closes, group-by-filter, token) are retried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonIdempotentRetry {
    /// Only when the request never left, or the service answered 429 or 503. The default.
    #[default]
    WhenNotProcessed,
    /// Like idempotent requests: also on timeouts, broken connections, 408, 500, 502, 504. A retried
    /// send may then be delivered twice.
    Always,
}

/// Retry settings, with documented defaults (`RetryOptions::default()`).
///
/// ```
/// use std::time::Duration;
/// use webpubsub::RetryOptions;
///
/// let retry = RetryOptions { max_retries: 5, ..Default::default() };
/// assert_eq!(retry.initial_delay, Duration::from_millis(800));
/// let none = RetryOptions::none();
/// assert_eq!(none.max_retries, 0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryOptions {
    /// Retries after the first attempt. Default 3.
    pub max_retries: u32,
    /// The first back-off delay; it doubles each retry. Default 800 ms.
    pub initial_delay: Duration,
    /// The longest back-off delay. Default 60 s.
    pub max_delay: Duration,
    /// Random spread around each back-off delay, 0.0 to 1.0 (0.2 = ±20 %). Default 0.2.
    pub jitter: f64,
    /// The longest server-requested delay (`Retry-After` and friends) honoured; a longer one ends
    /// the retries. Default 60 s.
    pub max_retry_after: Duration,
    /// Which POST requests are retried. Default [`NonIdempotentRetry::WhenNotProcessed`].
    pub retry_non_idempotent: NonIdempotentRetry,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(60),
            jitter: 0.2,
            max_retry_after: Duration::from_secs(60),
            retry_non_idempotent: NonIdempotentRetry::WhenNotProcessed,
        }
    }
}

impl RetryOptions {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Default::default()
        }
    }

    /// The back-off before retry number `retry` (0-based), without jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        self.initial_delay
            .saturating_mul(factor)
            .min(self.max_delay)
    }
}

/// How an attempt ended, as the retry policy sees it.
#[derive(Debug)]
pub(crate) enum Outcome<'a> {
    Response(&'a Response<Bytes>),
    /// A transport error; `sent` is whether the request may have reached the service.
    TransportError {
        sent: bool,
    },
    /// Our per-try timeout expired (the request may have been processed).
    Timeout,
}

/// The delay before the next attempt, or `None` to stop. `retry` counts retries so far; `unit` is
/// a random number in `[0, 1)` for the jitter.
pub(crate) fn retry_delay(
    options: &RetryOptions,
    method: &Method,
    outcome: &Outcome<'_>,
    retry: u32,
    now: SystemTime,
    unit: f64,
) -> Option<Duration> {
    if retry >= options.max_retries {
        return None;
    }
    let lenient =
        method.is_idempotent() || options.retry_non_idempotent == NonIdempotentRetry::Always;
    let retryable = match outcome {
        Outcome::Response(response) => {
            let status = response.status().as_u16();
            RETRYABLE_STATUSES.contains(&status) && (lenient || matches!(status, 429 | 503))
        }
        Outcome::TransportError { sent } => !sent || lenient,
        Outcome::Timeout => lenient,
    };
    if !retryable {
        return None;
    }
    if let Outcome::Response(response) = outcome {
        if let Some(hint) = server_delay(response.status(), response.headers(), now) {
            return (hint <= options.max_retry_after).then_some(hint);
        }
    }
    let base = options.backoff(retry).as_secs_f64();
    let spread = options.jitter.clamp(0.0, 1.0);
    let factor = 1.0 - spread + 2.0 * spread * unit.clamp(0.0, 1.0);
    Some(Duration::from_secs_f64((base * factor).max(0.0)).min(options.max_delay))
}

/// The delay the service asked for: `retry-after-ms`, `x-ms-retry-after-ms` (milliseconds), or
/// `Retry-After` (seconds or an HTTP date). Read on 429 and 503 only.
pub(crate) fn server_delay(
    status: StatusCode,
    headers: &HeaderMap,
    now: SystemTime,
) -> Option<Duration> {
    if !matches!(status.as_u16(), 429 | 503) {
        return None;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = header(name).and_then(|v| v.parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an HTTP date (IMF-fixdate and the two obsolete forms), with `httpdate`.
pub(crate) fn parse_http_date(value: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)]) -> Response<Bytes> {
        let mut builder = Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Bytes::new()).unwrap()
    }

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;

    fn delay(method: &Method, outcome: &Outcome<'_>) -> Option<Duration> {
        retry_delay(
            &RetryOptions {
                jitter: 0.0,
                ..Default::default()
            },
            method,
            outcome,
            0,
            NOW,
            0.5,
        )
    }

    #[test]
    fn idempotent_requests_retry_on_every_retryable_status_and_failure() {
        for method in &[Method::GET, Method::HEAD, Method::PUT, Method::DELETE] {
            for status in RETRYABLE_STATUSES {
                assert!(
                    delay(method, &Outcome::Response(&response(status, &[]))).is_some(),
                    "{method} {status}"
                );
            }
            for status in [200, 400, 401, 403, 404, 409, 413, 501, 505] {
                assert!(
                    delay(method, &Outcome::Response(&response(status, &[]))).is_none(),
                    "{method} {status}"
                );
            }
            assert!(delay(method, &Outcome::TransportError { sent: true }).is_some());
            assert!(delay(method, &Outcome::TransportError { sent: false }).is_some());
            assert!(delay(method, &Outcome::Timeout).is_some());
        }
    }

    #[test]
    fn posts_retry_only_when_not_processed() {
        let post = &Method::POST;
        assert!(delay(post, &Outcome::TransportError { sent: false }).is_some());
        assert!(delay(post, &Outcome::TransportError { sent: true }).is_none());
        assert!(delay(post, &Outcome::Timeout).is_none());
        for status in [429, 503] {
            assert!(
                delay(post, &Outcome::Response(&response(status, &[]))).is_some(),
                "{status}"
            );
        }
        for status in [408, 500, 502, 504] {
            assert!(
                delay(post, &Outcome::Response(&response(status, &[]))).is_none(),
                "{status}"
            );
        }
        let always = RetryOptions {
            retry_non_idempotent: NonIdempotentRetry::Always,
            ..Default::default()
        };
        assert!(retry_delay(
            &always,
            post,
            &Outcome::Response(&response(500, &[])),
            0,
            NOW,
            0.5
        )
        .is_some());
        assert!(retry_delay(
            &always,
            post,
            &Outcome::TransportError { sent: true },
            0,
            NOW,
            0.5
        )
        .is_some());
        assert!(retry_delay(&always, post, &Outcome::Timeout, 0, NOW, 0.5).is_some());
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let options = RetryOptions {
            max_retries: 10,
            ..Default::default()
        };
        assert_eq!(options.backoff(0), Duration::from_millis(800));
        assert_eq!(options.backoff(1), Duration::from_millis(1600));
        assert_eq!(options.backoff(3), Duration::from_millis(6400));
        assert_eq!(options.backoff(9), Duration::from_secs(60));
        assert_eq!(options.backoff(u32::MAX), Duration::from_secs(60));
        let timeout = Outcome::Timeout;
        let low = retry_delay(&options, &Method::GET, &timeout, 1, NOW, 0.0).unwrap();
        let high = retry_delay(&options, &Method::GET, &timeout, 1, NOW, 0.999_999).unwrap();
        assert_eq!(low, Duration::from_millis(1280));
        assert!(
            high > Duration::from_millis(1919) && high <= Duration::from_millis(1920),
            "{high:?}"
        );
        assert!(retry_delay(&options, &Method::GET, &timeout, 10, NOW, 0.5).is_none());
        assert!(retry_delay(&RetryOptions::none(), &Method::GET, &timeout, 0, NOW, 0.5).is_none());
    }

    #[test]
    fn server_hints_win_on_429_and_503() {
        let get = &Method::GET;
        let r = response(429, &[("retry-after", "7")]);
        assert_eq!(
            delay(get, &Outcome::Response(&r)),
            Some(Duration::from_secs(7))
        );
        let r = response(503, &[("retry-after-ms", "250"), ("retry-after", "9")]);
        assert_eq!(
            delay(get, &Outcome::Response(&r)),
            Some(Duration::from_millis(250))
        );
        let r = response(429, &[("x-ms-retry-after-ms", "1500")]);
        assert_eq!(
            delay(get, &Outcome::Response(&r)),
            Some(Duration::from_millis(1500))
        );
        let date_now = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let r = response(503, &[("retry-after", "Sun, 06 Nov 1994 08:49:49 GMT")]);
        let d = retry_delay(
            &RetryOptions::default(),
            get,
            &Outcome::Response(&r),
            0,
            date_now,
            0.5,
        );
        assert_eq!(d, Some(Duration::from_secs(12)));
        let past = response(503, &[("retry-after", "Sun, 06 Nov 1994 08:00:00 GMT")]);
        let d = retry_delay(
            &RetryOptions::default(),
            get,
            &Outcome::Response(&past),
            0,
            date_now,
            0.5,
        );
        assert_eq!(d, Some(Duration::ZERO));
        // Hints on other statuses are ignored; a hint beyond max_retry_after stops retrying.
        let r = response(500, &[("retry-after", "7")]);
        assert_eq!(
            delay(get, &Outcome::Response(&r)),
            Some(Duration::from_millis(800))
        );
        let r = response(429, &[("retry-after", "3600")]);
        assert_eq!(delay(get, &Outcome::Response(&r)), None);
        let r = response(429, &[("retry-after", "soon")]);
        assert_eq!(
            delay(get, &Outcome::Response(&r)),
            Some(Duration::from_millis(800))
        );
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(
            parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(SystemTime::UNIX_EPOCH)
        );
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_835_481_599))
        );
        // RFC 9110 section 5.6.7: recipients accept the two obsolete forms too.
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT")
        );
        for bad in [
            "",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:00:00 GMT",
            "Sun, 06 Nov 1994 08:49:37 PST",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }
}
