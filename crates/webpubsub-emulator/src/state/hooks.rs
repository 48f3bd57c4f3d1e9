//! What the registry reports upstream, under no lock: connections that ended, and group
//! membership changes, collected while the lock is held and handed to the hook when it is
//! released.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use super::Hub;

/// A connection an upstream notification is about: one that ended (`disconnected`, with the
/// reason) or whose groups changed (`joined`, `left`).
#[derive(Debug, Clone)]
pub(crate) struct Notice {
    pub(crate) hub: String,
    pub(crate) connection_id: String,
    pub(crate) user_id: Option<String>,
    pub(crate) subprotocol: Option<String>,
    pub(crate) connection_state: Option<String>,
    pub(crate) reason: Option<String>,
}

/// Called (under no lock) for every connection that ends.
pub(crate) type EndHook = Arc<dyn Fn(Notice) + Send + Sync>;

/// Called (under no lock) when a connection joins (`true`) or leaves (`false`) a group after it
/// connected, however that happened (its own frame, REST, a filter).
pub(crate) type GroupHook = Arc<dyn Fn(Notice, String, bool) + Send + Sync>;

/// What the state reports upstream.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) on_end: Option<EndHook>,
    pub(crate) on_group: Option<GroupHook>,
}

/// The registry, locked; unlocking reports the membership changes made meanwhile.
pub(crate) struct Locked<'a> {
    hubs: Option<MutexGuard<'a, HashMap<String, Hub>>>,
    hook: Option<&'a GroupHook>,
}

impl<'a> Locked<'a> {
    pub(super) fn new(
        hubs: MutexGuard<'a, HashMap<String, Hub>>,
        hook: Option<&'a GroupHook>,
    ) -> Self {
        Self {
            hubs: Some(hubs),
            hook,
        }
    }
}

impl std::ops::Deref for Locked<'_> {
    type Target = HashMap<String, Hub>;
    fn deref(&self) -> &Self::Target {
        self.hubs
            .as_deref()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.hubs
            .as_deref_mut()
            .unwrap_or_else(|| unreachable!("taken only on drop"))
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let (Some(mut hubs), Some(hook)) = (self.hubs.take(), self.hook) else {
            return;
        };
        let changes: Vec<_> = hubs.values_mut().flat_map(Hub::take_changes).collect();
        drop(hubs);
        for (notice, group, joined) in changes {
            hook(notice, group, joined);
        }
    }
}
