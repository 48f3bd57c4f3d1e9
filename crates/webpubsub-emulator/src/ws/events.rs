//! Upstream events of a connection: `connected`, `disconnected` and group `joined`/`left` (not
//! waited for), and the blocking user events behind `event`, `invoke` and raw clients' messages.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use webpubsub_protocol::events::{EventType, GroupEventRequest};
use webpubsub_protocol::{ContentType, Payload};

use crate::state::{Notice, State};
use crate::upstream::{Event, Upstream, UpstreamError};

/// Who an event is about.
pub(crate) struct Subject<'a> {
    pub(crate) hub: &'a str,
    pub(crate) connection_id: &'a str,
    pub(crate) user_id: Option<&'a str>,
}

/// Sends `connected` upstream without waiting for the answer.
pub(crate) fn connected(upstream: Option<&Arc<Upstream>>, state: &State, who: &Subject<'_>) {
    let Some(upstream) = upstream else { return };
    let (subprotocol, connection_state) = state
        .with_connection(who.hub, who.connection_id, |c| {
            (c.subprotocol.clone(), c.connection_state.clone())
        })
        .unwrap_or_default();
    notify(
        upstream.clone(),
        EventType::Connected,
        Notice {
            hub: who.hub.to_owned(),
            connection_id: who.connection_id.to_owned(),
            user_id: who.user_id.map(str::to_owned),
            subprotocol,
            connection_state,
            reason: None,
        },
        Bytes::from_static(b"{}"),
    );
}

/// Sends `disconnected` upstream (with the reason) without waiting for the answer: the state's
/// end hook, so every connection whose connect succeeded gets one, however it ends.
pub(crate) fn disconnected(upstream: &Arc<Upstream>, ended: Notice) {
    let body = match &ended.reason {
        Some(reason) => serde_json::json!({ "reason": reason }).to_string(),
        None => "{}".to_owned(),
    };
    notify(
        upstream.clone(),
        EventType::Disconnected,
        ended,
        Bytes::from(body),
    );
}

/// Sends `joined` or `left` upstream (when a handler subscribes to it) without waiting: the
/// state's group hook.
pub(crate) fn group_changed(upstream: &Arc<Upstream>, who: Notice, group: String, joined: bool) {
    let event_type = if joined {
        EventType::GroupJoined
    } else {
        EventType::GroupLeft
    };
    let body = serde_json::to_vec(&GroupEventRequest { group }).unwrap_or_default();
    let body = Bytes::from(body);
    notify(upstream.clone(), event_type, who, body);
}

fn notify(upstream: Arc<Upstream>, event_type: EventType, who: Notice, body: Bytes) {
    let Some(handler) = upstream.handler(&who.hub, &event_type).cloned() else {
        return;
    };
    tokio::spawn(async move {
        let handler = &handler;
        // Not waited for by anyone: a few bounded retries when the handler is unreachable or
        // answers 5xx, then give up (the upstream call logs it).
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            let event = Event {
                hub: &who.hub,
                connection_id: &who.connection_id,
                user_id: who.user_id.as_deref(),
                subprotocol: who.subprotocol.as_deref(),
                connection_state: who.connection_state.clone(),
            };
            match upstream
                .call(
                    handler,
                    event_type.clone(),
                    event,
                    "application/json; charset=utf-8",
                    body.clone(),
                )
                .await
            {
                Ok(answer) if answer.status < 500 => return,
                Err(UpstreamError::NotValidated) => return,
                _ => {}
            }
        }
    });
}

/// Why a user event gave no reply.
#[derive(Debug)]
pub(crate) enum UserEventError {
    /// No handler takes this event.
    NoHandler,
    /// The handler failed, refused or could not be reached.
    Failed(String),
}

/// A blocking user event: `Ok(Some(reply))` when the handler answered with a body.
pub(crate) async fn user_event(
    upstream: Option<&Arc<Upstream>>,
    state: &State,
    who: &Subject<'_>,
    name: &str,
    message: Payload,
) -> Result<Option<Payload>, UserEventError> {
    let upstream = upstream.ok_or(UserEventError::NoHandler)?;
    let event_type = EventType::User(name.to_owned());
    let handler = upstream
        .handler(who.hub, &event_type)
        .ok_or(UserEventError::NoHandler)?;
    let (subprotocol, connection_state) = state
        .with_connection(who.hub, who.connection_id, |c| {
            (c.subprotocol.clone(), c.connection_state.clone())
        })
        .unwrap_or_default();
    let event = Event {
        hub: who.hub,
        connection_id: who.connection_id,
        user_id: who.user_id,
        subprotocol: subprotocol.as_deref(),
        connection_state,
    };
    let content_type = message.content_type().as_str();
    let answer = upstream
        .call(
            handler,
            event_type,
            event,
            content_type,
            message.into_body(),
        )
        .await
        .map_err(|e| UserEventError::Failed(format!("the event handler {e}")))?;
    if !(200..300).contains(&answer.status) {
        return Err(UserEventError::Failed(format!(
            "the event handler answered {}",
            answer.status
        )));
    }
    if let Some(connection_state) = answer.connection_state {
        state.with_connection(who.hub, who.connection_id, |c| {
            c.connection_state = Some(connection_state)
        });
    }
    if answer.body.is_empty() {
        return Ok(None);
    }
    // A reply without a known content type is text, as the service treats it.
    let reply = match answer
        .content_type
        .as_deref()
        .and_then(ContentType::from_header)
    {
        Some(ContentType::Json) => Payload::json_raw(answer.body).map_err(|_| {
            UserEventError::Failed("the event handler answered invalid JSON".into())
        })?,
        Some(ContentType::Binary) => Payload::binary(answer.body),
        _ => Payload::text(String::from_utf8_lossy(&answer.body)),
    };
    Ok(Some(reply))
}
