//! Hubs, connections, groups, users and permissions, and message delivery.
//!
//! One mutex guards everything; no lock is held across an `.await`. Delivery never waits on a
//! client: each connection has a bounded outbound queue, and a client whose queue is full is
//! closed (`1008 SlowClient`) instead of slowing everyone else down.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use webpubsub_protocol::filter::{ConnectionInfo, Filter};
use webpubsub_protocol::frames::{MessageSource, ServerFrame};
use webpubsub_protocol::roles::{grant_of, role_allows, Permission, RoleScope};
use webpubsub_protocol::{ContentType, Payload};

/// Frames queued for one connection before it counts as slow.
pub(crate) const OUTBOUND_QUEUE: usize = 4096;
/// Unacknowledged messages a reliable connection may have before it cannot be recovered.
pub(crate) const REPLAY_MESSAGES: usize = 1000;
/// Unacknowledged bytes a reliable connection may have before it cannot be recovered.
pub(crate) const REPLAY_BYTES: usize = 16 * 1024 * 1024;

/// How a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientKind {
    /// No subprotocol: frames are the payloads.
    Raw,
    /// `json.webpubsub.azure.v1`.
    Json,
    /// `json.reliable.webpubsub.azure.v1`: data messages carry sequence ids.
    JsonReliable,
}

/// What the connection task writes to the socket.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// Shared between every receiver of a broadcast: cloning does not copy.
    Text(Utf8Bytes),
    Binary(bytes::Bytes),
    /// Send `disconnected` (JSON kinds) and close with this code and reason.
    Close {
        code: u16,
        reason: String,
    },
}

pub(crate) struct Connection {
    pub(crate) id: String,
    pub(crate) user_id: Option<String>,
    pub(crate) kind: ClientKind,
    pub(crate) roles: Vec<String>,
    pub(crate) groups: BTreeSet<String>,
    granted: HashSet<(Permission, Option<String>)>,
    sequence: u64,
    /// Ack ids that already succeeded (answered `Duplicate` when repeated).
    pub(crate) acked: HashSet<u64>,
    outbound: mpsc::Sender<Outbound>,
    pub(crate) kill: Arc<Notify>,
    /// Reliable connections: the secret a recovering client presents.
    pub(crate) reconnection_token: Option<String>,
    /// Reliable connections: data frames not yet acknowledged with `sequenceAck`.
    replay: VecDeque<(u64, String)>,
    replay_bytes: usize,
    /// Set when the buffer limits were passed: the connection can no longer be recovered.
    replay_overflow: bool,
    /// While the transport is gone and the session waits for recovery: the outbound queue.
    detached: Option<mpsc::Receiver<Outbound>>,
    /// `ce-connectionState` for upstream events, as the handlers last set it.
    pub(crate) connection_state: Option<String>,
    /// The subprotocol, for `ce-subprotocol`.
    pub(crate) subprotocol: Option<&'static str>,
    /// Raw `sendToGroup` mode: the group this client's frames go to.
    pub(crate) send_to_group: Option<String>,
}

#[derive(Default)]
struct Hub {
    connections: BTreeMap<String, Connection>,
    groups: HashMap<String, BTreeSet<String>>,
    users: HashMap<String, BTreeSet<String>>,
    /// Groups a user was added to by REST: connections of that user join them, now and later.
    user_groups: HashMap<String, BTreeSet<String>>,
}

/// Everything the emulator knows.
pub(crate) struct State {
    hubs: Mutex<HashMap<String, Hub>>,
    next_id: AtomicU64,
    /// Frames queued per connection before it counts as slow.
    queue: usize,
}

impl Default for State {
    fn default() -> Self {
        Self::new(OUTBOUND_QUEUE)
    }
}

/// A new connection's settings.
pub(crate) struct NewConnection {
    pub(crate) user_id: Option<String>,
    pub(crate) kind: ClientKind,
    pub(crate) roles: Vec<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) reconnection_token: Option<String>,
    /// `ce-connectionState` set by the connect handler.
    pub(crate) connection_state: Option<String>,
    /// A raw client connected with `webpubsub_mode=sendToGroup&group=<g>`: its frames go to `g`.
    pub(crate) send_to_group: Option<String>,
}

fn key(hub: &str) -> String {
    hub.to_ascii_lowercase()
}

/// Whether `roles` (or a REST grant) allow `permission` on `group` (the protocol's one matcher).
fn allowed(connection: &Connection, permission: Permission, group: &str) -> bool {
    connection.granted.contains(&(permission, None))
        || connection
            .granted
            .contains(&(permission, Some(group.to_owned())))
        || connection
            .roles
            .iter()
            .any(|role| role_allows(role, permission, group))
}

