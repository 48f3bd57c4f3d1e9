//! Client roles and permissions: the one parser of the role grammar and the one matcher, used by
//! the token minter and the emulator alike.
//!
//! The grammar (a client token's `role` claim):
//! - `webpubsub.joinLeaveGroup` / `webpubsub.sendToGroup`: the permission on every group;
//! - `webpubsub.joinLeaveGroup.<group>` / `webpubsub.sendToGroup.<group>`: on that one group;
//! - `webpubsub.joinLeaveGroups.<pattern>` / `webpubsub.sendToGroups.<pattern>`: on the groups the
//!   pattern matches: `?` one character but `.`, `*` any run without `.`, `**` anything, `\`
//!   escapes the next character.
//!
//! Any other string is a custom role the service ignores.

use std::fmt;

use crate::validate::{ValidationError, ValidationRule};

/// A permission a connection can hold (`{permission}` in the REST permission paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// `sendToGroup`: publish to a group.
    SendToGroup,
    /// `joinLeaveGroup`: join or leave a group.
    JoinLeaveGroup,
}

impl Permission {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::SendToGroup => "sendToGroup",
            Permission::JoinLeaveGroup => "joinLeaveGroup",
        }
    }

    /// Parses a wire name (case-insensitive).
    ///
    /// # Errors
    /// A [`ValidationError`] for field `permission` listing the accepted values.
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if value.eq_ignore_ascii_case("sendToGroup") {
            Ok(Permission::SendToGroup)
        } else if value.eq_ignore_ascii_case("joinLeaveGroup") {
            Ok(Permission::JoinLeaveGroup)
        } else {
            Err(ValidationError::new(
                "permission",
                ValidationRule::OneOf(&["sendToGroup", "joinLeaveGroup"]),
            ))
        }
    }

    /// The role granting this permission on every group, e.g. `webpubsub.sendToGroup`.
    fn role(self) -> &'static str {
        match self {
            Permission::SendToGroup => "webpubsub.sendToGroup",
            Permission::JoinLeaveGroup => "webpubsub.joinLeaveGroup",
        }
    }

    /// The prefix of this permission's wildcard roles, e.g. `webpubsub.sendToGroups.`.
    fn wildcard_prefix(self) -> &'static str {
        match self {
            Permission::SendToGroup => "webpubsub.sendToGroups.",
            Permission::JoinLeaveGroup => "webpubsub.joinLeaveGroups.",
        }
    }
}

/// Which groups a role's permission covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleScope<'a> {
    /// Every group.
    AllGroups,
    /// One group.
    Group(&'a str),
    /// The groups a wildcard pattern matches.
    Pattern(&'a str),
}

/// A client role, one entry of the `role` claim.
///
/// ```
/// use webpubsub_protocol::roles::{Permission, Role};
///
/// assert_eq!(Role::join_leave_group().as_str(), "webpubsub.joinLeaveGroup");
/// assert_eq!(Role::send_to_group_named("room 1").as_str(), "webpubsub.sendToGroup.room 1");
///
/// let role = Role::custom("webpubsub.sendToGroups.room-*");
/// assert!(role.allows(Permission::SendToGroup, "room-7"));
/// assert!(!role.allows(Permission::SendToGroup, "room-7.private"));
/// assert!(!role.allows(Permission::JoinLeaveGroup, "room-7"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Role(String);

impl Role {
    /// Join or leave any group.
    pub fn join_leave_group() -> Self {
        Self(Permission::JoinLeaveGroup.role().into())
    }

    /// Join or leave the one group `group`.
    pub fn join_leave_group_named(group: &str) -> Self {
        Self(format!("{}.{group}", Permission::JoinLeaveGroup.role()))
    }

    /// Publish to any group.
    pub fn send_to_group() -> Self {
        Self(Permission::SendToGroup.role().into())
    }

    /// Publish to the one group `group`.
    pub fn send_to_group_named(group: &str) -> Self {
        Self(format!("{}.{group}", Permission::SendToGroup.role()))
    }

    /// Any other role string, such as the wildcard `webpubsub.joinLeaveGroups.<pattern>` forms.
    pub fn custom(role: impl Into<String>) -> Self {
        Self(role.into())
    }

    /// The role as it appears in the token.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks that the role is not empty.
    ///
    /// # Errors
    /// A [`ValidationError`] for field `role`.
    pub fn validate(&self) -> Result<(), ValidationError> {
        crate::validate::non_empty("role", &self.0)
    }

    /// The permission this role grants and on which groups; `None` for a custom role.
    pub fn grant(&self) -> Option<(Permission, RoleScope<'_>)> {
        grant_of(&self.0)
    }

    /// Whether this role grants `permission` on `group`, in time linear in the group's length
    /// (for a given pattern: the matcher never backtracks).
    pub fn allows(&self, permission: Permission, group: &str) -> bool {
        role_allows(&self.0, permission, group)
    }
}

/// [`Role::grant`] for a role held as a plain string.
pub fn grant_of(role: &str) -> Option<(Permission, RoleScope<'_>)> {
    [Permission::JoinLeaveGroup, Permission::SendToGroup]
        .into_iter()
        .find_map(|permission| {
            if role == permission.role() {
                Some((permission, RoleScope::AllGroups))
            } else if let Some(pattern) = role.strip_prefix(permission.wildcard_prefix()) {
                Some((permission, RoleScope::Pattern(pattern)))
            } else {
                let group = role.strip_prefix(permission.role())?.strip_prefix('.')?;
                Some((permission, RoleScope::Group(group)))
            }
        })
}

/// [`Role::allows`] for a role held as a plain string.
pub fn role_allows(role: &str, permission: Permission, group: &str) -> bool {
    match grant_of(role) {
        Some((granted, scope)) if granted == permission => match scope {
            RoleScope::AllGroups => true,
            RoleScope::Group(name) => name == group,
            RoleScope::Pattern(pattern) => wildcard_matches(pattern, group),
        },
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `?`: one character but `.`.
    One,
    /// `*`: any run without `.`.
    Star,
    /// `**`: any run.
    DoubleStar,
}

fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(match c {
            '\\' => match chars.next() {
                Some(escaped) => Token::Char(escaped),
                None => Token::Char('\\'),
            },
            '?' => Token::One,
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                Token::DoubleStar
            }
            '*' => Token::Star,
            c => Token::Char(c),
        });
    }
    out
}

