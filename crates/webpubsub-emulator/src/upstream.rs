//! Upstream events: the emulator calls the application's event handlers (CloudEvents over HTTP)
//! for `connect`, `connected`, `disconnected`, group `joined`/`left` and user events, after validating each handler
//! (abuse protection), with `ce-signature` for the access key.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use serde::Deserialize;
use webpubsub_auth::{event_signature, AccessKey};
use webpubsub_protocol::encoding::percent_encode;
use webpubsub_protocol::events::{CloudEventHeaders, EventType};
use webpubsub_transport::{HttpClient, HyperClient, HyperClientOptions};

/// One event handler of a hub: where events go and which ones.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventHandlerSettings {
    /// The URL, with `{hub}` and `{event}` replaced (never in the host name), e.g.
    /// `http://localhost:3000/eventhandler/{event}`.
    pub url_template: String,
    /// User events sent here: `*`, or a comma-separated list of names. Default none.
    #[serde(default)]
    pub user_event_pattern: String,
    /// System events sent here: a subset of `connect`, `connected`, `disconnected`, `joined`
    /// and `left` (a connection joined or left a group after it connected, by its own request,
    /// REST or a filter).
    #[serde(default)]
    pub system_events: Vec<String>,
}

impl EventHandlerSettings {
    fn wants(&self, event: &EventType) -> bool {
        match event {
            EventType::User(name) => {
                let pattern = self.user_event_pattern.trim();
                pattern == "*"
                    || pattern
                        .split(',')
                        .any(|p| p.trim().eq_ignore_ascii_case(name))
            }
            system => self
                .system_events
                .iter()
                .any(|e| e.eq_ignore_ascii_case(system.event_name())),
        }
    }

    fn url(&self, hub: &str, event: &str) -> String {
        self.url_template
            .replace("{hub}", &percent_encode(hub))
            .replace("{event}", &percent_encode(event))
    }
}

/// Why an upstream call did not give an answer.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    /// The handler failed validation (abuse protection).
    NotValidated,
    /// No answer (connect refused, timeout, broken connection).
    Unreachable,
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UpstreamError::NotValidated => "failed abuse-protection validation",
            UpstreamError::Unreachable => "did not answer",
        })
    }
}

/// The first validation retry after a failure; doubled up to [`VALIDATION_BACKOFF_MAX`].
const VALIDATION_BACKOFF_MIN: Duration = Duration::from_secs(1);
const VALIDATION_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A passed validation is checked again after this long.
const VALIDATION_LIFETIME: Duration = Duration::from_secs(60);
/// How long the handler has to answer a validation request.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(10);

/// What is known about a handler URL's abuse-protection validation.
#[derive(Debug, Clone, Copy)]
enum Validation {
    /// Passed; checked again after `until`.
    Passed { until: Instant },
    /// Failed; not tried again before `retry_at`, then with `backoff` doubled.
    Failed {
        retry_at: Instant,
        backoff: Duration,
    },
}

/// `url` with its query values hidden (Functions keys travel as `?code=`).
pub(crate) fn redacted(url: &str) -> String {
    match url.split_once('?') {
        None => url.to_owned(),
        Some((base, query)) => {
            let names: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) => format!("{name}=REDACTED"),
                    None => pair.to_owned(),
                })
                .collect();
            format!("{base}?{}", names.join("&"))
        }
    }
}

/// A handler's answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) connection_state: Option<String>,
    pub(crate) body: Bytes,
}

/// The attributes of an event.
pub(crate) struct Event<'a> {
    pub(crate) hub: &'a str,
    pub(crate) connection_id: &'a str,
    pub(crate) user_id: Option<&'a str>,
    pub(crate) subprotocol: Option<&'a str>,
    pub(crate) connection_state: Option<String>,
}

pub(crate) struct Upstream {
    /// Handlers by lower-cased hub name; `*` applies to every hub without its own.
    hubs: HashMap<String, Vec<EventHandlerSettings>>,
    client: Arc<dyn HttpClient>,
    keys: Vec<AccessKey>,
    origin: String,
    validated: Mutex<HashMap<String, Validation>>,
    ids: AtomicU64,
}

