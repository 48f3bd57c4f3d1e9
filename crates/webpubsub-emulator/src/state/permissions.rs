//! What a connection may do: its token's roles (the protocol's one matcher) and REST grants and
//! revocations.

use webpubsub_protocol::roles::{grant_of, role_allows, Permission, RoleScope};

use super::{Connection, State};

impl Connection {
    /// Whether the connection may use `permission` on `group`.
    pub(crate) fn may(&self, permission: Permission, group: &str) -> bool {
        if self.revoked.contains(&(permission, group.to_owned())) {
            return false;
        }
        self.granted.contains(&(permission, None))
            || self.granted.contains(&(permission, Some(group.to_owned())))
            || self
                .roles
                .iter()
                .any(|role| role_allows(role, permission, group))
    }

    /// Grants (or revokes) `permission` on `target` (`None`: every group).
    fn set_permission(&mut self, permission: Permission, target: Option<String>, grant: bool) {
        match (grant, target) {
            (true, Some(group)) => {
                self.revoked.remove(&(permission, group.clone()));
                self.granted.insert((permission, Some(group)));
            }
            (true, None) => {
                self.revoked.retain(|(p, _)| *p != permission);
                self.granted.insert((permission, None));
            }
            (false, Some(group)) => {
                self.granted.remove(&(permission, Some(group.clone())));
                // A role or an all-groups grant may still allow it: the revocation wins.
                self.revoked.insert((permission, group));
            }
            (false, None) => {
                self.granted.retain(|(p, _)| *p != permission);
                self.revoked.retain(|(p, _)| *p != permission);
                self.roles
                    .retain(|role| grant_of(role).is_none_or(|(granted, _)| granted != permission));
            }
        }
    }
}

impl State {
    /// Grants or revokes; `false` when the connection does not exist.
    pub(crate) fn grant(
        &self,
        hub: &str,
        id: &str,
        permission: Permission,
        target: Option<String>,
        grant: bool,
    ) -> bool {
        self.with_connection(hub, id, |c| c.set_permission(permission, target, grant))
            .is_some()
    }

    /// `checkPermission`: `None` when the connection does not exist.
    pub(crate) fn has_permission(
        &self,
        hub: &str,
        id: &str,
        permission: Permission,
        target: Option<&str>,
    ) -> Option<bool> {
        self.with_connection(hub, id, |c| match target {
            Some(group) => c.may(permission, group),
            None => {
                c.granted.contains(&(permission, None))
                    || c.roles
                        .iter()
                        .any(|r| grant_of(r) == Some((permission, RoleScope::AllGroups)))
            }
        })
    }
}