/// The most `*` characters a wildcard pattern may have; a pattern with more matches nothing.
pub const MAX_WILDCARD_STARS: usize = 5;

/// Whether a wildcard pattern matches `group` (matching is case-sensitive; a pattern with more than
/// [`MAX_WILDCARD_STARS`] stars matches nothing): a simulation of the pattern's automaton, one pass
/// over the group keeping the set of pattern positions reached (time `pattern × group`, no
/// backtracking whatever the input).
pub fn wildcard_matches(pattern: &str, group: &str) -> bool {
    if pattern.matches('*').count() > MAX_WILDCARD_STARS {
        return false;
    }
    let tokens = tokens(pattern);
    let n = tokens.len();
    // `states[i]`: the first `i` tokens can match the input read so far.
    let mut states = vec![false; n + 1];
    let mut next = vec![false; n + 1];
    states[0] = true;
    let close = |states: &mut [bool]| {
        for i in 0..n {
            if states[i] && matches!(tokens[i], Token::Star | Token::DoubleStar) {
                states[i + 1] = true;
            }
        }
    };
    close(&mut states);
    for c in group.chars() {
        next.iter_mut().for_each(|s| *s = false);
        let mut any = false;
        for i in 0..n {
            if !states[i] {
                continue;
            }
            match tokens[i] {
                Token::Char(t) if t == c => next[i + 1] = true,
                Token::One if c != '.' => next[i + 1] = true,
                Token::Star if c != '.' => next[i] = true,
                Token::DoubleStar => next[i] = true,
                _ => {}
            }
            any = true;
        }
        if !any {
            return false;
        }
        std::mem::swap(&mut states, &mut next);
        close(&mut states);
    }
    states[n]
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Role {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for Role {
    fn from(value: String) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let cases = [
            ("a*", "abc", true),
            ("a*", "a.b", false),
            ("a**", "a.b.c", true),
            ("a?c", "abc", true),
            ("a?c", "a.c", false),
            ("a\\*", "a*", true),
            ("a\\*", "ab", false),
            ("*.*", "x.y", true),
            ("*", "", true),
            ("x", "", false),
            ("**x", "a.b.x", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("*a*b*c*d*e*", "abcde", false),
            ("a*b*c*d*e", "abcde", true),
        ];
        for (pattern, group, expected) in cases {
            assert_eq!(
                wildcard_matches(pattern, group),
                expected,
                "{pattern} {group}"
            );
        }
    }

    #[test]
    fn a_hostile_pattern_stays_fast() {
        // Backtracking takes exponential time on this; the automaton one pass.
        let pattern = "*-*-*-**x";
        let group = "-".repeat(1024);
        assert!(!wildcard_matches(pattern, &group));
    }

    #[test]
    fn grants() {
        assert_eq!(
            grant_of("webpubsub.joinLeaveGroup"),
            Some((Permission::JoinLeaveGroup, RoleScope::AllGroups))
        );
        assert_eq!(
            grant_of("webpubsub.sendToGroup.a.b"),
            Some((Permission::SendToGroup, RoleScope::Group("a.b")))
        );
        assert_eq!(
            grant_of("webpubsub.sendToGroups.a*"),
            Some((Permission::SendToGroup, RoleScope::Pattern("a*")))
        );
        assert_eq!(grant_of("webpubsub.sendToGroupX"), None);
        assert_eq!(grant_of("admin"), None);
        assert!(role_allows(
            "webpubsub.joinLeaveGroup.g",
            Permission::JoinLeaveGroup,
            "g"
        ));
        assert!(!role_allows(
            "webpubsub.joinLeaveGroup.g",
            Permission::JoinLeaveGroup,
            "h"
        ));
    }
}
