#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cli;
mod reply;
mod rest;
mod server;
mod state;
mod tokens;
mod upstream;
mod ws;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use webpubsub_auth::AccessKey;

use crate::rest::RestContext;
use crate::server::Server;
use crate::state::{EndHook, GroupHook, Hooks, QueueLimits, State};
use crate::tokens::Verifier;
pub use crate::upstream::EventHandlerSettings;
use crate::upstream::Upstream;
use crate::ws::{ClientContext, ClientTimings};

impl Emulator {
    /// Settings for a new emulator: `127.0.0.1`, a free port, the development key, strict audiences.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            host: "127.0.0.1".into(),
            port: 0,
            access_key: AccessKey::DEVELOPMENT.into(),
            secondary_key: None,
            ignore_audience_host: false,
            outbound: QueueLimits {
                frames: state::OUTBOUND_FRAMES,
                bytes: state::OUTBOUND_BYTES,
            },
            timings: ClientTimings {
                keep_alive_interval: Duration::from_secs(20),
                keep_alive_timeout: Duration::from_secs(120),
                recovery_window: Duration::from_secs(30),
                ack_delay: Duration::from_millis(5),
            },
            request_timeout: Duration::from_secs(30),
            event_handlers: HashMap::new(),
        }
    }
}

/// How to start an [`Emulator`].
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use webpubsub_emulator::Emulator;
///
/// let emulator = Emulator::builder().start().await?;
/// println!("connection string: {}", emulator.connection_string());
/// emulator.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EmulatorBuilder {
    host: String,
    port: u16,
    access_key: String,
    secondary_key: Option<String>,
    ignore_audience_host: bool,
    outbound: QueueLimits,
    timings: ClientTimings,
    request_timeout: Duration,
    event_handlers: HashMap<String, Vec<EventHandlerSettings>>,
}

/// The `--config` file: event handlers per hub (`*` for every hub without its own).
///
/// ```
/// let config: webpubsub_emulator::EmulatorConfig = serde_json::from_str(r#"{
///   "hubs": { "chat": { "eventHandlers": [
///     { "urlTemplate": "http://localhost:3000/eventhandler/{event}", "userEventPattern": "*",
///       "systemEvents": ["connect", "connected", "disconnected"] } ] } }
/// }"#)?;
/// assert_eq!(config.hubs["chat"].event_handlers.len(), 1);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct EmulatorConfig {
    /// Settings by hub name.
    #[serde(default)]
    pub hubs: HashMap<String, HubSettings>,
}

/// One hub's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubSettings {
    /// Event handlers, tried in order: the first that takes an event gets it.
    #[serde(default)]
    pub event_handlers: Vec<EventHandlerSettings>,
}

impl fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("ignore_audience_host", &self.ignore_audience_host)
            .finish_non_exhaustive()
    }
}

impl EmulatorBuilder {
    /// The address to listen on. Default `127.0.0.1`.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The port; `0` picks a free one. Default `0`.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The access key tokens must be signed with. Default [`AccessKey::DEVELOPMENT`].
    pub fn access_key(mut self, key: impl Into<String>) -> Self {
        self.access_key = key.into();
        self
    }

    /// A second key, as the service has, to test key rotation: tokens signed with either key are
    /// accepted, and events are signed with both (`ce-signature: sha256=<a>,sha256=<b>`).
    pub fn secondary_key(mut self, key: impl Into<String>) -> Self {
        self.secondary_key = Some(key.into());
        self
    }

    /// Check token audiences on their path only (scheme and host ignored), for clients that
    /// reach the emulator under another name than the one tokens were minted for.
    pub fn ignore_audience_host(mut self, ignore_audience_host: bool) -> Self {
        self.ignore_audience_host = ignore_audience_host;
        self
    }

    /// Frames queued for one client before it counts as slow and is closed (`SlowClient`), so it
    /// cannot stall deliveries to the others. Default 4,096.
    pub fn outbound_queue(mut self, frames: usize) -> Self {
        self.outbound.frames = frames.max(1);
        self
    }

    /// Bytes queued for one client before it counts as slow (a single larger frame still goes
    /// out). Default 16 MiB.
    pub fn outbound_queue_bytes(mut self, bytes: usize) -> Self {
        self.outbound.bytes = bytes;
        self
    }

