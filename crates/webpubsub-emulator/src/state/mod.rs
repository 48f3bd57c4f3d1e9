//! Hubs, connections, groups and users: the emulator's one registry.
//!
//! One mutex guards everything and is never held across an `.await` or for per-client work that
//! could take long (role matching is linear, frames are rendered once per publish). Submodules:
//! `connection` (one connection and its bounded outbound queue), `replay` (the reliable
//! protocol's buffer), `permissions` (roles and REST grants), `delivery` (publishing), `hooks`
//! (what is reported upstream: ended connections, group changes, drained when the lock is
//! released).

mod connection;
mod delivery;
mod hooks;
mod permissions;
mod replay;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use tokio_tungstenite::tungstenite::Utf8Bytes;

pub(crate) use self::connection::{
    ClientKind, Connection, Outbound, QueueLimits, Stop, TransportReceiver,
};
pub(crate) use self::delivery::{Publish, Scope};
use self::hooks::Locked;
pub(crate) use self::hooks::{EndHook, GroupHook, Hooks, Notice};
use self::replay::Replay;

/// Frames queued for one connection before it counts as slow.
pub(crate) const OUTBOUND_FRAMES: usize = 4096;
/// Bytes queued for one connection before it counts as slow.
pub(crate) const OUTBOUND_BYTES: usize = 16 * 1024 * 1024;

/// One hub's connections, groups and users.
#[derive(Default)]
pub(crate) struct Hub {
    /// The hub's name as its first connection spelled it.
    name: String,
    pub(crate) connections: BTreeMap<String, Connection>,
    groups: HashMap<String, BTreeSet<String>>,
    users: HashMap<String, BTreeSet<String>>,
    /// Membership changes not yet reported (`None`: nobody listens).
    changes: Option<Vec<(String, String, bool)>>,
}

impl Hub {
    /// Adds a connection to a group (reported when someone listens).
    pub(crate) fn join(&mut self, id: &str, group: &str) -> bool {
        let Some(connection) = self.connections.get_mut(id) else {
            return false;
        };
        if connection.groups.insert(group.to_owned()) {
            self.groups
                .entry(group.to_owned())
                .or_default()
                .insert(id.to_owned());
            if let Some(changes) = &mut self.changes {
                changes.push((id.to_owned(), group.to_owned(), true));
            }
        }
        true
    }

    /// Removes a connection from a group, or from all with `None` (reported when someone
    /// listens).
    pub(crate) fn leave(&mut self, id: &str, group: Option<&str>) {
        self.leave_quietly(id, group, true);
    }

    fn leave_quietly(&mut self, id: &str, group: Option<&str>, report: bool) {
        let Some(connection) = self.connections.get_mut(id) else {
            return;
        };
        let groups: Vec<String> = match group {
            Some(g) => vec![g.to_owned()],
            None => connection.groups.iter().cloned().collect(),
        };
        for group in groups {
            if !connection.groups.remove(&group) {
                continue;
            }
            if let Some(members) = self.groups.get_mut(&group) {
                members.remove(id);
                if members.is_empty() {
                    self.groups.remove(&group);
                }
            }
            if let (true, Some(changes)) = (report, &mut self.changes) {
                changes.push((id.to_owned(), group, false));
            }
        }
    }

    fn notice(&self, connection: &Connection, reason: Option<String>) -> Notice {
        Notice {
            hub: self.name.clone(),
            connection_id: connection.id.clone(),
            user_id: connection.user_id.clone(),
            subprotocol: connection.subprotocol.clone(),
            connection_state: connection.connection_state.clone(),
            reason,
        }
    }

    /// The unreported membership changes, as notices (of connections still here).
    fn take_changes(&mut self) -> Vec<(Notice, String, bool)> {
        let Some(changes) = self.changes.as_mut().filter(|c| !c.is_empty()) else {
            return Vec::new();
        };
        let changes = std::mem::take(changes);
        changes
            .into_iter()
            .filter_map(|(id, group, joined)| {
                let connection = self.connections.get(&id)?;
                Some((self.notice(connection, None), group, joined))
            })
            .collect()
    }

    fn remove(&mut self, id: &str) -> Option<Connection> {
        // A connection that ends leaves its groups silently: `disconnected` says it all.
        self.leave_quietly(id, None, false);
        let connection = self.connections.remove(id)?;
        if let Some(user) = &connection.user_id {
            if let Some(ids) = self.users.get_mut(user) {
                ids.remove(id);
                if ids.is_empty() {
                    self.users.remove(user);
                }
            }
        }
        Some(connection)
    }
}