/// Sends `frame` without waiting; a full queue marks the client slow and closes it.
fn push(connection: &Connection, frame: Outbound) {
    if let Err(mpsc::error::TrySendError::Full(_)) = connection.outbound.try_send(frame) {
        tracing::warn!(connection = %connection.id, "outbound queue full: closing the slow client");
        connection.kill.notify_one();
    }
}

impl Connection {
    /// Keeps a reliable data frame until the client acknowledges it.
    fn remember(&mut self, sequence: u64, text: &str) {
        self.replay.push_back((sequence, text.to_owned()));
        self.replay_bytes += text.len();
        if self.replay.len() > REPLAY_MESSAGES || self.replay_bytes > REPLAY_BYTES {
            self.replay_overflow = true;
            self.replay.clear();
            self.replay_bytes = 0;
            self.kill.notify_one();
        }
    }

    /// Drops frames the client acknowledged (`sequenceAck`).
    pub(crate) fn acknowledge(&mut self, sequence: u64) {
        while self.replay.front().is_some_and(|(s, _)| *s <= sequence) {
            if let Some((_, text)) = self.replay.pop_front() {
                self.replay_bytes -= text.len();
            }
        }
    }
}

/// A recovered session: the queue to keep reading and the frames to send again.
pub(crate) struct Resumed {
    pub(crate) outbound: mpsc::Receiver<Outbound>,
    pub(crate) kill: Arc<Notify>,
    pub(crate) replay: Vec<String>,
    pub(crate) user_id: Option<String>,
}

impl State {
    /// Keeps a reliable connection whose transport dropped, for recovery; `false` when it cannot
    /// be recovered (then it is gone).
    pub(crate) fn detach(&self, hub: &str, id: &str, outbound: mpsc::Receiver<Outbound>) -> bool {
        let kept = self
            .with_connection(hub, id, |c| {
                if c.replay_overflow || c.reconnection_token.is_none() {
                    return false;
                }
                c.detached = Some(outbound);
                true
            })
            .unwrap_or(false);
        if !kept {
            self.disconnect(hub, id);
        }
        kept
    }

    /// Takes a detached session over, when `token` is its reconnection token.
    pub(crate) fn resume(&self, hub: &str, id: &str, token: &str) -> Option<Resumed> {
        self.with_connection(hub, id, |c| {
            if c.reconnection_token.as_deref() != Some(token) || c.replay_overflow {
                return None;
            }
            let mut outbound = c.detached.take()?;
            // Everything queued is also in the replay buffer; send from there, in order.
            while outbound.try_recv().is_ok() {}
            Some(Resumed {
                outbound,
                kill: c.kill.clone(),
                replay: c.replay.iter().map(|(_, text)| text.clone()).collect(),
                user_id: c.user_id.clone(),
            })
        })
        .flatten()
    }

