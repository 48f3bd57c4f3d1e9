//! Publishing: one pass under the lock per REST send or client message, whatever the scope,
//! with each frame rendered once and shared by every receiver of the same kind.

use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::Utf8Bytes;
use webpubsub_protocol::filter::{ConnectionInfo, Filter};
use webpubsub_protocol::frames::{MessageSource, ServerFrame};
use webpubsub_protocol::{ContentType, Payload};

use super::{key, ClientKind, Connection, Hub, Outbound, State, Stop};

/// Which connections an operation addresses.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    All,
    Group(&'a str),
    User(&'a str),
    Connection(&'a str),
}

/// Who gets a message and how it is labelled.
pub(crate) struct Publish<'a> {
    pub(crate) scope: Scope<'a>,
    pub(crate) excluded: &'a [String],
    pub(crate) filter: Option<&'a Filter>,
    pub(crate) source: &'a MessageSource,
    pub(crate) message: &'a Payload,
    /// `messageTtlSeconds`: a reliable client recovering after it is not sent the message.
    pub(crate) ttl_seconds: Option<u32>,
}

impl Hub {
    /// The connections of `scope` that `excluded` and `filter` let through, in one pass.
    fn each_selected(
        &mut self,
        scope: Scope<'_>,
        excluded: &[String],
        filter: Option<&Filter>,
        mut f: impl FnMut(&mut Connection),
    ) {
        let mut visit = |connection: &mut Connection| {
            if excluded.contains(&connection.id) {
                return;
            }
            if let Some(filter) = filter {
                let groups: Vec<String> = connection.groups.iter().cloned().collect();
                let info = ConnectionInfo {
                    connection_id: &connection.id,
                    user_id: connection.user_id.as_deref(),
                    groups: &groups,
                };
                if !filter.matches(&info).unwrap_or(false) {
                    return;
                }
            }
            f(connection);
        };
        let ids = match scope {
            Scope::All => {
                self.connections.values_mut().for_each(visit);
                return;
            }
            Scope::Connection(id) => {
                if let Some(c) = self.connections.get_mut(id) {
                    visit(c);
                }
                return;
            }
            Scope::Group(g) => self.groups.get(g),
            Scope::User(u) => self.users.get(u),
        };
        for id in ids.into_iter().flatten() {
            if let Some(c) = self.connections.get_mut(id) {
                visit(c);
            }
        }
    }
}

impl Hub {
    /// Delivers a message to every selected connection, each in its own format.
    pub(crate) fn publish(&mut self, publish: &Publish<'_>) {
        let expires = publish
            .ttl_seconds
            .filter(|s| *s > 0)
            .map(|s| Instant::now() + Duration::from_secs(u64::from(s)));
        let mut frames = Frames::new(publish.source, publish.message, expires);
        self.each_selected(publish.scope, publish.excluded, publish.filter, |c| {
            frames.deliver(c)
        });
    }
}

impl State {
    /// Delivers a message to every selected connection, each in its own format.
    pub(crate) fn publish(&self, hub: &str, publish: &Publish<'_>) {
        if let Some(hub) = self.lock().get_mut(&key(hub)) {
            hub.publish(publish);
        }
    }

    /// Closes the selected connections (after `disconnected` for JSON kinds) with `reason`;
    /// sessions waiting for recovery just end.
    pub(crate) fn close(
        &self,
        hub_name: &str,
        scope: Scope<'_>,
        excluded: &[String],
        reason: &str,
    ) {
        let mut waiting = Vec::new();
        if let Some(hub) = self.lock().get_mut(&key(hub_name)) {
            hub.each_selected(scope, excluded, None, |c| match &c.transport {
                None => waiting.push(c.id.clone()),
                // Reliable clients would try to recover a 1000 close; 1008 tells them not to.
                Some(_) => c.push(Outbound::Close {
                    code: if c.kind == ClientKind::JsonReliable {
                        1008
                    } else {
                        1000
                    },
                    reason: reason.to_owned(),
                }),
            });
        }
        for id in waiting {
            self.end(hub_name, &id, Some(reason.to_owned()));
        }
    }

    /// Adds (or removes) the connections `filter` selects to (from) `groups`.
    pub(crate) fn groups_by_filter(
        &self,
        hub: &str,
        groups: &[String],
        filter: Option<&Filter>,
        add: bool,
    ) {
        let mut hubs = self.lock();
        let Some(hub) = hubs.get_mut(&key(hub)) else {
            return;
        };
        let mut ids = Vec::new();
        hub.each_selected(Scope::All, &[], filter, |c| ids.push(c.id.clone()));
        for id in &ids {
            for group in groups {
                if add {
                    hub.join(id, group);
                } else {
                    hub.leave(id, Some(group));
                }
            }
        }
    }
}

/// The frames of one publish, rendered once and shared by every receiver of the same kind.
struct Frames<'a> {
    source: &'a MessageSource,
    message: &'a Payload,
    expires: Option<Instant>,
    raw_text: Option<Utf8Bytes>,
    json: Option<Utf8Bytes>,
}

impl<'a> Frames<'a> {
    fn new(source: &'a MessageSource, message: &'a Payload, expires: Option<Instant>) -> Self {
        Self {
            source,
            message,
            expires,
            raw_text: None,
            json: None,
        }
    }

    fn json(&mut self) -> &Utf8Bytes {
        let (source, message) = (self.source, self.message);
        self.json
            .get_or_insert_with(|| message_frame(source, message).into())
    }

    fn deliver(&mut self, connection: &mut Connection) {
        let frame = match connection.kind {
            ClientKind::Raw => match self.message.content_type() {
                ContentType::Binary => Outbound::Binary(self.message.clone().into_body()),
                _ => {
                    let message = self.message;
                    let text = self.raw_text.get_or_insert_with(|| {
                        message
                            .as_text()
                            .expect("JSON and text payloads are UTF-8")
                            .to_owned()
                            .into()
                    });
                    Outbound::Text(text.clone())
                }
            },
            ClientKind::Json => Outbound::Text(self.json().clone()),
            ClientKind::JsonReliable => {
                let sequence = connection.replay.next_sequence();
                let text: Utf8Bytes = with_sequence_id(self.json(), sequence).into();
                if !connection.replay.keep(sequence, text.clone(), self.expires) {
                    // Past the buffer limits: the session cannot be recovered any more.
                    if let Some(transport) = &connection.transport {
                        transport
                            .kill
                            .stop(Stop::Close(1008, "ReplayBufferFull".into()));
                    }
                }
                Outbound::Text(text)
            }
        };
        connection.push(frame);
    }
}

/// A `type: message` frame without a sequence id.
fn message_frame(source: &MessageSource, message: &Payload) -> String {
    serde_json::to_string(&ServerFrame::Message {
        from: source.clone(),
        data: message.clone(),
        sequence_id: None,
    })
    .expect("a message frame serialises")
}

/// The rendered frame `{...}` with `"sequenceId":n` as its first member.
fn with_sequence_id(frame: &str, sequence: u64) -> String {
    format!("{{\"sequenceId\":{sequence},{}", &frame[1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sequence_id_is_added_to_the_rendered_frame() {
        let frame = message_frame(&MessageSource::Server, &Payload::text("hi"));
        let numbered: serde_json::Value =
            serde_json::from_str(&with_sequence_id(&frame, 7)).unwrap();
        assert_eq!(
            numbered,
            serde_json::json!({"type":"message","from":"server","dataType":"text","data":"hi","sequenceId":7})
        );
    }
}