/// Everything the emulator knows.
pub(crate) struct State {
    hubs: Mutex<HashMap<String, Hub>>,
    next_id: AtomicU64,
    limits: QueueLimits,
    hooks: Hooks,
}

/// A new connection's settings.
pub(crate) struct NewConnection {
    pub(crate) user_id: Option<String>,
    pub(crate) kind: ClientKind,
    pub(crate) subprotocol: Option<String>,
    pub(crate) roles: Vec<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) reconnection_token: Option<String>,
    /// `ce-connectionState` set by the connect handler.
    pub(crate) connection_state: Option<String>,
    /// Raw `webpubsub_mode=sendToGroup&group=<g>[&noEcho=true]`.
    pub(crate) send_to_group: Option<(String, bool)>,
}

/// A recovered session: the new transport and the frames to send again first.
pub(crate) struct Resumed {
    pub(crate) transport: TransportReceiver,
    pub(crate) replay: Vec<Utf8Bytes>,
    pub(crate) user_id: Option<String>,
}

/// What became of a connection whose transport ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AfterTransport {
    /// A recovery already took the session over; nothing to do.
    TakenOver,
    /// The session waits for recovery.
    Detached,
    /// The connection is gone.
    Ended,
}

fn key(hub: &str) -> String {
    hub.to_ascii_lowercase()
}

impl State {
    pub(crate) fn new(limits: QueueLimits, hooks: Hooks) -> Self {
        Self {
            hubs: Mutex::default(),
            next_id: AtomicU64::new(0),
            limits,
            hooks,
        }
    }

    fn lock(&self) -> Locked<'_> {
        let hubs = self
            .hubs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Locked::new(hubs, self.hooks.on_group.as_ref())
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

    fn generation(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers a connection; returns its transport's receiving half.
    pub(crate) fn connect(&self, hub: &str, id: &str, new: NewConnection) -> TransportReceiver {
        let generation = self.generation();
        let (transport, receiver) = connection::transport(self.limits, generation);
        let listening = self.hooks.on_group.is_some();
        let mut hubs = self.lock();
        let hub = hubs.entry(key(hub)).or_insert_with(|| Hub {
            name: hub.to_owned(),
            changes: listening.then(Vec::new),
            ..Hub::default()
        });
        if let Some(user) = &new.user_id {
            hub.users
                .entry(user.clone())
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
                groups: BTreeSet::new(),
                granted: HashSet::new(),
                revoked: HashSet::new(),
                acked: Default::default(),
                transport: Some(transport),
                generation,
                reconnection_token: new.reconnection_token,
                replay: Replay::default(),
                connection_state: new.connection_state,
                subprotocol: new.subprotocol,
                send_to_group: new.send_to_group,
            },
        );
        // The groups a connection starts in are part of its connect, not `joined` events.
        let changes = hub.changes.take();
        for group in &new.groups {
            hub.join(id, group);
        }
        hub.changes = changes;
        receiver
    }

    /// Removes a connection and reports it to the end hook.
    pub(crate) fn end(&self, hub: &str, id: &str, reason: Option<String>) {
        let removed = self.lock().get_mut(&key(hub)).and_then(|h| h.remove(id));
        if let Some(connection) = removed {
            if let Some(transport) = &connection.transport {
                transport.kill.stop(Stop::TakenOver);
            }
            if let Some(hook) = &self.hooks.on_end {
                hook(Notice {
                    hub: hub.to_owned(),
                    connection_id: connection.id,
                    user_id: connection.user_id,
                    subprotocol: connection.subprotocol,
                    connection_state: connection.connection_state,
                    reason,
                });
            }
        }
    }