    /// Ends a session that is still waiting for recovery.
    pub(crate) fn expire(&self, hub: &str, id: &str) {
        let detached = self
            .with_connection(hub, id, |c| c.detached.is_some())
            .unwrap_or(false);
        if detached {
            self.disconnect(hub, id);
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Hub>> {
        self.hubs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A fresh connection id.
    pub(crate) fn connection_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        format!("{:012x}{:08x}", nanos & 0xffff_ffff_ffff, n)
    }

    pub(crate) fn new(queue: usize) -> Self {
        Self {
            hubs: Mutex::default(),
            next_id: AtomicU64::new(0),
            queue: queue.max(1),
        }
    }

    /// An unguessable reconnection token (random per process, mixed with a counter).
    pub(crate) fn reconnection_token(&self) -> String {
        use std::hash::BuildHasher as _;
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let random = std::collections::hash_map::RandomState::new();
        format!(
            "{:016x}{:016x}",
            random.hash_one(n),
            random.hash_one(n.rotate_left(17) ^ 0x5bd1_e995)
        )
    }

    /// Registers a connection; returns its outbound queue and kill switch.
    pub(crate) fn connect(
        &self,
        hub: &str,
        id: &str,
        new: NewConnection,
    ) -> (mpsc::Receiver<Outbound>, Arc<Notify>) {
        let (sender, receiver) = mpsc::channel(self.queue);
        let kill = Arc::new(Notify::new());
        let mut hubs = self.lock();
        let hub = hubs.entry(key(hub)).or_default();
        let mut groups: BTreeSet<String> = new.groups.into_iter().collect();
        if let Some(user) = &new.user_id {
            hub.users
                .entry(user.clone())
                .or_default()
                .insert(id.to_owned());
            if let Some(user_groups) = hub.user_groups.get(user) {
                groups.extend(user_groups.iter().cloned());
            }
        }
        for group in &groups {
            hub.groups
                .entry(group.clone())
                .or_default()
                .insert(id.to_owned());
        }
        hub.connections.insert(
            id.to_owned(),
            Connection {
                id: id.to_owned(),
                user_id: new.user_id,
                kind: new.kind,
                roles: new.roles,
                groups,
                granted: HashSet::new(),
                sequence: 0,
                acked: HashSet::new(),
                outbound: sender,
                kill: kill.clone(),
                reconnection_token: new.reconnection_token,
                replay: VecDeque::new(),
                replay_bytes: 0,
                replay_overflow: false,
                detached: None,
                connection_state: new.connection_state,
                send_to_group: new.send_to_group,
                subprotocol: match new.kind {
                    ClientKind::Raw => None,
                    ClientKind::Json => Some(webpubsub_protocol::frames::JSON_SUBPROTOCOL),
                    ClientKind::JsonReliable => {
                        Some(webpubsub_protocol::frames::JSON_RELIABLE_SUBPROTOCOL)
                    }
                },
            },
        );
        (receiver, kill)
    }

    /// Forgets a connection.
    pub(crate) fn disconnect(&self, hub: &str, id: &str) {
        let mut hubs = self.lock();
        let Some(hub) = hubs.get_mut(&key(hub)) else {
            return;
        };
        let Some(connection) = hub.connections.remove(id) else {
            return;
        };
        for group in &connection.groups {
            if let Some(members) = hub.groups.get_mut(group) {
                members.remove(id);
                if members.is_empty() {
                    hub.groups.remove(group);
                }
            }
        }
        if let Some(user) = &connection.user_id {
            if let Some(ids) = hub.users.get_mut(user) {
                ids.remove(id);
                if ids.is_empty() {
                    hub.users.remove(user);
                }
            }
        }
    }

    /// Runs `f` on a connection.
    pub(crate) fn with_connection<T>(
        &self,
        hub: &str,
        id: &str,
        f: impl FnOnce(&mut Connection) -> T,
    ) -> Option<T> {
        let mut hubs = self.lock();
        hubs.get_mut(&key(hub))?.connections.get_mut(id).map(f)
    }

    pub(crate) fn connection_exists(&self, hub: &str, id: &str) -> bool {
        self.lock()
            .get(&key(hub))
            .is_some_and(|h| h.connections.contains_key(id))
    }

    pub(crate) fn group_exists(&self, hub: &str, group: &str) -> bool {
        self.lock()
            .get(&key(hub))
            .is_some_and(|h| h.groups.get(group).is_some_and(|m| !m.is_empty()))
    }

    pub(crate) fn user_exists(&self, hub: &str, user: &str) -> bool {
        self.lock()
            .get(&key(hub))
            .is_some_and(|h| h.users.get(user).is_some_and(|m| !m.is_empty()))
    }

    /// Adds a connection to a group; `false` when the connection does not exist.
    pub(crate) fn join(&self, hub: &str, id: &str, group: &str) -> bool {
        let mut hubs = self.lock();
        let Some(hub) = hubs.get_mut(&key(hub)) else {
            return false;
        };
        let Some(connection) = hub.connections.get_mut(id) else {
            return false;
        };
        connection.groups.insert(group.to_owned());
        hub.groups
            .entry(group.to_owned())
            .or_default()
            .insert(id.to_owned());
        true
    }

    /// Removes a connection from a group (or all groups with `None`).
    pub(crate) fn leave(&self, hub: &str, id: &str, group: Option<&str>) {
        let mut hubs = self.lock();
        let Some(hub) = hubs.get_mut(&key(hub)) else {
            return;
        };
        let Some(connection) = hub.connections.get_mut(id) else {
            return;
        };
        let groups: Vec<String> = match group {
            Some(g) => vec![g.to_owned()],
            None => connection.groups.iter().cloned().collect(),
        };
        for group in groups {
            connection.groups.remove(&group);
            if let Some(members) = hub.groups.get_mut(&group) {
                members.remove(id);
                if members.is_empty() {
                    hub.groups.remove(&group);
                }
            }
        }
    }

    /// Adds (or removes, or removes from all with `group: None`) a user's connections, now and later.
    pub(crate) fn user_group(&self, hub_name: &str, user: &str, group: Option<&str>, add: bool) {
        let ids: Vec<String> = {
            let mut hubs = self.lock();
            let hub = hubs.entry(key(hub_name)).or_default();
            match (group, add) {
                (Some(g), true) => {
                    hub.user_groups
                        .entry(user.to_owned())
                        .or_default()
                        .insert(g.to_owned());
                }
                (Some(g), false) => {
                    if let Some(set) = hub.user_groups.get_mut(user) {
                        set.remove(g);
                    }
                }
                (None, _) => {
                    hub.user_groups.remove(user);
                }
            }
            hub.users
                .get(user)
                .map(|ids| ids.iter().cloned().collect())
                .unwrap_or_default()
        };
        for id in ids {
            match (group, add) {
                (Some(g), true) => {
                    self.join(hub_name, &id, g);
                }
                (g, _) => self.leave(hub_name, &id, g),
            }
        }
    }

    pub(crate) fn grant(
        &self,
        hub: &str,
        id: &str,
        permission: Permission,
        target: Option<String>,
        grant: bool,
    ) -> bool {
        self.with_connection(hub, id, |c| {
            if grant {
                c.granted.insert((permission, target));
            } else if target.is_none() {
                c.granted.retain(|(p, _)| *p != permission);
                c.roles.retain(|role| !role_is_for(role, permission));
            } else {
                c.granted.remove(&(permission, target));
            }
        })
        .is_some()
    }

    pub(crate) fn has_permission(
        &self,
        hub: &str,
        id: &str,
        permission: Permission,
        target: Option<&str>,
    ) -> Option<bool> {
        self.with_connection(hub, id, |c| match target {
            Some(group) => allowed(c, permission, group),
            None => {
                c.granted.contains(&(permission, None))
                    || c.roles
                        .iter()
                        .any(|r| grant_of(r) == Some((permission, RoleScope::AllGroups)))
            }
        })
    }

    pub(crate) fn may(&self, hub: &str, id: &str, permission: Permission, group: &str) -> bool {
        self.with_connection(hub, id, |c| allowed(c, permission, group))
            .unwrap_or(false)
    }

    /// Connection ids matching a selection.
    pub(crate) fn select(
        &self,
        hub: &str,
        scope: &Scope<'_>,
        excluded: &[String],
        filter: Option<&Filter>,
    ) -> Vec<String> {
        let hubs = self.lock();
        let Some(hub) = hubs.get(&key(hub)) else {
            return Vec::new();
        };
        let candidates: Vec<&String> = match scope {
            Scope::All => hub.connections.keys().collect(),
            Scope::Group(g) => hub
                .groups
                .get(*g)
                .map(|m| m.iter().collect())
                .unwrap_or_default(),
            Scope::User(u) => hub
                .users
                .get(*u)
                .map(|m| m.iter().collect())
                .unwrap_or_default(),
            Scope::Connection(id) => hub
                .connections
                .get_key_value(*id)
                .map(|(k, _)| vec![k])
                .unwrap_or_default(),
        };
        candidates
            .into_iter()
            .filter(|id| !excluded.contains(id))
            .filter(|id| match (filter, hub.connections.get(*id)) {
                (None, _) => true,
                (Some(f), Some(c)) => {
                    let groups: Vec<String> = c.groups.iter().cloned().collect();
                    let info = ConnectionInfo {
                        connection_id: &c.id,
                        user_id: c.user_id.as_deref(),
                        groups: &groups,
                    };
                    f.matches(&info).unwrap_or(false)
                }
                (Some(_), None) => false,
            })
            .cloned()
            .collect()
    }

    /// The members of a group, sorted by connection id, from `after` on.
    pub(crate) fn members(&self, hub: &str, group: &str) -> Vec<(String, Option<String>)> {
        let hubs = self.lock();
        let Some(hub) = hubs.get(&key(hub)) else {
            return Vec::new();
        };
        hub.groups
            .get(group)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| {
                        hub.connections
                            .get(id)
                            .map(|c| (id.clone(), c.user_id.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Delivers a payload to connections, each in its own format.
    pub(crate) fn deliver(
        &self,
        hub: &str,
        ids: &[String],
        source: &MessageSource,
        message: &Payload,
        skip: Option<&str>,
    ) {
        let mut hubs = self.lock();
        let Some(hub) = hubs.get_mut(&key(hub)) else {
            return;
        };
        let mut frames = Frames::new(source, message);
        for id in ids {
            if Some(id.as_str()) == skip {
                continue;
            }
            if let Some(connection) = hub.connections.get_mut(id) {
                frames.deliver(connection);
            }
        }
    }

    /// Sends to every connection of a hub that `excluded` and `filter` let through, in one pass
    /// under the lock (no list of ids in between).
    pub(crate) fn broadcast(
        &self,
        hub: &str,
        excluded: &[String],
        filter: Option<&Filter>,
        message: &Payload,
    ) {
        let mut hubs = self.lock();
        let Some(hub) = hubs.get_mut(&key(hub)) else {
            return;
        };
        let mut frames = Frames::new(&MessageSource::Server, message);
        for connection in hub.connections.values_mut() {
            if !excluded.is_empty() && excluded.contains(&connection.id) {
                continue;
            }
            if let Some(filter) = filter {
                let groups: Vec<String> = connection.groups.iter().cloned().collect();
                let info = ConnectionInfo {
                    connection_id: &connection.id,
                    user_id: connection.user_id.as_deref(),
                    groups: &groups,
                };
                if !filter.matches(&info).unwrap_or(false) {
                    continue;
                }
            }
            frames.deliver(connection);
        }
    }

    /// Closes connections (after `disconnected` for JSON kinds); sessions waiting for recovery
    /// just end.
    pub(crate) fn close(&self, hub_name: &str, ids: &[String], reason: &str) {
        let mut waiting = Vec::new();
        {
            let hubs = self.lock();
            let Some(hub) = hubs.get(&key(hub_name)) else {
                return;
            };
            for id in ids {
                match hub.connections.get(id) {
                    Some(c) if c.detached.is_some() => waiting.push(id.clone()),
                    Some(c) => {
                        // Reliable clients would try to recover a 1000 close; 1008 tells them not to.
                        let code = if c.kind == ClientKind::JsonReliable {
                            1008
                        } else {
                            1000
                        };
                        push(
                            c,
                            Outbound::Close {
                                code,
                                reason: reason.to_owned(),
                            },
                        );
                    }
                    None => {}
                }
            }
        }
        for id in waiting {
            self.disconnect(hub_name, &id);
        }
    }

    /// Queues a text frame for one connection (after anything already queued).
    pub(crate) fn send_text(&self, hub: &str, id: &str, text: String) {
        self.with_connection(hub, id, |c| push(c, Outbound::Text(text.into())));
    }

    /// Every connection of every hub, for shutdown.
    pub(crate) fn close_everything(&self) {
        let hubs = self.lock();
        for hub in hubs.values() {
            for c in hub.connections.values() {
                push(
                    c,
                    Outbound::Close {
                        code: 1001,
                        reason: "ServiceShutdown".into(),
                    },
                );
            }
        }
    }
}

/// Which connections a REST operation addresses.
pub(crate) enum Scope<'a> {
    All,
    Group(&'a str),
    User(&'a str),
    Connection(&'a str),
}

/// Whether `role` grants `permission` on any group or on some groups.
fn role_is_for(role: &str, permission: Permission) -> bool {
    grant_of(role).is_some_and(|(granted, _)| granted == permission)
}

/// The frames of one delivery, built once and shared by every receiver of the same kind.
struct Frames<'a> {
    source: &'a MessageSource,
    message: &'a Payload,
    raw_text: Option<Utf8Bytes>,
    json: Option<Utf8Bytes>,
}

impl<'a> Frames<'a> {
    fn new(source: &'a MessageSource, message: &'a Payload) -> Self {
        Self {
            source,
            message,
            raw_text: None,
            json: None,
        }
    }

    fn deliver(&mut self, connection: &mut Connection) {
        let frame = match connection.kind {
            ClientKind::Raw => match self.message.content_type() {
                ContentType::Binary => Outbound::Binary(self.message.clone().into_body()),
                _ => {
                    let text = self
                        .message
                        .as_text()
                        .expect("JSON and text payloads are UTF-8");
                    Outbound::Text(
                        self.raw_text
                            .get_or_insert_with(|| text.to_owned().into())
                            .clone(),
                    )
                }
            },
            ClientKind::Json => {
                let source = self.source;
                Outbound::Text(
                    self.json
                        .get_or_insert_with(|| message_frame(source, self.message, None).into())
                        .clone(),
                )
            }
            ClientKind::JsonReliable => {
                connection.sequence += 1;
                let text = message_frame(self.source, self.message, Some(connection.sequence));
                connection.remember(connection.sequence, &text);
                if connection.detached.is_some() {
                    // Kept for replay when the client recovers.
                    return;
                }
                Outbound::Text(text.into())
            }
        };
        push(connection, frame);
    }
}

/// A `type: message` frame.
pub(crate) fn message_frame(
    source: &MessageSource,
    message: &Payload,
    sequence_id: Option<u64>,
) -> String {
    serde_json::to_string(&ServerFrame::Message {
        from: source.clone(),
        data: message.clone(),
        sequence_id,
    })
    .expect("a message frame serialises")
}