    /// Keep-alive: a WebSocket ping goes to a client quiet for `interval`, and a client that has
    /// sent nothing, not even a pong, for `timeout` is closed (a reliable session then waits for
    /// recovery). Defaults 20 s and 120 s, as the official clients.
    pub fn keep_alive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.timings.keep_alive_interval = interval.max(Duration::from_millis(1));
        self.timings.keep_alive_timeout = timeout;
        self
    }

    /// How long a dropped reliable session waits for its client to recover. Default 30 s, the
    /// service's minimum.
    pub fn recovery_window(mut self, window: Duration) -> Self {
        self.timings.recovery_window = window;
        self
    }

    /// How long acks wait before they go out; other frames are not held up. Default 5 ms: on
    /// loopback an ack can otherwise beat `azure-messaging-webpubsubclient` 1.1.0 to its wait
    /// (it notifies a condition variable the sender has not started waiting on, a lost wakeup),
    /// and that client then sits out its 30 s ack timeout. The real service's network latency
    /// hides the race.
    pub fn ack_delay(mut self, delay: Duration) -> Self {
        self.timings.ack_delay = delay;
        self
    }

    /// How long an HTTP client has to send a request head, and then its body (slow clients
    /// are cut off, not kept forever). Default 30 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Adds an event handler for `hub` (`*`: every hub without its own); the first handler that
    /// takes an event gets it.
    pub fn event_handler(mut self, hub: impl Into<String>, settings: EventHandlerSettings) -> Self {
        self.event_handlers
            .entry(hub.into())
            .or_default()
            .push(settings);
        self
    }

    /// Applies a configuration (the binary's `--config` file).
    pub fn config(mut self, config: EmulatorConfig) -> Self {
        for (hub, settings) in config.hubs {
            self.event_handlers
                .entry(hub)
                .or_default()
                .extend(settings.event_handlers);
        }
        self
    }

    /// Binds and starts serving in the background.
    ///
    /// # Errors
    /// The I/O error when the address cannot be bound, or the key is empty.
    pub async fn start(self) -> std::io::Result<Emulator> {
        if self.access_key.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the access key must not be empty",
            ));
        }
        let listener = TcpListener::bind((self.host.as_str(), self.port)).await?;
        let addr = listener.local_addr()?;
        let key = AccessKey::new(self.access_key);
        let mut keys = vec![key.clone()];
        keys.extend(
            self.secondary_key
                .filter(|k| !k.is_empty())
                .map(AccessKey::new),
        );
        if addr.ip().is_unspecified() && keys.iter().any(|k| k.expose() == AccessKey::DEVELOPMENT) {
            tracing::warn!(
                %addr,
                "listening on every interface with the published development key: anyone who can reach this machine can use it; pass another key"
            );
        }
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let verifier = Verifier::new(keys.clone(), self.ignore_audience_host);
        let origin = match addr.ip() {
            ip if ip.is_unspecified() => "localhost".to_owned(),
            ip => ip.to_string(),
        };
        let upstream = if self.event_handlers.is_empty() {
            None
        } else {
            Some(Arc::new(Upstream::new(self.event_handlers, keys, origin)?))
        };
        let hooks = match &upstream {
            None => Hooks::default(),
            Some(upstream) => {
                let (ends, groups) = (upstream.clone(), upstream.clone());
                let on_end: EndHook = Arc::new(move |ended| ws::events::disconnected(&ends, ended));
                // Only when a handler takes `joined` or `left`: otherwise nothing is recorded.
                let on_group: Option<GroupHook> = upstream.wants_group_events().then(|| {
                    let hook: GroupHook = Arc::new(move |who, group, joined| {
                        ws::events::group_changed(&groups, who, group, joined)
                    });
                    hook
                });
                Hooks {
                    on_end: Some(on_end),
                    on_group,
                }
            }
        };
        let state = Arc::new(State::new(self.outbound, hooks));
        let server = Arc::new(Server {
            rest: RestContext {
                state: state.clone(),
                verifier: verifier.clone(),
                key: key.clone(),
            },
            clients: Arc::new(ClientContext {
                state: state.clone(),
                verifier,
                shutdown: shutdown_rx.clone(),
                upstream,
                timings: self.timings,
            }),
            request_timeout: self.request_timeout,
        });
        let task = tokio::spawn(server::serve(listener, server, shutdown_rx));
        Ok(Emulator {
            addr,
            key,
            state,
            shutdown: shutdown_tx,
            task,
        })
    }
}

/// A running emulator. Dropping it leaves it running until the runtime ends; call
/// [`Emulator::shutdown`] to stop it cleanly.
/// A running local Web PubSub service, from [`Emulator::builder`]: real HTTP and WebSocket on
/// its address until [`Emulator::shutdown`] (or drop).
pub struct Emulator {
    addr: SocketAddr,
    key: AccessKey,
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("endpoint", &self.endpoint())
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint, e.g. `http://127.0.0.1:8080` (a wildcard listen address shows as
    /// `localhost`).
    pub fn endpoint(&self) -> String {
        let host = if self.addr.ip().is_unspecified() {
            "localhost".to_owned()
        } else {
            self.addr.ip().to_string()
        };
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        format!("http://{host}:{}", self.addr.port())
    }

    /// The connection string to give the service SDKs.
    pub fn connection_string(&self) -> String {
        format!(
            "Endpoint={};AccessKey={};Version=1.0;",
            self.endpoint(),
            self.key.expose()
        )
    }

    /// Closes every client (code 1001) and stops serving.
    pub async fn shutdown(self) {
        self.state.close_everything();
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}