    /// The transport `generation` of a connection ended; `recoverable` keeps a reliable session
    /// for recovery (when its buffer allows it).
    pub(crate) fn transport_ended(
        &self,
        hub: &str,
        id: &str,
        generation: u64,
        recoverable: bool,
        reason: Option<String>,
    ) -> AfterTransport {
        {
            let mut hubs = self.lock();
            let Some(connection) = hubs
                .get_mut(&key(hub))
                .and_then(|h| h.connections.get_mut(id))
            else {
                return AfterTransport::TakenOver;
            };
            if connection.transport.as_ref().map(|t| t.generation) != Some(generation) {
                return AfterTransport::TakenOver;
            }
            let keep = recoverable
                && connection.kind == ClientKind::JsonReliable
                && connection.reconnection_token.is_some()
                && !connection.replay.overflowed;
            if keep {
                connection.transport = None;
                return AfterTransport::Detached;
            }
        }
        self.end(hub, id, reason);
        AfterTransport::Ended
    }

    /// Ends a session still waiting for recovery since the transport `generation` dropped.
    pub(crate) fn expire(&self, hub: &str, id: &str, generation: u64) {
        let waiting = self.with_connection(hub, id, |c| {
            c.transport.is_none() && c.generation == generation
        });
        if waiting == Some(true) {
            self.end(
                hub,
                id,
                Some("the connection was not recovered in time".into()),
            );
        }
    }

    /// Takes a session over with its reconnection token: a new transport (the old one, when
    /// it still looks attached, is dropped), the unacknowledged frames to send again first.
    pub(crate) fn resume(&self, hub: &str, id: &str, token: &str) -> Option<Resumed> {
        let generation = self.generation();
        let limits = self.limits;
        self.with_connection(hub, id, |c| {
            if c.reconnection_token.as_deref() != Some(token) || c.replay.overflowed {
                return None;
            }
            let (transport, receiver) = connection::transport(limits, generation);
            if let Some(old) = c.transport.replace(transport) {
                old.kill.stop(Stop::TakenOver);
            }
            c.generation = generation;
            Some(Resumed {
                transport: receiver,
                replay: c.replay.frames(Instant::now()),
                user_id: c.user_id.clone(),
            })
        })
        .flatten()
    }

    /// Runs `f` on a hub that has connection `id`, under one lock (a client frame's whole work).
    pub(crate) fn with_hub_of<T>(
        &self,
        hub: &str,
        id: &str,
        f: impl FnOnce(&mut Hub) -> T,
    ) -> Option<T> {
        let mut hubs = self.lock();
        let hub = hubs.get_mut(&key(hub))?;
        if !hub.connections.contains_key(id) {
            return None;
        }
        Some(f(hub))
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
        self.lock()
            .get_mut(&key(hub))
            .is_some_and(|h| h.join(id, group))
    }

    /// Removes a connection from a group (or all groups with `None`).
    pub(crate) fn leave(&self, hub: &str, id: &str, group: Option<&str>) {
        if let Some(hub) = self.lock().get_mut(&key(hub)) {
            hub.leave(id, group);
        }
    }

    /// Adds the user's current connections to a group; `false` when the user has none (as the
    /// service: later connections of the user do not join).
    pub(crate) fn add_user_to_group(&self, hub: &str, user: &str, group: &str) -> bool {
        self.each_user_connection(hub, user, |hub, id| {
            hub.join(id, group);
        })
    }

    /// Removes the user's connections from a group (or from every group with `None`).
    pub(crate) fn remove_user_from_group(&self, hub: &str, user: &str, group: Option<&str>) {
        self.each_user_connection(hub, user, |hub, id| hub.leave(id, group));
    }

    /// Runs `f` for each of the user's connections under one lock; `false` when it has none.
    fn each_user_connection(
        &self,
        hub: &str,
        user: &str,
        mut f: impl FnMut(&mut Hub, &str),
    ) -> bool {
        let mut hubs = self.lock();
        let Some(hub) = hubs.get_mut(&key(hub)) else {
            return false;
        };
        let ids: Vec<String> = hub
            .users
            .get(user)
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default();
        for id in &ids {
            f(hub, id);
        }
        !ids.is_empty()
    }

    /// The members of a group, sorted by connection id.
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

    /// Queues a frame for one connection (after anything already queued).
    pub(crate) fn push(&self, hub: &str, id: &str, frame: Outbound) {
        self.with_connection(hub, id, |c| c.push(frame));
    }

    /// Closes every connection of every hub (1001), for shutdown.
    pub(crate) fn close_everything(&self) {
        let hubs = self.lock();
        for hub in hubs.values() {
            for c in hub.connections.values() {
                c.push(Outbound::Close {
                    code: 1001,
                    reason: "ServiceShutdown".into(),
                });
            }
        }
    }
}