impl Upstream {
    pub(crate) fn new(
        hubs: HashMap<String, Vec<EventHandlerSettings>>,
        keys: Vec<AccessKey>,
        origin: String,
    ) -> std::io::Result<Self> {
        let options = HyperClientOptions {
            response_timeout: Some(Duration::from_secs(20)),
            ..Default::default()
        };
        let client = HyperClient::new(options).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Self {
            hubs: hubs
                .into_iter()
                .map(|(hub, handlers)| (hub.to_ascii_lowercase(), handlers))
                .collect(),
            client: Arc::new(client),
            keys,
            origin,
            validated: Mutex::default(),
            ids: AtomicU64::new(1),
        })
    }

    /// The first handler of `hub` that takes `event`.
    /// Whether any handler takes the group `joined` or `left` events.
    pub(crate) fn wants_group_events(&self) -> bool {
        self.hubs.values().flatten().any(|settings| {
            settings.wants(&EventType::GroupJoined) || settings.wants(&EventType::GroupLeft)
        })
    }

    pub(crate) fn handler(&self, hub: &str, event: &EventType) -> Option<&EventHandlerSettings> {
        let own = self.hubs.get(&hub.to_ascii_lowercase());
        own.or_else(|| self.hubs.get("*"))?
            .iter()
            .find(|h| h.wants(event))
    }

    /// Abuse protection: `OPTIONS` with `WebHook-Request-Origin`; valid when 2xx and
    /// `WebHook-Allowed-Origin` is `*` or names this origin. A pass is re-checked after a
    /// minute; a failure is retried after 1 s, then 2 s, ... up to a minute apart.
    async fn validate(&self, url: &str) -> bool {
        let now = Instant::now();
        let known = self
            .validated
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url)
            .copied();
        let backoff = match known {
            Some(Validation::Passed { until }) if now < until => return true,
            Some(Validation::Failed { retry_at, .. }) if now < retry_at => return false,
            Some(Validation::Failed { backoff, .. }) => (backoff * 2).min(VALIDATION_BACKOFF_MAX),
            _ => VALIDATION_BACKOFF_MIN,
        };
        let request = Request::options(url)
            .header("WebHook-Request-Origin", self.origin.as_str())
            .header("ce-awpsversion", "1.0")
            .body(Bytes::new());
        let ok = match request {
            Ok(request) => {
                match tokio::time::timeout(VALIDATION_TIMEOUT, self.client.execute(&request)).await
                {
                    Ok(Ok(response)) if response.status().is_success() => response
                        .headers()
                        .get_all("webhook-allowed-origin")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .flat_map(|v| v.split(','))
                        .any(|o| o.trim() == "*" || o.trim().eq_ignore_ascii_case(&self.origin)),
                    _ => false,
                }
            }
            Err(_) => false,
        };
        let now = Instant::now();
        let next = if ok {
            Validation::Passed {
                until: now + VALIDATION_LIFETIME,
            }
        } else {
            tracing::warn!(
                url = %redacted(url),
                retry_in = ?backoff,
                "the event handler failed abuse-protection validation; events are not sent to it until it passes"
            );
            Validation::Failed {
                retry_at: now + backoff,
                backoff,
            }
        };
        self.validated
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url.to_owned(), next);
        ok
    }

    /// Sends one event to the handler that takes it.
    pub(crate) async fn call(
        &self,
        handler: &EventHandlerSettings,
        event_type: EventType,
        event: Event<'_>,
        content_type: &str,
        body: Bytes,
    ) -> Result<Answer, UpstreamError> {
        let url = handler.url(event.hub, event_type.event_name());
        if !self.validate(&handler.url(event.hub, "validate")).await {
            return Err(UpstreamError::NotValidated);
        }
        let id = self.ids.fetch_add(1, Ordering::Relaxed).to_string();
        let mut headers = CloudEventHeaders::new(event_type, event.hub, event.connection_id, &id)
            .with_signature(event_signature(event.connection_id, &self.keys))
            .with_time(now_rfc3339());
        if let Some(user) = event.user_id {
            headers = headers.with_user_id(user);
        }
        if let Some(subprotocol) = event.subprotocol {
            headers = headers.with_subprotocol(subprotocol);
        }
        if let Some(state) = event.connection_state {
            headers = headers.with_connection_state(state);
        }
        let ce_headers = headers
            .to_headers()
            .map_err(|_| UpstreamError::Unreachable)?;
        let mut request = Request::post(&url)
            .header("content-type", content_type)
            .header("WebHook-Request-Origin", self.origin.as_str())
            .body(body)
            .map_err(|_| UpstreamError::Unreachable)?;
        request.headers_mut().extend(ce_headers);
        let response = self.client.execute(&request).await.map_err(|e| {
            tracing::warn!(url = %redacted(&url), error = %e, "the event handler did not answer");
            UpstreamError::Unreachable
        })?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(Answer {
            status: response.status().as_u16(),
            content_type: header("content-type"),
            connection_state: header("ce-connectionstate"),
            body: response.body().clone(),
        })
    }
}

/// The current time as RFC 3339 (UTC, whole seconds).
fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a UTC time formats as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_selection_and_templates() {
        let settings = EventHandlerSettings {
            url_template: "http://h/api/{hub}/{event}".into(),
            user_event_pattern: "message, join".into(),
            system_events: vec!["connect".into()],
        };
        assert!(settings.wants(&EventType::Connect));
        assert!(!settings.wants(&EventType::Connected));
        assert!(settings.wants(&EventType::User("JOIN".into())));
        assert!(!settings.wants(&EventType::User("other".into())));
        assert_eq!(
            settings.url("my hub", "connect"),
            "http://h/api/my%20hub/connect"
        );
        let any = EventHandlerSettings {
            user_event_pattern: "*".into(),
            ..settings
        };
        assert!(any.wants(&EventType::User("anything".into())));
        assert_eq!(now_rfc3339().len(), 20);
        assert_eq!(
            redacted("https://f.azurewebsites.net/api/h?code=s3cret&x"),
            "https://f.azurewebsites.net/api/h?code=REDACTED&x"
        );
    }
}
