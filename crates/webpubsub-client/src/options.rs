//! How the client behaves: protocol, retries, keep-alive, timeouts. Every default is documented
//! on its field and matches (or, where the official clients have none, bounds) what
//! `@azure/web-pubsub-client` 1.1.0 does.

use std::sync::Arc;
use std::time::Duration;

use webpubsub_protocol::frames::Subprotocol;

/// How delays grow between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryMode {
    /// The same delay every time.
    Fixed,
    /// The delay doubles each attempt, up to `max_delay`.
    Exponential,
}

/// A retry policy: how many times, and how long to wait before each retry.
///
/// ```
/// use std::time::Duration;
/// use webpubsub_client::{RetryMode, RetryOptions};
///
/// let policy = RetryOptions { max_retries: 5, delay: Duration::from_millis(100), max_delay: Duration::from_secs(1), mode: RetryMode::Exponential };
/// assert_eq!(policy.delay_before(1), Duration::from_millis(100));
/// assert_eq!(policy.delay_before(3), Duration::from_millis(400));
/// assert_eq!(policy.delay_before(9), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryOptions {
    /// Retries after the first attempt (`u32::MAX`: no limit).
    pub max_retries: u32,
    /// The delay before the first retry.
    pub delay: Duration,
    /// The longest delay ([`RetryMode::Exponential`]).
    pub max_delay: Duration,
    /// Fixed or exponential.
    pub mode: RetryMode,
}

impl RetryOptions {
    /// The delay before retry number `retry` (1 for the first retry).
    pub fn delay_before(&self, retry: u32) -> Duration {
        match self.mode {
            RetryMode::Fixed => self.delay,
            RetryMode::Exponential => {
                let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(31));
                self.delay.saturating_mul(factor).min(self.max_delay)
            }
        }
    }

    /// Whether `retry` (1 for the first) is still allowed.
    pub fn allows(&self, retry: u32) -> bool {
        retry <= self.max_retries
    }
}

/// The options of a [`crate::WebPubSubClient`]. Start from `default()` and change fields.
///
/// ```
/// use std::time::Duration;
/// use webpubsub_client::WebPubSubClientOptions;
/// use webpubsub_protocol::frames::Subprotocol;
///
/// let mut options = WebPubSubClientOptions::default();
/// options.protocol = Subprotocol::Json; // no recovery, no sequence ids
/// options.ack_timeout = Duration::from_secs(5);
/// assert!(options.auto_reconnect);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebPubSubClientOptions {
    /// The subprotocol. Default [`Subprotocol::JsonReliable`] (sequence ids, recovery); the
    /// service's echo of it in `Sec-WebSocket-Protocol` is checked.
    pub protocol: Subprotocol,
    /// Open a new connection (with a fresh URL from the credential) when one is lost and cannot
    /// be recovered. Default `true`.
    pub auto_reconnect: bool,
    /// After such a reconnect, join again the groups this client joined. Default `true`.
    pub auto_rejoin_groups: bool,
    /// Retries of an acked operation that timed out or lost its connection, always with the same
    /// ack id so the service runs it once. Default 3 retries, 1 s apart ([`RetryMode::Fixed`]).
    pub message_retry: RetryOptions,
    /// Attempts to open a new connection after one is lost. Default unlimited, from 1 s doubling
    /// to 30 s.
    pub reconnect_retry: RetryOptions,
    /// A `ping` frame this often while connected. Default 20 s.
    pub keep_alive_interval: Duration,
    /// A connection that receives nothing for this long is treated as dropped (then recovered
    /// or replaced). Default 120 s.
    pub keep_alive_timeout: Duration,
    /// How long one attempt of an acked operation waits for its ack. Default 30 s (the official
    /// clients wait forever).
    pub ack_timeout: Duration,
    /// How long `start()` (and each connection attempt) waits for the upgrade and the
    /// `connected` frame. Default 30 s.
    pub connect_timeout: Duration,
    /// How long a dropped reliable connection is recovered before giving up on it. Default 30 s
    /// (the service keeps a session at least that long).
    pub recovery_window: Duration,
    /// The pause between recovery attempts. Default 1 s.
    pub recovery_retry_delay: Duration,
    /// How often received sequence ids are acknowledged (reliable protocol). Default 1 s; also
    /// at once after [`Self::sequence_ack_burst`] unacknowledged messages.
    pub sequence_ack_interval: Duration,
    /// Unacknowledged messages that trigger an immediate `sequenceAck`. Default 300.
    pub sequence_ack_burst: u64,
    /// How long `invoke_event` waits for the handler's reply. Default 60 s.
    pub invoke_timeout: Duration,
    /// Events buffered for the [`crate::ClientEvents`] stream. When it is full the client stops
    /// reading from the socket until you catch up (nothing is dropped); drop the stream if you
    /// do not read it. Default 1024.
    pub event_buffer: usize,
    /// The TLS configuration for `wss://` URLs (a private CA, client certificates, the
    /// platform's roots). Default `None`: the Mozilla roots of `webpki-roots`, with ring.
    pub tls_config: Option<Arc<rustls::ClientConfig>>,
}

impl Default for WebPubSubClientOptions {
    fn default() -> Self {
        Self {
            protocol: Subprotocol::JsonReliable,
            auto_reconnect: true,
            auto_rejoin_groups: true,
            message_retry: RetryOptions {
                max_retries: 3,
                delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(30),
                mode: RetryMode::Fixed,
            },
            reconnect_retry: RetryOptions {
                max_retries: u32::MAX,
                delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(30),
                mode: RetryMode::Exponential,
            },
            keep_alive_interval: Duration::from_secs(20),
            keep_alive_timeout: Duration::from_secs(120),
            ack_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
            recovery_window: Duration::from_secs(30),
            recovery_retry_delay: Duration::from_secs(1),
            sequence_ack_interval: Duration::from_secs(1),
            sequence_ack_burst: 300,
            invoke_timeout: Duration::from_secs(60),
            event_buffer: 1024,
            tls_config: None,
        }
    }
}

/// Options of `send_to_group`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendToGroupOptions {
    /// Do not deliver the message back to this connection. Default `false`.
    pub no_echo: bool,
    /// Send without an ack id: returns once the frame is written; the service reports no
    /// failure. Default `false`.
    pub fire_and_forget: bool,
    /// Use this ack id instead of the next one (to retry an operation across restarts).
    pub ack_id: Option<u64>,
}

impl SendToGroupOptions {
    /// `no_echo` set.
    pub fn no_echo() -> Self {
        Self {
            no_echo: true,
            ..Self::default()
        }
    }

    /// `fire_and_forget` set.
    pub fn fire_and_forget() -> Self {
        Self {
            fire_and_forget: true,
            ..Self::default()
        }
    }

    /// With this ack id (to retry, across restarts, an operation the service may have run).
    ///
    /// ```
    /// use webpubsub_client::SendToGroupOptions;
    ///
    /// let options = SendToGroupOptions::no_echo().with_ack_id(42);
    /// assert_eq!((options.no_echo, options.ack_id), (true, Some(42)));
    /// ```
    pub fn with_ack_id(mut self, ack_id: u64) -> Self {
        self.ack_id = Some(ack_id);
        self
    }
}

/// Options of `send_event`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendEventOptions {
    /// Send without an ack id. Default `false`.
    pub fire_and_forget: bool,
    /// Use this ack id instead of the next one.
    pub ack_id: Option<u64>,
}

impl SendEventOptions {
    /// `fire_and_forget` set.
    pub fn fire_and_forget() -> Self {
        Self {
            fire_and_forget: true,
            ..Self::default()
        }
    }

    /// With this ack id.
    pub fn with_ack_id(mut self, ack_id: u64) -> Self {
        self.ack_id = Some(ack_id);
        self
    }
}
